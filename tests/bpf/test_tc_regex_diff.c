// SPDX-License-Identifier: GPL-2.0
/*
 * Differential test of the kernel's regex execution: for every (pattern,
 * subject) pair, three answers to re.search(pattern, subject) must agree:
 *
 *   kernel    the pipeline conn.matches(b"PATTERN").kill() (bytes patterns,
 *             the chunk DFA of bpf/dfa.h), conn.contains(b"LITERAL").kill(),
 *             or conn.onQuery(query="PATTERN").kill() (str patterns, the field
 *             DFA of bpf/field_match.h) is published once per pattern, then
 *             each subject is one data segment (its payload: the subject, or
 *             a Query message whose text is the subject; every other Query is
 *             sent in two segments, split anywhere, and its first must pass)
 *             run through BPF_PROG_TEST_RUN; killed = match;
 *   userspace wf_regex_compile + wf_dfa_search (user/regex.h);
 *   python3   re.search, the reference (one python3 process answers all
 *             pairs from a file; exit 77 when there is no python3).
 *
 * Every subject is evaluated the same way: as a chunk of an established
 * connection (handshake and StartupMessage sent while no pipeline was
 * published, so the chunk is never the connection's initial one), the
 * connection's client stream at a message boundary for str patterns.  A
 * connection killed by a match is not used again; each pattern starts on a
 * fresh one.
 *
 * The pairs are generated deterministically (fixed seed): every regex of
 * tests/conformance/commands.txt (as a str pattern, and as a bytes pattern
 * too), random bytes and str patterns of a grammar (literals and escapes,
 * classes with ranges and \d \w \s, ., ^ $ \A \Z \b \B, * + ? {m} {m,}
 * {,n} {m,n} and lazy forms, alternation, groups of every kind, global and
 * scoped flags), contains() literals; subjects are random and derived from
 * the pattern (sampled from the syntax tree user/regex_parse.c gives it,
 * embedded, mutated; some longer than the 64 bytes the DFAs read at a time)
 * so that both answers occur.  WF_REGEX_DIFF_SEED=N runs another set.
 *
 * Patterns the userspace compiler refuses as unsupported or too big, or whose
 * DFAs exceed the kernel's pool, are left out (counted and printed), as are
 * pairs python3 cannot answer within PY_TIMEOUT_S (catastrophic backtracking).
 */
#include "harness.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "byteorder.h"
#include "command_parse.h"
#include "copy_text.h"
#include "regex.h"
#include "test_files.h"
#include "utf8.h"

#define SEED 0x5eed2024c0ffee11ull
#define N_RANDOM_BYTES 470	/* random bytes patterns */
#define N_RANDOM_STR 400	/* random str patterns */
#define N_CONTAINS 60		/* contains() literals */
#define SUBJECTS_RANDOM 100	/* subjects per random pattern */
#define SUBJECTS_CORPUS 48	/* per corpus pattern (each is used twice: str and bytes) */
#define SUBJECTS_CONTAINS 48
#define MIN_PAIRS 100000
#define MAX_UNITS 256		/* characters (or bytes) of a subject */
#define FLOW_BATCH 1024		/* connections opened at a time */
#define PY_TIMEOUT_S "0.5"	/* python3: a search taking longer is left out ('T') */

/* ---- deterministic randomness --------------------------------------------------------------- */

static uint64_t rs = SEED;

static uint32_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return (uint32_t)((rs * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rn(uint32_t n)
{
	return n ? rnd() % n : 0;
}

static bool chance(uint32_t pct)
{
	return rn(100) < pct;
}

/* ---- the pairs ------------------------------------------------------------------------------ */

enum pkind { K_BYTES = 'b', K_STR = 's', K_CONTAINS = 'c' };

struct pattern {
	char kind;		/* enum pkind */
	const char *origin;	/* "corpus", "random", "contains" */
	size_t off, len;	/* the regex (or literal) in the arena */
	size_t first, n;	/* its subjects: subj[first .. first + n) */
	enum wf_regex_status st;	/* userspace compile */
	char py;		/* python3: 'O' compiled, 'E' re.error */
	bool kernel;		/* published */
	char kerr[160];		/* why not */
};

struct subject {
	size_t off, len;	/* in the arena */
	char user, py, kern;	/* '1' match, '0' none, 'T' python timeout, '-' not run */
};

static struct pg_wire arena;	/* every pattern and subject */
static struct pattern *pats;
static size_t npats, cap_pats;
static struct subject *subj;
static size_t nsubj, cap_subj;

static const uint8_t *at(size_t off)
{
	return arena.data + off;
}

static struct pattern *add_pattern(char kind, const char *origin, const void *text, size_t len)
{
	struct pattern *p;

	if (npats == cap_pats) {
		cap_pats = cap_pats ? 2 * cap_pats : 256;
		pats = realloc(pats, cap_pats * sizeof(*pats));
		assert_non_null(pats);
	}
	p = &pats[npats++];
	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->origin = origin;
	p->off = arena.len;
	p->len = len;
	pgw_raw(&arena, text, len);
	return p;
}

/* units: bytes (bytes kinds) or code points (str), encoded into the arena */
static void add_subject(struct pattern *p, const uint32_t *u, size_t n)
{
	struct subject *s;
	uint8_t enc[UTF8_MAX_LEN];

	if (nsubj == cap_subj) {
		cap_subj = cap_subj ? 2 * cap_subj : 4096;
		subj = realloc(subj, cap_subj * sizeof(*subj));
		assert_non_null(subj);
	}
	s = &subj[nsubj++];
	memset(s, 0, sizeof(*s));
	s->user = s->py = s->kern = '-';
	s->off = arena.len;
	for (size_t i = 0; i < n; i++) {
		if (p->kind == K_STR) {
			uint32_t c = u[i];

			if (!c || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
				c = '0';	/* a Query's text: no NUL, valid UTF-8 */
			pgw_raw(&arena, enc, utf8_encode(c, enc));
		} else {
			pgw_u8(&arena, (uint8_t)u[i]);
		}
	}
	s->len = arena.len - s->off;
	p->n++;
}

/* ---- alphabets ------------------------------------------------------------------------------ */

static const uint32_t byte_alpha[] = {
	'a', 'b', 'c', 'x', 'y', 'z', 'A', 'B', 'Z', '0', '1', '9', '_', ' ', '\t', '\n',
	'.', '-', '*', 0x00, 0x7f, 0x80, 0xe9, 0xff,
};

/* Characters whose \w \d \s and case folding are the same in every Python 3. */
static const uint32_t str_alpha[] = {
	'a', 'b', 'c', 'x', 'y', 'z', 'A', 'B', 'K', 'S', 'k', 's', '0', '1', '9', '_', ' ',
	'\t', '\n', '.', '-', '*', '(',
	0xe9,		/* e acute */
	0xc9,		/* E acute */
	0xdf,		/* sharp s */
	0x3a9,		/* Omega */
	0x3c9,		/* omega */
	0x4e2d,		/* CJK */
	0x663,		/* ARABIC-INDIC DIGIT THREE: \d */
	0xa0,		/* NO-BREAK SPACE: \s */
	0x2003,		/* EM SPACE: \s */
	0x212a,		/* KELVIN SIGN: folds to k */
	0x17f,		/* LONG S: folds to s */
	0x1f600,	/* an emoji: none of \w \d \s */
};

#define ALEN(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t alpha_char(char kind)
{
	return kind == K_STR ? str_alpha[rn(ALEN(str_alpha))] : byte_alpha[rn(ALEN(byte_alpha))];
}

/* ---- random patterns (text) ------------------------------------------------------------- */

struct gen {
	struct pg_wire *b;
	char kind;
	bool ascii;		/* (?a): \b \B allowed in str patterns */
	int groups;		/* for unique (?P<name>) */
};

enum { A_SIMPLE = 1, A_COMPLEX = 2, A_ASSERT = 4 };

static void put(struct gen *g, const char *s)
{
	pgw_raw(g->b, s, strlen(s));
}

static void putf(struct gen *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(struct gen *g, const char *fmt, ...)
{
	char t[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t, sizeof(t), fmt, ap);
	va_end(ap);
	put(g, t);
}

static void put_char(struct gen *g, uint32_t c, bool in_class)
{
	const char *special = in_class ? "]\\[^-" : ".^$*+?{}[]\\|()";
	uint8_t enc[UTF8_MAX_LEN];

	if (c >= 0x20 && c < 0x7f && !strchr(special, (int)c) && !chance(8)) {
		pgw_u8(g->b, (uint8_t)c);
	} else if (c >= 0x20 && c < 0x7f && strchr(special, (int)c)) {
		pgw_u8(g->b, '\\');
		pgw_u8(g->b, (uint8_t)c);
	} else if (c == '\t' && chance(50)) {
		put(g, "\\t");
	} else if (c == '\n' && chance(50)) {
		put(g, chance(50) ? "\\n" : "\n");
	} else if (c < 0x100 && (g->kind != K_STR || c < 0x80 || chance(50))) {
		putf(g, "\\x%02x", c);
	} else if (g->kind == K_STR && chance(50)) {
		pgw_raw(g->b, enc, utf8_encode(c, enc));
	} else if (c <= 0xffff) {
		putf(g, "\\u%04x", c);
	} else {
		putf(g, "\\U%08x", c);
	}
}

static void put_category(struct gen *g)
{
	static const char *const cats[] = { "\\d", "\\w", "\\s", "\\D", "\\W", "\\S" };

	put(g, cats[rn(ALEN(cats))]);
}

static void gen_class(struct gen *g)
{
	int items = 1 + (int)rn(3);

	put(g, chance(25) ? "[^" : "[");
	for (int i = 0; i < items; i++) {
		uint32_t r = rn(100);

		if (r < 40) {
			put_char(g, alpha_char(g->kind), true);
		} else if (r < 75) {
			uint32_t a = alpha_char(g->kind), b = alpha_char(g->kind);

			if (a > b) {
				uint32_t t = a;

				a = b;
				b = t;
			}
			put_char(g, a, true);
			pgw_u8(g->b, '-');
			put_char(g, b, true);
		} else {
			put_category(g);
		}
	}
	put(g, "]");
}

static int gen_alt(struct gen *g, int depth);

static int gen_atom(struct gen *g, int depth)
{
	uint32_t r = rn(100);

	if (r < 38) {
		put_char(g, alpha_char(g->kind), false);
		return A_SIMPLE;
	}
	if (r < 48) {
		put(g, ".");
		return A_SIMPLE;
	}
	if (r < 62) {
		gen_class(g);
		return A_SIMPLE;
	}
	if (r < 70) {
		put_category(g);
		return A_SIMPLE;
	}
	if (r < 79) {
		static const char *const as[] = { "^", "$", "\\A", "\\Z", "\\b", "\\B" };
		bool bound_ok = g->kind != K_STR || g->ascii;

		put(g, as[rn(bound_ok ? 6 : 4)]);
		return A_ASSERT;
	}
	if (depth < 3) {
		static const char *const open[] = { "(", "(?:", "(?P<g", "(?i:", "(?-i:",
						    "(?s:", "(?m:" };
		uint32_t k = rn(ALEN(open));
		int inner;

		put(g, open[k]);
		if (k == 2)
			putf(g, "%d>", g->groups++);
		inner = gen_alt(g, depth + 1);
		put(g, ")");
		return inner & A_COMPLEX ? A_COMPLEX : A_SIMPLE;
	}
	put_char(g, alpha_char(g->kind), false);
	return A_SIMPLE;
}

static int gen_piece(struct gen *g, int depth)
{
	int a = gen_atom(g, depth);
	uint32_t m, n;

	if ((a & A_ASSERT) || !chance(38))
		return a;
	/* unbounded repetition of what may match in several ways makes
	 * backtracking engines exponential: mostly bounded there */
	if ((a & A_COMPLEX) && !chance(15)) {
		switch (rn(4)) {
		case 0:
			put(g, "?");
			break;
		case 1:
			putf(g, "{%u}", rn(3));
			break;
		case 2:
			m = rn(2);
			putf(g, "{%u,", m);
			putf(g, "%u}", m + 1 + rn(2));
			break;
		default:
			putf(g, "{,%u}", 1 + rn(2));
			break;
		}
	} else {
		switch (rn(7)) {
		case 0:
		case 1:
			put(g, "*");
			break;
		case 2:
			put(g, "+");
			break;
		case 3:
			put(g, "?");
			break;
		case 4:
			putf(g, "{%u}", rn(4));
			break;
		case 5:
			putf(g, "{%u,}", rn(3));
			break;
		default:
			m = rn(3);
			n = m + rn(3);
			if (chance(20))
				putf(g, "{,%u}", n + 1);
			else {
				putf(g, "{%u,", m);
				putf(g, "%u}", n);
			}
			break;
		}
	}
	if (chance(20))
		put(g, "?");	/* lazy */
	return A_COMPLEX;
}

static int gen_cat(struct gen *g, int depth)
{
	int n = chance(3) ? 0 : 1 + (int)rn(depth ? 3 : 5), flags = 0;

	for (int i = 0; i < n; i++)
		flags |= gen_piece(g, depth);
	return flags;
}

static int gen_alt(struct gen *g, int depth)
{
	int n = chance(25) ? 2 + (int)rn(2) : 1, flags = 0;

	for (int i = 0; i < n; i++) {
		if (i)
			put(g, "|");
		flags |= gen_cat(g, depth);
	}
	return n > 1 ? flags | A_COMPLEX : flags;
}

static void gen_pattern(char kind, struct pg_wire *out)
{
	static const char *const flags[] = { "(?i)", "(?s)", "(?m)", "(?is)", "(?im)", "(?ms)",
					     "(?a)", "(?ai)" };
	struct gen g = { .b = out, .kind = kind };

	do {
		pgw_reset(out);
		g.groups = 0;
		g.ascii = false;
		if (chance(25)) {
			const char *f = flags[rn(kind == K_STR ? ALEN(flags) : 6)];

			g.ascii = strchr(f, 'a') != NULL;
			put(&g, f);
		}
		gen_alt(&g, 0);
	} while (out->len > 160);
}

/* ---- subjects -------------------------------------------------------------------------------- */

struct units {
	uint32_t u[MAX_UNITS];
	size_t n;
};

static void push_unit(struct units *s, uint32_t c)
{
	if (s->n < MAX_UNITS)
		s->u[s->n++] = c;
}

static bool in_set(const struct re_set *set, uint32_t c)
{
	for (uint32_t i = 0; i < set->n; i++)
		if (c >= set->r[i].lo && c <= set->r[i].hi)
			return true;
	return false;
}

/* A character of the set: mostly one of the alphabet, else any in a range. */
static uint32_t pick(const struct re_set *set, char kind)
{
	const uint32_t *al = kind == K_STR ? str_alpha : byte_alpha;
	size_t an = kind == K_STR ? ALEN(str_alpha) : ALEN(byte_alpha);
	uint32_t cand[64], nc = 0;

	if (!set->n)
		return alpha_char(kind);
	if (chance(75)) {
		for (size_t i = 0; i < an; i++)
			if (in_set(set, al[i]))
				cand[nc++] = al[i];
		if (nc)
			return cand[rn(nc)];
	}
	{
		const struct re_range *r = &set->r[rn(set->n)];
		uint32_t span = r->hi - r->lo;

		if (span > 0x2000)
			span = 0x2000;
		return r->lo + rn(span + 1);
	}
}

static void sample(const struct re_ast *a, uint32_t id, char kind, struct units *s, int depth)
{
	const struct re_node *nd = &a->nodes[id];

	if (depth > 40)
		return;
	switch (nd->kind) {
	case RE_EMPTY:
		break;
	case RE_SET:
		push_unit(s, pick(&nd->set, kind));
		break;
	case RE_CAT:
		for (uint32_t i = 0; i < nd->nkids; i++)
			sample(a, nd->kids[i], kind, s, depth + 1);
		break;
	case RE_ALT:
		sample(a, nd->kids[rn(nd->nkids)], kind, s, depth + 1);
		break;
	case RE_REPEAT: {
		uint32_t hi = nd->max == RE_INF || nd->max > nd->min + 3 ? nd->min + 3 : nd->max;
		uint32_t k = nd->min + rn(hi - nd->min + 1);

		for (uint32_t i = 0; i < k && s->n < MAX_UNITS; i++)
			sample(a, nd->kids[0], kind, s, depth + 1);
		break;
	}
	case RE_ASSERT:
		if ((nd->at == RE_AT_BEGIN_LINE || nd->at == RE_AT_END_LINE) && chance(30))
			push_unit(s, '\n');
		break;
	}
}

static void random_units(struct units *s, char kind, size_t max)
{
	size_t n = rn((uint32_t)max + 1);

	for (size_t i = 0; i < n; i++)
		push_unit(s, alpha_char(kind));
}

static void flip_case(struct units *s)
{
	if (!s->n)
		return;
	for (int tries = 0; tries < 8; tries++) {
		uint32_t *c = &s->u[rn((uint32_t)s->n)];

		if (*c < 0x80 && ((*c | 0x20) >= 'a' && (*c | 0x20) <= 'z')) {
			*c ^= 0x20;
			return;
		}
	}
}

/* n subjects for pattern p (ast: its syntax tree, or NULL for a literal). */
static void make_subjects(struct pattern *p, const struct re_ast *ast, size_t n)
{
	char sk = p->kind == K_STR ? K_STR : K_BYTES;

	p->first = nsubj;
	for (size_t i = 0; i < n; i++) {
		struct units s = { .n = 0 }, core = { .n = 0 };
		uint32_t v = (uint32_t)(i % 12);

		if (ast)
			sample(ast, ast->root, sk, &core, 0);
		else
			for (size_t k = 0; k < p->len; k++)
				push_unit(&core, at(p->off)[k]);
		if (v == 11) {	/* long: the DFAs read it in several 64-byte pieces */
			for (uint32_t k = 40 + rn(110); k; k--)
				push_unit(&s, alpha_char(sk));
			for (size_t k = 0; k < core.n; k++)
				push_unit(&s, core.u[k]);
			random_units(&s, sk, 40);
		} else if (v >= 8) {
			random_units(&s, sk, v == 10 ? 4 : 24);
		} else {
			if (v == 1 || v == 3 || v == 7)
				random_units(&s, sk, 6);
			for (size_t k = 0; k < core.n; k++)
				push_unit(&s, core.u[k]);
			if (v == 2 || v == 3)
				random_units(&s, sk, 6);
			if (v == 4 && s.n) {	/* one unit less */
				size_t k = rn((uint32_t)s.n);

				memmove(&s.u[k], &s.u[k + 1], (s.n - k - 1) * sizeof(s.u[0]));
				s.n--;
			}
			if (v == 5 && s.n)	/* one unit changed */
				s.u[rn((uint32_t)s.n)] = alpha_char(sk);
			if (v == 6)
				push_unit(&s, '\n');
			if (v == 7)
				flip_case(&s);
		}
		/* a chunk has at least one byte; a Query's text may be empty */
		if (!s.n && sk != K_STR)
			push_unit(&s, alpha_char(sk));
		add_subject(p, s.u, s.n);
	}
}

/* ---- the corpus ------------------------------------------------------------------------------ */

static bool seen_regex(char kind, const uint8_t *r, size_t len)
{
	for (size_t i = 0; i < npats; i++)
		if (pats[i].kind == kind && pats[i].len == len && !memcmp(at(pats[i].off), r, len))
			return true;
	return false;
}

static void add_regex_pattern(char kind, const char *origin, const uint8_t *r, size_t len,
			      size_t nsubjects)
{
	struct re_ast ast;
	char err[WF_REGEX_ERR_MAX];
	struct pattern *p;

	if (seen_regex(kind, r, len))
		return;
	p = add_pattern(kind, origin, r, len);
	if (re_parse(r, len, kind != K_STR, &ast, err, sizeof(err)) == WF_REGEX_OK)
		make_subjects(p, &ast, nsubjects);
	else
		make_subjects(p, NULL, nsubjects);	/* the compilers will say why */
	re_ast_free(&ast);
}

/* Every regex of commands.txt, as citus.mitmproxy() sends the command (COPY text encoding). */
static size_t corpus_patterns(void)
{
	const char *dir = wf_test_conformance_dir();
	char path[PATH_MAX + 32], *text, *line, *next;
	size_t before = npats;

	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/commands.txt", dir);
	text = wf_test_read_file(path, NULL);
	assert_non_null(text);
	for (line = text; line && *line; line = next) {
		struct wf_parse_error perr;
		struct wf_command cmd;
		char *esc, *slug;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		esc = wf_copy_text_escape(line, strlen(line));
		assert_non_null(esc);
		assert_true(asprintf(&slug, "%s\n", esc) > 0);
		free(esc);
		assert_int_equal(wf_command_parse(slug, strlen(slug), &cmd, &perr), 0);
		for (size_t f = 0; f < cmd.nfilters; f++) {
			const struct wf_filter *flt = &cmd.filters[f];

			if (flt->kind == WF_FILTER_ON) {
				for (size_t k = 0; k < flt->on.nfields; k++) {
					const struct wf_bytes *r = &flt->on.fields[k].regex;

					add_regex_pattern(K_STR, "corpus", r->data, r->len,
							  SUBJECTS_CORPUS);
					add_regex_pattern(K_BYTES, "corpus", r->data, r->len,
							  SUBJECTS_CORPUS);
				}
			} else if (flt->kind == WF_FILTER_MATCHES) {
				add_regex_pattern(K_BYTES, "corpus", flt->matches.data,
						  flt->matches.len, SUBJECTS_CORPUS);
			} else if (flt->kind == WF_FILTER_CONTAINS) {
				struct pattern *p = add_pattern(K_CONTAINS, "corpus",
								flt->contains.data,
								flt->contains.len);

				make_subjects(p, NULL, SUBJECTS_CONTAINS);
			}
		}
		wf_command_free(&cmd);
		free(slug);
	}
	free(text);
	return npats - before;
}

/* ---- escaping -------------------------------------------------------------------------------- */

/* A Python bytes (or str: UTF-8 kept) literal's body for data. */
static void py_literal(struct pg_wire *out, const uint8_t *d, size_t n, bool str)
{
	char t[8];

	for (size_t i = 0; i < n; i++) {
		uint8_t c = d[i];

		if (c == '\\' || c == '"') {
			pgw_u8(out, '\\');
			pgw_u8(out, c);
		} else if ((c >= 0x20 && c < 0x7f) || (str && c >= 0x80)) {
			pgw_u8(out, c);
		} else {
			snprintf(t, sizeof(t), "\\x%02x", c);
			pgw_raw(out, t, 4);
		}
	}
}

/* contains(b"x") as the userspace regex: every byte \xHH. */
static void literal_regex(struct pg_wire *out, const uint8_t *d, size_t n)
{
	char t[8];

	for (size_t i = 0; i < n; i++) {
		snprintf(t, sizeof(t), "\\x%02x", d[i]);
		pgw_raw(out, t, 4);
	}
}

static void command_for(const struct pattern *p, struct pg_wire *cmd)
{
	pgw_reset(cmd);
	switch (p->kind) {
	case K_BYTES:
		pgw_raw(cmd, "conn.matches(b\"", 15);
		py_literal(cmd, at(p->off), p->len, false);
		break;
	case K_CONTAINS:
		pgw_raw(cmd, "conn.contains(b\"", 16);
		py_literal(cmd, at(p->off), p->len, false);
		break;
	default:
		pgw_raw(cmd, "conn.onQuery(query=\"", 20);
		py_literal(cmd, at(p->off), p->len, true);
		break;
	}
	pgw_raw(cmd, "\").kill()", 9);
}

/* For messages: printable ASCII as is, the rest \xHH. */
static void show(FILE *f, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (d[i] >= 0x20 && d[i] < 0x7f && d[i] != '\\')
			fputc(d[i], f);
		else
			fprintf(f, "\\x%02x", d[i]);
}

/* ---- userspace ------------------------------------------------------------------------------- */

static void userspace_answers(void)
{
	struct pg_wire rx = { 0 };

	for (size_t i = 0; i < npats; i++) {
		struct pattern *p = &pats[i];
		struct wf_dfa dfa;
		char err[WF_REGEX_ERR_MAX];

		pgw_reset(&rx);
		if (p->kind == K_CONTAINS)
			literal_regex(&rx, at(p->off), p->len);
		else
			pgw_raw(&rx, at(p->off), p->len);
		p->st = wf_regex_compile(rx.data ? rx.data : (const uint8_t *)"", rx.len,
					 p->kind == K_STR ? WF_REGEX_STR : WF_REGEX_BYTES, NULL,
					 &dfa, err, sizeof(err));
		for (size_t k = p->first; p->st == WF_REGEX_OK && k < p->first + p->n; k++) {
			bool m = wf_dfa_search(&dfa, at(subj[k].off), subj[k].len);

			subj[k].user = m ? '1' : '0';
		}
		wf_dfa_free(&dfa);
	}
	pgw_free(&rx);
}

/* ---- python3 --------------------------------------------------------------------------------- */

static const char py_script[] =
	"import re, signal, sys, warnings\n"
	"warnings.simplefilter('ignore')\n"
	"class Slow(Exception):\n"
	"    pass\n"
	"def alarm(sig, frame):\n"
	"    raise Slow()\n"
	"signal.signal(signal.SIGALRM, alarm)\n"
	"out = open(sys.argv[2], 'w')\n"
	"kind = rx = lit = None\n"
	"line_out = []\n"
	"def flush():\n"
	"    if line_out:\n"
	"        out.write(''.join(line_out) + '\\n')\n"
	"        line_out.clear()\n"
	"for line in open(sys.argv[1]):\n"
	"    tag, _, rest = line.rstrip('\\n').partition(' ')\n"
	"    if tag == 'P':\n"
	"        flush()\n"
	"        kind, _, hx = rest.partition(' ')\n"
	"        raw = bytes.fromhex(hx)\n"
	"        rx = None\n"
	"        lit = raw\n"
	"        try:\n"
	"            if kind == 'b':\n"
	"                rx = re.compile(raw)\n"
	"            elif kind == 's':\n"
	"                rx = re.compile(raw.decode('utf-8'))\n"
	"            line_out.append('O')\n"
	"        except re.error:\n"
	"            line_out.append('E')\n"
	"    else:\n"
	"        s = bytes.fromhex(rest)\n"
	"        if kind == 'c':\n"
	"            line_out.append('1' if lit in s else '0')\n"
	"            continue\n"
	"        if rx is None:\n"
	"            line_out.append('-')\n"
	"            continue\n"
	"        if kind == 's':\n"
	"            s = s.decode('utf-8')\n"
	"        try:\n"
	"            signal.setitimer(signal.ITIMER_REAL, " PY_TIMEOUT_S ")\n"
	"            r = rx.search(s) is not None\n"
	"            signal.setitimer(signal.ITIMER_REAL, 0)\n"
	"            line_out.append('1' if r else '0')\n"
	"        except Slow:\n"
	"            signal.setitimer(signal.ITIMER_REAL, 0)\n"
	"            line_out.append('T')\n"
	"flush()\n"
	"out.close()\n";

static bool have_python3(void)
{
	const char *path = getenv("PATH");
	char *dup, *dir, *save = NULL;
	bool found = false;

	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	dup = strdup(path);
	assert_non_null(dup);
	for (dir = strtok_r(dup, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		char full[PATH_MAX];

		snprintf(full, sizeof(full), "%s/python3", *dir ? dir : ".");
		found = access(full, X_OK) == 0;
	}
	free(dup);
	return found;
}

static void write_hex(FILE *f, const uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", d[i]);
}

static void python_answers(const char *dir)
{
	char in_path[PATH_MAX], out_path[PATH_MAX], py_path[PATH_MAX], *line = NULL;
	size_t cap = 0, pi = 0;
	FILE *f;
	pid_t pid;
	int status;

	snprintf(in_path, sizeof(in_path), "%s/pairs.txt", dir);
	snprintf(out_path, sizeof(out_path), "%s/answers.txt", dir);
	snprintf(py_path, sizeof(py_path), "%s/answer.py", dir);
	f = fopen(py_path, "w");
	assert_non_null(f);
	fputs(py_script, f);
	assert_int_equal(fclose(f), 0);
	f = fopen(in_path, "w");
	assert_non_null(f);
	for (size_t i = 0; i < npats; i++) {
		fprintf(f, "P %c ", pats[i].kind);
		write_hex(f, at(pats[i].off), pats[i].len);
		fputc('\n', f);
		for (size_t k = pats[i].first; k < pats[i].first + pats[i].n; k++) {
			fputs("S ", f);
			write_hex(f, at(subj[k].off), subj[k].len);
			fputc('\n', f);
		}
	}
	assert_int_equal(fclose(f), 0);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execlp("python3", "python3", py_path, in_path, out_path, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("python3 %s failed (status %#x)", py_path, status);

	f = fopen(out_path, "r");
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		struct pattern *p;
		size_t n = strcspn(line, "\n");

		assert_true(pi < npats);
		p = &pats[pi++];
		assert_int_equal(n, 1 + p->n);
		p->py = line[0];
		for (size_t k = 0; k < p->n; k++)
			subj[p->first + k].py = line[1 + k];
	}
	free(line);
	fclose(f);
	assert_int_equal(pi, npats);
	unlink(in_path);
	unlink(out_path);
	unlink(py_path);
}

/* ---- the kernel ------------------------------------------------------------------------------ */

struct kflow {
	struct pb_flow flow;
	uint32_t cseq, sseq;	/* next client / server sequence numbers */
};

static struct kflow pool[FLOW_BATCH];
static size_t pool_n, flows_opened;

static uint64_t runs_subjects, runs_flows, publishes;

static void run_ok(struct wf_harness *h, const struct pb_seg *s)
{
	uint8_t frame[PB_FRAME_MAX], out[PB_FRAME_MAX];
	size_t n = pb_build(s, frame, sizeof(frame)), got;

	assert_true(n > 0);
	assert_int_equal(h_run_out(h, frame, n, out, sizeof(out), &got), TCX_NEXT_RETVAL);
	assert_int_equal(got, n);
}

/* Opens FLOW_BATCH connections (no pipeline may be published): handshake and StartupMessage. */
static void open_flows(struct wf_harness *h, const struct pg_wire *startup)
{
	pool_n = 0;
	while (pool_n < FLOW_BATCH) {
		struct kflow *k = &pool[pool_n++];
		size_t i = flows_opened++;
		uint32_t isn = 1000u + (uint32_t)i * 7919u, sisn = 5000000u + (uint32_t)i * 104729u;
		struct pb_seg s = { .flow = &k->flow };

		/* a 4-tuple per connection: 127.1.x.1, ports 1024..61023 */
		pb_flow_v4(&k->flow, (uint16_t)(1024 + i % 60000), TEST_PORT);
		k->flow.client[1] = 1;
		k->flow.client[2] = (uint8_t)(i / 60000);
		s.flags = PB_TCP_SYN;
		s.seq = isn;
		run_ok(h, &s);
		s.from_server = true;
		s.flags = PB_TCP_SYN | PB_TCP_ACK;
		s.seq = sisn;
		s.ack = isn + 1;
		run_ok(h, &s);
		s.from_server = false;
		s.flags = PB_TCP_PSH | PB_TCP_ACK;
		s.seq = isn + 1;
		s.ack = sisn + 1;
		s.payload = startup->data;
		s.len = startup->len;
		run_ok(h, &s);
		k->cseq = isn + 1 + (uint32_t)startup->len;
		k->sseq = sisn + 1;
		runs_flows += 3;
	}
	/* used from the end: the last opened first */
}

static int publish(struct wf_harness *h, const struct pg_wire *cmd, char *err, size_t errsz)
{
	/* BPF_PROG_TEST_RUN is synchronous: no packet can still be reading the
	 * slot being rewritten, so the publisher need not wait for it. */
	h->pub.retired_ns[0] = h->pub.retired_ns[1] = 0;
	publishes++;
	return h_pipeline_try(h, (const char *)cmd->data, cmd->len, err, errsz);
}

static void unpublish(struct wf_harness *h)
{
	if (h->pub_ready)
		h_pipeline_none(h);
}

static uint64_t split_subjects;

/* Runs one segment of the current connection: true if it was killed. */
static bool kernel_segment(struct wf_harness *h, const uint8_t *data, size_t len)
{
	struct kflow *k = &pool[pool_n - 1];
	struct pb_seg seg = {
		.flow = &k->flow,
		.flags = PB_TCP_PSH | PB_TCP_ACK,
		.seq = k->cseq,
		.ack = k->sseq,
		.payload = data,
		.len = len,
	};
	uint8_t frame[PB_FRAME_MAX], out[PB_FRAME_MAX];
	size_t n = pb_build(&seg, frame, sizeof(frame)), got;
	int rv;

	assert_true(n > 0);
	rv = h_run_out(h, frame, n, out, sizeof(out), &got);
	runs_subjects++;
	assert_int_equal(rv, TCX_NEXT_RETVAL);
	if (got == n) {	/* delivered as it was */
		assert_memory_equal(out, frame, n);
		k->cseq += (uint32_t)len;
		return false;
	}
	/* killed: the FIN toward the server, headers only */
	assert_int_equal(got, 14 + 20 + 20);
	assert_int_equal(out[14 + 20 + 13], PB_TCP_FIN | PB_TCP_ACK);
	pool_n--;	/* that connection is dead */
	return true;
}

/*
 * Subject number idx as the next chunk of the current connection: killed?
 * A str subject is a Query message; every other one is sent in two segments
 * (split anywhere: in the header, the text or before the NUL), the first of
 * which must pass: the field's DFA state is carried to the second.
 */
static bool kernel_run(struct wf_harness *h, const struct pattern *p, size_t idx,
		       struct pg_wire *payload)
{
	const struct subject *s = &subj[idx];

	pgw_reset(payload);
	if (p->kind != K_STR) {
		pgw_raw(payload, at(s->off), s->len);
		return kernel_segment(h, payload->data, payload->len);
	}
	pgw_begin(payload, 'Q');
	pgw_raw(payload, at(s->off), s->len);
	pgw_u8(payload, 0);
	pgw_end(payload);
	if ((idx - p->first) & 1) {
		size_t cut = 1 + (size_t)((idx * 2654435761u) % (payload->len - 1));

		split_subjects++;
		assert_false(kernel_segment(h, payload->data, cut));
		return kernel_segment(h, payload->data + cut, payload->len - cut);
	}
	return kernel_segment(h, payload->data, payload->len);
}

static void kernel_answers(struct wf_harness *h, size_t *not_published)
{
	struct pg_wire cmd = { 0 }, startup = { 0 }, payload = { 0 };
	char err[512];

	pgw_startup(&startup, "postgres", "regression");
	*not_published = 0;
	for (size_t i = 0; i < npats; i++) {
		struct pattern *p = &pats[i];

		if (p->st != WF_REGEX_OK)
			continue;
		command_for(p, &cmd);
		/* a fresh connection for every pattern */
		if (pool_n)
			pool_n--;
		if (!pool_n) {
			unpublish(h);
			open_flows(h, &startup);
		}
		if (publish(h, &cmd, p->kerr, sizeof(p->kerr))) {
			(*not_published)++;
			continue;
		}
		p->kernel = true;
		for (size_t k = p->first; k < p->first + p->n; k++) {
			if (!pool_n) {
				unpublish(h);
				open_flows(h, &startup);
				assert_int_equal(publish(h, &cmd, err, sizeof(err)), 0);
			}
			subj[k].kern = kernel_run(h, p, k, &payload) ? '1' : '0';
		}
	}
	pgw_free(&cmd);
	pgw_free(&startup);
	pgw_free(&payload);
}

/* ---- the test -------------------------------------------------------------------------------- */

static double secs_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_regex_differential(void **state)
{
	struct wf_harness *h = *state;
	struct pg_wire text = { 0 };
	struct timespec t0, t1;
	char dir[] = "/tmp/wf-regex-diff-XXXXXX";
	size_t ncorpus, not_published = 0, pairs = 0, matches = 0, timeouts = 0, both = 0;
	size_t disagree = 0, compile_disagree = 0, unsupported = 0, too_big = 0, shown = 0;
	size_t kernel_kills = 0, refused = 0;
	size_t by_kind[128] = { 0 };
	double t_gen, t_py, t_kern;

	/* WF_REGEX_DIFF_SEED=N explores other pairs; make test-bpf uses SEED */
	if (getenv("WF_REGEX_DIFF_SEED")) {
		rs = SEED ^ (strtoull(getenv("WF_REGEX_DIFF_SEED"), NULL, 0) * 0x9e3779b97f4a7c15ull);
		if (!rs)
			rs = SEED;
		print_message("seed %#llx\n", (unsigned long long)rs);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ncorpus = corpus_patterns();
	for (int i = 0; i < N_RANDOM_BYTES + N_RANDOM_STR; i++) {
		char kind = i < N_RANDOM_BYTES ? K_BYTES : K_STR;
		struct re_ast ast;
		char err[WF_REGEX_ERR_MAX];
		struct pattern *p;

		gen_pattern(kind, &text);
		p = add_pattern(kind, "random", text.data, text.len);
		if (re_parse(text.data, text.len, kind != K_STR, &ast, err, sizeof(err)) ==
		    WF_REGEX_OK)
			make_subjects(p, &ast, SUBJECTS_RANDOM);
		else
			make_subjects(p, NULL, SUBJECTS_RANDOM);
		re_ast_free(&ast);
	}
	for (int i = 0; i < N_CONTAINS; i++) {
		struct units lit = { .n = 0 };
		uint8_t b[8];
		struct pattern *p;

		random_units(&lit, K_BYTES, 4);
		if (!lit.n)
			push_unit(&lit, 'a');
		for (size_t k = 0; k < lit.n; k++)
			b[k] = (uint8_t)lit.u[k];
		p = add_pattern(K_CONTAINS, "contains", b, lit.n);
		make_subjects(p, NULL, SUBJECTS_CONTAINS);
	}
	userspace_answers();
	t_gen = secs_since(&t0);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_non_null(mkdtemp(dir));
	python_answers(dir);
	rmdir(dir);
	t_py = secs_since(&t1);

	clock_gettime(CLOCK_MONOTONIC, &t1);
	kernel_answers(h, &not_published);
	t_kern = secs_since(&t1);

	for (size_t i = 0; i < npats; i++) {
		const struct pattern *p = &pats[i];
		size_t m = 0, nm = 0;

		if (p->st == WF_REGEX_UNSUPPORTED || p->st == WF_REGEX_TOO_BIG) {
			unsupported += p->st == WF_REGEX_UNSUPPORTED;
			too_big += p->st == WF_REGEX_TOO_BIG;
			continue;
		}
		/* refused by one compiler only */
		if ((p->st == WF_REGEX_SYNTAX) != (p->py == 'E')) {
			compile_disagree++;
			fprintf(stderr, "compile: %s %c pattern \"", p->origin, p->kind);
			show(stderr, at(p->off), p->len);
			fprintf(stderr, "\": userspace status %d, python3 %s\n", p->st,
				p->py == 'E' ? "refuses it" : "compiles it");
			continue;
		}
		if (p->st != WF_REGEX_OK)
			continue;	/* both refuse it */
		if (!p->kernel) {
			/* only the limits of the kernel's encoding may refuse it */
			if (!strstr(p->kerr, "WF_DFA_POOL_CELLS") && !strstr(p->kerr, "65535"))
				refused++;
			fprintf(stderr, "left out, not publishable: %c \"", p->kind);
			show(stderr, at(p->off), p->len);
			fprintf(stderr, "\": %s\n", p->kerr);
			continue;
		}
		by_kind[(unsigned char)p->kind]++;
		for (size_t k = p->first; k < p->first + p->n; k++) {
			const struct subject *s = &subj[k];

			kernel_kills += s->kern == '1';
			if (s->py == 'T') {
				if (timeouts++ >= 5)
					continue;
				fprintf(stderr, "python3 timeout (left out): %c pattern \"",
					p->kind);
				show(stderr, at(p->off), p->len);
				fprintf(stderr, "\" subject \"");
				show(stderr, at(s->off), s->len);
				fprintf(stderr, "\"\n");
				continue;
			}
			pairs++;
			matches += s->py == '1';
			m += s->py == '1';
			nm += s->py == '0';
			if (s->py != s->user || s->py != s->kern) {
				disagree++;
				if (shown++ < 30) {
					fprintf(stderr, "disagreement: %s %c pattern \"", p->origin,
						p->kind);
					show(stderr, at(p->off), p->len);
					fprintf(stderr, "\" subject \"");
					show(stderr, at(s->off), s->len);
					fprintf(stderr, "\": python3 %c, userspace %c, kernel %c\n",
						s->py, s->user, s->kern);
				}
			}
		}
		both += m && nm;
	}

	print_message("patterns: %zu (%zu from commands.txt; evaluated: %zu bytes, %zu str, "
		      "%zu contains); left out: %zu over the kernel's DFA pool, %zu unsupported, "
		      "%zu over the state limit\n",
		      npats, ncorpus, by_kind[K_BYTES], by_kind[K_STR], by_kind[K_CONTAINS],
		      not_published, unsupported, too_big);
	print_message("pairs: %zu compared (%zu matches, %zu not), %zu python3 timeouts; "
		      "%zu patterns saw both answers\n",
		      pairs, matches, pairs - matches, timeouts, both);
	print_message("disagreements: %zu (compile: %zu)\n", disagree, compile_disagree);
	print_message("kernel: %llu subject runs (%llu str subjects in two segments), %zu "
		      "connections (%llu runs), %llu publishes\n",
		      (unsigned long long)runs_subjects, (unsigned long long)split_subjects,
		      flows_opened, (unsigned long long)runs_flows, (unsigned long long)publishes);
	print_message("time: generation + userspace %.2f s, python3 %.2f s, kernel %.2f s\n",
		      t_gen, t_py, t_kern);

	/* every subject was a framed chunk of a followed connection */
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_UNSYNCED), 0);
	assert_int_equal(h_counter(h, WF_CNT_FLOW_TABLE_FULL), 0);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_STALE_SLOT), 0);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), kernel_kills);
	assert_int_equal(disagree, 0);
	assert_int_equal(compile_disagree, 0);
	assert_int_equal(refused, 0);
	assert_true(pairs >= MIN_PAIRS);
	assert_true(matches > pairs / 5 && pairs - matches > pairs / 5);

	pgw_free(&text);
	pgw_free(&arena);
	free(pats);
	free(subj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_regex_differential, h_setup_norecord,
						h_teardown),
	};

	h_require_bpf();
	if (!have_python3()) {
		printf("skipped: python3 (the reference regex engine) is not installed\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
