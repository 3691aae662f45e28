/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A strict JSON validator for tests of JSON output (RFC 8259): exactly one
 * value with optional whitespace around it, strings of well-formed UTF-8
 * without raw control characters, escapes as the grammar has them (a \u
 * surrogate only as half of a pair), numbers as the grammar has them.
 * Recursive descent, nesting bounded so that hostile input cannot exhaust
 * the stack.
 */
#ifndef WF_TEST_JSON_CHECK_H
#define WF_TEST_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#define JSON_CHECK_MAX_DEPTH 64

/* Whether s[0..len) is one JSON text; *err_at (may be NULL): where it is not. */
bool json_check(const char *s, size_t len, size_t *err_at);

#endif /* WF_TEST_JSON_CHECK_H */
