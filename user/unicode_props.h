/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Character properties as CPython 3.11 defines them (generated table,
 * user/unicode_props.c): the recorder prints strings exactly as fluent.py's
 * Python did, so it needs Python's idea of "printable" and "whitespace".
 */
#ifndef WF_UNICODE_PROPS_H
#define WF_UNICODE_PROPS_H

#include <stdbool.h>
#include <stdint.h>

/* str.isprintable(): repr() keeps the character instead of escaping it. */
bool unicode_is_printable(uint32_t cp);

/* str.isspace(): what \s matches in a Python str regex. */
bool unicode_is_space(uint32_t cp);

#endif /* WF_UNICODE_PROPS_H */
