/*
 * rng.h -- the generators' pseudo-random numbers: xoshiro256** seeded
 * through splitmix64.
 *
 * Deterministic on every platform (no rand(), no global state): the same
 * seed, stream and index give the same sequence. Streams keep unrelated
 * decisions apart, so that, say, turning an impairment off does not
 * change the mails' contents: each consumer seeds its own sx_rng from
 * (seed, stream, index) instead of sharing one.
 */
#ifndef SX_TOOLS_RNG_H
#define SX_TOOLS_RNG_H

#include <stdint.h>

typedef struct sx_rng {
    uint64_t s[4];
} sx_rng;

/** splitmix64: advances *x and returns the next output. */
static inline uint64_t sx_rng_splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/** Seeds r for the index-th member of a stream of a run's seed. */
static inline void sx_rng_seed(sx_rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t x = seed;
    uint64_t a = sx_rng_splitmix(&x);
    x = a ^ (stream * 0xd1342543de82ef95u);
    a = sx_rng_splitmix(&x);
    x = a ^ index;
    for (int i = 0; i < 4; i++)
        r->s[i] = sx_rng_splitmix(&x);
}

/** The next 64 random bits. */
static inline uint64_t sx_rng_next(sx_rng *r)
{
    uint64_t *s = r->s;
    uint64_t x = s[1] * 5;
    uint64_t result = ((x << 7) | (x >> 57)) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = (s[3] << 45) | (s[3] >> 19);
    return result;
}

/** A number in [0, n), n at most 2^32 (multiply-shift; the bias is
 *  below 2^-32 and the result deterministic). */
static inline uint32_t sx_rng_below(sx_rng *r, uint64_t n)
{
    return (uint32_t)(((sx_rng_next(r) >> 32) * n) >> 32);
}

/** A number in [lo, hi]. */
static inline uint32_t sx_rng_range(sx_rng *r, uint32_t lo, uint32_t hi)
{
    return lo + sx_rng_below(r, (uint64_t)hi - lo + 1);
}

/** A double in [0, 1). */
static inline double sx_rng_unit(sx_rng *r)
{
    return (double)(sx_rng_next(r) >> 11) * 0x1.0p-53;
}

/** True with probability p (never when p is 0). */
static inline int sx_rng_chance(sx_rng *r, double p)
{
    return sx_rng_unit(r) < p;
}

#endif
