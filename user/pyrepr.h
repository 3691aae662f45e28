/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Python 3.11's text conversions, as fluent.py's dump rows depend on them:
 * repr() of str and bytes (quote choice, escapes) and bytes.decode().
 *
 * Strings are UTF-8 in C; a "str" here is valid UTF-8 without NUL.
 */
#ifndef WF_PYREPR_H
#define WF_PYREPR_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

/*
 * repr(str): single quotes unless the text has ' and no ", then double;
 * \\, the chosen quote, \t \n \r escaped; other characters that
 * str.isprintable() rejects as \xNN, \uNNNN or \UNNNNNNNN; printable
 * non-ASCII kept as is.  (Bytes that are not UTF-8, which callers never
 * pass, come out as \xNN.)
 */
void pyrepr_str(struct strbuf *out, const char *s, size_t len);

/*
 * repr(bytes): b'...' with the same quote choice; \\, the quote, \t \n \r
 * escaped; bytes outside 0x20..0x7e as \xNN.
 */
void pyrepr_bytes(struct strbuf *out, const uint8_t *b, size_t len);

/*
 * bytes.decode("utf-8", "backslashreplace"): every byte that is not part of
 * a well-formed sequence becomes the four characters \xNN.  The result is
 * always a valid str.
 */
void py_decode_utf8(struct strbuf *out, const uint8_t *b, size_t len);

#endif /* WF_PYREPR_H */
