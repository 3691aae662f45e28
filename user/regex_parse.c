// SPDX-License-Identifier: GPL-2.0
/*
 * Python `re` pattern text -> syntax tree (struct re_ast), following CPython
 * 3.11's re/_parser.py step by step so that patterns Python rejects are
 * rejected with Python's message and position, and the flags (?i) (?a) (?s)
 * (?m) are applied where Python's compiler applies them: every character
 * piece becomes the exact set of characters it matches.
 *
 * Constructs Python accepts but a DFA cannot express are parsed fully (so
 * that a later syntax error still wins, as in Python) and the first one is
 * reported as unsupported at the end.
 */
#include "regex.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pyrepr.h"
#include "strbuf.h"
#include "unicode_props.h"
#include "utf8.h"

/* sre's flag values */
#define F_TEMPLATE	1u
#define F_IGNORECASE	2u
#define F_LOCALE	4u
#define F_MULTILINE	8u
#define F_DOTALL	16u
#define F_UNICODE	32u
#define F_VERBOSE	64u
#define F_ASCII		256u
#define TYPE_FLAGS	(F_ASCII | F_LOCALE | F_UNICODE)
#define GLOBAL_FLAGS	F_TEMPLATE

#define MAXREPEAT	4294967295ull	/* _sre.MAXREPEAT */
#define MAXGROUPS	1073741823u	/* _sre.MAXGROUPS */
#define MAX_NESTING	200		/* groups in groups (Python: a RecursionError) */
#define MAX_CP		0x10ffffu

/* One token of Python's Tokenizer: a character, or a backslash and the next one. */
struct tok {
	uint32_t c[2];
	uint8_t len;		/* 0: end of pattern */
};

enum item_kind { ITEM_OTHER, ITEM_AT, ITEM_REPEAT };

struct item {
	uint32_t node;
	enum item_kind kind;
};

struct group_name {
	uint32_t *name, len, gid;
};

struct groupref_pos {
	uint32_t gid;
	size_t pos;
};

/* A growing piece of pattern text (an escape, a name) for messages. */
struct text {
	uint32_t *u;
	size_t n, cap;
};

struct parser {
	const uint32_t *u;	/* the pattern: code points (str) or bytes */
	size_t n;
	bool bytes, has_newline;

	size_t index;		/* Python's Tokenizer.index */
	struct tok next;

	uint32_t flags;		/* global flags */
	uint32_t groups;	/* state.groups: 1 + groups opened so far */
	bool *closed;		/* closed[gid]: groupwidths[gid] is not None */
	size_t closed_cap;
	struct group_name *names;
	size_t nnames, names_cap;
	int64_t lookbehindgroups;	/* -1: None */
	struct groupref_pos *refpos;
	size_t nrefpos, refpos_cap;

	struct item *stack;	/* items of the sequences being parsed */
	size_t sp, stack_cap;
	struct re_set lits, cats, tmp;	/* scratch sets of the character set being built */
	struct text scratch[3];	/* an escape, a character name, a group name */
	int depth;		/* groups open */

	struct re_ast *ast;
	jmp_buf fail;
	enum wf_regex_status status;
	char *err;
	size_t errsz;
	bool unsupported;
	char unsup[WF_REGEX_ERR_MAX];
};

/* ---- errors ---------------------------------------------------------------------------------- */

static _Noreturn void fail_nomem(struct parser *p)
{
	p->status = WF_REGEX_NOMEM;
	snprintf(p->err, p->errsz, "out of memory");
	longjmp(p->fail, 1);
}

/* Appends pattern units as text: UTF-8 for str, Latin-1 decoded for bytes. */
static void add_units(struct strbuf *sb, const uint32_t *u, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b[UTF8_MAX_LEN];
		uint32_t c = u[i] > MAX_CP || (u[i] >= 0xd800 && u[i] <= 0xdfff) ? 0xfffd : u[i];

		strbuf_add(sb, b, utf8_encode(c, b));
	}
}

static void add_tok(struct strbuf *sb, const struct tok *t)
{
	add_units(sb, t->c, t->len);
}

/* Python's %r of a str made of pattern units. */
static void add_repr(struct strbuf *sb, const uint32_t *u, size_t n)
{
	struct strbuf tmp = STRBUF_INIT;

	add_units(&tmp, u, n);
	pyrepr_str(sb, tmp.buf ? tmp.buf : "", tmp.len);
	if (strbuf_failed(&tmp))
		sb->failed = true;
	strbuf_free(&tmp);
}

/*
 * " at position N" and, for patterns with a newline, " (line L, column C)",
 * as re.error formats itself; bytes patterns' messages are ASCII with
 * backslash escapes.
 */
static void finish_msg(struct parser *p, struct strbuf *sb, size_t pos, bool with_pos, char *out,
		       size_t outsz)
{
	struct strbuf fin = STRBUF_INIT;

	if (with_pos) {
		strbuf_addf(sb, " at position %zu", pos);
		if (p->has_newline) {
			size_t line = 1, col, last = 0;
			bool seen = false;

			for (size_t i = 0; i < pos && i < p->n; i++) {
				if (p->u[i] == '\n') {
					line++;
					last = i;
					seen = true;
				}
			}
			col = seen ? pos - last : pos + 1;
			strbuf_addf(sb, " (line %zu, column %zu)", line, col);
		}
	}
	if (p->bytes) {
		for (size_t i = 0; i < sb->len;) {
			uint32_t cp;
			size_t k = utf8_decode((const uint8_t *)sb->buf + i, sb->len - i, &cp);

			if (!k) {
				cp = (uint8_t)sb->buf[i];
				k = 1;
			}
			if (cp < 0x80)
				strbuf_addc(&fin, (char)cp);
			else
				strbuf_addf(&fin, "\\x%02x", cp & 0xff);
			i += k;
		}
	} else {
		strbuf_add(&fin, sb->buf, sb->len);
	}
	if (strbuf_failed(sb) || strbuf_failed(&fin))
		snprintf(out, outsz, "out of memory");
	else
		snprintf(out, outsz, "%s", fin.buf ? fin.buf : "");
	strbuf_free(&fin);
}

static _Noreturn void fail_msg(struct parser *p, enum wf_regex_status st, struct strbuf *sb,
			       size_t pos, bool with_pos)
{
	p->status = st;
	finish_msg(p, sb, pos, with_pos, p->err, p->errsz);
	strbuf_free(sb);
	longjmp(p->fail, 1);
}

static size_t tell(const struct parser *p)
{
	return p->index - p->next.len;
}

/* source.error(msg, offset): a syntax error at tell() - offset. */
static _Noreturn __attribute__((format(printf, 3, 4)))
void fail_at(struct parser *p, size_t offset, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[WF_REGEX_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strbuf_adds(&sb, buf);
	fail_msg(p, WF_REGEX_SYNTAX, &sb, tell(p) - offset, true);
}

/* Remembers the first construct Python accepts and we cannot compile. */
static __attribute__((format(printf, 3, 4)))
void unsupported(struct parser *p, size_t pos, const char *fmt, ...)
{
	struct strbuf sb = STRBUF_INIT;
	char buf[WF_REGEX_ERR_MAX];
	va_list ap;

	if (p->unsupported)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	strbuf_adds(&sb, buf);
	strbuf_adds(&sb, " is not supported");
	finish_msg(p, &sb, pos, true, p->unsup, sizeof(p->unsup));
	strbuf_free(&sb);
	p->unsupported = true;
}

static void *grow(struct parser *p, void *arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return arr;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	n = realloc(arr, ncap * elem);
	if (!n)
		fail_nomem(p);
	*cap = ncap;
	return n;
}

/* ---- character sets -------------------------------------------------------------------------- */

static void set_add(struct parser *p, struct re_set *s, uint32_t lo, uint32_t hi)
{
	size_t cap = s->cap;

	s->r = grow(p, s->r, &cap, (size_t)s->n + 1, sizeof(*s->r));
	s->cap = (uint32_t)cap;
	s->r[s->n].lo = lo;
	s->r[s->n].hi = hi;
	s->n++;
}

static void set_add_set(struct parser *p, struct re_set *s, const struct re_set *o)
{
	for (uint32_t i = 0; i < o->n; i++)
		set_add(p, s, o->r[i].lo, o->r[i].hi);
}

static int cmp_range(const void *a, const void *b)
{
	const struct re_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and merges overlapping or adjacent ranges. */
static void set_norm(struct re_set *s)
{
	uint32_t k = 0;

	if (s->n < 2)
		return;
	qsort(s->r, s->n, sizeof(*s->r), cmp_range);
	for (uint32_t i = 1; i < s->n; i++) {
		if (s->r[i].lo <= s->r[k].hi || s->r[i].lo - 1 == s->r[k].hi) {
			if (s->r[i].hi > s->r[k].hi)
				s->r[k].hi = s->r[i].hi;
		} else {
			s->r[++k] = s->r[i];
		}
	}
	s->n = k + 1;
}

static bool set_has(const struct re_set *s, uint32_t c)
{
	uint32_t lo = 0, hi = s->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (c < s->r[mid].lo)
			hi = mid;
		else if (c > s->r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* s = universe - s (s normalized) into out. */
static void set_negate_into(struct parser *p, const struct re_set *s, uint32_t maxv,
			    struct re_set *out)
{
	uint32_t next = 0;

	out->n = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		if (s->r[i].lo > next)
			set_add(p, out, next, s->r[i].lo - 1);
		if (s->r[i].hi >= maxv)
			return;
		next = s->r[i].hi + 1;
	}
	set_add(p, out, next, maxv);
}

static void set_negate(struct parser *p, struct re_set *s, uint32_t maxv)
{
	struct re_set t = p->tmp;

	set_negate_into(p, s, maxv, &t);
	p->tmp = *s;
	*s = t;
}

static uint32_t universe(const struct parser *p)
{
	return p->bytes ? 0xff : MAX_CP;
}

static bool unicode_mode(const struct parser *p, uint32_t flags)
{
	return !p->bytes && !(flags & F_ASCII);
}

enum category { CAT_DIGIT, CAT_NOT_DIGIT, CAT_SPACE, CAT_NOT_SPACE, CAT_WORD, CAT_NOT_WORD };

static void add_category(struct parser *p, struct re_set *s, enum category cat, uint32_t flags)
{
	struct re_set *c = &p->tmp;
	bool neg = cat == CAT_NOT_DIGIT || cat == CAT_NOT_SPACE || cat == CAT_NOT_WORD;

	c->n = 0;
	if (unicode_mode(p, flags)) {
		enum unicode_re_category uc = cat <= CAT_NOT_DIGIT ? UNICODE_RE_DECIMAL :
					      cat <= CAT_NOT_SPACE ? UNICODE_RE_SPACE :
					      UNICODE_RE_WORD;
		const struct unicode_range *r;
		size_t n;

		r = unicode_re_category(uc, &n);
		for (size_t i = 0; i < n; i++)
			set_add(p, c, r[i].first, r[i].last);
	} else if (cat <= CAT_NOT_DIGIT) {
		set_add(p, c, '0', '9');
	} else if (cat <= CAT_NOT_SPACE) {
		set_add(p, c, '\t', '\r');
		set_add(p, c, ' ', ' ');
	} else {
		set_add(p, c, '0', '9');
		set_add(p, c, 'A', 'Z');
		set_add(p, c, '_', '_');
		set_add(p, c, 'a', 'z');
	}
	if (neg) {
		struct re_set t = { 0 };

		/* negate into a fresh set, then move it into tmp's place */
		set_negate_into(p, c, universe(p), &t);
		set_add_set(p, s, &t);
		free(t.r);
	} else {
		set_add_set(p, s, c);
	}
}

/*
 * What a set of literal characters matches case-insensitively, as sre does
 * it: a character ch matches if lower(ch) is in F, F being the lowercased
 * set plus re's extra cases (k, K and KELVIN SIGN; s and LONG S; ...).
 * lower() is ASCII-only for bytes patterns and under (?a).  s is normalized
 * and replaced.
 */
static void fold_case(struct parser *p, struct re_set *s, uint32_t flags)
{
	const struct unicode_case_pair *pairs;
	struct re_set *f = &p->tmp;
	size_t npairs;

	if (!unicode_mode(p, flags)) {
		uint32_t n = s->n;

		for (uint32_t i = 0; i < n; i++) {
			uint32_t lo = s->r[i].lo, hi = s->r[i].hi;

			if (lo <= 'Z' && hi >= 'A')
				set_add(p, s, (lo < 'A' ? 'A' : lo) + 32,
					(hi > 'Z' ? 'Z' : hi) + 32);
			if (lo <= 'z' && hi >= 'a')
				set_add(p, s, (lo < 'a' ? 'a' : lo) - 32,
					(hi > 'z' ? 'z' : hi) - 32);
		}
		set_norm(s);
		return;
	}
	pairs = unicode_re_lower_pairs(&npairs);
	/* F = lower(S): S without the characters lower() changes, plus their lowercase */
	f->n = 0;
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t lo = s->r[i].lo;
		size_t a = 0, b = npairs;

		/* the pairs inside [lo, hi], found from the first cp >= lo */
		while (a < b) {
			size_t mid = a + (b - a) / 2;

			if (pairs[mid].cp < lo)
				a = mid + 1;
			else
				b = mid;
		}
		for (size_t k = a; k < npairs && pairs[k].cp <= s->r[i].hi; k++) {
			if (pairs[k].cp > lo)
				set_add(p, f, lo, pairs[k].cp - 1);
			set_add(p, f, pairs[k].lower, pairs[k].lower);
			lo = pairs[k].cp + 1;
		}
		if (lo <= s->r[i].hi)
			set_add(p, f, lo, s->r[i].hi);
	}
	set_norm(f);
	/* plus the extra cases of every lowercase character in F */
	{
		const struct unicode_extra_case *x;
		uint32_t n = f->n;
		size_t nx;

		x = unicode_re_extra_cases(&nx);
		for (size_t k = 0; k < nx; k++) {
			struct re_set view = { f->r, n, f->cap };

			if (!set_has(&view, x[k].lower))
				continue;
			for (size_t j = 0; j < 2 && x[k].others[j]; j++)
				set_add(p, f, x[k].others[j], x[k].others[j]);
		}
		set_norm(f);
	}
	/* matched = F plus every character whose lowercase is in F */
	s->n = 0;
	set_add_set(p, s, f);
	for (size_t k = 0; k < npairs; k++)
		if (set_has(f, pairs[k].lower))
			set_add(p, s, pairs[k].cp, pairs[k].cp);
	set_norm(s);
}

/* ---- tokenizer (Python's Tokenizer) ---------------------------------------------------------- */

static void tnext(struct parser *p)
{
	size_t i = p->index;

	if (i >= p->n) {
		p->next.len = 0;
		return;
	}
	p->next.c[0] = p->u[i];
	p->next.len = 1;
	if (p->u[i] == '\\') {
		i++;
		if (i >= p->n) {
			struct strbuf sb = STRBUF_INIT;

			strbuf_adds(&sb, "bad escape (end of pattern)");
			fail_msg(p, WF_REGEX_SYNTAX, &sb, p->n - 1, true);
		}
		p->next.c[1] = p->u[i];
		p->next.len = 2;
	}
	p->index = i + 1;
}

static bool is_char(const struct tok *t, uint32_t c)
{
	return t->len == 1 && t->c[0] == c;
}

static bool tmatch(struct parser *p, uint32_t c)
{
	if (is_char(&p->next, c)) {
		tnext(p);
		return true;
	}
	return false;
}

static struct tok tget(struct parser *p)
{
	struct tok t = p->next;

	tnext(p);
	return t;
}

static void tseek(struct parser *p, size_t index)
{
	p->index = index;
	tnext(p);
}

static bool next_in(const struct parser *p, const char *chars)
{
	return p->next.len == 1 && p->next.c[0] < 0x80 && p->next.c[0] &&
	       strchr(chars, (int)p->next.c[0]);
}

#define DIGITS		"0123456789"
#define OCTDIGITS	"01234567"
#define HEXDIGITS	"0123456789abcdefABCDEF"


static void text_add(struct parser *p, struct text *t, const struct tok *k)
{
	t->u = grow(p, t->u, &t->cap, t->n + 2, sizeof(*t->u));
	for (uint8_t i = 0; i < k->len; i++)
		t->u[t->n++] = k->c[i];
}

/* Names and escapes live in parser-owned buffers so a failure frees them. */
static struct text *scratch_text(struct parser *p, int which)
{
	return &p->scratch[which];
}

/* getwhile(n, charset): appends up to n matching tokens to t; returns how many. */
static size_t getwhile(struct parser *p, size_t n, const char *chars, struct text *t)
{
	size_t k = 0;

	for (; k < n && next_in(p, chars); k++) {
		struct tok c = tget(p);

		text_add(p, t, &c);
	}
	return k;
}

static _Noreturn void fail_text(struct parser *p, size_t offset, const char *pre,
				const struct text *t, const char *post)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, pre);
	add_units(&sb, t->u, t->n);
	strbuf_adds(&sb, post);
	fail_msg(p, WF_REGEX_SYNTAX, &sb, tell(p) - offset, true);
}

static _Noreturn void fail_repr(struct parser *p, size_t offset, const char *pre,
				const struct text *t, const char *post)
{
	struct strbuf sb = STRBUF_INIT;

	strbuf_adds(&sb, pre);
	add_repr(&sb, t->u, t->n);
	strbuf_adds(&sb, post);
	fail_msg(p, WF_REGEX_SYNTAX, &sb, tell(p) - offset, true);
}

/* getuntil(terminator, name) into t. */
static void getuntil(struct parser *p, uint32_t term, const char *what, struct text *t)
{
	t->n = 0;
	for (;;) {
		struct tok c = p->next;

		tnext(p);
		if (!c.len) {
			if (!t->n)
				fail_at(p, 0, "missing %s", what);
			fail_at(p, t->n, "missing %c, unterminated name", (char)term);
		}
		if (is_char(&c, term)) {
			if (!t->n)
				fail_at(p, 1, "missing %s", what);
			break;
		}
		text_add(p, t, &c);
	}
}

static uint32_t hexval(const uint32_t *u, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 16 + (u[i] <= '9' ? u[i] - '0' : (u[i] | 0x20) - 'a' + 10);
	return v;
}

static bool is_ascii_letter(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_word_cp(uint32_t c)
{
	const struct unicode_range *r;
	size_t n, lo = 0, hi;

	if (c < 0x80)
		return is_ascii_letter(c) || (c >= '0' && c <= '9') || c == '_';
	r = unicode_re_category(UNICODE_RE_WORD, &n);
	hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c < r[mid].first)
			hi = mid;
		else if (c > r[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* str.isalpha() of one token (approximation for non-ASCII: a word character). */
static bool tok_isalpha(const struct tok *t)
{
	if (t->len != 1)
		return false;
	if (t->c[0] < 0x80)
		return is_ascii_letter(t->c[0]);
	return is_word_cp(t->c[0]);
}

/* The value of a decimal digit (any Unicode decimal, as int() takes them), or -1. */
static int digit_value(uint32_t c)
{
	const struct unicode_range *r;
	size_t n;

	if (c < 0x80)
		return c >= '0' && c <= '9' ? (int)(c - '0') : -1;
	r = unicode_re_category(UNICODE_RE_DECIMAL, &n);
	for (size_t i = 0; i < n; i++)	/* runs of whole 0..9 blocks */
		if (c >= r[i].first && c <= r[i].last)
			return (int)((c - r[i].first) % 10);
	return -1;
}

/*
 * str.isidentifier(): exact for ASCII; beyond it, \w characters are taken
 * (not a decimal digit first), where Python has XID_Start/XID_Continue.
 */
static bool is_identifier(const struct text *t)
{
	if (!t->n || digit_value(t->u[0]) >= 0)
		return false;
	for (size_t i = 0; i < t->n; i++)
		if (!is_word_cp(t->u[i]))
			return false;
	return true;
}

/* ---- escapes --------------------------------------------------------------------------------- */

enum esc_kind { ESC_LITERAL, ESC_CATEGORY, ESC_AT, ESC_GROUPREF };

struct esc {
	enum esc_kind kind;
	uint32_t v;		/* the character, category, assertion or group */
};

static bool simple_escape(uint32_t c, uint32_t *v)
{
	switch (c) {
	case 'a': *v = 7; return true;
	case 'f': *v = 12; return true;
	case 'n': *v = 10; return true;
	case 'r': *v = 13; return true;
	case 't': *v = 9; return true;
	case 'v': *v = 11; return true;
	case '\\': *v = '\\'; return true;
	}
	return false;
}

static bool category_escape(uint32_t c, uint32_t *cat)
{
	switch (c) {
	case 'd': *cat = CAT_DIGIT; return true;
	case 'D': *cat = CAT_NOT_DIGIT; return true;
	case 's': *cat = CAT_SPACE; return true;
	case 'S': *cat = CAT_NOT_SPACE; return true;
	case 'w': *cat = CAT_WORD; return true;
	case 'W': *cat = CAT_NOT_WORD; return true;
	}
	return false;
}

/* \x \u \U \N: shared by _escape and _class_escape; false if c is none of them. */
static bool hex_escape(struct parser *p, struct text *esc, struct esc *out)
{
	uint32_t c = esc->u[1];
	size_t want;

	if (c == 'x')
		want = 2;
	else if (c == 'u' && !p->bytes)
		want = 4;
	else if (c == 'U' && !p->bytes)
		want = 8;
	else if (c == 'N' && !p->bytes) {
		struct text *name = scratch_text(p, 1);
		size_t start = tell(p) - 2;

		if (!tmatch(p, '{'))
			fail_at(p, 0, "missing {");
		getuntil(p, '}', "character name", name);
		unsupported(p, start, "named character escape \\N{...}");
		out->kind = ESC_LITERAL;
		out->v = 0;
		return true;
	} else {
		return false;
	}
	getwhile(p, want, HEXDIGITS, esc);
	if (esc->n != want + 2)
		fail_text(p, esc->n, "incomplete escape ", esc, "");
	out->kind = ESC_LITERAL;
	out->v = hexval(esc->u + 2, want);
	if (c == 'U' && out->v > MAX_CP)
		fail_text(p, esc->n, "bad escape ", esc, "");
	return true;
}

static uint32_t octval(const uint32_t *u, size_t n)
{
	uint32_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v * 8 + (u[i] - '0');
	return v;
}

static struct esc class_escape(struct parser *p, const struct tok *this)
{
	struct text *esc = scratch_text(p, 0);
	struct esc r = { ESC_LITERAL, 0 };
	uint32_t c = this->c[1];

	esc->n = 0;
	text_add(p, esc, this);
	if (c == 'b') {
		r.v = 8;
		return r;
	}
	if (simple_escape(c, &r.v))
		return r;
	if (category_escape(c, &r.v)) {
		r.kind = ESC_CATEGORY;
		return r;
	}
	if (hex_escape(p, esc, &r))
		return r;
	if (c >= '0' && c <= '7') {
		getwhile(p, 2, OCTDIGITS, esc);
		r.v = octval(esc->u + 1, esc->n - 1);
		if (r.v > 0377)
			fail_text(p, esc->n, "octal escape value ", esc, " outside of range 0-0o377");
		return r;
	}
	if ((c >= '0' && c <= '9') || is_ascii_letter(c))
		fail_text(p, esc->n, "bad escape ", esc, "");
	r.v = c;
	return r;
}

static bool group_closed(const struct parser *p, uint32_t gid)
{
	return gid < p->groups && p->closed[gid];
}

static void check_lookbehind_group(struct parser *p, uint32_t gid)
{
	if (p->lookbehindgroups >= 0) {
		if (!group_closed(p, gid))
			fail_at(p, 0, "cannot refer to an open group");
		if (gid >= p->lookbehindgroups)
			fail_at(p, 0, "cannot refer to group defined in the same lookbehind subpattern");
	}
}

static struct esc escape(struct parser *p, const struct tok *this)
{
	struct text *esc = scratch_text(p, 0);
	struct esc r = { ESC_LITERAL, 0 };
	uint32_t c = this->c[1];

	esc->n = 0;
	text_add(p, esc, this);
	switch (c) {
	case 'A': r.kind = ESC_AT; r.v = RE_AT_BEGIN; return r;
	case 'Z': r.kind = ESC_AT; r.v = RE_AT_END; return r;
	case 'b': r.kind = ESC_AT; r.v = RE_AT_BOUNDARY; return r;
	case 'B': r.kind = ESC_AT; r.v = RE_AT_NON_BOUNDARY; return r;
	}
	if (category_escape(c, &r.v)) {
		r.kind = ESC_CATEGORY;
		return r;
	}
	if (simple_escape(c, &r.v))
		return r;
	if (hex_escape(p, esc, &r))
		return r;
	if (c == '0') {
		getwhile(p, 2, OCTDIGITS, esc);
		r.v = octval(esc->u + 1, esc->n - 1);
		return r;
	}
	if (c >= '1' && c <= '9') {
		uint64_t group = 0;

		if (next_in(p, DIGITS)) {
			struct tok d = tget(p);

			text_add(p, esc, &d);
			if (esc->u[1] <= '7' && esc->u[2] <= '7' && next_in(p, OCTDIGITS)) {
				d = tget(p);
				text_add(p, esc, &d);
				r.v = octval(esc->u + 1, 3);
				if (r.v > 0377)
					fail_text(p, esc->n, "octal escape value ", esc,
						  " outside of range 0-0o377");
				return r;
			}
		}
		for (size_t i = 1; i < esc->n; i++)
			group = group * 10 + (esc->u[i] - '0');
		if (group < p->groups) {
			if (!group_closed(p, (uint32_t)group))
				fail_at(p, esc->n, "cannot refer to an open group");
			check_lookbehind_group(p, (uint32_t)group);
			r.kind = ESC_GROUPREF;
			r.v = (uint32_t)group;
			return r;
		}
		fail_at(p, esc->n - 1, "invalid group reference %u", (unsigned)group);
	}
	if (is_ascii_letter(c))
		fail_text(p, esc->n, "bad escape ", esc, "");
	r.v = c;
	return r;
}

/* ---- nodes ----------------------------------------------------------------------------------- */

static uint32_t new_node(struct parser *p, enum re_node_kind kind)
{
	struct re_ast *a = p->ast;
	size_t cap = a->cap;

	a->nodes = grow(p, a->nodes, &cap, (size_t)a->n + 1, sizeof(*a->nodes));
	a->cap = (uint32_t)cap;
	memset(&a->nodes[a->n], 0, sizeof(a->nodes[0]));
	a->nodes[a->n].kind = kind;
	return a->n++;
}

/* A set node from p->lits (literal characters, case-folded under (?i)) and p->cats. */
static uint32_t set_node(struct parser *p, uint32_t flags, bool negate)
{
	uint32_t id = new_node(p, RE_SET);
	struct re_set *ns = &p->ast->nodes[id].set;	/* no node is added below */

	set_norm(&p->lits);
	if (flags & F_IGNORECASE)
		fold_case(p, &p->lits, flags);
	set_add_set(p, ns, &p->lits);
	set_add_set(p, ns, &p->cats);
	set_norm(ns);
	if (negate)
		set_negate(p, ns, universe(p));
	p->lits.n = 0;
	p->cats.n = 0;
	return id;
}

static uint32_t literal_node(struct parser *p, uint32_t c, uint32_t flags)
{
	p->lits.n = p->cats.n = 0;
	set_add(p, &p->lits, c, c);
	return set_node(p, flags, false);
}

static uint32_t category_node(struct parser *p, uint32_t cat, uint32_t flags)
{
	p->lits.n = p->cats.n = 0;
	add_category(p, &p->cats, cat, flags);
	return set_node(p, flags, false);
}

static uint32_t assert_node(struct parser *p, enum re_assert at)
{
	uint32_t id = new_node(p, RE_ASSERT);

	p->ast->nodes[id].at = at;
	return id;
}

/* A CAT or ALT of the items from stack position base on (popped). */
static uint32_t list_node(struct parser *p, enum re_node_kind kind, size_t base)
{
	size_t n = p->sp - base;
	uint32_t id, *kids;

	if (n == 0) {
		p->sp = base;
		return new_node(p, RE_EMPTY);
	}
	if (n == 1) {
		p->sp = base;
		return p->stack[base].node;
	}
	id = new_node(p, kind);
	kids = malloc(n * sizeof(*kids));
	if (!kids)
		fail_nomem(p);
	for (size_t i = 0; i < n; i++)
		kids[i] = p->stack[base + i].node;
	p->ast->nodes[id].kids = kids;
	p->ast->nodes[id].nkids = (uint32_t)n;
	p->sp = base;
	return id;
}

static void push(struct parser *p, uint32_t node, enum item_kind kind)
{
	p->stack = grow(p, p->stack, &p->stack_cap, p->sp + 1, sizeof(*p->stack));
	p->stack[p->sp].node = node;
	p->stack[p->sp].kind = kind;
	p->sp++;
}

/* ---- the grammar ----------------------------------------------------------------------------- */

static uint32_t eff(const struct parser *p, int64_t flags)
{
	return flags < 0 ? p->flags : (uint32_t)flags;
}

static uint32_t parse_sub(struct parser *p, bool verbose, int nested, int64_t flags);
static uint32_t parse_seq(struct parser *p, bool verbose, int nested, bool first, int64_t flags);

static void parse_class(struct parser *p, uint32_t flags)
{
	size_t here = tell(p) - 1;
	bool negate, any = false;

	p->lits.n = p->cats.n = 0;
	negate = tmatch(p, '^');
	for (;;) {
		struct tok this = tget(p), that;
		struct esc c1, c2;

		if (!this.len)
			fail_at(p, tell(p) - here, "unterminated character set");
		if (is_char(&this, ']') && any)
			break;
		if (this.len == 2) {
			c1 = class_escape(p, &this);
		} else {
			c1.kind = ESC_LITERAL;
			c1.v = this.c[0];
		}
		any = true;
		if (tmatch(p, '-')) {
			that = tget(p);
			if (!that.len)
				fail_at(p, tell(p) - here, "unterminated character set");
			if (is_char(&that, ']')) {
				if (c1.kind == ESC_CATEGORY)
					add_category(p, &p->cats, c1.v, flags);
				else if (c1.kind == ESC_LITERAL)
					set_add(p, &p->lits, c1.v, c1.v);
				set_add(p, &p->lits, '-', '-');
				break;
			}
			if (that.len == 2) {
				c2 = class_escape(p, &that);
			} else {
				c2.kind = ESC_LITERAL;
				c2.v = that.c[0];
			}
			if (c1.kind != ESC_LITERAL || c2.kind != ESC_LITERAL || c2.v < c1.v) {
				struct strbuf sb = STRBUF_INIT;

				strbuf_adds(&sb, "bad character range ");
				add_tok(&sb, &this);
				strbuf_addc(&sb, '-');
				add_tok(&sb, &that);
				fail_msg(p, WF_REGEX_SYNTAX, &sb,
					 tell(p) - (this.len + 1u + that.len), true);
			}
			set_add(p, &p->lits, c1.v, c2.v);
		} else if (c1.kind == ESC_CATEGORY) {
			add_category(p, &p->cats, c1.v, flags);
		} else if (c1.kind == ESC_LITERAL) {
			set_add(p, &p->lits, c1.v, c1.v);
		}
	}
	set_norm(&p->cats);
	push(p, set_node(p, flags, negate), ITEM_OTHER);
}

/*
 * Handles a quantifier whose first character `this` was just read, applied
 * to the last item of the sequence starting at stack position base; false
 * if `{` is a literal.
 */
static bool parse_repeat(struct parser *p, const struct tok *this, size_t base)
{
	size_t here = tell(p), start = here - 1;
	uint64_t min, max;
	uint32_t node;

	if (is_char(this, '?')) {
		min = 0;
		max = 1;
	} else if (is_char(this, '*')) {
		min = 0;
		max = MAXREPEAT;
	} else if (is_char(this, '+')) {
		min = 1;
		max = MAXREPEAT;
	} else {
		bool lo = false, hi = false;
		uint64_t a = 0, b = 0;

		if (is_char(&p->next, '}'))
			return false;
		while (next_in(p, DIGITS)) {
			struct tok d = tget(p);

			a = a * 10 + (d.c[0] - '0');
			if (a > MAXREPEAT)
				a = MAXREPEAT;
			lo = true;
		}
		if (tmatch(p, ',')) {
			while (next_in(p, DIGITS)) {
				struct tok d = tget(p);

				b = b * 10 + (d.c[0] - '0');
				if (b > MAXREPEAT)
					b = MAXREPEAT;
				hi = true;
			}
		} else {
			b = a;
			hi = lo;
		}
		if (!tmatch(p, '}')) {
			tseek(p, here);
			return false;
		}
		min = 0;
		max = MAXREPEAT;
		if (lo) {
			min = a;
			if (min >= MAXREPEAT) {
				struct strbuf sb = STRBUF_INIT;

				strbuf_adds(&sb, "the repetition number is too large");
				fail_msg(p, WF_REGEX_SYNTAX, &sb, 0, false);
			}
		}
		if (hi) {
			max = b;
			if (max >= MAXREPEAT) {
				struct strbuf sb = STRBUF_INIT;

				strbuf_adds(&sb, "the repetition number is too large");
				fail_msg(p, WF_REGEX_SYNTAX, &sb, 0, false);
			}
			if (max < min)
				fail_at(p, tell(p) - here, "min repeat greater than max repeat");
		}
	}
	if (p->sp == base || p->stack[p->sp - 1].kind == ITEM_AT)
		fail_at(p, tell(p) - start, "nothing to repeat");
	if (p->stack[p->sp - 1].kind == ITEM_REPEAT)
		fail_at(p, tell(p) - start, "multiple repeat");
	if (!tmatch(p, '?') && is_char(&p->next, '+')) {
		tnext(p);
		unsupported(p, start, "possessive quantifier");
	}
	node = new_node(p, RE_REPEAT);
	{
		struct re_node *n = &p->ast->nodes[node];

		n->kids = malloc(sizeof(*n->kids));
		if (!n->kids)
			fail_nomem(p);
		n->kids[0] = p->stack[p->sp - 1].node;
		n->nkids = 1;
		n->min = (uint32_t)min;
		n->max = max == MAXREPEAT ? RE_INF : (uint32_t)max;
	}
	p->stack[p->sp - 1].node = node;
	p->stack[p->sp - 1].kind = ITEM_REPEAT;
	return true;
}

static bool flag_of(const struct tok *t, uint32_t *flag)
{
	if (t->len != 1)
		return false;
	switch (t->c[0]) {
	case 'i': *flag = F_IGNORECASE; return true;
	case 'L': *flag = F_LOCALE; return true;
	case 'm': *flag = F_MULTILINE; return true;
	case 's': *flag = F_DOTALL; return true;
	case 'x': *flag = F_VERBOSE; return true;
	case 'a': *flag = F_ASCII; return true;
	case 't': *flag = F_TEMPLATE; return true;
	case 'u': *flag = F_UNICODE; return true;
	}
	return false;
}

/* _parse_flags; returns false for global flags (then *add went into p->flags). */
static bool parse_flags(struct parser *p, struct tok c, uint32_t *add, uint32_t *del, size_t start)
{
	uint32_t flag;

	*add = *del = 0;
	if (!is_char(&c, '-')) {
		for (;;) {
			flag_of(&c, &flag);
			if (!p->bytes && flag == F_LOCALE)
				fail_at(p, 0, "bad inline flags: cannot use 'L' flag with a str pattern");
			if (p->bytes && flag == F_UNICODE)
				fail_at(p, 0, "bad inline flags: cannot use 'u' flag with a bytes pattern");
			*add |= flag;
			if ((flag & TYPE_FLAGS) && (*add & TYPE_FLAGS) != flag)
				fail_at(p, 0, "bad inline flags: flags 'a', 'u' and 'L' are incompatible");
			if (flag == F_LOCALE)
				unsupported(p, start, "locale-dependent matching (?L)");
			if (flag == F_TEMPLATE)
				unsupported(p, start, "the template flag (?t)");
			c = tget(p);
			if (!c.len)
				fail_at(p, 0, "missing -, : or )");
			if (is_char(&c, ')') || is_char(&c, '-') || is_char(&c, ':'))
				break;
			if (!flag_of(&c, &flag)) {
				if (tok_isalpha(&c))
					fail_at(p, c.len, "unknown flag");
				fail_at(p, c.len, "missing -, : or )");
			}
		}
	}
	if (is_char(&c, ')')) {
		p->flags |= *add;
		return false;
	}
	if (*add & GLOBAL_FLAGS)
		fail_at(p, 1, "bad inline flags: cannot turn on global flag");
	if (is_char(&c, '-')) {
		c = tget(p);
		if (!c.len)
			fail_at(p, 0, "missing flag");
		if (!flag_of(&c, &flag)) {
			if (tok_isalpha(&c))
				fail_at(p, c.len, "unknown flag");
			fail_at(p, c.len, "missing flag");
		}
		for (;;) {
			flag_of(&c, &flag);
			if (flag & TYPE_FLAGS)
				fail_at(p, 0, "bad inline flags: cannot turn off flags 'a', 'u' and 'L'");
			*del |= flag;
			c = tget(p);
			if (!c.len)
				fail_at(p, 0, "missing :");
			if (is_char(&c, ':'))
				break;
			if (!flag_of(&c, &flag)) {
				if (tok_isalpha(&c))
					fail_at(p, c.len, "unknown flag");
				fail_at(p, c.len, "missing :");
			}
		}
	}
	if (*del & GLOBAL_FLAGS)
		fail_at(p, 1, "bad inline flags: cannot turn off global flag");
	if (*add & *del)
		fail_at(p, 1, "bad inline flags: flag turned on and off");
	return true;
}

static int64_t combine_flags(uint32_t flags, uint32_t add, uint32_t del)
{
	if (add & TYPE_FLAGS)
		flags &= ~TYPE_FLAGS;
	return (flags | add) & ~del;
}

static bool name_equal(const struct group_name *g, const struct text *t)
{
	return g->len == t->n && !memcmp(g->name, t->u, t->n * sizeof(*t->u));
}

static int64_t find_group(const struct parser *p, const struct text *name)
{
	for (size_t i = 0; i < p->nnames; i++)
		if (name_equal(&p->names[i], name))
			return p->names[i].gid;
	return -1;
}

static void check_group_name(struct parser *p, const struct text *name, size_t offset)
{
	if (!is_identifier(name))
		fail_repr(p, name->n + offset, "bad character in group name ", name, "");
}

static uint32_t open_group(struct parser *p, const struct text *name)
{
	uint32_t gid = p->groups;

	p->closed = grow(p, p->closed, &p->closed_cap, (size_t)gid + 1, sizeof(*p->closed));
	p->closed[gid] = false;
	p->groups++;
	if (p->groups > MAXGROUPS)
		fail_at(p, name ? name->n + 1 : 0, "too many groups");
	if (name) {
		int64_t old = find_group(p, name);
		struct group_name *g;

		if (old >= 0) {
			struct strbuf sb = STRBUF_INIT;

			strbuf_adds(&sb, "redefinition of group name ");
			add_repr(&sb, name->u, name->n);
			strbuf_addf(&sb, " as group %u; was group %u", gid, (unsigned)old);
			fail_msg(p, WF_REGEX_SYNTAX, &sb, tell(p) - name->n - 1, true);
		}
		p->names = grow(p, p->names, &p->names_cap, p->nnames + 1, sizeof(*p->names));
		g = &p->names[p->nnames];
		g->name = malloc(name->n * sizeof(*name->u));
		if (!g->name)
			fail_nomem(p);
		memcpy(g->name, name->u, name->n * sizeof(*name->u));
		g->len = (uint32_t)name->n;
		g->gid = gid;
		p->nnames++;
	}
	return gid;
}

static bool is_space_cp(uint32_t c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || (c >= 0x1c && c <= 0x1f) ||
	       (c >= 0x80 && unicode_is_space(c));
}

/*
 * Python's int(text) for a non-negative result (saturating at MAXGROUPS):
 * surrounding whitespace, a sign, digits with single underscores between
 * them.  False where int() raises or the value is negative.
 */
static bool py_int(const struct text *t, uint64_t *value)
{
	size_t i = 0, n = t->n;
	bool neg = false, digit = false;
	uint64_t v = 0;

	while (i < n && is_space_cp(t->u[i]))
		i++;
	while (n > i && is_space_cp(t->u[n - 1]))
		n--;
	if (i < n && (t->u[i] == '+' || t->u[i] == '-'))
		neg = t->u[i++] == '-';
	if (i == n)
		return false;
	for (; i < n; i++) {
		int d = digit_value(t->u[i]);

		if (d >= 0) {
			v = v * 10 + (uint64_t)d;
			if (v > MAXGROUPS)
				v = MAXGROUPS;
			digit = true;
		} else if (t->u[i] == '_' && digit && i + 1 < n) {
			digit = false;
		} else {
			return false;
		}
	}
	if (!digit || (neg && v))
		return false;
	*value = v;
	return true;
}

/* The conditional (?(group)yes|no), after "(?(" was read. */
static void parse_conditional(struct parser *p, bool verbose, int nested, int64_t flags,
			      size_t start)
{
	struct text *name = scratch_text(p, 1);
	size_t base = p->sp;
	int64_t gid;

	getuntil(p, ')', "group name", name);
	if (is_identifier(name)) {
		check_group_name(p, name, 1);
		gid = find_group(p, name);
		if (gid < 0)
			fail_repr(p, name->n + 1, "unknown group name ", name, "");
	} else {
		uint64_t v = 0;

		if (!py_int(name, &v))
			fail_repr(p, name->n + 1, "bad character in group name ", name, "");
		if (!v)
			fail_at(p, name->n + 1, "bad group number");
		if (v >= MAXGROUPS)
			fail_at(p, name->n + 1, "invalid group reference %u", (unsigned)v);
		gid = (int64_t)v;
		{
			bool seen = false;

			for (size_t i = 0; i < p->nrefpos; i++)
				seen |= p->refpos[i].gid == v;
			if (!seen) {
				p->refpos = grow(p, p->refpos, &p->refpos_cap, p->nrefpos + 1,
						 sizeof(*p->refpos));
				p->refpos[p->nrefpos].gid = (uint32_t)v;
				p->refpos[p->nrefpos].pos = tell(p) - name->n - 1;
				p->nrefpos++;
			}
		}
	}
	check_lookbehind_group(p, (uint32_t)gid);
	unsupported(p, start, "conditional (?(...)...)");
	/* _parse, not _parse_sub: the | belongs to the conditional */
	push(p, parse_seq(p, verbose, nested + 1, false, flags), ITEM_OTHER);
	if (tmatch(p, '|')) {
		push(p, parse_seq(p, verbose, nested + 1, false, flags), ITEM_OTHER);
		if (is_char(&p->next, '|'))
			fail_at(p, 0, "conditional backref with more than two branches");
	}
	if (!tmatch(p, ')'))
		fail_at(p, tell(p) - start, "missing ), unterminated subpattern");
	p->sp = base;
}

/*
 * A group, after "(" was read.  Pushes its item, or nothing (comments,
 * global flags).  Returns the updated verbose flag.
 */
static bool parse_group_body(struct parser *p, bool verbose, int nested, bool first,
			     size_t seq_base, int64_t flags)
{
	size_t start = tell(p) - 1;
	struct text *name = NULL;
	bool capture = true;
	uint32_t add = 0, del = 0, gid = 0, sub;
	int64_t sub_flags = flags;
	bool sub_verbose;


	if (tmatch(p, '?')) {
		struct tok c = tget(p);

		if (!c.len)
			fail_at(p, 0, "unexpected end of pattern");
		if (is_char(&c, 'P')) {
			if (tmatch(p, '<')) {
				name = scratch_text(p, 2);
				getuntil(p, '>', "group name", name);
				check_group_name(p, name, 1);
			} else if (tmatch(p, '=')) {
				int64_t g;

				name = scratch_text(p, 2);
				getuntil(p, ')', "group name", name);
				check_group_name(p, name, 1);
				g = find_group(p, name);
				if (g < 0)
					fail_repr(p, name->n + 1, "unknown group name ", name, "");
				if (!group_closed(p, (uint32_t)g))
					fail_at(p, name->n + 1, "cannot refer to an open group");
				check_lookbehind_group(p, (uint32_t)g);
				unsupported(p, start, "backreference (?P=name)");
				push(p, new_node(p, RE_EMPTY), ITEM_OTHER);
				return verbose;
			} else {
				struct tok d = tget(p);
				struct strbuf sb = STRBUF_INIT;

				if (!d.len)
					fail_at(p, 0, "unexpected end of pattern");
				strbuf_adds(&sb, "unknown extension ?P");
				add_tok(&sb, &d);
				fail_msg(p, WF_REGEX_SYNTAX, &sb, tell(p) - d.len - 2u, true);
			}
		} else if (is_char(&c, ':')) {
			capture = false;
		} else if (is_char(&c, '#')) {
			for (;;) {
				if (!p->next.len)
					fail_at(p, tell(p) - start, "missing ), unterminated comment");
				if (is_char(&p->next, ')')) {
					tnext(p);
					break;
				}
				tnext(p);
			}
			return verbose;
		} else if (is_char(&c, '=') || is_char(&c, '!') || is_char(&c, '<')) {
			bool behind = false;
			int64_t saved = p->lookbehindgroups;
			size_t base = p->sp;

			if (is_char(&c, '<')) {
				c = tget(p);
				if (!c.len)
					fail_at(p, 0, "unexpected end of pattern");
				if (!is_char(&c, '=') && !is_char(&c, '!')) {
					struct strbuf sb = STRBUF_INIT;

					strbuf_adds(&sb, "unknown extension ?<");
					add_tok(&sb, &c);
					fail_msg(p, WF_REGEX_SYNTAX, &sb, tell(p) - c.len - 2u, true);
				}
				behind = true;
				if (saved < 0)
					p->lookbehindgroups = p->groups;
			}
			push(p, parse_sub(p, verbose, nested + 1, flags), ITEM_OTHER);
			if (behind && saved < 0)
				p->lookbehindgroups = -1;
			if (!tmatch(p, ')'))
				fail_at(p, tell(p) - start, "missing ), unterminated subpattern");
			unsupported(p, start, "%s (?%s%c...)",
				    behind ? (is_char(&c, '=') ? "lookbehind assertion" :
						 "negative lookbehind assertion") :
					     (is_char(&c, '=') ? "lookahead assertion" :
						 "negative lookahead assertion"),
				    behind ? "<" : "", (char)c.c[0]);
			p->sp = base;
			push(p, new_node(p, RE_EMPTY), ITEM_OTHER);
			return verbose;
		} else if (is_char(&c, '(')) {
			parse_conditional(p, verbose, nested, flags, start);
			push(p, new_node(p, RE_EMPTY), ITEM_OTHER);
			return verbose;
		} else if (is_char(&c, '>')) {
			capture = false;
			unsupported(p, start, "atomic group (?>...)");
		} else if (flag_of(&c, &add) || is_char(&c, '-')) {
			if (!parse_flags(p, c, &add, &del, start)) {
				if (!first || p->sp > seq_base)
					fail_at(p, tell(p) - start,
						"global flags not at the start of the expression");
				return p->flags & F_VERBOSE;
			}
			capture = false;
			sub_flags = combine_flags(eff(p, flags), add, del);
		} else {
			struct strbuf sb = STRBUF_INIT;

			strbuf_adds(&sb, "unknown extension ?");
			add_tok(&sb, &c);
			fail_msg(p, WF_REGEX_SYNTAX, &sb, tell(p) - c.len - 1u, true);
		}
	}
	if (capture)
		gid = open_group(p, name);
	sub_verbose = (verbose || (add & F_VERBOSE)) && !(del & F_VERBOSE);
	sub = parse_sub(p, sub_verbose, nested + 1, sub_flags);
	if (!tmatch(p, ')'))
		fail_at(p, tell(p) - start, "missing ), unterminated subpattern");
	if (capture)
		p->closed[gid] = true;
	push(p, sub, ITEM_OTHER);
	return verbose;
}

static bool parse_group(struct parser *p, bool verbose, int nested, bool first, size_t seq_base,
			int64_t flags)
{
	if (p->depth >= MAX_NESTING) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "too many nested groups (more than %d)", MAX_NESTING);
		fail_msg(p, WF_REGEX_TOO_BIG, &sb, tell(p) - 1, true);
	}
	p->depth++;
	verbose = parse_group_body(p, verbose, nested, first, seq_base, flags);
	p->depth--;
	return verbose;
}

/* _parse: one alternative, a sequence of items. */
static uint32_t parse_seq(struct parser *p, bool verbose, int nested, bool first, int64_t flags)
{
	size_t base = p->sp;

	for (;;) {
		struct tok this = p->next;
		uint32_t f;

		if (!this.len || is_char(&this, '|') || is_char(&this, ')'))
			break;
		tnext(p);
		f = eff(p, flags);
		if (verbose && this.len == 1) {
			if (this.c[0] == ' ' || (this.c[0] >= '\t' && this.c[0] <= '\r'))
				continue;
			if (this.c[0] == '#') {
				for (;;) {
					struct tok c = tget(p);

					if (!c.len || is_char(&c, '\n'))
						break;
				}
				continue;
			}
		}
		if (this.len == 2) {
			size_t at = tell(p);
			struct esc e = escape(p, &this);

			at -= 2;
			switch (e.kind) {
			case ESC_LITERAL:
				push(p, literal_node(p, e.v, f), ITEM_OTHER);
				break;
			case ESC_CATEGORY:
				push(p, category_node(p, e.v, f), ITEM_OTHER);
				break;
			case ESC_GROUPREF:
				unsupported(p, at, "backreference \\%u", e.v);
				push(p, new_node(p, RE_EMPTY), ITEM_OTHER);
				break;
			case ESC_AT:
				if ((e.v == RE_AT_BOUNDARY || e.v == RE_AT_NON_BOUNDARY) &&
				    (unicode_mode(p, f) || (f & F_LOCALE)))
					unsupported(p, at, "word boundary \\%c in a Unicode str pattern "
						    "(use (?a) for ASCII word boundaries)",
						    e.v == RE_AT_BOUNDARY ? 'b' : 'B');
				push(p, assert_node(p, e.v), ITEM_AT);
				break;
			}
			continue;
		}
		switch (this.c[0]) {
		case '[':
			parse_class(p, f);
			continue;
		case '*':
		case '+':
		case '?':
		case '{':
			if (parse_repeat(p, &this, base))
				continue;
			push(p, literal_node(p, '{', f), ITEM_OTHER);
			continue;
		case '.':
			p->lits.n = p->cats.n = 0;
			if (f & F_DOTALL) {
				set_add(p, &p->cats, 0, universe(p));
			} else {
				set_add(p, &p->cats, 0, '\n' - 1);
				set_add(p, &p->cats, '\n' + 1, universe(p));
			}
			push(p, set_node(p, f & ~F_IGNORECASE, false), ITEM_OTHER);
			continue;
		case '(':
			verbose = parse_group(p, verbose, nested, first, base, flags);
			continue;
		case '^':
			push(p, assert_node(p, f & F_MULTILINE ? RE_AT_BEGIN_LINE : RE_AT_BEGIN),
			     ITEM_AT);
			continue;
		case '$':
			push(p, assert_node(p, f & F_MULTILINE ? RE_AT_END_LINE : RE_AT_END_DOLLAR),
			     ITEM_AT);
			continue;
		}
		push(p, literal_node(p, this.c[0], f), ITEM_OTHER);
	}
	return list_node(p, RE_CAT, base);
}

/* _parse_sub: alternatives. */
static uint32_t parse_sub(struct parser *p, bool verbose, int nested, int64_t flags)
{
	size_t base = p->sp;
	bool first = true;

	for (;;) {
		uint32_t item = parse_seq(p, verbose, nested + 1, !nested && first, flags);

		push(p, item, ITEM_OTHER);
		first = false;
		if (!tmatch(p, '|'))
			break;
		if (!nested)
			verbose = p->flags & F_VERBOSE;
	}
	return list_node(p, RE_ALT, base);
}

static void parser_free(struct parser *p)
{
	for (size_t i = 0; i < p->nnames; i++)
		free(p->names[i].name);
	free(p->names);
	free(p->closed);
	free(p->refpos);
	free(p->stack);
	free(p->lits.r);
	free(p->cats.r);
	free(p->tmp.r);
	free((void *)p->u);
	for (size_t i = 0; i < sizeof(p->scratch) / sizeof(p->scratch[0]); i++)
		free(p->scratch[i].u);
}

void re_ast_free(struct re_ast *ast)
{
	for (uint32_t i = 0; i < ast->n; i++) {
		free(ast->nodes[i].set.r);
		free(ast->nodes[i].kids);
	}
	free(ast->nodes);
	memset(ast, 0, sizeof(*ast));
}

enum wf_regex_status re_parse(const uint8_t *pattern, size_t len, bool bytes, struct re_ast *ast,
			      char *err, size_t errsz)
{
	struct parser *p = calloc(1, sizeof(*p));
	enum wf_regex_status st;
	uint32_t *u;

	memset(ast, 0, sizeof(*ast));
	if (errsz)
		err[0] = '\0';
	if (!p) {
		snprintf(err, errsz, "out of memory");
		return WF_REGEX_NOMEM;
	}
	p->err = err;
	p->errsz = errsz;
	p->ast = ast;
	p->bytes = ast->bytes = bytes;
	p->lookbehindgroups = -1;
	p->groups = 1;
	u = malloc((len ? len : 1) * sizeof(*u));
	if (!u) {
		free(p);
		snprintf(err, errsz, "out of memory");
		return WF_REGEX_NOMEM;
	}
	p->u = u;
	for (size_t i = 0; i < len;) {
		size_t k = 1;

		if (bytes) {
			u[p->n] = pattern[i];
		} else if (!(k = utf8_decode(pattern + i, len - i, &u[p->n]))) {
			parser_free(p);
			free(p);
			snprintf(err, errsz, "pattern is not valid UTF-8");
			return WF_REGEX_SYNTAX;
		}
		p->has_newline |= u[p->n] == '\n';
		p->n++;
		i += k;
	}
	if (setjmp(p->fail)) {
		st = p->status;
		goto out;
	}
	p->closed = grow(p, p->closed, &p->closed_cap, 1, sizeof(*p->closed));
	p->closed[0] = false;
	tnext(p);
	ast->root = parse_sub(p, false, 0, -1);
	if ((p->flags & F_ASCII) && (p->flags & F_UNICODE)) {
		snprintf(err, errsz, "ASCII and UNICODE flags are incompatible");
		st = WF_REGEX_SYNTAX;
		goto out;
	}
	if ((p->flags & F_ASCII) && (p->flags & F_LOCALE)) {
		snprintf(err, errsz, "ASCII and LOCALE flags are incompatible");
		st = WF_REGEX_SYNTAX;
		goto out;
	}
	if (p->next.len)
		fail_at(p, 0, "unbalanced parenthesis");
	for (size_t i = 0; i < p->nrefpos; i++) {
		if (p->refpos[i].gid >= p->groups) {
			struct strbuf sb = STRBUF_INIT;

			strbuf_addf(&sb, "invalid group reference %u", p->refpos[i].gid);
			fail_msg(p, WF_REGEX_SYNTAX, &sb, p->refpos[i].pos, true);
		}
	}
	if (p->unsupported) {
		snprintf(err, errsz, "%s", p->unsup);
		st = WF_REGEX_UNSUPPORTED;
		goto out;
	}
	st = WF_REGEX_OK;
out:
	parser_free(p);
	free(p);
	return st;
}
