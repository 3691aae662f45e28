/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Strict UTF-8 (as Python's "utf-8" codec: no overlong forms, no surrogates,
 * nothing above U+10FFFF).
 */
#ifndef WF_UTF8_H
#define WF_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UTF8_MAX_LEN 4

/*
 * Decodes the well-formed sequence at the start of s[0..len).  Returns its
 * length (1..4) and stores the code point, or 0 when s does not start with
 * a complete well-formed sequence (len == 0 included).
 */
size_t utf8_decode(const uint8_t *s, size_t len, uint32_t *cp);

/* The whole of s[0..len) is well-formed UTF-8 (what Python's decode accepts). */
bool wf_utf8_valid(const char *s, size_t len);

/* Encodes cp (<= 0x10FFFF) into out; returns the length (1..4). */
size_t utf8_encode(uint32_t cp, uint8_t out[UTF8_MAX_LEN]);

#endif /* WF_UTF8_H */
