/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Character properties as CPython 3.11 defines them (generated table,
 * user/unicode_props.c): the recorder prints strings exactly as fluent.py's
 * Python did, so it needs Python's idea of "printable" and "whitespace"; the
 * regex compiler needs what the re module's \s \w \d match in a str pattern
 * and how its case-insensitive matching folds characters.
 */
#ifndef WF_UNICODE_PROPS_H
#define WF_UNICODE_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An inclusive range of code points. */
struct unicode_range {
	uint32_t first, last;
};

/* str.isprintable(): repr() keeps the character instead of escaping it. */
bool unicode_is_printable(uint32_t cp);

/* str.isspace(): what \s matches in a Python str regex. */
bool unicode_is_space(uint32_t cp);

enum unicode_re_category {
	UNICODE_RE_SPACE,	/* \s: str.isspace() */
	UNICODE_RE_WORD,	/* \w: str.isalnum() or "_" */
	UNICODE_RE_DECIMAL,	/* \d: str.isdecimal() */
};

/* The code points of a category as sorted, disjoint ranges (count in *n). */
const struct unicode_range *unicode_re_category(enum unicode_re_category cat, size_t *n);

/* One code point and its simple lowercase, where the two differ. */
struct unicode_case_pair {
	uint32_t cp, lower;
};

/* _sre.unicode_tolower(): the simple lowercase (cp itself if none). */
uint32_t unicode_re_tolower(uint32_t cp);

/* Every code point unicode_re_tolower() changes, sorted by cp. */
const struct unicode_case_pair *unicode_re_lower_pairs(size_t *n);

/*
 * re._casefix._EXTRA_CASES: lowercase characters and the other lowercase
 * characters that match them case-insensitively (e.g. 's' and 'ſ');
 * others[1] is 0 when there is only one.  Sorted by lower.
 */
struct unicode_extra_case {
	uint32_t lower;
	uint32_t others[2];
};

const struct unicode_extra_case *unicode_re_extra_cases(size_t *n);

#endif /* WF_UNICODE_PROPS_H */
