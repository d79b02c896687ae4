/*
 * plan.c -- `scalanytics plan PROGRAM... --dot`: the pipelines as a
 * Graphviz graph (one cluster per program, one node per component with
 * its kind and context keys, edges labelled with the relations that flow
 * between components). Without --dot it prints the same plan as check.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "program.h"

/** True when component c has a rule whose head is rel. */
static int emits(const analog_component *c, const char *rel)
{
    for (uint32_t r = 0; r < c->nrules; r++)
        if (!strcmp(c->rules[r].head.rel, rel))
            return 1;
    return 0;
}

/** Prints one relation name as a DOT-safe label fragment. */
static void dot_text(FILE *f, const char *s)
{
    for (; *s; s++)
        fputs(*s == '"' ? "\\\"" : *s == '\\' ? "\\\\" : (char[]){*s, 0}, f);
}

/** Writes the edge label: relations comp `to` consumes (its rules'
 *  events) that comp `from` emits or passes through. */
static void edge_label(FILE *f, const analog_component *from, const analog_component *to)
{
    int first = 1;
    for (uint32_t r = 0; r < to->nrules; r++) {
        const char *rel = to->rules[r].event.rel;
        int dup = 0;
        for (uint32_t q = 0; q < r; q++)
            dup |= !strcmp(to->rules[q].event.rel, rel);
        if (dup || emits(to, rel))
            continue; /* derived inside `to` itself */
        fputs(first ? "" : "\\n", f);
        dot_text(f, rel);
        if (!emits(from, rel))
            fputs(" (passed through)", f);
        first = 0;
    }
}

/** Writes one program as a DOT cluster. */
static void dot_program(FILE *f, size_t idx, const cli_program *p)
{
    const analog_program *ast = p->ast;
    fprintf(f, "  subgraph cluster_%zu {\n    label=\"", idx);
    dot_text(f, p->path);
    fprintf(f, "\";\n    source_%zu [shape=plaintext, label=\"capture\"];\n", idx);
    for (uint32_t i = 0; i < ast->ncomps; i++) {
        const analog_component *c = &ast->comps[i];
        fprintf(f, "    c%zu_%u [shape=box, label=\"", idx, i);
        dot_text(f, c->name);
        fprintf(f, "\\n%s", analog_kind_name(c->kind));
        for (uint32_t k = 0; k < c->nkeys; k++) {
            fputs(k ? ", " : "\\nkey ", f);
            dot_text(f, c->keys[k].rel);
            fprintf(f, "(%u)", c->keys[k].index);
        }
        fprintf(f, "\\n%u rule%s\"];\n", c->nrules, c->nrules == 1 ? "" : "s");
        if (i == 0) {
            fprintf(f, "    source_%zu -> c%zu_0;\n", idx, idx);
        } else {
            fprintf(f, "    c%zu_%u -> c%zu_%u [label=\"", idx, i - 1, idx, i);
            edge_label(f, &ast->comps[i - 1], c);
            fputs("\"];\n", f);
        }
    }
    fprintf(f, "    sink_%zu [shape=plaintext, label=\"sink\"];\n", idx);
    if (ast->ncomps)
        fprintf(f, "    c%zu_%u -> sink_%zu;\n", idx, ast->ncomps - 1, idx);
    fputs("  }\n", f);
}

/** Prints plan's help. */
static void plan_usage(FILE *f)
{
    fprintf(f,
        "usage: scalanytics plan [OPTIONS] PROGRAM...\n"
        "\n"
        "Prints the pipelines the programs compile to. With --dot, a Graphviz graph:\n"
        "  scalanytics plan prog.analog --dot | dot -Tpng -o pipeline.png\n"
        "\n"
        "options:\n"
        "  -d, --dot               Graphviz output\n"
        "  -p, --param NAME=VALUE  bind $NAME (repeatable)\n"
        "  -s, --source REL        a relation the first component may consume (repeatable)\n"
        "  -h, --help              this help\n");
}

int cli_plan(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"dot", no_argument, 0, 'd'},         {"param", required_argument, 0, 'p'},
        {"source", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    cli_program_opts o = {0};
    int dot = 0, c, rc = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "dp:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': dot = 1; break;
        case 'p': if (cli_program_add_param(&o, "plan", optarg)) rc = 2; break;
        case 's': cli_program_add_source(&o, optarg); break;
        case 'h': plan_usage(stdout); cli_program_opts_free(&o); return 0;
        default: rc = 2;
        }
    }
    if (rc == 0 && optind >= argc) {
        fprintf(stderr, "scalanytics plan: no PROGRAM given\n");
        rc = 2;
    }
    if (rc != 0) {
        plan_usage(stderr);
        cli_program_opts_free(&o);
        return rc;
    }
    if (dot)
        printf("digraph scalanytics {\n  rankdir=LR;\n");
    for (int i = optind; i < argc; i++) {
        cli_program prog;
        if (cli_program_load(argv[i], &o, &prog) != 0) {
            rc = 1;
            continue;
        }
        if (dot)
            dot_program(stdout, (size_t)(i - optind), &prog);
        else
            analog_plan_print(prog.plan, stdout);
        cli_program_free(&prog);
    }
    if (dot)
        printf("}\n");
    cli_program_opts_free(&o);
    return rc;
}
