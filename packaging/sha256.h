/*
 * SHA-256 (FIPS 180-4) for the launcher and the hashing workers' native reader
 * (native/file_reader.c): over a buffer in memory or in pieces, hex digest out. Written for
 * bpfink from the standard's definitions; the launcher links nothing but glibc and zstd, so it
 * carries its own.
 */
#ifndef BPFINK_SHA256_H
#define BPFINK_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* First 32 bits of the fractional parts of the cube roots of the first 64 primes. */
static const uint32_t SHA256_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

static inline uint32_t sha256_rotr(uint32_t x, unsigned n) { return (x >> n) | (x << (32 - n)); }

/* Processes one 64-byte block into the state h. */
static void sha256_block(uint32_t h[8], const uint8_t *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++) {
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    }
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = sha256_rotr(w[t - 15], 7) ^ sha256_rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = sha256_rotr(w[t - 2], 17) ^ sha256_rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], k = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = sha256_rotr(e, 6) ^ sha256_rotr(e, 11) ^ sha256_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = k + S1 + ch + SHA256_K[t] + w[t];
        uint32_t S0 = sha256_rotr(a, 2) ^ sha256_rotr(a, 13) ^ sha256_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        k = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += k;
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/* Whether this CPU has the SHA extensions (and the SSSE3 and SSE4.1 they are used with here). */
static int sha256_cpu_has_ni(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSSE3) || !(c & bit_SSE4_1)) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b & bit_SHA) != 0;
}

/* sha256_block() over n blocks with the SHA extensions: the state is kept as the two halves
 * the instructions take (A B E F and C D G H), four rounds per pair of sha256rnds2, and the
 * message schedule made four words at a time by sha256msg1 and sha256msg2. */
__attribute__((target("sha,ssse3,sse4.1"))) static void sha256_blocks_ni(uint32_t h[8],
                                                                          const uint8_t *p,
                                                                          uint64_t n) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1); /* B A D C */
    __m128i s1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* H G F E */
    __m128i s0 = _mm_alignr_epi8(t, s1, 8);    /* A B E F */
    s1 = _mm_blend_epi16(s1, t, 0xF0);         /* C D G H */
    for (uint64_t blk = 0; blk < n; blk++, p += 64) {
        const __m128i save0 = s0, save1 = s1;
        __m128i w[16];
        for (int i = 0; i < 16; i++) {
            if (i < 4) {
                w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), swap);
            } else {
                __m128i x = _mm_add_epi32(_mm_sha256msg1_epu32(w[i - 4], w[i - 3]),
                                          _mm_alignr_epi8(w[i - 1], w[i - 2], 4));
                w[i] = _mm_sha256msg2_epu32(x, w[i - 1]);
            }
            __m128i m = _mm_add_epi32(w[i], _mm_loadu_si128((const __m128i *)&SHA256_K[4 * i]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, m);
            s0 = _mm_sha256rnds2_epu32(s0, s1, _mm_shuffle_epi32(m, 0x0E));
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }
    t = _mm_shuffle_epi32(s0, 0x1B);           /* F E B A */
    s1 = _mm_shuffle_epi32(s1, 0xB1);          /* D C H G */
    s0 = _mm_blend_epi16(t, s1, 0xF0);         /* D C B A */
    s1 = _mm_alignr_epi8(s1, t, 8);            /* H G F E */
    _mm_storeu_si128((__m128i *)&h[0], s0);
    _mm_storeu_si128((__m128i *)&h[4], s1);
}
#endif

/* Whether sha256_blocks() uses the SHA extensions: -1 not asked yet; BPFINK_SHA256_PORTABLE=1
 * (for the tests) keeps to the portable code. */
static int sha256_ni __attribute__((unused)) = -1;

/* sha256_block() over n consecutive blocks: with the CPU's SHA extensions where it has them
 * (the launcher hashes a 90 MB runtime on a first start: 0.3 s the portable way). */
static void sha256_blocks(uint32_t h[8], const uint8_t *p, uint64_t n) {
#if defined(__x86_64__)
    /* Relaxed atomics: the native reader's threads may ask first at once (and agree). */
    int ni = __atomic_load_n(&sha256_ni, __ATOMIC_RELAXED);
    if (ni < 0) {
        const char *off = getenv("BPFINK_SHA256_PORTABLE");
        ni = !(off && off[0] == '1') && sha256_cpu_has_ni();
        __atomic_store_n(&sha256_ni, ni, __ATOMIC_RELAXED);
    }
    if (ni) {
        sha256_blocks_ni(h, p, n);
        return;
    }
#endif
    for (uint64_t i = 0; i < n; i++) sha256_block(h, p + 64 * i);
}

/* A running SHA-256: sha256_init(), sha256_update() over the bytes in any pieces, then
 * sha256_final_hex(). */
struct sha256_ctx {
    uint32_t h[8];
    uint8_t pending[64];
    size_t pending_len;
    uint64_t total;
};

static inline void sha256_init(struct sha256_ctx *c) {
    static const uint32_t init[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < 8; i++) c->h[i] = init[i];
    c->pending_len = 0;
    c->total = 0;
}

static inline void sha256_update(struct sha256_ctx *c, const uint8_t *p, size_t n) {
    c->total += n;
    if (c->pending_len) {
        size_t take = 64 - c->pending_len < n ? 64 - c->pending_len : n;
        for (size_t i = 0; i < take; i++) c->pending[c->pending_len + i] = p[i];
        c->pending_len += take;
        p += take;
        n -= take;
        if (c->pending_len < 64) return;
        sha256_blocks(c->h, c->pending, 1);
        c->pending_len = 0;
    }
    sha256_blocks(c->h, p, n / 64);
    p += (n / 64) * 64;
    c->pending_len = n % 64;
    for (size_t i = 0; i < c->pending_len; i++) c->pending[i] = p[i];
}

/* Ends the hash: its 32 bytes into out. */
static inline void sha256_final(struct sha256_ctx *c, uint8_t out[32]) {
    /* Padding: 0x80, zeros, then the bit length big-endian, in one or two final blocks. */
    uint8_t tail[128] = {0};
    for (size_t i = 0; i < c->pending_len; i++) tail[i] = c->pending[i];
    tail[c->pending_len] = 0x80;
    size_t blocks = c->pending_len < 56 ? 1 : 2;
    uint64_t bits = c->total * 8;
    for (int i = 0; i < 8; i++) tail[64 * blocks - 1 - i] = (uint8_t)(bits >> (8 * i));
    sha256_blocks(c->h, tail, blocks);
    for (int i = 0; i < 8; i++) {
        for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(c->h[i] >> (24 - 8 * j));
    }
}

/* Ends the hash: 64 lowercase hex digits into hex (no NUL). */
static inline void sha256_final_hex(struct sha256_ctx *c, char hex[64]) {
    static const char digits[] = "0123456789abcdef";
    uint8_t out[32];
    sha256_final(c, out);
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[out[i] >> 4];
        hex[2 * i + 1] = digits[out[i] & 15];
    }
}

/* Writes the SHA-256 of data[0..len) as 64 lowercase hex digits and a NUL into hex. */
static inline void sha256_hex(const uint8_t *data, uint64_t len, char hex[65]) {
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, data, (size_t)len);
    sha256_final_hex(&c, hex);
    hex[64] = '\0';
}

#endif
