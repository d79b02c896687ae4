/*
 * test_tokens.c -- the token dispenser: order, limit, window, waiting,
 * and refusal of double or stray releases.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "actors/tokens.h"

#include "tests/check.h"

static sx_tokens *tk;

/** Releases token 1 after a pause, unblocking the main thread. */
static void *late_release(void *arg)
{
    usleep(20000);
    sx_tokens_release(tk, 1);
    return NULL;
}

int main(void)
{
    tk = sx_tokens_new(3);
    CHECK(sx_tokens_window(3) == 4, "window is the limit rounded to a power of two");
    CHECK(sx_tokens_acquire(tk) == 1 && sx_tokens_acquire(tk) == 2 && sx_tokens_acquire(tk) == 3,
          "tokens count up from 1");
    uint64_t t;
    CHECK(!sx_tokens_try_acquire(tk, &t), "the limit refuses a fourth");
    CHECK(sx_tokens_release(tk, 2) == 0, "release");
    CHECK(sx_tokens_release(tk, 2) == -1, "a double release is refused");
    CHECK(sx_tokens_release(tk, 99) == -1, "a stray release is refused");
    CHECK(sx_tokens_try_acquire(tk, &t) && t == 4, "room again: token 4");
    /* 1, 3, 4 in flight: token 5 shares slot 1 (window 4), so it must
     * wait for token 1 although only two are in flight */
    CHECK(sx_tokens_release(tk, 3) == 0, "release 3");
    CHECK(!sx_tokens_try_acquire(tk, &t), "token 5 waits for token 1's slot");
    pthread_t th;
    pthread_create(&th, NULL, late_release, NULL);
    CHECK(sx_tokens_acquire(tk) == 5, "acquire waits, then gets 5");
    pthread_join(th, NULL);
    CHECK(sx_tokens_release(tk, 4) == 0 && sx_tokens_release(tk, 5) == 0, "release rest");
    sx_tokens_wait_idle(tk);
    sx_tokens_stats st;
    sx_tokens_stats_get(tk, &st);
    CHECK(st.issued == 5 && st.completed == 5, "issued and completed");
    CHECK(st.max_in_flight == 3 && st.bad_releases == 2 && st.refused == 2, "counters");
    sx_tokens_destroy(&tk);
    CHECK(tk == NULL, "destroy nulls the pointer");
    printf("tokens: ok\n");
    return 0;
}
