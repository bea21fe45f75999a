/*
 * Whether a file's content may hold a password hash: the native twin of
 * src/consumers/password_hashes.ts' mayHoldPasswordHash(), which it must equal byte for byte
 * (src/watch/native_reader_test.ts compares them). A yes costs the main thread an exact look
 * (redactPasswordHashes) before the content is kept or shown; a no lets it keep the bytes as
 * they are. It says yes for any of:
 *   - a '$', 1 to 14 digits, lower-case letters or '-', and a '$' or ',' (the modular crypt
 *     format's $6$, $argon2id$, $md5,rounds=);
 *   - a '{', one of SMCPA in either case and 1 to 15 letters, digits or '-', a '}', and 8
 *     characters of base64 or "$.,:-" (LDAP's {SSHA}...);
 *   - a line whose first ':'-separated field is not empty and has no blank, and whose second,
 *     after any '!' and '*', is 13 + 11k characters of [./0-9A-Za-z] (DES and bigcrypt) or '_'
 *     and 19 of them (BSDi), up to the next ':' or the line's end (a '\r' before the '\n'
 *     counts as its end), and does not start "//" (a URL's).
 */
#ifndef BPFINK_HASH_SNIFF_H
#define BPFINK_HASH_SNIFF_H

#include <stdint.h>
#include <string.h>

static int sniff_crypt_char(uint8_t c) {
    return c == '.' || c == '/' || (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
           (c >= 'a' && c <= 'z');
}

static int sniff_modular(const uint8_t *s, uint64_t n) {
    const uint8_t *end = s + n;
    for (const uint8_t *p = s; (p = memchr(p, '$', (size_t)(end - p))); p++) {
        const uint8_t *q = p + 1;
        while (q < end && q - p <= 14 &&
               ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') || *q == '-')) {
            q++;
        }
        if (q > p + 1 && q < end && (*q == '$' || *q == ',')) return 1;
    }
    return 0;
}

static int sniff_alnum(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int sniff_braced(const uint8_t *s, uint64_t n) {
    const uint8_t *end = s + n;
    for (const uint8_t *p = s; (p = memchr(p, '{', (size_t)(end - p))); p++) {
        if (p + 1 >= end || !strchr("SsMmCcPpAa", p[1]) || p[1] == 0) continue;
        const uint8_t *q = p + 2;
        while (q < end && q - p <= 16 && (sniff_alnum(*q) || *q == '-')) q++;
        if (q >= end || *q != '}') continue;
        const uint8_t *r = q + 1;
        while (r < end && r - q <= 8 && (sniff_alnum(*r) || (*r && strchr("+/=$.,:-", *r)))) r++;
        if (r - q > 8) return 1;
    }
    return 0;
}

/* Whether [f, e) can be an account's name: not empty, no blank. */
static int sniff_name_like(const uint8_t *f, const uint8_t *e) {
    if (f == e) return 0;
    for (; f < e; f++) {
        if (*f == ' ' || *f == '\t') return 0;
    }
    return 1;
}

/* Whether field [f, e) is a DES, bigcrypt or BSDi hash, after any '!' and '*'; never "//...". */
static int sniff_des_field(const uint8_t *f, const uint8_t *e) {
    if (e - f >= 2 && f[0] == '/' && f[1] == '/') return 0;
    while (f < e && (*f == '!' || *f == '*')) f++;
    uint64_t len = (uint64_t)(e - f);
    if (len == 20 && *f == '_') {
        f++;
        len--;
    } else if (len < 13 || (len - 13) % 11 != 0) {
        return 0;
    }
    for (; f < e; f++) {
        if (!sniff_crypt_char(*f)) return 0;
    }
    return 1;
}

static int sniff_des(const uint8_t *s, uint64_t n) {
    const uint8_t *end = s + n;
    for (const uint8_t *line = s; line < end;) {
        const uint8_t *nl = memchr(line, '\n', (size_t)(end - line));
        const uint8_t *eol = nl ? nl : end;
        const uint8_t *c1 = memchr(line, ':', (size_t)(eol - line));
        if (c1) {
            const uint8_t *f = c1 + 1;
            const uint8_t *c2 = memchr(f, ':', (size_t)(eol - f));
            const uint8_t *e = c2 ? c2 : (eol > f && eol[-1] == '\r' ? eol - 1 : eol);
            if (sniff_name_like(line, c1) && sniff_des_field(f, e)) return 1;
        }
        line = nl ? nl + 1 : end;
    }
    return 0;
}

/* Whether content s[0, n) may hold a password hash (the rules above). */
static int may_hold_password_hash(const uint8_t *s, uint64_t n) {
    return sniff_modular(s, n) || sniff_braced(s, n) || sniff_des(s, n);
}

#endif
