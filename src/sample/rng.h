/*
 * rng.h - the sampler's own pseudo-random generator.
 *
 * Sampling must give the same tokens for the same seed and logits on every
 * machine and C library, so hone never uses rand(): it carries
 * xoshiro256** (Blackman & Vigna), whose 256-bit state is filled from the
 * 64-bit user seed by splitmix64 (the seeding the xoshiro authors recommend,
 * and it never yields the all-zero state). Doubles take the top 53 bits of a
 * draw, so every value is an exact multiple of 2^-53 in [0, 1).
 *
 * Header-only (static inline) so the sampler and its tests share one copy.
 */
#ifndef HONE_SAMPLE_RNG_H
#define HONE_SAMPLE_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} hone_rng;

/* One splitmix64 step: advances *x and returns the next output. */
static inline uint64_t hone_splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void hone_rng_seed(hone_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = hone_splitmix64(&x);
}

static inline uint64_t hone_rng_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** next output. */
static inline uint64_t hone_rng_next(hone_rng *r) {
    uint64_t *s = r->s;
    const uint64_t result = hone_rng_rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = hone_rng_rotl(s[3], 45);
    return result;
}

/* Uniform double in [0, 1) with 53 random bits. */
static inline double hone_rng_double(hone_rng *r) { return (double)(hone_rng_next(r) >> 11) * 0x1.0p-53; }

#endif
