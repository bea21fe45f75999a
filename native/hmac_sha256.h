/*
 * HMAC-SHA256 (RFC 2104, B = 64, L = 32) over packaging/sha256.h, for the keyed digests of
 * extended attributes' values (extra_attrs.h; extra_attrs.ts makes the same with node:crypto).
 *
 * A key is prepared once (hmac_key_init: the inner and outer hashes with the padded key's
 * block absorbed), then each message costs the two hashes of its own bytes.
 */
#ifndef BPFINK_HMAC_SHA256_H
#define BPFINK_HMAC_SHA256_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../packaging/sha256.h"

/* The inner and outer hashes of a key, its block absorbed. */
struct hmac_key {
    struct sha256_ctx inner;
    struct sha256_ctx outer;
};

/* Prepares key (len bytes; longer than a block: hashed first, as RFC 2104 says). */
static inline void hmac_key_init(struct hmac_key *k, const uint8_t *key, size_t len) {
    uint8_t block[64] = {0};
    if (len > sizeof block) {
        struct sha256_ctx c;
        sha256_init(&c);
        sha256_update(&c, key, len);
        sha256_final(&c, block);
    } else if (len) {
        memcpy(block, key, len);
    }
    uint8_t pad[64];
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x36;
    sha256_init(&k->inner);
    sha256_update(&k->inner, pad, sizeof pad);
    for (int i = 0; i < 64; i++) pad[i] = block[i] ^ 0x5c;
    sha256_init(&k->outer);
    sha256_update(&k->outer, pad, sizeof pad);
}

/* HMAC(key, data[0..len)) as 64 lowercase hex digits and a NUL into hex. */
static inline void hmac_sha256_hex(const struct hmac_key *k, const uint8_t *data, size_t len,
                                   char hex[65]) {
    struct sha256_ctx c = k->inner;
    sha256_update(&c, data, len);
    uint8_t inner[32];
    sha256_final(&c, inner);
    c = k->outer;
    sha256_update(&c, inner, sizeof inner);
    sha256_final_hex(&c, hex);
    hex[64] = '\0';
}

#endif
