// SPDX-License-Identifier: GPL-2.0
/*
 * The command grammar (command_parse.h): lexer, parser, and a checker that
 * walks the parsed expression the way Python would evaluate it — without
 * evaluating anything — to build a struct wf_command.
 *
 * Three phases, in the order CPython reports errors:
 *   1. lex the whole input.  A tokenizer error (bad number, unterminated
 *      string, stray character, unmatched bracket) replaces whatever the
 *      parser finds, as CPython re-tokenizes the rest of the source after a
 *      parser error; only "unexpected indent" comes first.  Errors CPython
 *      raises only when its parser reads that far (an unclosed bracket at
 *      the end, a backslash not before a newline) are flags on the T_END
 *      token, reported when the parser gets there (eof_first());
 *   2. parse into a small syntax tree (SyntaxErrors, string literals);
 *   3. walk the tree left to right, as eval() would (NameError,
 *      AttributeError, TypeError), recording wirefault's own findings about
 *      values, reported last (defer_error()).
 *
 * Bounded: the input (4 MiB), tokens (65 536), brackets (200), recursion
 * (MAX_DEPTH, for brackets and unary operators); trailers (.name, (args))
 * and "+" operands are lists walked iteratively.
 */
#include "command_parse.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "unicode_props.h"
#include "utf8.h"

#define MAX_DEPTH	400	/* nested expressions (parentheses are limited to 200 first) */
#define NAME_SHOWN	120	/* bytes of a user-supplied name quoted in a message */

/* ---- memory: one arena per parse ---------------------------------------------------------- */

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

/* ---- tokens ------------------------------------------------------------------------------- */

enum tok_kind {
	T_END,		/* end of input */
	T_NEWLINE,	/* end of a logical line */
	T_INDENT,	/* a logical line that starts indented */
	T_NAME,
	T_KEYWORD,
	T_NUMBER,
	T_STRING,
	T_OP,
	T_ERRTOK,	/* a character Python's tokenizer passes on as an error token */
};

enum num_kind { NUM_INT, NUM_FLOAT, NUM_IMAG };

enum {
	S_RAW = 1,
	S_BYTES = 2,
	S_FSTRING = 4,
};

/* How the input ends (T_END): some ends are errors Python raises when its parser reads them. */
enum end_flag {
	END_OK,
	END_UNCLOSED,		/* inside brackets: "'(' was never closed" */
	END_CONTINUATION,	/* right after a backslash-newline: "unexpected EOF while parsing" */
	END_LINECONT,		/* at a backslash not followed by a newline: tokenizing stops */
	END_LEXERR,		/* at another tokenizer error (p->lexerr) */
};

/* Offsets fit 32 bits: the input is at most WF_COMMAND_MAX_INPUT bytes. */
struct tok {
	uint64_t ival;			/* T_NUMBER, an int */
	uint32_t off, len;		/* the token's bytes in the source */
	uint32_t body, body_len;	/* T_STRING: between the quotes */
	uint32_t unclosed_off;		/* T_END: the innermost bracket open there */
	uint16_t level;			/* T_END: brackets open there */
	uint8_t kind;			/* enum tok_kind */
	uint8_t num;			/* T_NUMBER: enum num_kind */
	uint8_t sflags;			/* T_STRING: S_* */
	uint8_t end;			/* T_END: enum end_flag */
	bool big;			/* T_NUMBER: an int above INT64_MAX */
};

/* ---- syntax tree -------------------------------------------------------------------------- */

enum sx_kind {
	SX_NAME,	/* tok: the name */
	SX_CONST,	/* tok: None, True or False */
	SX_NUMBER,	/* tok */
	SX_STRING,	/* tok: the first literal; str/slen/is_bytes: the decoded value */
	SX_UNARY,	/* tok: the operator; a: the operand */
	SX_SUM,		/* items: the operands, tok of each item but the first: its '+' */
	SX_CHAIN,	/* a: the atom; trailers */
};

struct sx;

struct sx_arg {
	const struct tok *kw;	/* the keyword's name, NULL for a positional argument */
	struct sx *value;
	struct sx_arg *next;
};

enum trailer_kind { TR_ATTR, TR_CALL };

struct trailer {
	enum trailer_kind kind;
	const struct tok *tok;	/* TR_ATTR: the name; TR_CALL: the '(' */
	struct sx_arg *args;	/* TR_CALL */
	size_t nargs;
	struct trailer *next;
};

struct sx_item {
	struct sx *value;
	const struct tok *op;
	struct sx_item *next;
};

struct sx {
	enum sx_kind kind;
	const struct tok *tok;
	size_t off;		/* where the expression starts */
	struct sx *a;
	struct trailer *trailers;
	struct sx_item *items;
	uint8_t *str;		/* SX_STRING, NUL-terminated */
	size_t slen;
	bool is_bytes;
};

/* ---- values of the walk (phase 3) ---------------------------------------------------------- */

/* fluent.py's classes, for its error texts. */
enum cls {
	C_ROOT, C_CONTAINS, C_MATCHES, C_AFTER, C_TIMES, C_PROBABILITY, C_SEED, C_ONPACKET,
	C_ALLOW, C_KILL, C_RESET, C_CANCEL, C_KILLALL, C_CONNECT_DELAY, C_BLACKHOLE, C_DELAY,
	C_TRUNCATE, C_UNREACHABLE, C_RECORDER,
};

static const char *const cls_names[] = {
	[C_ROOT] = "RootHandler",
	[C_CONTAINS] = "Contains",
	[C_MATCHES] = "Matches",
	[C_AFTER] = "After",
	[C_TIMES] = "Times",			/* wirefault's own */
	[C_PROBABILITY] = "Probability",	/* wirefault's own */
	[C_SEED] = "Seed",			/* wirefault's own */
	[C_ONPACKET] = "OnPacket",
	[C_ALLOW] = "AcceptHandler",
	[C_KILL] = "KillHandler",
	[C_RESET] = "ResetHandler",
	[C_CANCEL] = "CancelHandler",
	[C_KILLALL] = "KillAllHandler",
	[C_CONNECT_DELAY] = "ConnectDelayHandler",
	[C_BLACKHOLE] = "BlackholeHandler",	/* wirefault's own */
	[C_DELAY] = "DelayHandler",		/* wirefault's own */
	[C_TRUNCATE] = "TruncateHandler",	/* wirefault's own */
	[C_UNREACHABLE] = "UnreachableHandler",	/* wirefault's own */
	[C_RECORDER] = "RecorderCommand",
};

static bool is_action_cls(enum cls c)
{
	return c >= C_ALLOW && c <= C_UNREACHABLE;
}

enum method {
	M_CONTAINS, M_MATCHES, M_AFTER, M_TIMES, M_PROBABILITY, M_SEED,
	M_KILL, M_ALLOW, M_KILLALL, M_RESET, M_CANCEL, M_CONNECT_DELAY, M_BLACKHOLE, M_DELAY,
	M_TRUNCATE, M_UNREACHABLE, M_DUMP, M_RECORDER_RESET,
};

static const struct {
	const char *name;
	const char *qualname;	/* for Python's TypeError texts */
	const char *param;	/* the one parameter, or NULL */
} methods[] = {
	[M_CONTAINS] = { "contains", "FilterableMixin.contains", "pattern" },
	[M_MATCHES] = { "matches", "FilterableMixin.matches", "pattern" },
	[M_AFTER] = { "after", "FilterableMixin.after", "times" },
	/* wirefault's own filters (docs/commands.md) */
	[M_TIMES] = { "times", "FilterableMixin.times", "n" },
	[M_PROBABILITY] = { "probability", "FilterableMixin.probability", "p" },
	[M_SEED] = { "seed", "FilterableMixin.seed", "n" },
	[M_KILL] = { "kill", "ActionsMixin.kill", NULL },
	[M_ALLOW] = { "allow", "ActionsMixin.allow", NULL },
	[M_KILLALL] = { "killall", "ActionsMixin.killall", NULL },
	[M_RESET] = { "reset", "ActionsMixin.reset", NULL },
	[M_CANCEL] = { "cancel", "ActionsMixin.cancel", "pid" },
	[M_CONNECT_DELAY] = { "connect_delay", "ActionsMixin.connect_delay", "timeMs" },
	/* wirefault's own actions (docs/commands.md); fluent.py has no such method */
	[M_BLACKHOLE] = { "blackhole", "ActionsMixin.blackhole", NULL },
	[M_DELAY] = { "delay", "ActionsMixin.delay", "ms" },
	[M_TRUNCATE] = { "truncate", "ActionsMixin.truncate", "n" },
	[M_UNREACHABLE] = { "unreachable", "ActionsMixin.unreachable", NULL },
	[M_DUMP] = { "dump", "RecorderCommand.dump", NULL },
	[M_RECORDER_RESET] = { "reset", "RecorderCommand.reset", NULL },
};

#define ONX_QUALNAME "FilterableMixin.__getattr__.<locals>.doit"

enum vkind {
	V_INT, V_BIGINT, V_FLOAT, V_IMAG, V_STR, V_BYTES, V_NONE, V_BOOL,
	V_NODE,		/* conn's chain; cls: the class of its last element */
	V_RECORDER,
	V_METHOD,	/* a bound method: cls (owner), m */
	V_ONFUNC,	/* conn.onX: the message name at name/name_len */
};

struct value {
	enum vkind kind;
	size_t off;		/* where the expression starts */
	int64_t i;		/* V_INT, V_BOOL */
	double f;		/* V_FLOAT */
	bool neg;		/* V_BIGINT */
	const uint8_t *s;	/* V_STR, V_BYTES */
	size_t slen;
	enum cls cls;
	enum method m;
	const char *name;	/* V_ONFUNC */
	size_t name_len;
};

/* ---- the parser --------------------------------------------------------------------------- */

struct parser {
	const uint8_t *src;
	size_t len;
	size_t start;			/* after the leading blanks eval() strips */
	struct tok *toks;
	size_t ntoks, cap;
	size_t pos;			/* next token */
	unsigned depth;
	struct arena_chunk *arena;
	struct wf_parse_error *err;
	bool failed;
	bool nomem;
	/* phase 3 */
	struct wf_command *cmd;
	bool conn_used;
	bool scope_given;		/* conn(port=..., client=...) seen */
	enum cls tail;			/* class of the chain's last element */
	bool in_args;
	int recorder;			/* 0: no command, else WF_CMD_RECORDER_* */
	size_t expr_end;		/* where the top-level expression ends */
	bool probing;			/* inside expression_reaches_end() */
	/*
	 * A tokenizer error: tokens stop there.  It replaces any error the
	 * parser finds (CPython re-tokenizes the rest of the input after a
	 * parser error), except "unexpected indent".
	 */
	bool lexing;
	bool has_lexerr;
	bool reporting_indent;
	struct wf_parse_error lexerr;
	/* a finding of wirefault's own checks, reported if Python would raise nothing */
	struct wf_parse_error deferred;
	bool has_deferred;
};

static void *arena_alloc(struct parser *p, size_t n)
{
	struct arena_chunk *c = p->arena;
	void *out;

	n = (n + 15) & ~(size_t)15;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > 65536 ? n : 65536;

		c = malloc(sizeof(*c) + cap);
		if (!c) {
			p->nomem = true;
			p->failed = true;
			return NULL;
		}
		c->next = p->arena;
		c->used = 0;
		c->cap = cap;
		p->arena = c;
	}
	out = c->data + c->used;
	c->used += n;
	memset(out, 0, n);
	return out;
}

static void arena_free(struct parser *p)
{
	while (p->arena) {
		struct arena_chunk *next = p->arena->next;

		free(p->arena);
		p->arena = next;
	}
}

/* ---- positions and errors ----------------------------------------------------------------- */

static bool is_newline_at(const struct parser *p, size_t i)
{
	return i < p->len && (p->src[i] == '\n' || p->src[i] == '\r');
}

/* Length of the newline at i (\n, \r\n or \r: Python's string input translates all three). */
static size_t newline_len(const struct parser *p, size_t i)
{
	if (i >= p->len)
		return 0;
	if (p->src[i] == '\n')
		return 1;
	if (p->src[i] == '\r')
		return i + 1 < p->len && p->src[i + 1] == '\n' ? 2 : 1;
	return 0;
}

static void locate(const struct parser *p, size_t off, unsigned *line, unsigned *col)
{
	unsigned l = 1, c = 1;
	size_t i;

	for (i = 0; i < off && i < p->len; i++) {
		uint8_t ch = p->src[i];

		if (ch == '\n' || (ch == '\r' && !(i + 1 < p->len && p->src[i + 1] == '\n'))) {
			l++;
			c = 1;
		} else if (ch != '\r' && (ch & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* Python's line for an error at the end of the input: the line of its last character. */
static unsigned end_line(const struct parser *p)
{
	unsigned l, c;

	if (p->len <= p->start)
		return 0;
	locate(p, p->len - 1, &l, &c);
	return l;
}

enum err_style {
	E_SYNTAX,	/* Python's SyntaxError: text + " (<string>, line L)" */
	E_PYTHON,	/* Python's runtime error text, as is */
	E_OWN,		/* wirefault's text + " (column C)" / " (line L, column C)" */
};

__attribute__((format(printf, 6, 0)))
static void vformat(const struct parser *p, struct wf_parse_error *e, enum err_style style,
		    size_t off, int line_override, const char *fmt, va_list ap)
{
	unsigned line, col;
	size_t n;

	if (off > p->len)
		off = p->len;
	locate(p, off, &line, &col);
	e->offset = off;
	e->line = line;
	e->column = col;
	e->python = style != E_OWN;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	n = strlen(e->msg);
	if (style == E_SYNTAX)
		snprintf(e->msg + n, sizeof(e->msg) - n, " (<string>, line %d)",
			 line_override >= 0 ? line_override : (int)line);
	else if (style == E_OWN && line == 1)
		snprintf(e->msg + n, sizeof(e->msg) - n, " (column %u)", col);
	else if (style == E_OWN)
		snprintf(e->msg + n, sizeof(e->msg) - n, " (line %u, column %u)", line, col);
}

__attribute__((format(printf, 5, 0)))
static void verror(struct parser *p, enum err_style style, size_t off, int line_override,
		   const char *fmt, va_list ap)
{
	if (p->lexing) {
		if (!p->has_lexerr)
			vformat(p, &p->lexerr, style, off, line_override, fmt, ap);
		p->has_lexerr = true;
		return;
	}
	if (p->failed)
		return;
	p->failed = true;
	if (p->err && p->has_lexerr && !p->reporting_indent)
		*p->err = p->lexerr;
	else if (p->err)
		vformat(p, p->err, style, off, line_override, fmt, ap);
}

/* wirefault's own finding about a value: reported at the end, unless Python raises first. */
__attribute__((format(printf, 3, 4)))
static void defer_error(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (p->has_deferred)
		return;
	p->has_deferred = true;
	va_start(ap, fmt);
	vformat(p, &p->deferred, E_OWN, off, -1, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void syntax_error(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(p, E_SYNTAX, off, -1, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 4, 5)))
static void syntax_error_line(struct parser *p, size_t off, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(p, E_SYNTAX, off, line, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void py_error(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(p, E_PYTHON, off, -1, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4)))
static void own_error(struct parser *p, size_t off, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(p, E_OWN, off, -1, fmt, ap);
	va_end(ap);
}

/*
 * A user-supplied name for a message: at most NAME_SHOWN bytes (cut at a
 * character boundary, "..." appended).  *cut tells whether it was cut
 * (then the message is no longer Python's exact text).
 */
struct shown {
	char s[NAME_SHOWN + 4];
};

static const char *show(struct shown *buf, const void *text, size_t len, bool *cut)
{
	const uint8_t *t = text;
	size_t n = len;

	if (n > NAME_SHOWN) {
		n = NAME_SHOWN;
		while (n > 0 && (t[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(buf->s, t, n);
	if (n < len)
		memcpy(buf->s + n, "...", 4);
	else
		buf->s[n] = '\0';
	if (cut)
		*cut = n < len;
	return buf->s;
}

/* ---- phase 1: the lexer ------------------------------------------------------------------- */

static const char *const keywords[] = {
	"False", "None", "True", "and", "as", "assert", "async", "await", "break", "class",
	"continue", "def", "del", "elif", "else", "except", "finally", "for", "from", "global",
	"if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
	"return", "try", "while", "with", "yield",
};

/* Longest first. */
static const char *const operators[] = {
	"**=", "//=", ">>=", "<<=", "...", "->", ":=", "**", "//", "<<", ">>", "<=", ">=", "==",
	"!=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=",
	"(", ")", "[", "]", "{", "}", ":", ",", ";", "+", "-", "*", "/", "|", "&", "<", ">",
	"=", ".", "%", "~", "^", "@",
};

static bool tok_is(const struct parser *p, const struct tok *t, const char *text)
{
	size_t n = strlen(text);

	return (t->kind == T_OP || t->kind == T_KEYWORD || t->kind == T_NAME) && t->len == n &&
	       memcmp(p->src + t->off, text, n) == 0;
}

static bool tok_is_op(const struct parser *p, const struct tok *t, const char *op)
{
	return t->kind == T_OP && tok_is(p, t, op);
}

static bool tok_is_kw(const struct parser *p, const struct tok *t, const char *kw)
{
	return t->kind == T_KEYWORD && tok_is(p, t, kw);
}

static struct tok *push_tok(struct parser *p, enum tok_kind kind, size_t off, size_t len)
{
	struct tok *t;

	if (p->ntoks >= WF_COMMAND_MAX_TOKENS) {
		p->lexing = false;	/* not a Python error: report it as is */
		own_error(p, off, "command longer than %u tokens", WF_COMMAND_MAX_TOKENS);
		p->lexing = true;
		return NULL;
	}
	if (p->ntoks == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct tok *n = realloc(p->toks, cap * sizeof(*n));

		if (!n) {
			p->nomem = true;
			p->failed = true;
			return NULL;
		}
		p->toks = n;
		p->cap = cap;
	}
	t = &p->toks[p->ntoks++];
	memset(t, 0, sizeof(*t));
	t->kind = (uint8_t)kind;
	t->off = (uint32_t)off;
	t->len = (uint32_t)len;
	return t;
}

static bool is_ident_start(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_ident_char(uint8_t c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_xdigit(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int peek(const struct parser *p, size_t i)
{
	return i < p->len ? p->src[i] : -1;
}

static bool lookahead(const struct parser *p, size_t i, const char *s)
{
	size_t n = strlen(s);

	return i + n <= p->len && memcmp(p->src + i, s, n) == 0;
}

/* The keyword rest s follows at i and ends there (Python's tokenizer lookahead()). */
static bool lookahead_word(const struct parser *p, size_t i, const char *s)
{
	size_t n = strlen(s);

	return lookahead(p, i, s) && !(i + n < p->len && is_ident_char(p->src[i + n]));
}

/*
 * Python's verify_end_of_number: a number may be followed directly by one
 * of the keywords that can follow it in valid code; any other identifier
 * character makes it an "invalid <kind> literal".
 */
static bool end_of_number(struct parser *p, size_t i, const char *kind, size_t tok_off)
{
	int c = peek(p, i);
	bool kw = false;

	if (c == 'a')
		kw = lookahead_word(p, i + 1, "nd");
	else if (c == 'e')
		kw = lookahead_word(p, i + 1, "lse");
	else if (c == 'f')
		kw = lookahead_word(p, i + 1, "or");
	else if (c == 'i')
		kw = peek(p, i + 1) == 'f' || peek(p, i + 1) == 'n' || peek(p, i + 1) == 's';
	else if (c == 'o')
		kw = lookahead_word(p, i + 1, "r");
	else if (c == 'n')
		kw = lookahead_word(p, i + 1, "ot");
	if (kw)
		return true;
	if (c >= 0 && is_ident_char((uint8_t)c)) {
		syntax_error(p, tok_off, "invalid %s literal", kind);
		return false;
	}
	return true;
}

/* Digits and single underscores between them (tok_decimal_tail); i is at a digit. */
static bool decimal_tail(struct parser *p, size_t *i, size_t tok_off)
{
	for (;;) {
		while (is_digit(peek(p, *i)))
			(*i)++;
		if (peek(p, *i) != '_')
			return true;
		(*i)++;
		if (!is_digit(peek(p, *i))) {
			syntax_error(p, tok_off, "invalid decimal literal");
			return false;
		}
	}
}

/* The value of an int literal's digits (underscores skipped), saturating to "big". */
static void int_value(struct tok *t, const uint8_t *s, size_t len, unsigned base)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned d;
		uint8_t c = s[i];

		if (c == '_')
			continue;
		d = is_digit(c) ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);
		if (v > (UINT64_MAX - d) / base) {
			t->big = true;
			return;
		}
		v = v * base + d;
	}
	if (v > INT64_MAX)
		t->big = true;
	t->ival = v;
}

/* A number starting at i (a digit, or '.' followed by a digit).  Python 3.11's rules. */
static bool lex_number(struct parser *p, size_t *ip)
{
	size_t i = *ip, off = i;
	enum num_kind kind = NUM_INT;
	unsigned base = 10;
	size_t digits = off;
	struct tok *t;
	int c = peek(p, i);

	if (c == '.')
		goto fraction;
	if (c == '0') {
		c = peek(p, ++i);
		if (c == 'x' || c == 'X' || c == 'o' || c == 'O' || c == 'b' || c == 'B') {
			const char *name = c == 'x' || c == 'X' ? "hexadecimal" :
					   c == 'o' || c == 'O' ? "octal" : "binary";
			int lim = c == 'x' || c == 'X' ? 16 : c == 'o' || c == 'O' ? 8 : 2;

			base = (unsigned)lim;
			digits = ++i;
			do {
				c = peek(p, i);
				if (c == '_')
					c = peek(p, ++i);
				if (!(lim == 16 ? is_xdigit(c) : c >= '0' && c < '0' + lim)) {
					if (lim < 16 && is_digit(c)) {
						syntax_error(p, off, "invalid digit '%c' in %s literal", c, name);
						return false;
					}
					syntax_error(p, off, "invalid %s literal", name);
					return false;
				}
				while (lim == 16 ? is_xdigit(peek(p, i)) :
				       peek(p, i) >= '0' && peek(p, i) < '0' + lim)
					i++;
			} while (peek(p, i) == '_');
			if (lim < 16 && is_digit(peek(p, i))) {
				syntax_error(p, off, "invalid digit '%c' in %s literal", peek(p, i), name);
				return false;
			}
			if (!end_of_number(p, i, name, off))
				return false;
			goto done;
		}
		{
			bool nonzero = false;

			for (;;) {
				if (c == '_') {
					c = peek(p, ++i);
					if (!is_digit(c)) {
						syntax_error(p, off, "invalid decimal literal");
						return false;
					}
				}
				if (c != '0')
					break;
				c = peek(p, ++i);
			}
			if (is_digit(c)) {
				nonzero = true;
				if (!decimal_tail(p, &i, off))
					return false;
				c = peek(p, i);
			}
			if (c == '.') {
				i++;
				goto fraction_digits;
			}
			if (c == 'e' || c == 'E')
				goto exponent;
			if (c == 'j' || c == 'J')
				goto imaginary;
			if (nonzero) {
				syntax_error(p, off, "leading zeros in decimal integer literals are not "
					     "permitted; use an 0o prefix for octal integers");
				return false;
			}
			if (!end_of_number(p, i, "decimal", off))
				return false;
			goto done;
		}
	}
	/* decimal */
	if (!decimal_tail(p, &i, off))
		return false;
	c = peek(p, i);
	if (c == '.') {
		i++;
		goto fraction_digits;
	}
	if (c == 'e' || c == 'E')
		goto exponent;
	if (c == 'j' || c == 'J')
		goto imaginary;
	if (!end_of_number(p, i, "decimal", off))
		return false;
	goto done;

fraction:
	i++;	/* the '.' */
fraction_digits:
	kind = NUM_FLOAT;
	if (is_digit(peek(p, i)) && !decimal_tail(p, &i, off))
		return false;
	c = peek(p, i);
	if (c == 'e' || c == 'E')
		goto exponent;
	if (c == 'j' || c == 'J')
		goto imaginary;
	if (!end_of_number(p, i, "decimal", off))
		return false;
	goto done;

exponent:
	kind = NUM_FLOAT;
	{
		size_t e = i++;

		c = peek(p, i);
		if (c == '+' || c == '-') {
			c = peek(p, ++i);
			if (!is_digit(c)) {
				syntax_error(p, off, "invalid decimal literal");
				return false;
			}
		} else if (!is_digit(c)) {
			/* "1e" then not a digit: the number is "1", if what follows may */
			if (!end_of_number(p, e, "decimal", off))
				return false;
			i = e;
			kind = NUM_INT;
			goto done;
		}
		if (!decimal_tail(p, &i, off))
			return false;
	}
	c = peek(p, i);
	if (c == 'j' || c == 'J')
		goto imaginary;
	if (!end_of_number(p, i, "decimal", off))
		return false;
	goto done;

imaginary:
	kind = NUM_IMAG;
	i++;
	if (!end_of_number(p, i, "imaginary", off))
		return false;

done:
	t = push_tok(p, T_NUMBER, off, i - off);
	if (!t)
		return false;
	t->num = kind;
	if (kind == NUM_INT)
		int_value(t, p->src + digits, i - digits, base);
	*ip = i;
	return true;
}

/* Python's string prefixes (any case): r u b f br rb fr rf. */
static bool string_prefix(const uint8_t *s, size_t n, unsigned *flags)
{
	unsigned f = 0;
	size_t i;
	bool u = false;

	if (n == 0 || n > 2)
		return false;
	for (i = 0; i < n; i++) {
		switch (s[i] | 0x20) {
		case 'r':
			if (f & S_RAW)
				return false;
			f |= S_RAW;
			break;
		case 'b':
			if (f & (S_BYTES | S_FSTRING))
				return false;
			f |= S_BYTES;
			break;
		case 'f':
			if (f & (S_BYTES | S_FSTRING))
				return false;
			f |= S_FSTRING;
			break;
		case 'u':
			u = true;
			break;
		default:
			return false;
		}
	}
	if (u && n != 1)
		return false;
	*flags = f;
	return true;
}

/* A string literal whose opening quote is at *ip (prefix from off). */
static bool lex_string(struct parser *p, size_t off, size_t *ip, unsigned flags)
{
	size_t i = *ip, body, body_end;
	uint8_t q = p->src[i];
	int qs = 1;
	struct tok *t;

	if (peek(p, i + 1) == q && peek(p, i + 2) == q) {
		qs = 3;
		i += 3;
	} else {
		i += 1;
	}
	body = i;
	for (;;) {
		if (i >= p->len || (qs == 1 && is_newline_at(p, i))) {
			unsigned start_line, detected, c;

			locate(p, off, &start_line, &c);
			if (i >= p->len)
				detected = end_line(p);
			else
				locate(p, i, &detected, &c);
			if (qs == 3)
				syntax_error(p, off, "unterminated triple-quoted string literal "
					     "(detected at line %u)", detected);
			else
				syntax_error(p, off, "unterminated string literal (detected at line %u)",
					     detected);
			return false;
		}
		if (p->src[i] == q) {
			if (qs == 1) {
				body_end = i;
				i += 1;
				break;
			}
			if (peek(p, i + 1) == q && peek(p, i + 2) == q) {
				body_end = i;
				i += 3;
				break;
			}
			i++;
		} else if (p->src[i] == '\\') {
			i++;
			if (i < p->len)
				i += newline_len(p, i) ? newline_len(p, i) : 1;
		} else {
			i++;
		}
	}
	t = push_tok(p, T_STRING, off, i - off);
	if (!t)
		return false;
	t->sflags = flags;
	t->body = body;
	t->body_len = body_end - body;
	*ip = i;
	return true;
}

static bool lex_nonprintable(struct parser *p, size_t i, uint32_t cp)
{
	syntax_error(p, i, "invalid non-printable character U+%04" PRIX32, cp);
	return false;
}

/* A name (or a string with a prefix) at *ip. */
static bool lex_name(struct parser *p, size_t *ip)
{
	size_t i = *ip, off = i, k;
	unsigned flags;
	struct tok *t;

	while (i < p->len && is_ident_char(p->src[i])) {
		if (p->src[i] >= 0x80) {
			uint32_t cp;
			size_t n = utf8_decode(p->src + i, p->len - i, &cp);

			if (n == 0)	/* cannot happen: the input was validated */
				n = 1;
			else if (!unicode_is_printable(cp))
				return lex_nonprintable(p, i, cp);
			i += n;
		} else {
			i++;
		}
	}
	if ((peek(p, i) == '"' || peek(p, i) == '\'') &&
	    string_prefix(p->src + off, i - off, &flags)) {
		*ip = i;
		return lex_string(p, off, ip, flags);
	}
	t = push_tok(p, T_NAME, off, i - off);
	if (!t)
		return false;
	for (k = 0; k < sizeof(keywords) / sizeof(keywords[0]); k++)
		if (strlen(keywords[k]) == i - off && !memcmp(keywords[k], p->src + off, i - off))
			t->kind = T_KEYWORD;
	*ip = i;
	return true;
}

static bool lex(struct parser *p)
{
	struct {
		uint8_t c;
		size_t off;
	} parens[WF_COMMAND_MAX_NESTING];
	int level = 0;
	size_t i = p->start;
	bool line_start = true, line_has_tokens = false;
	struct tok *t;

	for (;;) {
		int c;

		if (line_start && level == 0) {
			/* indentation of a new logical line */
			size_t col = 0, j = i;

			for (; j < p->len; j++) {
				if (p->src[j] == ' ')
					col++;
				else if (p->src[j] == '\t')
					col = (col / 8 + 1) * 8;
				else if (p->src[j] == '\f')
					col = 0;
				else
					break;
			}
			line_start = false;
			/* blank lines and comment lines do not count; a last line of blanks does */
			if ((j >= p->len || (p->src[j] != '#' && !is_newline_at(p, j))) && col > 0 &&
			    !(j < p->len && p->src[j] == '\\' && newline_len(p, j + 1))) {
				if (!push_tok(p, T_INDENT, j, 0))
					return false;
			}
			i = j;
		}
		while (i < p->len && (p->src[i] == ' ' || p->src[i] == '\t' || p->src[i] == '\f'))
			i++;
		if (i >= p->len)
			break;
		c = p->src[i];
		if (c == '#') {
			while (i < p->len && !is_newline_at(p, i))
				i++;
			continue;
		}
		if (c == '\n' || c == '\r') {
			size_t nl = newline_len(p, i);

			if (level == 0) {
				if (line_has_tokens && !push_tok(p, T_NEWLINE, i, nl))
					return false;
				line_has_tokens = false;
				line_start = true;
			}
			i += nl;
			continue;
		}
		if (c == '\\') {
			size_t nl = newline_len(p, i + 1);
			enum end_flag flag = END_OK;

			if (!nl)	/* Python's tokenizer stops here (E_LINECONT) */
				flag = END_LINECONT;
			else if (i + 1 + nl >= p->len)
				flag = level ? END_UNCLOSED : END_CONTINUATION;
			if (flag == END_OK) {
				i += 1 + nl;
				continue;
			}
			t = push_tok(p, T_END, flag == END_LINECONT ? i : p->len, 0);
			if (!t)
				return false;
			t->end = flag;
			t->level = level;
			if (level)
				t->unclosed_off = parens[level - 1].off;
			return true;
		}
		line_has_tokens = true;
		if (is_ident_start((uint8_t)c)) {
			if (c >= 0x80) {
				uint32_t cp;

				if (utf8_decode(p->src + i, p->len - i, &cp) && !unicode_is_printable(cp))
					return lex_nonprintable(p, i, cp);
			}
			if (!lex_name(p, &i))
				return false;
			continue;
		}
		if (is_digit(c) || (c == '.' && is_digit(peek(p, i + 1)))) {
			if (!lex_number(p, &i))
				return false;
			continue;
		}
		if (c == '"' || c == '\'') {
			if (!lex_string(p, i, &i, 0))
				return false;
			continue;
		}
		if (c < 0x20 || c == 0x7f)
			return lex_nonprintable(p, i, (uint32_t)c);
		{
			size_t k, n = 0;

			for (k = 0; k < sizeof(operators) / sizeof(operators[0]); k++) {
				n = strlen(operators[k]);
				if (lookahead(p, i, operators[k]))
					break;
			}
			if (k == sizeof(operators) / sizeof(operators[0])) {
				/* $ ? ! ` and the like */
				if (!push_tok(p, T_ERRTOK, i, 1))
					return false;
				i++;
				continue;
			}
			if (n == 1 && (c == '(' || c == '[' || c == '{')) {
				if (level >= WF_COMMAND_MAX_NESTING) {
					syntax_error(p, i, "too many nested parentheses");
					return false;
				}
				parens[level].c = (uint8_t)c;
				parens[level].off = i;
				level++;
			} else if (n == 1 && (c == ')' || c == ']' || c == '}')) {
				uint8_t open;

				if (level == 0) {
					syntax_error(p, i, "unmatched '%c'", c);
					return false;
				}
				open = parens[level - 1].c;
				if (!((open == '(' && c == ')') || (open == '[' && c == ']') ||
				      (open == '{' && c == '}'))) {
					unsigned l_open, l_close, col;

					locate(p, parens[level - 1].off, &l_open, &col);
					locate(p, i, &l_close, &col);
					if (l_open != l_close)
						syntax_error(p, i, "closing parenthesis '%c' does not match "
							     "opening parenthesis '%c' on line %u",
							     c, open, l_open);
					else
						syntax_error(p, i, "closing parenthesis '%c' does not match "
							     "opening parenthesis '%c'", c, open);
					return false;
				}
				level--;
			}
			if (!push_tok(p, T_OP, i, n))
				return false;
			i += n;
		}
	}
	if (level == 0 && line_has_tokens && !push_tok(p, T_NEWLINE, p->len, 0))
		return false;
	t = push_tok(p, T_END, p->len, 0);
	if (!t)
		return false;
	t->level = level;
	if (level) {
		t->end = END_UNCLOSED;
		t->unclosed_off = parens[level - 1].off;
	}
	return true;
}

/* ---- phase 2: the parser ------------------------------------------------------------------ */

enum ctx { CTX_TOP, CTX_PARENS, CTX_CALL };

static const struct tok *cur(const struct parser *p)
{
	return &p->toks[p->pos < p->ntoks ? p->pos : p->ntoks - 1];
}

static const struct tok *next_tok(const struct parser *p)
{
	size_t i = p->pos + 1;

	return &p->toks[i < p->ntoks ? i : p->ntoks - 1];
}

static void advance(struct parser *p)
{
	if (p->pos + 1 < p->ntoks)
		p->pos++;
}

/* The error of an end of input Python's parser read (T_END with a flag). */
static void eof_error(struct parser *p, const struct tok *end)
{
	switch (end->end) {
	case END_UNCLOSED:
		syntax_error(p, end->unclosed_off, "'%c' was never closed", p->src[end->unclosed_off]);
		break;
	case END_CONTINUATION:
		syntax_error_line(p, end->off, (int)end_line(p), "unexpected EOF while parsing");
		break;
	case END_LINECONT:
		syntax_error(p, end->off, "unexpected character after line continuation character");
		break;
	case END_OK:
	case END_LEXERR:	/* replaced by the tokenizer's error */
		syntax_error_line(p, end->off, (int)end_line(p), "invalid syntax");
		break;
	}
}

/*
 * Before reporting a syntax error at off: does Python report the end of
 * the input instead?  It does when its parser reads that far (reads_on:
 * the text at off could go on as Python, so CPython keeps parsing, in its
 * second, more thorough pass if not the first), and otherwise when
 * brackets are left open on an earlier line than the error (CPython then
 * re-tokenizes the rest and prefers "'(' was never closed").
 */
static bool eof_first(struct parser *p, size_t off, bool reads_on)
{
	const struct tok *end = &p->toks[p->ntoks - 1];
	unsigned l_err, l_open, c;

	if (end->end == END_OK && !end->level)
		return false;
	if (reads_on && end->end != END_OK) {
		eof_error(p, end);
		return true;
	}
	if (!end->level)
		return false;
	locate(p, off, &l_err, &c);
	locate(p, end->unclosed_off, &l_open, &c);
	if (l_err <= l_open)
		return false;
	syntax_error(p, end->unclosed_off, "'%c' was never closed", p->src[end->unclosed_off]);
	return true;
}

/* The generic SyntaxError at token t (where CPython's parser stops). */
static void invalid_syntax(struct parser *p, const struct tok *t)
{
	if (t->kind == T_END) {
		eof_error(p, t);
		return;
	}
	if (t->kind == T_INDENT) {
		p->reporting_indent = true;
		syntax_error(p, t->off, "unexpected indent");
		return;
	}
	if (eof_first(p, t->off, false))
		return;
	syntax_error(p, t->off, "invalid syntax");
}

/*
 * Valid Python that is not part of the command language.  reads_on: CPython
 * would keep reading (and so report an unclosed bracket or a backslash at
 * the end of the input instead).
 */
static void unsupported_text(struct parser *p, size_t off, const char *text, bool reads_on)
{
	if (eof_first(p, off, reads_on))
		return;
	own_error(p, off, "'%s' is not supported: a command is a chain of method calls on conn or "
		  "recorder, not Python", text);
}

static void unsupported(struct parser *p, const struct tok *t, bool reads_on)
{
	struct shown s;

	unsupported_text(p, t->off, show(&s, p->src + t->off, t->len, NULL), reads_on);
}

static bool is_binop(const struct parser *p, const struct tok *t)
{
	static const char *const ops[] = {
		"-", "*", "/", "//", "%", "**", "@", "<<", ">>", "&", "|", "^", "<", ">", "<=",
		">=", "==", "!=",
	};
	size_t k;

	if (t->kind != T_OP)
		return false;
	for (k = 0; k < sizeof(ops) / sizeof(ops[0]); k++)
		if (tok_is(p, t, ops[k]))
			return true;
	return false;
}

static bool starts_expression(const struct parser *p, const struct tok *t)
{
	return t->kind == T_NAME || t->kind == T_NUMBER || t->kind == T_STRING ||
	       tok_is_kw(p, t, "None") || tok_is_kw(p, t, "True") || tok_is_kw(p, t, "False") ||
	       tok_is_kw(p, t, "not") || tok_is_kw(p, t, "lambda") || tok_is_kw(p, t, "await") ||
	       tok_is_op(p, t, "(") || tok_is_op(p, t, "[") || tok_is_op(p, t, "{") ||
	       tok_is_op(p, t, "~") || tok_is_op(p, t, "...");
}

static struct sx *parse_expr(struct parser *p, enum ctx ctx);

/*
 * Would CPython's parser, trying to read an expression from token index
 * `from` (its second pass does, to word its error), run into the end of
 * the input?  Answered by running this parser from there, silently.
 */
static bool expression_reaches_end(struct parser *p, size_t from)
{
	struct parser saved = *p;
	bool reached;

	if (p->probing)
		return false;
	p->probing = true;
	p->err = NULL;
	p->pos = from;
	parse_expr(p, CTX_CALL);
	reached = !p->nomem && cur(p)->kind == T_END;
	saved.arena = p->arena;		/* keep what was allocated (freed at the end) */
	saved.nomem = p->nomem;
	saved.failed = saved.failed || p->nomem;
	*p = saved;
	return reached;
}

/* Reports the end of the input if Python reads from token index `from` into it. */
static bool eof_after(struct parser *p, size_t from)
{
	const struct tok *end = &p->toks[p->ntoks - 1];

	if (end->end == END_OK || !expression_reaches_end(p, from))
		return false;
	eof_error(p, end);
	return true;
}

/* What follows a complete expression is not what the context allows. */
static void after_expression(struct parser *p, enum ctx ctx, const struct sx *e)
{
	const struct tok *t = cur(p);

	if (is_binop(p, t) || tok_is_kw(p, t, "and") || tok_is_kw(p, t, "or") ||
	    tok_is_kw(p, t, "in") || tok_is_kw(p, t, "is") || tok_is_kw(p, t, "not") ||
	    tok_is_kw(p, t, "if") || tok_is_op(p, t, ",") || tok_is_op(p, t, ":=") ||
	    tok_is_kw(p, t, "for")) {
		/* Python reads on: the right operand, the next element, ... */
		if ((tok_is_op(p, t, ":=") || tok_is_kw(p, t, "for")) && ctx == CTX_TOP)
			invalid_syntax(p, t);
		else if (!eof_after(p, p->pos + 1))
			unsupported(p, t, false);
		return;
	}
	if (tok_is_op(p, t, "[")) {	/* a subscript */
		if (!eof_after(p, p->pos))
			unsupported(p, t, false);
		return;
	}
	if (ctx == CTX_TOP) {
		if (!(starts_expression(p, t) && eof_after(p, p->pos)))
			invalid_syntax(p, t);
		return;
	}
	if (ctx == CTX_PARENS && tok_is_op(p, t, "=") && e && e->kind == SX_NAME) {
		if (!eof_first(p, e->off, false))
			syntax_error(p, e->off, "invalid syntax. Maybe you meant '==' or ':=' instead "
				     "of '='?");
		return;
	}
	if (starts_expression(p, t) && eof_after(p, p->pos))
		return;
	if (starts_expression(p, t) && !(e && e->kind == SX_NAME && t->kind == T_STRING)) {
		if (!eof_first(p, e ? e->off : t->off, false))
			syntax_error(p, e ? e->off : t->off, "invalid syntax. Perhaps you forgot a "
				     "comma?");
		return;
	}
	invalid_syntax(p, t);
}

static struct sx *new_sx(struct parser *p, enum sx_kind kind, const struct tok *t)
{
	struct sx *e = arena_alloc(p, sizeof(*e));

	if (!e)
		return NULL;
	e->kind = kind;
	e->tok = t;
	e->off = t->off;
	return e;
}

/* ---- string literals ---- */

/* An error in a literal (raised when Python's parser builds the value). */
__attribute__((format(printf, 4, 5)))
static void literal_error(struct parser *p, enum err_style style, size_t off, const char *fmt, ...)
{
	va_list ap;

	if (eof_first(p, off, false))
		return;
	va_start(ap, fmt);
	verror(p, style, off, -1, fmt, ap);
	va_end(ap);
}

/*
 * Where CPython's unicode-escape decoder sees source index i of literal t:
 * it decodes a copy of the body in which every non-ASCII character became
 * a 10-byte \UXXXXXXXX escape (and a backslash before one, \u005c).
 */
static size_t py_escape_pos(const struct parser *p, const struct tok *t, size_t i)
{
	size_t k = t->body, pos = 0;

	while (k < i) {
		uint8_t c = p->src[k];

		if (c == '\\' && k + 1 < p->len && p->src[k + 1] >= 0x80) {
			pos += 6;
			k++;
		} else if (c == '\r' && k + 1 < p->len && p->src[k + 1] == '\n') {
			pos += 1;
			k += 2;
		} else if (c < 0x80) {
			pos += 1;
			k++;
		} else {
			uint32_t cp;
			size_t n = utf8_decode(p->src + k, p->len - k, &cp);

			pos += 10;
			k += n ? n : 1;
		}
	}
	return pos;
}

/* Python's text for a bad escape spanning source [esc, end) of str literal t. */
static void unicode_escape_error(struct parser *p, const struct tok *t, size_t esc, size_t end,
				 const char *what)
{
	literal_error(p, E_SYNTAX, esc, "(unicode error) 'unicodeescape' codec can't decode bytes "
		      "in position %zu-%zu: %s", py_escape_pos(p, t, esc),
		      py_escape_pos(p, t, end) - 1, what);
}

static size_t hex_digits(const struct parser *p, size_t i, size_t end, size_t n, uint32_t *v)
{
	size_t k;

	*v = 0;
	for (k = 0; k < n; k++) {
		int c = i + k < end ? p->src[i + k] : -1;

		if (!is_xdigit(c))
			return k;
		*v = *v * 16 + (uint32_t)(is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10);
	}
	return n;
}

/*
 * Appends the value of literal t to out (capacity: the body length + 1 is
 * always enough: no escape produces more bytes than it takes, except that
 * \ooo / \xhh in a str produce up to 2 UTF-8 bytes from 2+ source bytes,
 * \uXXXX up to 3 from 6, \UXXXXXXXX up to 4 from 10).
 */
static bool decode_literal(struct parser *p, const struct tok *t, uint8_t *out, size_t *outlen)
{
	bool bytes = t->sflags & S_BYTES, raw = t->sflags & S_RAW;
	size_t i = t->body, end = t->body + t->body_len, o = *outlen;

	while (i < end) {
		uint8_t c = p->src[i];
		size_t nl = newline_len(p, i);
		uint32_t v;
		size_t k;

		if (nl) {	/* newlines inside triple-quoted strings read as \n */
			out[o++] = '\n';
			i += nl;
			continue;
		}
		if (c != '\\' || raw) {
			if (c == '\\' && raw && i + 1 < end) {
				/* a raw string keeps the backslash and what it protects */
				out[o++] = c;
				i++;
				nl = newline_len(p, i);
				if (nl) {
					out[o++] = '\n';
					i += nl;
				} else {
					out[o++] = p->src[i++];
				}
				continue;
			}
			out[o++] = c;
			i++;
			continue;
		}
		/* an escape; the lexer guarantees a character after the backslash */
		size_t esc = i++;

		c = p->src[i];
		nl = newline_len(p, i);
		if (nl) {
			i += nl;
			continue;
		}
		i++;
		switch (c) {
		case '\\': out[o++] = '\\'; break;
		case '\'': out[o++] = '\''; break;
		case '"': out[o++] = '"'; break;
		case 'a': out[o++] = 7; break;
		case 'b': out[o++] = 8; break;
		case 'f': out[o++] = 12; break;
		case 'n': out[o++] = 10; break;
		case 'r': out[o++] = 13; break;
		case 't': out[o++] = 9; break;
		case 'v': out[o++] = 11; break;
		case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7':
			v = (uint32_t)(c - '0');
			for (k = 0; k < 2 && i < end && p->src[i] >= '0' && p->src[i] <= '7'; k++)
				v = v * 8 + (uint32_t)(p->src[i++] - '0');
			if (bytes)
				out[o++] = (uint8_t)(v & 0xff);
			else
				o += utf8_encode(v, out + o);
			break;
		case 'x':
			k = hex_digits(p, i, end, 2, &v);
			if (k != 2) {
				if (bytes)
					literal_error(p, E_SYNTAX, esc, "(value error) invalid \\x escape at "
						      "position %zu", esc - t->body);
				else
					unicode_escape_error(p, t, esc, i + k, "truncated \\xXX escape");
				return false;
			}
			i += 2;
			if (bytes)
				out[o++] = (uint8_t)v;
			else
				o += utf8_encode(v, out + o);
			break;
		case 'u':
		case 'U':
			if (bytes)
				goto keep;
			k = c == 'u' ? 4 : 8;
			{
				size_t got = hex_digits(p, i, end, k, &v);

				if (got != k) {
					unicode_escape_error(p, t, esc, i + got, c == 'u' ?
							     "truncated \\uXXXX escape" :
							     "truncated \\UXXXXXXXX escape");
					return false;
				}
			}
			i += k;
			if (v > 0x10ffff) {
				unicode_escape_error(p, t, esc, i, "illegal Unicode character");
				return false;
			}
			if (v >= 0xd800 && v <= 0xdfff) {
				literal_error(p, E_OWN, esc, "a surrogate code point (U+%04" PRIX32 ") cannot be "
					  "part of a pattern", v);
				return false;
			}
			o += utf8_encode(v, out + o);
			break;
		case 'N':
			if (bytes)
				goto keep;
			{
				size_t close = i;

				if (i < end && p->src[i] == '{') {
					while (close < end && p->src[close] != '}')
						close++;
					if (close < end && close > i + 1) {
						literal_error(p, E_OWN, esc, "\\N{...} escapes are not "
							      "supported: write the character itself or "
							      "a \\u escape");
						return false;
					}
					if (close < end)	/* \N{}: stops at the '}' */
						close = i + 1;
				}
				unicode_escape_error(p, t, esc, close, "malformed \\N character escape");
			}
			return false;
		default:
keep:
			/* not an escape: Python keeps the backslash */
			out[o++] = '\\';
			i--;
			break;
		}
	}
	*outlen = o;
	return true;
}

/* Adjacent literals: one value (Python concatenates them at compile time). */
static struct sx *parse_strings(struct parser *p)
{
	const struct tok *first = cur(p), *t;
	size_t n = 0, cap = 0, k, count = 0;
	bool bytes = first->sflags & S_BYTES;
	struct sx *e;

	for (k = p->pos; k < p->ntoks && p->toks[k].kind == T_STRING; k++)
		;
	/* Python's parser reads the token after the literals before building the value */
	if (k < p->ntoks && p->toks[k].kind == T_END && p->toks[k].end != END_OK) {
		eof_error(p, &p->toks[k]);
		return NULL;
	}
	for (k = p->pos; k < p->ntoks && p->toks[k].kind == T_STRING; k++) {
		t = &p->toks[k];
		if (((t->sflags & S_BYTES) != 0) != bytes) {
			literal_error(p, E_SYNTAX, first->off, "cannot mix bytes and nonbytes literals");
			return NULL;
		}
		cap += t->body_len;
		count++;
	}
	for (k = 0; k < count; k++) {
		size_t j;

		t = &p->toks[p->pos + k];
		if (t->sflags & S_FSTRING) {
			literal_error(p, E_OWN, t->off, "f-strings are not supported");
			return NULL;
		}
		if (bytes) {
			for (j = t->body; j < t->body + t->body_len; j++) {
				if (p->src[j] >= 0x80) {
					literal_error(p, E_SYNTAX, t->off, "bytes can only contain ASCII literal "
						     "characters");
					return NULL;
				}
			}
		}
	}
	e = new_sx(p, SX_STRING, first);
	if (!e)
		return NULL;
	e->is_bytes = bytes;
	e->str = arena_alloc(p, cap + 1);
	if (!e->str)
		return NULL;
	for (k = 0; k < count; k++) {
		if (!decode_literal(p, &p->toks[p->pos + k], e->str, &n))
			return NULL;
	}
	e->str[n] = '\0';
	e->slen = n;
	p->pos += count;
	return e;
}

/* ---- expressions ---- */

static bool parse_args(struct parser *p, struct trailer *tr)
{
	struct sx_arg **tail = &tr->args;
	bool seen_kw = false;

	advance(p);	/* '(' */
	for (;;) {
		const struct tok *t = cur(p);
		struct sx_arg *a;

		if (tok_is_op(p, t, ")")) {
			advance(p);
			return true;
		}
		a = arena_alloc(p, sizeof(*a));
		if (!a)
			return false;
		if ((t->kind == T_NAME || t->kind == T_KEYWORD) && tok_is_op(p, next_tok(p), "=")) {
			const struct sx_arg *o;

			if (t->kind == T_KEYWORD) {
				if (eof_first(p, t->off, false))
					return false;
				if (tok_is(p, t, "None") || tok_is(p, t, "True") || tok_is(p, t, "False"))
					syntax_error(p, t->off, "cannot assign to %.*s", (int)t->len,
						     (const char *)p->src + t->off);
				else
					invalid_syntax(p, t);
				return false;
			}
			for (o = tr->args; o; o = o->next) {
				if (o->kw && o->kw->len == t->len &&
				    !memcmp(p->src + o->kw->off, p->src + t->off, t->len)) {
					struct shown s;

					if (eof_first(p, t->off, true))
						return false;
					syntax_error(p, t->off, "keyword argument repeated: %s",
						     show(&s, p->src + t->off, t->len, NULL));
					return false;
				}
			}
			a->kw = t;
			advance(p);
			advance(p);
			a->value = parse_expr(p, CTX_CALL);
			if (!a->value)
				return false;
			seen_kw = true;
		} else {
			a->value = parse_expr(p, CTX_CALL);
			if (!a->value)
				return false;
			if (tok_is_op(p, cur(p), "=")) {
				if (eof_first(p, a->value->off, false))
					return false;
				syntax_error(p, a->value->off, "expression cannot contain assignment, "
					     "perhaps you meant \"==\"?");
				return false;
			}
			if (seen_kw) {
				if (eof_first(p, a->value->off, true))
					return false;
				syntax_error(p, a->value->off, "positional argument follows keyword "
					     "argument");
				return false;
			}
		}
		*tail = a;
		tail = &a->next;
		tr->nargs++;
		t = cur(p);
		if (tok_is_op(p, t, ",")) {
			advance(p);
			continue;
		}
		if (tok_is_op(p, t, ")")) {
			advance(p);
			return true;
		}
		after_expression(p, CTX_CALL, a->value);
		return false;
	}
}

/* Probing only: skips a bracketed group; false when the input ends inside it. */
static bool skip_group(struct parser *p)
{
	int depth = 0;

	for (;;) {
		const struct tok *t = cur(p);

		if (t->kind == T_END) {
			p->failed = true;
			return false;
		}
		if (tok_is_op(p, t, "(") || tok_is_op(p, t, "[") || tok_is_op(p, t, "{"))
			depth++;
		else if (tok_is_op(p, t, ")") || tok_is_op(p, t, "]") || tok_is_op(p, t, "}"))
			depth--;
		advance(p);
		if (depth <= 0)
			return true;
	}
}

static struct sx *parse_atom(struct parser *p)
{
	const struct tok *t = cur(p);
	struct sx *e;

	switch (t->kind) {
	case T_NAME:
		advance(p);
		return new_sx(p, SX_NAME, t);
	case T_NUMBER:
		advance(p);
		return new_sx(p, SX_NUMBER, t);
	case T_STRING:
		return parse_strings(p);
	case T_KEYWORD:
		if (tok_is(p, t, "None") || tok_is(p, t, "True") || tok_is(p, t, "False")) {
			advance(p);
			return new_sx(p, SX_CONST, t);
		}
		if (tok_is(p, t, "not") || tok_is(p, t, "await")) {
			if (!eof_after(p, p->pos + 1))
				unsupported(p, t, false);
		} else if (tok_is(p, t, "lambda") || tok_is(p, t, "yield")) {
			unsupported(p, t, true);
		} else {
			invalid_syntax(p, t);
		}
		return NULL;
	case T_OP:
		if (p->probing && (tok_is(p, t, "(") || tok_is(p, t, "[") || tok_is(p, t, "{")))
			return skip_group(p) ? new_sx(p, SX_CONST, t) : NULL;
		if (p->probing && tok_is(p, t, "...")) {
			advance(p);
			return new_sx(p, SX_CONST, t);
		}
		if (tok_is(p, t, "(")) {
			advance(p);
			if (tok_is_op(p, cur(p), ")")) {
				unsupported_text(p, t->off, "()", false);
				return NULL;
			}
			e = parse_expr(p, CTX_PARENS);
			if (!e)
				return NULL;
			if (!tok_is_op(p, cur(p), ")")) {
				after_expression(p, CTX_PARENS, e);
				return NULL;
			}
			advance(p);
			e->off = t->off;
			return e;
		}
		if (tok_is(p, t, "[") || tok_is(p, t, "{") || tok_is(p, t, "...")) {
			if (!eof_after(p, p->pos))
				unsupported(p, t, false);
			return NULL;
		}
		if (tok_is(p, t, "*") || tok_is(p, t, "**") || tok_is(p, t, "~")) {
			if (!eof_after(p, p->pos + 1))
				unsupported(p, t, false);
			return NULL;
		}
		invalid_syntax(p, t);
		return NULL;
	default:
		invalid_syntax(p, t);
		return NULL;
	}
}

static struct sx *parse_primary(struct parser *p)
{
	struct sx *atom = parse_atom(p), *e;
	struct trailer **tail;

	if (!atom)
		return NULL;
	if (!tok_is_op(p, cur(p), ".") && !tok_is_op(p, cur(p), "(") &&
	    !(p->probing && tok_is_op(p, cur(p), "[")))
		return atom;
	e = new_sx(p, SX_CHAIN, atom->tok);
	if (!e)
		return NULL;
	e->off = atom->off;
	e->a = atom;
	tail = &e->trailers;
	for (;;) {
		const struct tok *t = cur(p);
		struct trailer *tr;

		if (p->probing && tok_is_op(p, t, "[")) {
			if (!skip_group(p))
				return NULL;
			continue;
		}
		if (!tok_is_op(p, t, ".") && !tok_is_op(p, t, "("))
			return e;
		tr = arena_alloc(p, sizeof(*tr));
		if (!tr)
			return NULL;
		if (tok_is_op(p, t, ".")) {
			advance(p);
			if (cur(p)->kind != T_NAME) {
				invalid_syntax(p, cur(p));
				return NULL;
			}
			tr->kind = TR_ATTR;
			tr->tok = cur(p);
			advance(p);
		} else {
			tr->kind = TR_CALL;
			tr->tok = t;
			if (!parse_args(p, tr))
				return NULL;
		}
		*tail = tr;
		tail = &tr->next;
	}
}

static struct sx *parse_unary(struct parser *p)
{
	const struct tok *t = cur(p);
	struct sx *e;

	if (tok_is_op(p, t, "-") || tok_is_op(p, t, "+") ||
	    (p->probing && (tok_is_op(p, t, "~") || tok_is_kw(p, t, "not") ||
			    tok_is_kw(p, t, "await")))) {
		if (++p->depth > MAX_DEPTH) {
			own_error(p, t->off, "expression nested too deeply");
			return NULL;
		}
		advance(p);
		e = new_sx(p, SX_UNARY, t);
		if (!e)
			return NULL;
		e->a = parse_unary(p);
		p->depth--;
		return e->a ? e : NULL;
	}
	return parse_primary(p);
}

static struct sx *parse_expr(struct parser *p, enum ctx ctx)
{
	struct sx *first, *e;
	struct sx_item **tail;

	(void)ctx;
	if (++p->depth > MAX_DEPTH) {
		own_error(p, cur(p)->off, "expression nested too deeply");
		return NULL;
	}
	first = parse_unary(p);
	if (p->probing) {
		/* any operator goes on, as in Python */
		while (first && (is_binop(p, cur(p)) || tok_is_op(p, cur(p), "+") ||
				 tok_is_kw(p, cur(p), "and") || tok_is_kw(p, cur(p), "or") ||
				 tok_is_kw(p, cur(p), "in") || tok_is_kw(p, cur(p), "is") ||
				 tok_is_kw(p, cur(p), "not") || tok_is_kw(p, cur(p), "if") ||
				 tok_is_kw(p, cur(p), "else"))) {
			advance(p);
			if (tok_is_kw(p, cur(p), "in") || tok_is_kw(p, cur(p), "not"))
				advance(p);	/* not in, is not */
			first = parse_unary(p);
		}
		p->depth--;
		return first;
	}
	if (!first || !tok_is_op(p, cur(p), "+")) {
		p->depth--;
		return first;
	}
	e = new_sx(p, SX_SUM, first->tok);
	if (!e)
		return NULL;
	e->off = first->off;
	e->items = arena_alloc(p, sizeof(*e->items));
	if (!e->items)
		return NULL;
	e->items->value = first;
	tail = &e->items->next;
	while (tok_is_op(p, cur(p), "+")) {
		struct sx_item *it = arena_alloc(p, sizeof(*it));

		if (!it)
			return NULL;
		it->op = cur(p);
		advance(p);
		it->value = parse_unary(p);
		if (!it->value)
			return NULL;
		*tail = it;
		tail = &it->next;
	}
	p->depth--;
	return e;
}

static struct sx *parse_input(struct parser *p)
{
	struct sx *e = parse_expr(p, CTX_TOP);
	bool newline = false;

	if (!e)
		return NULL;
	p->expr_end = cur(p)->off;
	while (cur(p)->kind == T_NEWLINE) {
		newline = true;
		advance(p);
	}
	if (cur(p)->kind == T_END && cur(p)->end == END_OK)
		return e;
	if (newline || cur(p)->kind == T_END || cur(p)->kind == T_INDENT)
		invalid_syntax(p, cur(p));
	else
		after_expression(p, CTX_TOP, e);
	return NULL;
}

/* ---- phase 3: the walk -------------------------------------------------------------------- */

static const char *type_name(const struct value *v)
{
	switch (v->kind) {
	case V_INT:
	case V_BIGINT:
		return "int";
	case V_FLOAT:
		return "float";
	case V_IMAG:
		return "complex";
	case V_STR:
		return "str";
	case V_BYTES:
		return "bytes";
	case V_NONE:
		return "NoneType";
	case V_BOOL:
		return "bool";
	case V_NODE:
		return cls_names[v->cls];
	case V_RECORDER:
		return cls_names[C_RECORDER];
	case V_METHOD:
		return "method";
	case V_ONFUNC:
		return "function";
	}
	return "object";
}

static bool is_int(const struct value *v)
{
	return v->kind == V_INT || v->kind == V_BIGINT;
}

static bool eval(struct parser *p, const struct sx *e, struct value *v);

static bool eval_name(struct parser *p, const struct sx *e, struct value *v)
{
	const struct tok *t = e->tok;
	const char *name = (const char *)p->src + t->off;

	if (t->len == 4 && !memcmp(name, "conn", 4)) {
		if (p->in_args) {
			own_error(p, t->off, "conn cannot be an argument");
			return false;
		}
		if (p->conn_used) {
			own_error(p, t->off, "conn may appear only once in a command");
			return false;
		}
		p->conn_used = true;
		v->kind = V_NODE;
		v->cls = C_ROOT;
		return true;
	}
	if (t->len == 8 && !memcmp(name, "recorder", 8)) {
		if (p->in_args) {
			own_error(p, t->off, "recorder cannot be an argument");
			return false;
		}
		v->kind = V_RECORDER;
		v->cls = C_RECORDER;
		return true;
	}
	{
		struct shown s;
		bool cut;

		show(&s, name, t->len, &cut);
		if (cut)
			own_error(p, t->off, "name '%s' is not defined", s.s);
		else
			py_error(p, t->off, "name '%s' is not defined", s.s);
	}
	return false;
}

static bool eval_unary(struct parser *p, const struct sx *e, struct value *v)
{
	bool minus = p->src[e->tok->off] == '-';

	if (!eval(p, e->a, v))
		return false;
	v->off = e->off;
	switch (v->kind) {
	case V_BOOL:
		v->kind = V_INT;
		/* fallthrough */
	case V_INT:
		if (minus) {
			if (v->i == INT64_MIN) {
				v->kind = V_BIGINT;
				v->neg = false;
			} else {
				v->i = -v->i;
			}
		}
		return true;
	case V_BIGINT:
		if (minus)
			v->neg = !v->neg;
		return true;
	case V_FLOAT:
		if (minus)
			v->f = -v->f;
		return true;
	case V_IMAG:
		return true;
	default:
		py_error(p, e->tok->off, "bad operand type for unary %c: '%s'", minus ? '-' : '+',
			 type_name(v));
		return false;
	}
}

/* An int or float as a double (an int beyond int64 as an infinity of its sign). */
static double as_double(const struct value *v)
{
	switch (v->kind) {
	case V_INT:
	case V_BOOL:
		return (double)v->i;
	case V_BIGINT:
		return v->neg ? -HUGE_VAL : HUGE_VAL;
	case V_FLOAT:
		return v->f;
	default:
		return 0;
	}
}

/* A float literal's value: its text without the underscores Python allows in it. */
static double float_literal(struct parser *p, const struct tok *t)
{
	char buf[128];
	size_t n = 0;

	for (size_t k = 0; k < t->len && n + 1 < sizeof(buf); k++)
		if (p->src[t->off + k] != '_')
			buf[n++] = (char)p->src[t->off + k];
	buf[n] = '\0';
	return strtod(buf, NULL);
}

static bool eval_sum(struct parser *p, const struct sx *e, struct value *acc)
{
	const struct sx_item *it = e->items;
	uint8_t *buf = NULL;	/* acc's text, once grown here (doubling: linear time) */
	size_t cap = 0;

	if (!eval(p, it->value, acc))
		return false;
	for (it = it->next; it; it = it->next) {
		struct value r;
		bool same;

		if (!eval(p, it->value, &r))
			return false;
		if (acc->kind == V_BOOL)
			acc->kind = V_INT;
		if (r.kind == V_BOOL)
			r.kind = V_INT;
		same = (acc->kind == V_STR && r.kind == V_STR) ||
		       (acc->kind == V_BYTES && r.kind == V_BYTES) ||
		       (is_int(acc) && is_int(&r)) ||
		       ((acc->kind == V_FLOAT || acc->kind == V_IMAG || is_int(acc)) &&
			(r.kind == V_FLOAT || r.kind == V_IMAG || is_int(&r)));
		if (!same) {
			if (acc->kind == V_STR)
				py_error(p, it->op->off, "can only concatenate str (not \"%s\") to str",
					 type_name(&r));
			else if (acc->kind == V_BYTES)
				py_error(p, it->op->off, "can't concat %s to bytes", type_name(&r));
			else
				py_error(p, it->op->off, "unsupported operand type(s) for +: '%s' and '%s'",
					 type_name(acc), type_name(&r));
			return false;
		}
		if (acc->kind == V_STR || acc->kind == V_BYTES) {
			if (acc->slen + r.slen > WF_COMMAND_MAX_STRING) {
				own_error(p, acc->off, "string longer than %u bytes",
					  WF_COMMAND_MAX_STRING);
				return false;
			}
			if (acc->s != buf || acc->slen + r.slen + 1 > cap) {
				size_t want = 2 * (acc->slen + r.slen) + 64;
				uint8_t *n = arena_alloc(p, want);

				if (!n)
					return false;
				memcpy(n, acc->s, acc->slen);
				buf = n;
				cap = want;
			}
			memcpy(buf + acc->slen, r.s, r.slen);
			acc->s = buf;
			acc->slen += r.slen;
			buf[acc->slen] = '\0';
		} else if (acc->kind == V_INT && r.kind == V_INT) {
			int64_t sum;

			if (__builtin_add_overflow(acc->i, r.i, &sum)) {
				acc->kind = V_BIGINT;
				acc->neg = acc->i < 0;
			} else {
				acc->i = sum;
			}
		} else if (acc->kind == V_BIGINT || r.kind == V_BIGINT) {
			/* int arithmetic beyond int64: only the sign is kept (and any use fails) */
			acc->neg = acc->kind == V_BIGINT ? acc->neg : r.neg;
			acc->kind = V_BIGINT;
		} else {
			acc->f = as_double(acc) + as_double(&r);
			acc->kind = acc->kind == V_IMAG || r.kind == V_IMAG ? V_IMAG : V_FLOAT;
		}
	}
	acc->off = e->off;
	return true;
}

/* ---- attributes ---- */

static bool name_is(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && !memcmp(name, want, len);
}

/*
 * Attributes fluent's objects have besides the command methods: Python would
 * reach them, wirefault does not model them.
 */
static bool has_internal_attr(enum vkind kind, enum cls c, const char *name, size_t len)
{
	static const struct {
		enum cls cls;
		const char *name;
	} attrs[] = {
		{ C_CONTAINS, "pattern" }, { C_MATCHES, "pattern" }, { C_AFTER, "target" },
		{ C_ONPACKET, "packet_kind" }, { C_ONPACKET, "filters" }, { C_CANCEL, "pid" },
		{ C_CONNECT_DELAY, "timeMs" }, { C_RECORDER, "command" },
	};
	size_t k;

	if (len >= 4 && name[0] == '_' && name[1] == '_' && name[len - 1] == '_' &&
	    name[len - 2] == '_')
		return true;	/* __class__, __dict__, __getattr__, __call__, ... */
	if (kind != V_NODE && kind != V_RECORDER)
		return false;
	if (name_is(name, len, "root"))
		return true;
	if (kind == V_NODE && (name_is(name, len, "next") || name_is(name, len, "_accept") ||
			       name_is(name, len, "_handle")))
		return true;
	for (k = 0; k < sizeof(attrs) / sizeof(attrs[0]); k++)
		if (attrs[k].cls == c && name_is(name, len, attrs[k].name))
			return true;
	return false;
}

static bool getattr(struct parser *p, const struct tok *t, struct value *v)
{
	const char *name = (const char *)p->src + t->off;
	size_t len = t->len;
	struct shown s;
	bool cut;
	enum method m;

	show(&s, name, len, &cut);
	if (has_internal_attr(v->kind, v->cls, name, len)) {
		own_error(p, t->off, "attribute '%s' is not supported: commands cannot reach "
			  "fluent.py's internals", s.s);
		return false;
	}
	switch (v->kind) {
	case V_NODE:
		if (!is_action_cls(v->cls)) {
			for (m = M_CONTAINS; m <= M_UNREACHABLE; m++) {
				if (name_is(name, len, methods[m].name)) {
					v->kind = V_METHOD;
					v->m = m;
					return true;
				}
			}
			if (len >= 2 && !memcmp(name, "on", 2)) {
				v->kind = V_ONFUNC;
				v->name = name + 2;
				v->name_len = len - 2;
				return true;
			}
			/* fluent raises a bare AttributeError here: it answers an empty text */
			own_error(p, t->off, "'%s' object has no attribute '%s'", cls_names[v->cls],
				  s.s);
			return false;
		}
		if (cut)
			own_error(p, t->off, "'%s' object has no attribute '%s'", cls_names[v->cls], s.s);
		else
			py_error(p, t->off, "'%s' object has no attribute '%s'", cls_names[v->cls], s.s);
		return false;
	case V_RECORDER:
		if (name_is(name, len, "dump") || name_is(name, len, "reset")) {
			v->kind = V_METHOD;
			v->m = name_is(name, len, "dump") ? M_DUMP : M_RECORDER_RESET;
			return true;
		}
		if (cut)
			own_error(p, t->off, "'RecorderCommand' object has no attribute '%s'", s.s);
		else
			py_error(p, t->off, "'RecorderCommand' object has no attribute '%s'", s.s);
		return false;
	case V_METHOD:
	case V_ONFUNC:
		/* a bound method forwards attribute lookups to its function */
		if (cut)
			own_error(p, t->off, "'function' object has no attribute '%s'", s.s);
		else
			py_error(p, t->off, "'function' object has no attribute '%s'", s.s);
		return false;
	default:
		own_error(p, t->off, "attribute '%s' of a %s value is not supported", s.s,
			  type_name(v));
		return false;
	}
}

/* ---- calls ---- */

/*
 * fluent.py builds the pipeline without looking at argument values (they
 * fail later, per packet, if at all).  wirefault checks them here, but
 * reports its finding only if evaluating the rest of the command the way
 * Python would raises nothing: where the reference answers an error, so
 * does wirefault, with the same text.  Once such a finding is recorded,
 * nothing more is stored in the command (it will be refused).
 */
struct call {
	const struct trailer *tr;
	size_t npos;
	struct value *pos;		/* positional values */
	const struct tok **kwname;	/* keyword names and values, in order */
	struct value *kwval;
	size_t nkw;
};

/* Python's argument binding for a method taking `param` (or nothing): its TypeError texts. */
/*
 * Binds a call's arguments to params[0..nparams) (the first `required` of
 * them required), as Python binds a method's: positionally, then by
 * keyword; Python's TypeError texts for everything else.  args[k] is NULL
 * for an optional parameter not given.
 */
static bool bind_params(struct parser *p, const struct call *c, const char *qual,
			const char *const *params, size_t nparams, size_t required,
			const struct value **args)
{
	size_t k, j, off = c->tr->tok->off;

	for (j = 0; j < nparams; j++)
		args[j] = j < c->npos ? &c->pos[j] : NULL;
	for (k = 0; k < c->nkw; k++) {
		const struct tok *kw = c->kwname[k];
		struct shown s;
		bool cut;

		show(&s, p->src + kw->off, kw->len, &cut);
		for (j = 0; j < nparams; j++)
			if (name_is((const char *)p->src + kw->off, kw->len, params[j]))
				break;
		if (j < nparams) {
			if (j < c->npos) {
				py_error(p, off, "%s() got multiple values for argument '%s'", qual,
					 params[j]);
				return false;
			}
			args[j] = &c->kwval[k];
			continue;
		}
		if (cut)
			own_error(p, kw->off, "%s() got an unexpected keyword argument '%s'", qual, s.s);
		else
			py_error(p, off, "%s() got an unexpected keyword argument '%s'", qual, s.s);
		return false;
	}
	if (c->npos > nparams) {
		if (required == nparams)
			py_error(p, off, "%s() takes %zu positional argument%s but %zu %s given", qual,
				 nparams + 1, nparams + 1 == 1 ? "" : "s", c->npos + 1,
				 c->npos + 1 == 1 ? "was" : "were");
		else
			py_error(p, off, "%s() takes from %zu to %zu positional arguments but %zu %s "
				 "given", qual, required + 1, nparams + 1, c->npos + 1,
				 c->npos + 1 == 1 ? "was" : "were");
		return false;
	}
	for (j = 0; j < required; j++) {
		if (!args[j]) {
			py_error(p, off, "%s() missing 1 required positional argument: '%s'", qual,
				 params[j]);
			return false;
		}
	}
	return true;
}

/* A method with at most one parameter (param NULL: none), which is required. */
static bool bind(struct parser *p, const struct call *c, const char *qual, const char *param,
		 const struct value **arg)
{
	const struct value *args[1] = { NULL };

	if (!bind_params(p, c, qual, &param, param ? 1 : 0, param ? 1 : 0, args))
		return false;
	*arg = args[0];
	return true;
}

static bool copy_bytes(struct parser *p, struct wf_bytes *out, const uint8_t *s, size_t n)
{
	out->data = malloc(n + 1);
	if (!out->data) {
		p->nomem = true;
		p->failed = true;
		return false;
	}
	if (n)
		memcpy(out->data, s, n);
	out->data[n] = '\0';
	out->len = n;
	return true;
}

/* A new filter to fill, or NULL: nothing to store (a finding is pending) or out of memory. */
static struct wf_filter *new_filter(struct parser *p, const struct call *c, enum wf_filter_kind k)
{
	struct wf_filter *f;

	if (p->has_deferred)
		return NULL;
	if (p->cmd->nfilters >= WF_COMMAND_MAX_FILTERS) {
		defer_error(p, c->tr->tok->off, "a pipeline holds at most %d filters",
			    WF_COMMAND_MAX_FILTERS);
		return NULL;
	}
	if (!p->cmd->filters) {
		p->cmd->filters = calloc(WF_COMMAND_MAX_FILTERS, sizeof(*p->cmd->filters));
		if (!p->cmd->filters) {
			p->nomem = true;
			p->failed = true;
			return NULL;
		}
	}
	f = &p->cmd->filters[p->cmd->nfilters++];
	memset(f, 0, sizeof(*f));
	f->kind = k;
	return f;
}

/* An int argument in [lo, hi]; false (and a finding) otherwise. */
static bool int_arg(struct parser *p, const struct value *a, const char *what, int64_t *out)
{
	if (a->kind == V_INT) {
		*out = a->i;
		return true;
	}
	if (a->kind == V_BIGINT)
		defer_error(p, a->off, "%s: integer out of range", what);
	else
		defer_error(p, a->off, "%s needs an int, not %s", what, type_name(a));
	return false;
}

static bool call_filter(struct parser *p, enum method m, const struct call *c, struct value *v)
{
	static const enum cls cls[] = {
		[M_CONTAINS] = C_CONTAINS, [M_MATCHES] = C_MATCHES, [M_AFTER] = C_AFTER,
		[M_TIMES] = C_TIMES, [M_PROBABILITY] = C_PROBABILITY, [M_SEED] = C_SEED,
	};
	const struct value *a;
	struct wf_filter *f;
	int64_t n;
	uint8_t byte;

	if (!bind(p, c, methods[m].qualname, methods[m].param, &a))
		return false;
	switch (m) {
	case M_CONTAINS:
		if (a->kind == V_STR) {
			defer_error(p, a->off, "contains() needs bytes, not str: write "
				    "contains(b\"...\")");
		} else if (a->kind == V_INT || a->kind == V_BIGINT) {
			/* fluent tests `pattern in chunk`: an int is one byte value */
			if (a->kind == V_BIGINT || a->i < 0 || a->i > 255)
				defer_error(p, a->off, "contains() with an int needs a byte value in "
					    "range(0, 256)");
		} else if (a->kind != V_BYTES) {
			defer_error(p, a->off, "contains() needs bytes like b\"...\", not %s",
				    type_name(a));
		}
		f = new_filter(p, c, WF_FILTER_CONTAINS);
		if (f) {
			byte = (uint8_t)a->i;
			if (a->kind == V_INT ? !copy_bytes(p, &f->contains, &byte, 1) :
			    !copy_bytes(p, &f->contains, a->s, a->slen))
				return false;
		}
		break;
	case M_MATCHES:
		if (a->kind != V_BYTES && a->kind != V_STR) {
			/* re.compile()'s own complaint, when fluent builds the filter */
			py_error(p, c->tr->tok->off, "first argument must be string or compiled pattern");
			return false;
		}
		if (a->kind == V_STR)
			defer_error(p, a->off, "matches() needs a bytes regex, not str: write "
				    "matches(b\"...\")");
		f = new_filter(p, c, WF_FILTER_MATCHES);
		if (f && !copy_bytes(p, &f->matches, a->s, a->slen))
			return false;
		break;
	case M_AFTER:
		n = 0;
		if (!is_int(a))
			defer_error(p, a->off, "after() needs an int, not %s", type_name(a));
		else if (a->kind == V_BIGINT && !a->neg)
			defer_error(p, a->off, "after(): integer out of range");
		else
			n = a->kind == V_BIGINT ? -1 : a->i;
		f = new_filter(p, c, WF_FILTER_AFTER);
		/* fluent passes once count >= n: any n <= 0 passes everything */
		if (f)
			f->after = n < 0 ? 0 : (uint64_t)n;
		break;
	case M_TIMES:
		if (int_arg(p, a, "times(n)", &n) && n < 0)
			defer_error(p, a->off, "times(n) needs n >= 0, not %" PRId64, n);
		f = new_filter(p, c, WF_FILTER_TIMES);
		if (f)
			f->times = (uint64_t)n;
		break;
	case M_PROBABILITY: {
		double pr = a->kind == V_FLOAT ? a->f : a->kind == V_INT || a->kind == V_BOOL ?
			    (double)a->i : NAN;

		if (a->kind != V_FLOAT && a->kind != V_INT && a->kind != V_BOOL)
			defer_error(p, a->off, "probability(p) needs a number, not %s", type_name(a));
		else if (!(pr >= 0 && pr <= 1))
			defer_error(p, a->off, "probability(p) needs 0 <= p <= 1, not %g", pr);
		f = new_filter(p, c, WF_FILTER_PROBABILITY);
		if (f)
			f->probability = pr;
		break;
	}
	case M_SEED:
		/* not a filter: the seed of the pipeline's random decisions */
		if (p->cmd->has_seed)
			defer_error(p, a->off, "seed() given twice");
		else if (int_arg(p, a, "seed(n)", &n) && n < 0)
			defer_error(p, a->off, "seed(n) needs n >= 0, not %" PRId64, n);
		if (!p->has_deferred) {
			p->cmd->has_seed = true;
			p->cmd->seed = (uint64_t)n;
		}
		break;
	default:
		return false;
	}
	if (p->failed)
		return false;
	v->kind = V_NODE;
	v->cls = cls[m];
	p->tail = cls[m];
	return true;
}

static bool call_action(struct parser *p, enum method m, const struct call *c, struct value *v)
{
	const struct value *a;
	int64_t n = 0;
	static const struct {
		enum wf_action_kind kind;
		enum cls cls;
	} map[] = {
		[M_KILL] = { WF_ACTION_KILL, C_KILL },
		[M_ALLOW] = { WF_ACTION_ALLOW, C_ALLOW },
		[M_KILLALL] = { WF_ACTION_KILLALL, C_KILLALL },
		[M_RESET] = { WF_ACTION_RESET, C_RESET },
		[M_CANCEL] = { WF_ACTION_CANCEL, C_CANCEL },
		[M_CONNECT_DELAY] = { WF_ACTION_CONNECT_DELAY, C_CONNECT_DELAY },
		[M_BLACKHOLE] = { WF_ACTION_BLACKHOLE, C_BLACKHOLE },
		[M_DELAY] = { WF_ACTION_DELAY, C_DELAY },
		[M_TRUNCATE] = { WF_ACTION_TRUNCATE, C_TRUNCATE },
		[M_UNREACHABLE] = { WF_ACTION_UNREACHABLE, C_UNREACHABLE },
	};

	static const char *const delay_params[] = { "ms", "jitter" };
	const struct value *delay_args[2];
	int64_t jitter = 0;

	if (m == M_DELAY) {
		/* delay(ms[, jitter]) */
		if (!bind_params(p, c, methods[m].qualname, delay_params, 2, 1, delay_args))
			return false;
		a = delay_args[0];
		if (delay_args[1] && int_arg(p, delay_args[1], "delay(ms, jitter)", &jitter) &&
		    (jitter < 0 || jitter > WF_COMMAND_MAX_HOLD_MS))
			defer_error(p, delay_args[1]->off, "delay(ms, jitter) needs 0 <= jitter <= %d, "
				    "not %" PRId64, WF_COMMAND_MAX_HOLD_MS, jitter);
	} else if (!bind(p, c, methods[m].qualname, methods[m].param, &a)) {
		return false;
	}
	if (m == M_CANCEL && int_arg(p, a, "cancel(pid)", &n)) {
		if (n <= 0)
			defer_error(p, a->off, "cancel(pid) needs a process id > 0, not %" PRId64
				    ": os.kill() would signal a whole process group", n);
		else if (n > INT32_MAX)
			defer_error(p, a->off, "cancel(pid): %" PRId64 " is not a process id", n);
	} else if (m == M_CONNECT_DELAY && int_arg(p, a, "connect_delay(ms)", &n)) {
		if (n < 0 || n > WF_COMMAND_MAX_DELAY_MS)
			defer_error(p, a->off, "connect_delay(ms) needs 0 <= ms <= %d, not %" PRId64,
				    WF_COMMAND_MAX_DELAY_MS, n);
	} else if (m == M_DELAY && int_arg(p, a, "delay(ms)", &n)) {
		if (n < 0 || n > WF_COMMAND_MAX_HOLD_MS)
			defer_error(p, a->off, "delay(ms) needs 0 <= ms <= %d, not %" PRId64,
				    WF_COMMAND_MAX_HOLD_MS, n);
	} else if (m == M_TRUNCATE && int_arg(p, a, "truncate(n)", &n)) {
		if (n < 0 || n > WF_COMMAND_MAX_TRUNCATE)
			defer_error(p, a->off, "truncate(n) needs 0 <= n <= %d bytes, not %" PRId64,
				    WF_COMMAND_MAX_TRUNCATE, n);
	}
	if (!p->has_deferred) {
		p->cmd->action.kind = map[m].kind;
		p->cmd->action.arg = n;
		p->cmd->action.jitter = jitter;
	}
	p->tail = map[m].cls;
	v->kind = V_NODE;
	v->cls = map[m].cls;
	return true;
}

/*
 * Whether onX() can match field `name` of m: a text field, or an enum at a
 * fixed body offset (the kernel reads that one byte).  0 (*kind, *loc set);
 * -ENOENT: no such field; -EINVAL: another kind of field; -ERANGE: an enum
 * that is not at a fixed offset.
 */
static int matchable_field(const struct pg_message_desc *m, const char *name,
			   enum pg_field_kind *kind, struct pg_text_field_loc *loc)
{
	const struct pg_field *f;
	int rc = pg_message_field_loc(m, name, &f, loc);

	if (rc == -EINVAL)
		rc = pg_message_field(m, name)->kind == PG_FIELD_ENUM8 ? -ERANGE : -EINVAL;
	if (rc)
		return rc;
	if (f->kind == PG_FIELD_ENUM8 && loc->text_index != 0)
		return -ERANGE;
	if (f->kind != PG_FIELD_TEXT && f->kind != PG_FIELD_ENUM8)
		return -EINVAL;
	*kind = f->kind;
	return 0;
}

/*
 * The fields of message m onX() can match, for error messages: "text fields:
 * name, query", "text fields: name; enum fields: type", "it has no text or
 * enum field".
 */
static void matchable_fields(const struct pg_message_desc *m, char *buf, size_t size)
{
	static const struct {
		enum pg_field_kind kind;
		const char *title;
	} groups[] = { { PG_FIELD_TEXT, "text fields:" }, { PG_FIELD_ENUM8, "enum fields:" } };
	struct pg_text_field_loc loc;
	enum pg_field_kind kind;
	size_t g, i, n = 0;

	buf[0] = '\0';
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
		size_t count = 0;

		for (i = 0; m->body && i < m->body->nfields && n < size; i++) {
			const char *f = m->body->fields[i].name;

			if (matchable_field(m, f, &kind, &loc) || kind != groups[g].kind)
				continue;
			if (!count)
				snprintf(buf + n, size - n, "%s%s", n ? "; " : "", groups[g].title);
			n = strlen(buf);
			snprintf(buf + n, size - n, "%s %s", count ? "," : "", f);
			n = strlen(buf);
			count++;
		}
	}
	if (!n)
		snprintf(buf, size, "it has no text or enum field");
}

/* onX's message name: the table's entries for both directions, or a finding. */
static bool onx_message(struct parser *p, const char *name, size_t at,
			const struct pg_message_desc *msg[WF_DIR__COUNT])
{
	size_t count, i;
	const struct pg_message_desc *all;
	int d;

	for (d = 0; d < WF_DIR__COUNT; d++)
		msg[d] = pg_message_by_name((enum wf_dir)d, name);
	if (msg[0] || msg[1])
		return true;
	all = pg_messages_all(&count);
	for (i = 0; i < count; i++) {
		if (!strcmp(all[i].name, name) && !all[i].in_reference) {
			defer_error(p, at, "on%s(): fluent.py's structs.py does not decode %s "
				    "messages, so this filter would never match", name, name);
			return false;
		}
	}
	for (i = 0; i < count; i++) {
		if (all[i].in_reference && !strcasecmp(all[i].name, name)) {
			defer_error(p, at, "unknown message type '%s' (did you mean on%s?)", name,
				    all[i].name);
			return false;
		}
	}
	defer_error(p, at, "unknown message type '%s': onX() takes a message name of structs.py, "
		    "such as Query, Parse, Bind, CopyData, CommandComplete, DataRow, ReadyForQuery, "
		    "AuthenticationOk", name);
	return false;
}

/* One field="regex" of onX(); false: a finding. */
static bool onx_field(struct parser *p, const char *name,
		      const struct pg_message_desc *const msg[WF_DIR__COUNT],
		      const struct tok *kw, const struct value *val, struct wf_field_match *fm)
{
	char fname[64], fields[160];
	struct shown s;
	int d;

	show(&s, p->src + kw->off, kw->len, NULL);
	if (kw->len >= sizeof(fname)) {
		defer_error(p, kw->off, "%s has no field '%s'", name, s.s);
		return false;
	}
	memcpy(fname, p->src + kw->off, kw->len);
	fname[kw->len] = '\0';
	for (d = 0; d < WF_DIR__COUNT; d++) {
		int rc;

		if (!msg[d])
			continue;
		rc = matchable_field(msg[d], fname, &fm->kind[d], &fm->loc[d]);
		if (rc) {
			matchable_fields(msg[d], fields, sizeof(fields));
			if (rc == -ENOENT)
				defer_error(p, kw->off, "%s has no field '%s' (%s)", name, s.s, fields);
			else if (rc == -ERANGE)
				defer_error(p, kw->off, "enum field '%s' of %s follows a variable-length "
					    "field: onX() matches enums at a fixed offset only (%s)",
					    s.s, name, fields);
			else
				defer_error(p, kw->off, "field '%s' of %s is neither text nor an enum: "
					    "onX() matches text and enum fields only (%s)", s.s, name,
					    fields);
			return false;
		}
		fm->field = pg_message_field(msg[d], fname)->name;
	}
	if (val->kind != V_STR) {
		defer_error(p, val->off, "on%s(%s=...) needs a str regex like \"^COMMIT\", not %s",
			    name, s.s, type_name(val));
		return false;
	}
	return true;
}

static bool call_onx(struct parser *p, const struct value *fn, const struct call *c,
		     struct value *v)
{
	const struct pg_message_desc *msg[WF_DIR__COUNT];
	struct wf_field_match fields[WF_COMMAND_MAX_FIELDS];
	/* findings about the name point at the attribute onX (fn->name is in the source) */
	size_t at = (size_t)(fn->name - (const char *)p->src) - 2, k;
	struct wf_filter *f;
	bool ok = true;
	char name[64];
	int d;

	if (c->npos) {
		py_error(p, c->tr->tok->off, ONX_QUALNAME "() takes 0 positional arguments but "
			 "%zu %s given", c->npos, c->npos == 1 ? "was" : "were");
		return false;
	}
	if (fn->name_len == 0) {
		defer_error(p, at, "on() needs a message type: onQuery(), onCommandComplete(), ...");
		ok = false;
	} else if (fn->name_len >= sizeof(name)) {
		struct shown s;

		defer_error(p, at, "unknown message type '%s'",
			    show(&s, fn->name, fn->name_len, NULL));
		ok = false;
	} else {
		memcpy(name, fn->name, fn->name_len);
		name[fn->name_len] = '\0';
		ok = onx_message(p, name, at, msg);
	}
	if (ok && c->nkw > WF_COMMAND_MAX_FIELDS) {
		defer_error(p, c->kwname[WF_COMMAND_MAX_FIELDS]->off, "too many fields in on%s()",
			    name);
		ok = false;
	}
	memset(fields, 0, sizeof(fields));
	for (k = 0; ok && k < c->nkw; k++)
		ok = onx_field(p, name, msg, c->kwname[k], &c->kwval[k], &fields[k]);

	if (ok && (f = new_filter(p, c, WF_FILTER_ON)) != NULL) {
		for (d = 0; d < WF_DIR__COUNT; d++) {
			f->on.msg[d] = msg[d];
			if (msg[d])
				f->on.name = msg[d]->name;
		}
		if (c->nkw) {
			f->on.fields = calloc(c->nkw, sizeof(*f->on.fields));
			if (!f->on.fields) {
				p->nomem = true;
				p->failed = true;
				return false;
			}
		}
		for (k = 0; k < c->nkw; k++) {
			f->on.fields[k] = fields[k];
			f->on.fields[k].regex.data = NULL;
			if (!copy_bytes(p, &f->on.fields[k].regex, c->kwval[k].s, c->kwval[k].slen))
				return false;
			f->on.nfields++;
		}
	}
	if (p->failed)
		return false;
	v->kind = V_NODE;
	v->cls = C_ONPACKET;
	p->tail = C_ONPACKET;
	return true;
}

/*
 * conn(port=P), conn(client="ADDR"), conn(port=P, client="ADDR"): the
 * pipeline's scope (wirefault's own; fluent.py's conn is not callable).
 * Keyword arguments only; whether P is a followed port is checked when the
 * command is executed (the parser does not know the loader's ports).
 */
static bool call_scope(struct parser *p, const struct call *c, struct value *v)
{
	struct wf_scope *sc = &p->cmd->scope;
	size_t off = c->tr->tok->off, k;

	if (p->scope_given || p->tail != C_ROOT) {
		own_error(p, off, "conn(...) chooses the scope once, right after conn");
		return false;
	}
	if (c->npos) {
		own_error(p, c->pos[0].off, "conn() takes keyword arguments only: conn(port=P), "
			  "conn(client=\"ADDR\") or conn(port=P, client=\"ADDR\")");
		return false;
	}
	if (!c->nkw) {
		/* as fluent.py answers it */
		py_error(p, off, "'%s' object is not callable", cls_names[C_ROOT]);
		return false;
	}
	for (k = 0; k < c->nkw; k++) {
		const struct tok *kw = c->kwname[k];
		const char *name = (const char *)p->src + kw->off;
		const struct value *val = &c->kwval[k];

		if (name_is(name, kw->len, "port")) {
			if (val->kind != V_INT || val->i < 1 || val->i > 65535) {
				own_error(p, val->off, "conn(port=...) needs a port number 1..65535");
				return false;
			}
			sc->has_port = true;
			sc->port = (uint16_t)val->i;
		} else if (name_is(name, kw->len, "client")) {
			char addr[WF_SCOPE_TEXT_MAX];

			if (val->kind != V_STR || !val->slen || val->slen >= sizeof(addr) ||
			    memchr(val->s, '\0', val->slen)) {
				own_error(p, val->off, "conn(client=...) needs an IPv4 or IPv6 address "
					  "as a str, e.g. client=\"127.0.0.1\" or client=\"::1\"");
				return false;
			}
			memcpy(addr, val->s, val->slen);
			addr[val->slen] = '\0';
			if (!wf_scope_set_client(sc, addr)) {
				own_error(p, val->off, "conn(client=\"%s\"): not an IPv4 or IPv6 address",
					  addr);
				return false;
			}
		} else {
			struct shown s;
			bool cut;

			show(&s, name, kw->len, &cut);
			own_error(p, kw->off, "conn() has no argument '%s': it takes port=P and "
				  "client=\"ADDR\"", s.s);
			return false;
		}
	}
	p->scope_given = true;
	v->kind = V_NODE;
	v->cls = C_ROOT;
	return true;
}

static bool call_value(struct parser *p, const struct trailer *tr, struct value *v)
{
	struct call c = { .tr = tr };
	const struct sx_arg *a;
	bool saved = p->in_args;

	bool scope = v->kind == V_NODE && v->cls == C_ROOT;

	if (v->kind != V_METHOD && v->kind != V_ONFUNC && !scope) {
		py_error(p, tr->tok->off, "'%s' object is not callable", type_name(v));
		return false;
	}
	/* Python evaluates every argument before calling */
	if (tr->nargs) {
		c.pos = arena_alloc(p, tr->nargs * sizeof(*c.pos));
		c.kwval = arena_alloc(p, tr->nargs * sizeof(*c.kwval));
		c.kwname = arena_alloc(p, tr->nargs * sizeof(*c.kwname));
		if (!c.pos || !c.kwval || !c.kwname)
			return false;
	}
	p->in_args = true;
	for (a = tr->args; a; a = a->next) {
		struct value *slot = a->kw ? &c.kwval[c.nkw] : &c.pos[c.npos];

		if (!eval(p, a->value, slot)) {
			p->in_args = saved;
			return false;
		}
		if (a->kw)
			c.kwname[c.nkw++] = a->kw;
		else
			c.npos++;
	}
	p->in_args = saved;

	if (scope)
		return call_scope(p, &c, v);
	if (v->kind == V_ONFUNC)
		return call_onx(p, v, &c, v);
	if (v->cls != C_RECORDER && v->cls != p->tail) {
		own_error(p, tr->tok->off, "internal error: a method of an earlier chain element");
		return false;
	}
	switch (v->m) {
	case M_CONTAINS:
	case M_MATCHES:
	case M_AFTER:
	case M_TIMES:
	case M_PROBABILITY:
	case M_SEED:
		return call_filter(p, v->m, &c, v);
	case M_DUMP:
	case M_RECORDER_RESET:
		{
			const struct value *unused;

			if (!bind(p, &c, methods[v->m].qualname, NULL, &unused))
				return false;
		}
		p->recorder = v->m == M_DUMP ? WF_CMD_RECORDER_DUMP : WF_CMD_RECORDER_RESET;
		v->kind = V_RECORDER;
		v->cls = C_RECORDER;
		return true;
	default:
		return call_action(p, v->m, &c, v);
	}
}

static bool eval_chain(struct parser *p, const struct sx *e, struct value *v)
{
	const struct trailer *tr;

	if (!eval(p, e->a, v))
		return false;
	for (tr = e->trailers; tr; tr = tr->next) {
		if (tr->kind == TR_ATTR) {
			if (!getattr(p, tr->tok, v))
				return false;
		} else if (!call_value(p, tr, v)) {
			return false;
		}
	}
	v->off = e->off;
	return true;
}

static bool eval(struct parser *p, const struct sx *e, struct value *v)
{
	memset(v, 0, sizeof(*v));
	v->off = e->off;
	switch (e->kind) {
	case SX_NAME:
		return eval_name(p, e, v);
	case SX_CONST:
		if (tok_is(p, e->tok, "None")) {
			v->kind = V_NONE;
		} else {
			v->kind = V_BOOL;
			v->i = tok_is(p, e->tok, "True");
		}
		return true;
	case SX_NUMBER:
		if (e->tok->num == NUM_INT) {
			v->kind = e->tok->big ? V_BIGINT : V_INT;
			v->i = (int64_t)e->tok->ival;
		} else {
			v->kind = e->tok->num == NUM_FLOAT ? V_FLOAT : V_IMAG;
			if (v->kind == V_FLOAT)
				v->f = float_literal(p, e->tok);
		}
		return true;
	case SX_STRING:
		if (e->slen > WF_COMMAND_MAX_STRING) {
			own_error(p, e->off, "string longer than %u bytes", WF_COMMAND_MAX_STRING);
			return false;
		}
		v->kind = e->is_bytes ? V_BYTES : V_STR;
		v->s = e->str;
		v->slen = e->slen;
		return true;
	case SX_UNARY:
		return eval_unary(p, e, v);
	case SX_SUM:
		return eval_sum(p, e, v);
	case SX_CHAIN:
		return eval_chain(p, e, v);
	}
	return false;
}

/* Reports the pending finding of wirefault's own checks, if any. */
static bool report_deferred(struct parser *p)
{
	if (!p->has_deferred)
		return false;
	p->failed = true;
	if (p->err)
		*p->err = p->deferred;
	return true;
}

/* What the whole expression evaluated to: fluent then reads its .root. */
static bool finish(struct parser *p, const struct value *v)
{
	switch (v->kind) {
	case V_NODE:
		if (report_deferred(p))
			return false;
		if (is_action_cls(v->cls)) {
			p->cmd->kind = WF_CMD_PIPELINE;
			return true;
		}
		if (v->cls == C_ROOT)
			own_error(p, v->off, "conn alone is not a command: add an action, "
				  "e.g. conn.allow()");
		else
			own_error(p, p->expr_end, "the pipeline has no action: end it with .allow(), "
				  ".kill(), .reset(), .killall(), .cancel(pid), .connect_delay(ms), "
				  ".blackhole(), .unreachable(), .delay(ms) or .truncate(n)");
		return false;
	case V_RECORDER:
		if (!p->recorder) {
			py_error(p, v->off, "Unrecognized command: None");
			return false;
		}
		if (report_deferred(p))
			return false;
		p->cmd->kind = (enum wf_command_kind)p->recorder;
		return true;
	case V_METHOD:
	case V_ONFUNC:
		py_error(p, v->off, "'function' object has no attribute 'root'");
		return false;
	default:
		py_error(p, v->off, "'%s' object has no attribute 'root'", type_name(v));
		return false;
	}
}

/* ---- entry -------------------------------------------------------------------------------- */

int wf_command_parse(const char *src, size_t len, struct wf_command *out,
		     struct wf_parse_error *err)
{
	struct parser p = {
		.src = (const uint8_t *)src,
		.len = len,
		.err = err,
		.cmd = out,
		.tail = C_ROOT,
	};
	struct sx *tree;
	struct value v;
	size_t i;
	bool ok;

	memset(out, 0, sizeof(*out));
	if (err)
		memset(err, 0, sizeof(*err));
	if (len > WF_COMMAND_MAX_INPUT) {
		own_error(&p, 0, "command longer than %u bytes", WF_COMMAND_MAX_INPUT);
		return -EINVAL;
	}
	if (len && memchr(src, '\0', len)) {
		/* Python's eval() refuses such text before parsing it */
		py_error(&p, (size_t)((const char *)memchr(src, '\0', len) - src),
			 "source code string cannot contain null bytes");
		return -EINVAL;
	}
	for (i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(p.src + i, len - i, &cp);

		if (!n) {
			own_error(&p, i, "command is not valid UTF-8");
			return -EINVAL;
		}
		i += n;
	}
	/* eval() strips leading spaces and tabs */
	while (p.start < len && (src[p.start] == ' ' || src[p.start] == '\t'))
		p.start++;

	p.lexing = true;
	ok = lex(&p);
	p.lexing = false;
	if (!ok && p.has_lexerr && !p.failed) {
		struct tok *t = push_tok(&p, T_END, p.lexerr.offset, 0);

		if (t)
			t->end = END_LEXERR;
		ok = t != NULL;
	}
	if (ok && (tree = parse_input(&p)) != NULL && eval(&p, tree, &v))
		finish(&p, &v);

	free(p.toks);
	arena_free(&p);
	if (!p.failed)
		return 0;
	wf_command_free(out);
	if (p.nomem) {
		if (err) {
			memset(err, 0, sizeof(*err));
			snprintf(err->msg, sizeof(err->msg), "out of memory");
		}
		return -ENOMEM;
	}
	return -EINVAL;
}
