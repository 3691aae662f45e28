/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Python `re` patterns compiled into a minimized DFA that a BPF program can
 * run over field bytes (the one home of the regex compiler).
 *
 *   regex_parse.c  pattern text -> syntax tree, with Python 3.11's syntax and
 *                  error messages; character sets, \w \d \s, case folding
 *   regex_dfa.c    syntax tree -> byte-level Thompson NFA -> subset
 *                  construction (state cap) -> minimization -> byte classes;
 *                  the literal fast path and the userspace executor
 *
 * What a compiled pattern answers is re.search(pattern, subject) is not None:
 * a match anywhere (unanchored unless ^ or \A), so the DFA stops at the first
 * byte that completes a match ("match found" is an absorbing state) and
 * checks accept_at_end after the last byte for $ and \Z.
 *
 * Two kinds of pattern, as fluent.py passes them to re:
 * - str patterns (onX(field="...")) match the field as text.  The kernel sees
 *   UTF-8, so the DFA works on bytes but every character-consuming piece
 *   (literals, ., classes, \w...) consumes one whole well-formed UTF-8
 *   sequence, and \w \d \s are Python's Unicode definitions (str.isalnum()
 *   or "_", str.isdecimal(), str.isspace(); tables from Python 3.11, Unicode
 *   14.0, user/unicode_props.c); (?a) makes them ASCII.  Bytes that are not
 *   part of well-formed UTF-8 are matched by nothing, not even . or [^...]
 *   (as RE2 and Rust's regex do): no answer Python could give for them,
 *   since fluent.py's fields are decoded text.
 * - bytes patterns (matches(b"...")) match raw bytes; \w \d \s are ASCII.
 *
 * Supported: literals and escapes (\n \t \x41 \u00e9 \U0001f600 \101 \\ \.
 * ...), ., ^, $, \A, \Z, classes [...] [^...] with ranges, escapes and
 * \d \w \s \D \W \S, * + ? {m} {m,} {,n} {m,n} and their lazy forms (same
 * answer under search), alternation, groups (...) (?:...) (?P<name>...),
 * comments (?#...), flags (?i) (?m) (?s) (?x) (?a) (?u) global or scoped
 * ((?i:...), (?-i:...)); \b and \B in bytes patterns and under (?a).
 * Case-insensitive matching is Python's: ASCII for bytes and under (?a),
 * simple Unicode case folding (with re's extra cases: k/K/U+212A, s/ſ, ...)
 * for str patterns.  One deliberate difference: CPython 3.11 loses an
 * uppercase letter outside the BMP from a case-insensitive class that has
 * other items (re.search("(?i)[\U00010400x]", "\U00010400") is None, a bug);
 * here the class matches it and its lowercase.
 *
 * Rejected with WF_REGEX_UNSUPPORTED and a message naming the construct:
 * backreferences (\1, (?P=name)), lookahead and lookbehind, conditionals
 * (?(1)...), atomic groups (?>...), possessive quantifiers (*+ ...), \b \B in
 * Unicode str patterns, \N{...}, the (?L) and (?t) flags.  Patterns Python
 * rejects give WF_REGEX_SYNTAX with Python's message ("missing ),
 * unterminated subpattern at position 0").
 */
#ifndef WF_REGEX_H
#define WF_REGEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WF_REGEX_MAX_STATES 4096	/* default DFA state limit (after minimization) */
#define WF_REGEX_ERR_MAX 256		/* room for any error message */

enum wf_regex_kind {
	WF_REGEX_STR,		/* a Python str pattern, UTF-8; matches UTF-8 text */
	WF_REGEX_BYTES,		/* a Python bytes pattern; matches raw bytes */
};

enum wf_regex_status {
	WF_REGEX_OK = 0,
	WF_REGEX_SYNTAX,	/* Python's re rejects it too (same message) */
	WF_REGEX_UNSUPPORTED,	/* valid for Python, not expressible as a DFA here */
	WF_REGEX_TOO_BIG,	/* over the state limit (or the NFA size limit) */
	WF_REGEX_NOMEM,
};

/*
 * A compiled pattern.  next[s * n_classes + byte_class[b]] is the state
 * after reading byte b in state s.  State 0 is dead (no match possible any
 * more), state 1 is "match found" (absorbing, accept[1] = 1; present even if
 * unreachable); the kernel can stop at either.  After the last byte the
 * subject matches iff accept[s] || accept_at_end[s].  n_states <= 65535.
 *
 * Literal fast path: when the pattern is a plain literal (optionally preceded
 * by ^ or \A, not under (?m)), is_literal is set and the pattern matches iff
 * literal occurs in the subject (at its start when literal_anchored).
 * literal is the UTF-8 (str) or raw (bytes) text, literal_len may be 0 (the
 * empty pattern matches everything).
 */
struct wf_dfa {
	uint32_t n_states, n_classes, start;
	uint8_t byte_class[256];
	uint16_t *next;		/* n_states * n_classes */
	uint8_t *accept;	/* n_states: a match has been found */
	uint8_t *accept_at_end;	/* n_states: a match if the subject ends here */

	bool is_literal, literal_anchored;
	uint32_t literal_len;
	uint8_t *literal;
};

struct wf_regex_opts {
	uint32_t max_states;	/* 0: WF_REGEX_MAX_STATES */
};

/*
 * Compiles pattern[0..len) into *dfa (zeroed first; free it with
 * wf_dfa_free() whatever the result).  opts may be NULL.  On failure err
 * (errsz bytes, WF_REGEX_ERR_MAX is always enough) holds the message.
 */
enum wf_regex_status wf_regex_compile(const void *pattern, size_t len, enum wf_regex_kind kind,
				      const struct wf_regex_opts *opts, struct wf_dfa *dfa,
				      char *err, size_t errsz);

void wf_dfa_free(struct wf_dfa *dfa);

/* re.search(pattern, s) is not None, run on the DFA. */
bool wf_dfa_search(const struct wf_dfa *dfa, const uint8_t *s, size_t n);

/* The same answer through the literal fast path (dfa->is_literal only). */
bool wf_dfa_literal_search(const struct wf_dfa *dfa, const uint8_t *s, size_t n);

/* ---- between regex_parse.c and regex_dfa.c -------------------------------------------------- */

#define RE_INF UINT32_MAX	/* unbounded repetition */

/* An inclusive range of code points (str) or byte values (bytes). */
struct re_range {
	uint32_t lo, hi;
};

/* A character set: sorted, disjoint, non-adjacent ranges. */
struct re_set {
	struct re_range *r;
	uint32_t n, cap;
};

enum re_node_kind {
	RE_EMPTY,		/* matches the empty string */
	RE_SET,			/* one character (str: one UTF-8 sequence) of set */
	RE_CAT,			/* kids in sequence */
	RE_ALT,			/* one of kids */
	RE_REPEAT,		/* kid, min..max times (max may be RE_INF) */
	RE_ASSERT,		/* a zero-width assertion */
};

enum re_assert {
	RE_AT_BEGIN,		/* \A, ^ */
	RE_AT_BEGIN_LINE,	/* (?m)^: at the start or after \n */
	RE_AT_END,		/* \Z */
	RE_AT_END_DOLLAR,	/* $: at the end or before a final \n */
	RE_AT_END_LINE,		/* (?m)$: at the end or before \n */
	RE_AT_BOUNDARY,		/* \b (ASCII word characters) */
	RE_AT_NON_BOUNDARY,	/* \B (ASCII word characters) */
};

struct re_node {
	enum re_node_kind kind;
	enum re_assert at;	/* RE_ASSERT */
	struct re_set set;	/* RE_SET */
	uint32_t *kids, nkids;	/* RE_CAT, RE_ALT; RE_REPEAT: kids[0] */
	uint32_t min, max;	/* RE_REPEAT */
};

struct re_ast {
	bool bytes;		/* sets hold byte values, not code points */
	struct re_node *nodes;
	uint32_t n, cap;
	uint32_t root;
};

/*
 * Parses pattern into *ast (zeroed first; free with re_ast_free() whatever
 * the result); on failure err holds the message.
 */
enum wf_regex_status re_parse(const uint8_t *pattern, size_t len, bool bytes, struct re_ast *ast,
			      char *err, size_t errsz);
void re_ast_free(struct re_ast *ast);

#endif /* WF_REGEX_H */
