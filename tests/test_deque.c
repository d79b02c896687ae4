/*
 * test_deque.c -- the work-stealing deque: LIFO for its owner, FIFO for
 * thieves, growth, and under contention every item taken exactly once.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "actors/deque.h"

enum { ITEMS = 200000, THIEVES = 3 };

static sx_deque *dq;
static atomic_uchar taken[ITEMS + 1];
static atomic_bool done;

#include "tests/check.h"

/** Thief: steals until the owner is done and the deque is empty. */
static void *thief(void *arg)
{
    long n = 0;
    while (!atomic_load(&done) || sx_deque_size(dq) > 0) {
        void *it = sx_deque_steal(dq);
        if (it) {
            atomic_fetch_add(&taken[(uintptr_t)it], 1);
            n++;
        }
    }
    return (void *)n;
}

int main(void)
{
    /* single thread semantics, with growth past the initial 16 slots */
    dq = sx_deque_new(4);
    for (uintptr_t i = 1; i <= 100; i++)
        sx_deque_push(dq, (void *)i);
    CHECK(sx_deque_size(dq) == 100, "size after pushes");
    CHECK(sx_deque_steal(dq) == (void *)1, "thief takes the oldest");
    CHECK(sx_deque_pop(dq) == (void *)100, "owner takes the newest");
    for (uintptr_t i = 99; i >= 2; i--)
        CHECK(sx_deque_pop(dq) == (void *)i, "LIFO order");
    CHECK(sx_deque_pop(dq) == NULL && sx_deque_steal(dq) == NULL, "empty");
    sx_deque_destroy(&dq);
    CHECK(dq == NULL, "destroy nulls the pointer");

    /* contention: owner pushes and pops, thieves steal */
    dq = sx_deque_new(16);
    pthread_t th[THIEVES];
    for (int i = 0; i < THIEVES; i++)
        pthread_create(&th[i], NULL, thief, NULL);
    long own = 0;
    for (uintptr_t i = 1; i <= ITEMS; i++) {
        sx_deque_push(dq, (void *)i);
        if (i % 3 == 0) {
            void *it = sx_deque_pop(dq);
            if (it) {
                atomic_fetch_add(&taken[(uintptr_t)it], 1);
                own++;
            }
        }
    }
    void *it;
    while ((it = sx_deque_pop(dq))) {
        atomic_fetch_add(&taken[(uintptr_t)it], 1);
        own++;
    }
    atomic_store(&done, true);
    long stolen = 0;
    for (int i = 0; i < THIEVES; i++) {
        void *r;
        pthread_join(th[i], &r);
        stolen += (long)r;
    }
    for (int i = 1; i <= ITEMS; i++)
        CHECK(atomic_load(&taken[i]) == 1, "an item was lost or taken twice");
    CHECK(own + stolen == ITEMS, "count");
    sx_deque_destroy(&dq);
    printf("deque: %d items, %ld by the owner, %ld stolen\n", ITEMS, own, stolen);
    return 0;
}
