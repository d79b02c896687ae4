/*
 * keygen.c -- `scalanytics keygen -o FILE`: a CurveZMQ key pair for one
 * node of a deployment. The pair goes to FILE (mode 0600), the public
 * key to stdout, ready for the deployment file's `key NODE PUBLIC` line.
 */
#include <getopt.h>
#include <stdio.h>

#include "actors/deploy.h"
#include "cli.h"

/** Prints keygen's help. */
static void keygen_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics keygen -o FILE [--node NAME]\n"
        "\n"
        "Writes a fresh CurveZMQ key pair to FILE (readable by its owner only) and\n"
        "prints the public key. Give each node of a deployment its own pair: put\n"
        "every public key in the deployment file (`key NODE PUBLIC`) and start each\n"
        "node with `scalanytics run ... --deploy FILE --node NODE --key FILE`. Links\n"
        "are then encrypted, and a peer whose key is not in the deployment file is\n"
        "refused and counted. Without keys, links are unauthenticated and\n"
        "unencrypted: use them on trusted networks only.\n"
        "\n"
        "options:\n"
        "  -o, --out FILE   where to write the key pair (required)\n"
        "      --node NAME  print the deployment line `key NAME PUBLIC` instead of\n"
        "                   the bare public key\n"
        "  -h, --help       this help\n"
        "\n"
        "example: scalanytics keygen -o capture.key --node capture >> lab.conf\n");
}

int cli_keygen(int argc, char **argv)
{
    static const struct option longopts[] = {{"out", required_argument, 0, 'o'},
                                             {"node", required_argument, 0, 'n'},
                                             {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL, *node = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'n': node = optarg; break;
        case 'h': keygen_usage(stdout); return 0;
        default: keygen_usage(stderr); return 2;
        }
    }
    if (!out || optind < argc) {
        fprintf(stderr, "scalanytics keygen: %s\n", out ? "unexpected arguments" : "-o FILE is required");
        keygen_usage(stderr);
        return 2;
    }
    char pub[41], err[300];
    if (sx_keys_generate(out, pub, err, sizeof err) != 0) {
        fprintf(stderr, "scalanytics keygen: %s\n", err);
        return 1;
    }
    if (node)
        printf("key %s %s\n", node, pub);
    else
        printf("%s\n", pub);
    return 0;
}
