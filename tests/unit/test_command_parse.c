// SPDX-License-Identifier: GPL-2.0
/*
 * The command grammar (user/command_parse.c).
 *
 * - Every command of the Citus corpus (conformance/commands.txt) parses,
 *   from the exact FIFO bytes fluent.py received (responses.tsv's fifo_slug),
 *   into the shape its text spells, and prints back canonically.
 * - Every other row of responses.tsv (hand-written edge cases and raw FIFO
 *   payloads) is declared in `reference_rows` below: accepted (with the
 *   canonical text), refused with the reference's exact text, or refused
 *   with wirefault's own text on purpose (docs/differences.md, "Commands").
 *   An undeclared row fails, and so does a declaration no row uses.
 * - Commands the reference left unchanged, and commands it accepted but that
 *   fail per packet, are refused.
 * - Python's texts (CPython 3.11) for more mistakes, wirefault's own texts,
 *   literal rules, AST details, limits.
 * - A mutational fuzz loop: never crash or leak (ASan/UBSan), and every
 *   accepted command survives format -> parse unchanged.  It runs for
 *   $WF_FUZZ_SECONDS seconds (default 2); $WF_FUZZ_SEED replays a run.
 *
 * The corpus is found at $WF_CONFORMANCE_DIR, else at tests/conformance.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "command_parse.h"
#include "strbuf.h"
#include "test_files.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- corpus access ------------------------------------------------------------------------ */

static const char *conf_dir;

static char *read_file(const char *name, size_t *len)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", conf_dir, name);
	return wf_test_read_file(path, len);
}

/* The rows of responses.tsv (tests/lib/test_files.h). */
#define row wf_test_response

static struct wf_test_responses responses;
static struct row *rows;
static size_t nrows;

static bool load_rows(void)
{
	if (wf_test_load_responses(conf_dir, &responses))
		return false;
	rows = responses.rows;
	nrows = responses.n;
	return true;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static int parse(const char *src, size_t len, struct wf_command *c, struct wf_parse_error *e)
{
	return wf_command_parse(src, len, c, e);
}

/* Accepted, and printed canonically as `canonical`. */
static void check_ok_len(const char *src, size_t len, const char *canonical)
{
	struct wf_command c;
	struct wf_parse_error e;
	char *f;
	int rc = parse(src, len, &c, &e);

	if (rc)
		fail_msg("refused %.*s: %s", (int)(len > 200 ? 200 : len), src, e.msg);
	f = wf_command_format(&c);
	assert_non_null(f);
	if (canonical)
		assert_string_equal(f, canonical);
	free(f);
	wf_command_free(&c);
}

static void check_ok(const char *src, const char *canonical)
{
	check_ok_len(src, strlen(src), canonical);
}

/* Refused with exactly `msg`. */
static void check_err_len(const char *src, size_t len, const char *msg)
{
	struct wf_command c;
	struct wf_parse_error e;
	int rc = parse(src, len, &c, &e);

	if (rc == 0) {
		char *f = wf_command_format(&c);

		fail_msg("accepted %.*s as %s, wanted: %s", (int)(len > 200 ? 200 : len), src, f, msg);
	}
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(e.msg, msg);
	assert_true(e.offset <= len);
	/* the command stays empty */
	assert_null(c.filters);
	assert_int_equal(c.nfilters, 0);
}

static void check_err(const char *src, const char *msg)
{
	check_err_len(src, strlen(src), msg);
}

/* ---- the Citus corpus --------------------------------------------------------------------- */

/*
 * The shape a command's text spells, e.g. conn.onQuery(query=STR).after(N).kill():
 * string literals -> STR / bSTR, numbers -> N, spaces dropped.
 */
static void text_form(const char *text, struct strbuf *out)
{
	const char *s = text;

	while (*s) {
		if (*s == '"' || *s == '\'' || (s[0] == 'b' && (s[1] == '"' || s[1] == '\'') &&
						 (s == text || !isalnum((unsigned char)s[-1])))) {
			char q;

			if (*s == 'b') {
				strbuf_addc(out, 'b');
				s++;
			}
			q = *s++;
			while (*s && *s != q)
				s += s[0] == '\\' && s[1] ? 2 : 1;
			if (*s)
				s++;
			strbuf_adds(out, "STR");
		} else if (isdigit((unsigned char)*s) && (s == text || strchr("(,=-", s[-1]))) {
			while (isdigit((unsigned char)*s))
				s++;
			strbuf_addc(out, 'N');
		} else if (*s == ' ') {
			s++;
		} else {
			strbuf_addc(out, *s++);
		}
	}
}

/* The same shape, from the parsed command. */
static void ast_form(const struct wf_command *c, struct strbuf *out)
{
	size_t i, j;

	if (c->kind == WF_CMD_RECORDER_DUMP) {
		strbuf_adds(out, "recorder.dump()");
		return;
	}
	if (c->kind == WF_CMD_RECORDER_RESET) {
		strbuf_adds(out, "recorder.reset()");
		return;
	}
	strbuf_adds(out, "conn");
	for (i = 0; i < c->nfilters; i++) {
		const struct wf_filter *f = &c->filters[i];

		switch (f->kind) {
		case WF_FILTER_ON:
			strbuf_addf(out, ".on%s(", f->on.name);
			for (j = 0; j < f->on.nfields; j++)
				strbuf_addf(out, "%s%s=STR", j ? "," : "", f->on.fields[j].field);
			strbuf_addc(out, ')');
			break;
		case WF_FILTER_CONTAINS:
			strbuf_adds(out, ".contains(bSTR)");
			break;
		case WF_FILTER_MATCHES:
			strbuf_adds(out, ".matches(bSTR)");
			break;
		case WF_FILTER_AFTER:
			strbuf_adds(out, ".after(N)");
			break;
		case WF_FILTER_TIMES:
			strbuf_adds(out, ".times(N)");
			break;
		case WF_FILTER_PROBABILITY:
			strbuf_adds(out, ".probability(P)");
			break;
		}
	}
	strbuf_addf(out, ".%s(%s)", wf_action_name(c->action.kind),
		    c->action.kind == WF_ACTION_CANCEL ||
		    c->action.kind == WF_ACTION_CONNECT_DELAY ? "N" : "");
}

/* The first string literal of a command's text, as written (between its quotes). */
static bool first_literal(const char *text, const char **start, size_t *len)
{
	const char *s = strpbrk(text, "\"'"), *e;

	if (!s)
		return false;
	for (e = s + 1; *e && *e != *s; e += e[0] == '\\' && e[1] ? 2 : 1)
		;
	*start = s + 1;
	*len = (size_t)(e - s - 1);
	return true;
}

static void test_corpus_commands(void **state)
{
	char *text = read_file("commands.txt", NULL), *line, *next;
	size_t count = 0, i;

	(void)state;
	assert_non_null(text);
	for (line = text; line && *line; line = next) {
		struct strbuf want = STRBUF_INIT, got = STRBUF_INIT;
		struct wf_command c;
		struct wf_parse_error e;
		const struct row *r = NULL;
		const char *lit;
		size_t lit_len;
		char *f;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		for (i = 0; i < nrows && !r; i++)
			if (!strcmp(rows[i].kind, "suite") && !strcmp(rows[i].command, line))
				r = &rows[i];
		if (!r)
			fail_msg("commands.txt: %s: no suite row in responses.tsv", line);
		/* the reference accepted it (recorder.reset() leaves the pipeline alone) */
		assert_true(!strcmp(r->pipeline_after, "replaced") ||
			    !strcmp(r->command, "recorder.reset()"));

		if (parse(r->slug, r->slug_len, &c, &e))
			fail_msg("refused corpus command %s: %s", line, e.msg);

		/* the shape its text spells */
		text_form(line, &want);
		ast_form(&c, &got);
		assert_false(strbuf_failed(&want) || strbuf_failed(&got));
		if (strcmp(want.buf, got.buf))
			fail_msg("%s: parsed as %s", want.buf, got.buf);

		/* the pattern is the SQL literal's text: COPY doubled the backslashes,
		 * Python's string rules undid that */
		if (first_literal(line, &lit, &lit_len)) {
			const struct wf_bytes *b = NULL;

			for (i = 0; i < c.nfilters && !b; i++) {
				const struct wf_filter *fl = &c.filters[i];

				if (fl->kind == WF_FILTER_ON && fl->on.nfields)
					b = &fl->on.fields[0].regex;
				else if (fl->kind == WF_FILTER_MATCHES)
					b = &fl->matches;
				else if (fl->kind == WF_FILTER_CONTAINS)
					b = &fl->contains;
			}
			assert_non_null(b);
			assert_int_equal(b->len, lit_len);
			assert_memory_equal(b->data, lit, lit_len);
			assert_int_equal(b->data[b->len], '\0');
		}

		/* canonical text: the FIFO bytes without their newline (the corpus is canonical) */
		f = wf_command_format(&c);
		assert_non_null(f);
		assert_int_equal(strlen(f) + 1, r->slug_len);
		assert_memory_equal(f, r->slug, r->slug_len - 1);
		free(f);

		wf_command_free(&c);
		strbuf_free(&want);
		strbuf_free(&got);
		count++;
	}
	assert_int_equal(count, 314);
	free(text);
}

/* ---- every other reference row ------------------------------------------------------------ */

enum expect {
	ACCEPT,		/* accepted; `text` is the canonical form */
	SAME,		/* refused with the reference's exact text (Python's) */
	OWN,		/* refused with wirefault's text `text`, on purpose: `why` */
};

#define NOT_PY	" is not supported: a command is a chain of method calls on conn or recorder, not Python"
#define INTERNAL " is not supported: commands cannot reach fluent.py's internals"
#define X120	"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" \
		"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

/* Reasons (docs/differences.md, "Commands"). */
#define R_EMPTY	"the reference answers \"\" (a bare AttributeError) yet keeps the old pipeline"
#define R_PACKET "the reference accepts it and fails on every packet"
#define R_NEVER	"the reference accepts a filter that can never match"
#define R_NOACT	"a chain without an action: the reference fails on every packet"
#define R_PYTHON "not part of the command language (the reference evaluates any Python)"
#define R_INTERN "fluent.py internals are not reachable"
#define R_LIMIT	"a pipeline holds at most 64 filters"
#define R_TYPE	"type checked when the command arrives"
#define R_LONG	"names in messages are cut at 120 bytes"

static const struct {
	const char *label;
	enum expect expect;
	const char *text;
	const char *why;
} reference_rows[] = {
	{ "empty string", SAME, NULL, NULL },
	{ "single space", SAME, NULL, NULL },
	{ "bare conn", OWN, "conn alone is not a command: add an action, e.g. conn.allow() (column 1)",
	  R_NOACT },
	{ "bare recorder", SAME, NULL, NULL },
	{ "method not called", SAME, NULL, NULL },
	{ "leading whitespace", ACCEPT, "conn.allow()", NULL },
	{ "trailing whitespace", ACCEPT, "conn.allow()", NULL },
	{ "kill twice", SAME, NULL, NULL },
	{ "allow twice", SAME, NULL, NULL },
	{ "action after action", SAME, NULL, NULL },
	{ "filter after killall", SAME, NULL, NULL },
	{ "action after cancel", SAME, NULL, NULL },
	{ "reset then allow", SAME, NULL, NULL },
	{ "unknown method", OWN, "'RootHandler' object has no attribute 'foo' (column 6)", R_EMPTY },
	{ "unknown attribute", OWN, "'RootHandler' object has no attribute 'foo' (column 6)", R_EMPTY },
	{ "unknown method after filter", OWN, "'After' object has no attribute 'bar' (column 15)",
	  R_EMPTY },
	{ "lowercase on-method", OWN,
	  "unknown message type 'query' (did you mean onQuery?) (column 6)", R_NEVER },
	{ "bare on()", OWN, "on() needs a message type: onQuery(), onCommandComplete(), ... (column 6)",
	  R_NEVER },
	{ "onX not called", SAME, NULL, NULL },
	{ "action not called", SAME, NULL, NULL },
	{ "onX positional arg", SAME, NULL, NULL },
	{ "onX int kwarg", OWN,
	  "onQuery(query=...) needs a str regex like \"^COMMIT\", not int (column 20)", R_PACKET },
	{ "onX None kwarg", OWN,
	  "onQuery(query=...) needs a str regex like \"^COMMIT\", not NoneType (column 20)", R_PACKET },
	{ "onX bytes kwarg", OWN,
	  "onQuery(query=...) needs a str regex like \"^COMMIT\", not bytes (column 20)", R_PACKET },
	{ "onX misspelled field", OWN, "Query has no field 'querry' (text fields: query) (column 14)",
	  R_PACKET },
	/* the regex compiler refuses "(" */
	{ "onX bad regex", ACCEPT, "conn.onQuery(query=\"(\").kill()", NULL },
	{ "onX two fields", OWN, "Query has no field 'command' (text fields: query) (column 25)",
	  R_PACKET },
	{ "onX bytes field", OWN, "field 'data' of CopyData is neither text nor an enum: onX() "
	  "matches text and enum fields only (it has no text or enum field) (column 17)", R_PACKET },
	{ "onUnknown", OWN, "unknown message type 'Unknown': onX() takes a message name of "
	  "structs.py, such as Query, Parse, Bind, CopyData, CommandComplete, DataRow, ReadyForQuery, "
	  "AuthenticationOk (column 6)", R_NEVER },
	{ "onDataRow", ACCEPT, "conn.onDataRow().kill()", NULL },
	{ "onTerminate", ACCEPT, "conn.onTerminate().kill()", NULL },
	{ "matches bad regex", OWN,
	  "matches() needs a bytes regex, not str: write matches(b\"...\") (column 14)", R_TYPE },
	{ "matches int", SAME, NULL, NULL },
	{ "matches str", OWN,
	  "matches() needs a bytes regex, not str: write matches(b\"...\") (column 14)", R_PACKET },
	{ "matches bytes", ACCEPT, "conn.matches(b\"^Q\").kill()", NULL },
	{ "contains str", OWN, "contains() needs bytes, not str: write contains(b\"...\") (column 15)",
	  R_PACKET },
	{ "contains bytes", ACCEPT, "conn.contains(b\"COMMIT\").kill()", NULL },
	/* `1 in chunk` tests for the byte 0x01, in the reference as here */
	{ "contains int", ACCEPT, "conn.contains(b\"\\x01\").kill()", NULL },
	{ "after string", OWN, "after() needs an int, not str (column 12)", R_PACKET },
	/* count >= -1 always holds: after(0) */
	{ "after negative", ACCEPT, "conn.after(0).kill()", NULL },
	{ "after float", OWN, "after() needs an int, not float (column 12)", R_TYPE },
	{ "after no arg", SAME, NULL, NULL },
	{ "after two args", SAME, NULL, NULL },
	{ "after keyword", ACCEPT, "conn.after(3).kill()", NULL },
	{ "after after", ACCEPT, "conn.after(1).after(2).kill()", NULL },
	{ "cancel no arg", SAME, NULL, NULL },
	{ "cancel string pid", OWN, "cancel(pid) needs an int, not str (column 13)", R_PACKET },
	{ "kill with arg", SAME, NULL, NULL },
	{ "connect_delay no arg", SAME, NULL, NULL },
	{ "connect_delay string", OWN, "connect_delay(ms) needs an int, not str (column 20)", R_PACKET },
	{ "connect_delay negative", OWN,
	  "connect_delay(ms) needs 0 <= ms <= 2147483647, not -1 (column 20)", R_PACKET },
	{ "connect_delay then kill", SAME, NULL, NULL },
	{ "killall then kill", SAME, NULL, NULL },
	{ "recorder.dump not called", SAME, NULL, NULL },
	/* the reference runs the last one (its answer is the recorder's, not an error) */
	{ "recorder dump then reset", ACCEPT, "recorder.reset()", NULL },
	{ "recorder reset then dump", ACCEPT, "recorder.dump()", NULL },
	{ "recorder.dump with arg", SAME, NULL, NULL },
	{ "recorder unknown method", SAME, NULL, NULL },
	{ "recorder.root.dump", OWN, "attribute 'root'" INTERNAL " (column 17)", R_INTERN },
	{ "semicolon two statements", SAME, NULL, NULL },
	{ "newline two statements", SAME, NULL, NULL },
	{ "trailing newline", SAME, NULL, NULL },
	{ "tab outside string", SAME, NULL, NULL },
	{ "tab inside regex", ACCEPT, "conn.onQuery(query=\"a\\tb\").kill()", NULL },
	{ "carriage return", SAME, NULL, NULL },
	{ "control char 0x01", SAME, NULL, NULL },
	{ "python import", SAME, NULL, NULL },
	{ "python open", SAME, NULL, NULL },
	{ "python getattr builtin", SAME, NULL, NULL },
	{ "subclasses walk", OWN, "'()'" NOT_PY " (column 1)", R_PYTHON },
	{ "dunder class", OWN, "attribute '__class__'" INTERNAL " (column 6)", R_INTERN },
	{ "dunder dict", OWN, "attribute '__dict__'" INTERNAL " (column 6)", R_INTERN },
	{ "explicit __getattr__ ok", OWN, "attribute '__getattr__'" INTERNAL " (column 6)", R_INTERN },
	{ "explicit __getattr__ bad", OWN, "attribute '__getattr__'" INTERNAL " (column 6)", R_INTERN },
	{ "conn.root", OWN, "attribute 'root'" INTERNAL " (column 6)", R_INTERN },
	{ "conn.next", OWN, "attribute 'next'" INTERNAL " (column 6)", R_INTERN },
	{ "allow().root.kill()", OWN, "attribute 'root'" INTERNAL " (column 14)", R_INTERN },
	{ "int literal", SAME, NULL, NULL },
	{ "None literal", SAME, NULL, NULL },
	{ "string literal", SAME, NULL, NULL },
	{ "lambda", OWN, "'lambda'" NOT_PY " (column 1)", R_PYTHON },
	{ "tuple index 0 (kill evaluated last)", OWN, "','" NOT_PY " (column 14)", R_PYTHON },
	{ "list index 0 (allow evaluated last)", OWN, "'['" NOT_PY " (column 1)", R_PYTHON },
	{ "conditional expr", OWN, "'if'" NOT_PY " (column 14)", R_PYTHON },
	{ "and expr", OWN, "'and'" NOT_PY " (column 14)", R_PYTHON },
	{ "walrus", OWN, "':='" NOT_PY " (column 4)", R_PYTHON },
	{ "yield outside function", OWN, "'yield'" NOT_PY " (column 2)", R_PYTHON },
	{ "comment", ACCEPT, "conn.allow()", NULL },
	{ "unclosed paren", SAME, NULL, NULL },
	{ "extra paren", SAME, NULL, NULL },
	{ "double dot", SAME, NULL, NULL },
	{ "uppercase CONN", SAME, NULL, NULL },
	{ "unicode identifier", SAME, NULL, NULL },
	{ "unicode regex", ACCEPT, "conn.onQuery(query=\"é日本\").kill()", NULL },
	{ "single-quoted python string", ACCEPT, "conn.onQuery(query=\"COMMIT\").kill()", NULL },
	/* r"^COMMIT\\(" keeps both backslashes (the FIFO carries four) */
	{ "raw python string", ACCEPT, "conn.onQuery(query=\"^COMMIT\\\\\\\\(\").kill()", NULL },
	{ "regex escape backslash", ACCEPT, "conn.onQuery(query=\"pg_table_size\\\\(\").kill()", NULL },
	{ "lone backslash regex", ACCEPT, "conn.onQuery(query=\"\\\\\\\\\").kill()", NULL },
	{ "backslash-n inside string", ACCEPT, "conn.onQuery(query=\"a\\\\nb\").kill()", NULL },
	{ "literal \\N (looks like COPY NULL)", SAME, NULL, NULL },
	{ "int expression", OWN, "'**'" NOT_PY " (column 2)", R_PYTHON },
	{ "deep chain 300", OWN, "a pipeline holds at most 64 filters (column 587)", R_LIMIT },
	{ "deep chain 5000", OWN, "a pipeline holds at most 64 filters (column 587)", R_LIMIT },
	{ "nested parens 250", SAME, NULL, NULL },
	{ "very long regex 100k", ACCEPT, NULL , NULL },
	{ "very long garbage 70k", OWN, "name '" X120 "...' is not defined (column 1)", R_LONG },
	{ "onX kwarg expression", ACCEPT, "conn.onQuery(query=\"COMMIT\").kill()", NULL },
	{ "keyword as identifier", SAME, NULL, NULL },
	{ "SQL NULL (COPY writes \\N)", SAME, NULL, NULL },
	{ "no trailing newline", ACCEPT, "conn.allow()", NULL },
	{ "two lines (two COPY rows)", SAME, NULL, NULL },
};

static void test_reference_rows(void **state)
{
	bool used[ARRAY_LEN(reference_rows)] = { false };
	size_t i, k, same = 0, own = 0, accept = 0;

	(void)state;
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		if (!strcmp(r->kind, "suite"))
			continue;
		for (k = 0; k < ARRAY_LEN(reference_rows); k++)
			if (!strcmp(reference_rows[k].label, r->label))
				break;
		if (k == ARRAY_LEN(reference_rows))
			fail_msg("responses.tsv:%d: row '%s' is not declared in reference_rows",
				 r->line, r->label);
		assert_false(used[k]);
		used[k] = true;
		switch (reference_rows[k].expect) {
		case ACCEPT:
			check_ok_len(r->slug, r->slug_len, reference_rows[k].text);
			accept++;
			break;
		case SAME: {
			/* the reference's answer is its text and a newline */
			char want[1024];
			size_t n = strlen(r->response);

			assert_true(n > 1 && n < sizeof(want) && r->response[n - 1] == '\n');
			memcpy(want, r->response, n - 1);
			want[n - 1] = '\0';
			check_err_len(r->slug, r->slug_len, want);
			same++;
			break;
		}
		case OWN:
			assert_non_null(reference_rows[k].why);
			check_err_len(r->slug, r->slug_len, reference_rows[k].text);
			/* different on purpose: not the reference's text */
			assert_true(strncmp(r->response, reference_rows[k].text,
					    strlen(reference_rows[k].text)) != 0 ||
				    r->response[strlen(reference_rows[k].text)] != '\n');
			own++;
			break;
		}
	}
	for (k = 0; k < ARRAY_LEN(reference_rows); k++)
		if (!used[k])
			fail_msg("reference_rows: '%s' matches no row of responses.tsv",
				 reference_rows[k].label);
	print_message("reference rows: %zu accepted, %zu refused with the reference's text, "
		      "%zu refused with wirefault's own text\n", accept, same, own);
	assert_int_equal(accept + same + own, nrows - 314);
}

/*
 * The reference left the pipeline unchanged (it refused the command, or
 * answered "" without installing it), or accepted a command that then
 * failed on packets: refused here.  (A "Flow is not killable" probe error is
 * mitmproxy 8.1.1 complaining about a second kill, and ProcessLookupError
 * the probe's pid 4242 not existing: not failures of the command; recorder commands leave the pipeline alone by design: their
 * answer has no newline.)
 */
static void test_refused_rows(void **state)
{
	size_t i, refused = 0, packet = 0;

	(void)state;
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];
		size_t n = strlen(r->response);
		bool recorder_answer = n == 0 || r->response[n - 1] != '\n';
		bool unchanged = !strcmp(r->pipeline_after, "unchanged") && !recorder_answer;
		bool fails_later = !strcmp(r->pipeline_after, "replaced") && r->probe[0] &&
				   !strstr(r->probe, "ControlException") &&
				   !strstr(r->probe, "ProcessLookupError");
		struct wf_command c;
		struct wf_parse_error e;

		if (!unchanged && !fails_later)
			continue;
		if (parse(r->slug, r->slug_len, &c, &e) == 0) {
			char *f = wf_command_format(&c);

			fail_msg("responses.tsv:%d (%s): accepted as %s", r->line, r->label, f);
		}
		assert_true(e.msg[0] != '\0');
		refused += unchanged;
		packet += fails_later;
	}
	print_message("refused: %zu commands the reference left unchanged, %zu it accepted but "
		      "failed on packets\n", refused, packet);
	assert_int_equal(refused, 60);
	assert_int_equal(packet, 12);
}

/* ---- Python's texts ----------------------------------------------------------------------- */

/* Each checked against CPython 3.11 eval() with fluent.py's names. */
static void test_python_texts(void **state)
{
	static const struct {
		const char *src, *msg;
	} cases[] = {
		/* tokenizer */
		{ "conn.after(0777).kill()", "leading zeros in decimal integer literals are not "
		  "permitted; use an 0o prefix for octal integers (<string>, line 1)" },
		{ "conn.after(1_).kill()", "invalid decimal literal (<string>, line 1)" },
		{ "conn.after(1__0).kill()", "invalid decimal literal (<string>, line 1)" },
		{ "conn.after(1a).kill()", "invalid decimal literal (<string>, line 1)" },
		{ "conn.after(1e).kill()", "invalid decimal literal (<string>, line 1)" },
		{ "conn.after(0x).kill()", "invalid hexadecimal literal (<string>, line 1)" },
		{ "conn.after(0x_).kill()", "invalid hexadecimal literal (<string>, line 1)" },
		{ "conn.after(0o).kill()", "invalid octal literal (<string>, line 1)" },
		{ "conn.after(0o8).kill()", "invalid digit '8' in octal literal (<string>, line 1)" },
		{ "conn.after(0b12).kill()", "invalid digit '2' in binary literal (<string>, line 1)" },
		{ "conn.after(1.5j2)", "invalid imaginary literal (<string>, line 1)" },
		{ "conn.after(1else)", "invalid syntax (<string>, line 1)" },
		{ "conn.onQuery(query=\"abc).kill()",
		  "unterminated string literal (detected at line 1) (<string>, line 1)" },
		{ "conn.onQuery(query=\"a\nb\")",
		  "unterminated string literal (detected at line 1) (<string>, line 1)" },
		{ "conn.allow()\n\"abc",
		  "unterminated string literal (detected at line 2) (<string>, line 2)" },
		{ "\"\"\"abc\n\n", "unterminated triple-quoted string literal (detected at line 2) "
		  "(<string>, line 1)" },
		{ "conn.allow(]", "closing parenthesis ']' does not match opening parenthesis '(' "
		  "(<string>, line 1)" },
		{ "conn.allow(\n]", "closing parenthesis ']' does not match opening parenthesis '(' "
		  "on line 1 (<string>, line 2)" },
		{ "conn.allow() $", "invalid syntax (<string>, line 1)" },
		{ "conn.allow() \x7f", "invalid non-printable character U+007F (<string>, line 1)" },
		{ "conn.allow()\v", "invalid non-printable character U+000B (<string>, line 1)" },
		{ "conn.allow()\xc2\xa0", "invalid non-printable character U+00A0 (<string>, line 1)" },
		{ "conn\\", "unexpected character after line continuation character (<string>, line 1)" },
		{ "conn.allow()\\\n", "unexpected EOF while parsing (<string>, line 1)" },
		/* the tokenizer's errors win over the parser's */
		{ "conn..allow() 09", "leading zeros in decimal integer literals are not permitted; use "
		  "an 0o prefix for octal integers (<string>, line 1)" },
		/* lines */
		{ "", "invalid syntax (<string>, line 0)" },
		{ "  \t", "invalid syntax (<string>, line 0)" },
		{ "\n\n", "invalid syntax (<string>, line 2)" },
		{ "#", "invalid syntax (<string>, line 1)" },
		{ "conn.allow()\n\n\nconn", "invalid syntax (<string>, line 4)" },
		{ "conn.allow()\r\nconn", "invalid syntax (<string>, line 2)" },
		{ "conn.allow()\rconn", "invalid syntax (<string>, line 2)" },
		{ "conn.allow()\n  conn", "unexpected indent (<string>, line 2)" },
		{ "\n  conn.allow()", "unexpected indent (<string>, line 2)" },
		{ "  \f  conn.allow()", "unexpected indent (<string>, line 1)" },
		{ "conn.allow(\n", "'(' was never closed (<string>, line 1)" },
		{ "x\n(", "invalid syntax (<string>, line 2)" },
		/* the parser */
		{ "conn.", "invalid syntax (<string>, line 1)" },
		{ "conn.(", "invalid syntax (<string>, line 1)" },
		{ "conn.True", "invalid syntax (<string>, line 1)" },
		{ "conn.1", "invalid syntax (<string>, line 1)" },
		{ "conn conn", "invalid syntax (<string>, line 1)" },
		{ "1 2", "invalid syntax (<string>, line 1)" },
		{ "-", "invalid syntax (<string>, line 1)" },
		{ "conn.allow() +", "invalid syntax (<string>, line 1)" },
		{ "conn = 1", "invalid syntax (<string>, line 1)" },
		{ "conn.after(1 2)", "invalid syntax. Perhaps you forgot a comma? (<string>, line 1)" },
		{ "conn.after(a b)", "invalid syntax. Perhaps you forgot a comma? (<string>, line 1)" },
		{ "conn.after(a \"b\")", "invalid syntax (<string>, line 1)" },
		{ "(1 2)", "invalid syntax. Perhaps you forgot a comma? (<string>, line 1)" },
		{ "conn.after(,)", "invalid syntax (<string>, line 1)" },
		{ "conn.after(=1)", "invalid syntax (<string>, line 1)" },
		{ "conn.after(times=)", "invalid syntax (<string>, line 1)" },
		{ "conn.onQuery(a=\"x\", a=\"y\")", "keyword argument repeated: a (<string>, line 1)" },
		{ "conn.onQuery(a=\"x\", \"y\")",
		  "positional argument follows keyword argument (<string>, line 1)" },
		{ "conn.after(None=1)", "cannot assign to None (<string>, line 1)" },
		{ "conn.after(True=1)", "cannot assign to True (<string>, line 1)" },
		{ "conn.after(lambda=1)", "invalid syntax (<string>, line 1)" },
		{ "conn.after(1=1)", "expression cannot contain assignment, perhaps you meant \"==\"? "
		  "(<string>, line 1)" },
		{ "conn.onQuery(query=\"a\" b\"b\")",
		  "cannot mix bytes and nonbytes literals (<string>, line 1)" },
		{ "conn.contains(b\"\xc3\xa9\")",
		  "bytes can only contain ASCII literal characters (<string>, line 1)" },
		/* literals */
		{ "conn.onQuery(query=\"\\x4\").kill()", "(unicode error) 'unicodeescape' codec can't "
		  "decode bytes in position 0-2: truncated \\xXX escape (<string>, line 1)" },
		{ "conn.onQuery(query=\"é日\\x\").kill()", "(unicode error) 'unicodeescape' codec "
		  "can't decode bytes in position 20-21: truncated \\xXX escape (<string>, line 1)" },
		{ "conn.onQuery(query=\"\\u12\").kill()", "(unicode error) 'unicodeescape' codec can't "
		  "decode bytes in position 0-3: truncated \\uXXXX escape (<string>, line 1)" },
		{ "conn.onQuery(query=\"\\U0000123\").kill()", "(unicode error) 'unicodeescape' codec "
		  "can't decode bytes in position 0-8: truncated \\UXXXXXXXX escape (<string>, line 1)" },
		{ "conn.onQuery(query=\"\\U00110000\").kill()", "(unicode error) 'unicodeescape' codec "
		  "can't decode bytes in position 0-9: illegal Unicode character (<string>, line 1)" },
		{ "conn.onQuery(query=\"a\\N\").kill()", "(unicode error) 'unicodeescape' codec can't "
		  "decode bytes in position 1-2: malformed \\N character escape (<string>, line 1)" },
		{ "conn.onQuery(query=\"\\N{}\").kill()", "(unicode error) 'unicodeescape' codec can't "
		  "decode bytes in position 0-2: malformed \\N character escape (<string>, line 1)" },
		{ "conn.onQuery(query=\"\"\"a\r\n\\x\"\"\").kill()", "(unicode error) 'unicodeescape' "
		  "codec can't decode bytes in position 2-3: truncated \\xXX escape (<string>, line 2)" },
		{ "conn.contains(b\"\\x4\").kill()",
		  "(value error) invalid \\x escape at position 0 (<string>, line 1)" },
		/* which error CPython reports first */
		{ "conn.x(\"\\x\"", "'(' was never closed (<string>, line 1)" },
		{ "conn.x(\"\\x\")\\", "(unicode error) 'unicodeescape' codec can't decode bytes in "
		  "position 0-1: truncated \\xXX escape (<string>, line 1)" },
		{ "conn.x(\"\\x\") + 09", "leading zeros in decimal integer literals are not permitted; "
		  "use an 0o prefix for octal integers (<string>, line 1)" },
		{ "conn.x(1 2) \\(", "invalid syntax. Perhaps you forgot a comma? (<string>, line 1)" },
		{ "conn.x(1 2", "'(' was never closed (<string>, line 1)" },
		{ "conn.x(1 2 3", "invalid syntax. Perhaps you forgot a comma? (<string>, line 1)" },
		{ "conn.x(a=1, a=2", "'(' was never closed (<string>, line 1)" },
		{ "conn..x(1", "invalid syntax (<string>, line 1)" },
		{ "(conn\n..x", "'(' was never closed (<string>, line 1)" },
		{ "conn.x(1 2 \\", "unexpected character after line continuation character "
		  "(<string>, line 1)" },
		{ "conn.allow()\n  \"abc", "unexpected indent (<string>, line 2)" },
		{ "conn.allow()\n ", "unexpected indent (<string>, line 2)" },
		{ "c-onn.x(a", "'(' was never closed (<string>, line 1)" },
		{ "conn.onQuery((uery=\"x\"))", "invalid syntax. Maybe you meant '==' or ':=' instead "
		  "of '='? (<string>, line 1)" },
		{ "conn.after(1andx)", "invalid decimal literal (<string>, line 1)" },
		/* evaluation */
		{ "conn.allow()._allow()", "'AcceptHandler' object has no attribute '_allow'" },
		{ "conn.onQury().kill().kill()", "'KillHandler' object has no attribute 'kill'" },
		{ "conn.onQuery(query=1).kill", "'function' object has no attribute 'root'" },
		{ "foo", "name 'foo' is not defined" },
		{ "conn.after(foo).bar", "name 'foo' is not defined" },
		{ "conn.after(1, foo)", "name 'foo' is not defined" },
		{ "conn.after(1, times=2)", "FilterableMixin.after() got multiple values for argument "
		  "'times'" },
		{ "conn.after(1, 2, times=3)", "FilterableMixin.after() got multiple values for "
		  "argument 'times'" },
		{ "conn.after(x=1)", "FilterableMixin.after() got an unexpected keyword argument 'x'" },
		{ "conn.kill(x=1)", "ActionsMixin.kill() got an unexpected keyword argument 'x'" },
		{ "conn.kill(1, 2)", "ActionsMixin.kill() takes 1 positional argument but 3 were given" },
		{ "conn.cancel(1, 2, 3)",
		  "ActionsMixin.cancel() takes 2 positional arguments but 4 were given" },
		{ "conn.contains()",
		  "FilterableMixin.contains() missing 1 required positional argument: 'pattern'" },
		{ "conn.onQuery(1, 2)", "FilterableMixin.__getattr__.<locals>.doit() takes 0 positional "
		  "arguments but 2 were given" },
		{ "recorder.reset(x=1)",
		  "RecorderCommand.reset() got an unexpected keyword argument 'x'" },
		{ "conn()", "'RootHandler' object is not callable" },
		{ "conn.after(1)(2)", "'After' object is not callable" },
		{ "1()", "'int' object is not callable" },
		{ "conn.after.x", "'function' object has no attribute 'x'" },
		{ "conn.onQuery.x", "'function' object has no attribute 'x'" },
		{ "conn.killall().foo", "'KillAllHandler' object has no attribute 'foo'" },
		{ "\"a\" + b\"b\"", "can only concatenate str (not \"bytes\") to str" },
		{ "\"a\" + 1", "can only concatenate str (not \"int\") to str" },
		{ "b\"a\" + \"b\"", "can't concat str to bytes" },
		{ "1 + \"a\"", "unsupported operand type(s) for +: 'int' and 'str'" },
		{ "conn.kill() + 1", "unsupported operand type(s) for +: 'KillHandler' and 'int'" },
		{ "-\"a\"", "bad operand type for unary -: 'str'" },
		{ "+None", "bad operand type for unary +: 'NoneType'" },
		{ "b\"x\"", "'bytes' object has no attribute 'root'" },
		{ "True", "'bool' object has no attribute 'root'" },
		{ "1.5", "'float' object has no attribute 'root'" },
		{ "2j", "'complex' object has no attribute 'root'" },
		{ "(conn.after)", "'function' object has no attribute 'root'" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++) {
		struct wf_command c;
		struct wf_parse_error e;

		check_err(cases[i].src, cases[i].msg);
		parse(cases[i].src, strlen(cases[i].src), &c, &e);
		assert_true(e.python);
	}
	/* NUL inside: strlen would stop there */
	check_err_len("conn.allow()\0", 13, "source code string cannot contain null bytes");
	check_err_len("conn.onQuery(query=\"\0\")", 23, "source code string cannot contain null bytes");
}

/* ---- wirefault's texts -------------------------------------------------------------------- */

static void test_own_texts(void **state)
{
	static const struct {
		const char *src, *msg;
	} cases[] = {
		{ "conn.after(1)", "the pipeline has no action: end it with .allow(), .kill(), .reset(), "
		  ".killall(), .cancel(pid), .connect_delay(ms), .blackhole(), .unreachable(), .delay(ms) or .truncate(n) (column 14)" },
		{ "conn.after(1)\n", "the pipeline has no action: end it with .allow(), .kill(), "
		  ".reset(), .killall(), .cancel(pid), .connect_delay(ms), .blackhole(), .unreachable(), .delay(ms) or .truncate(n) (column 14)" },
		{ "(\nconn.after(1))", "the pipeline has no action: end it with .allow(), .kill(), "
		  ".reset(), .killall(), .cancel(pid), .connect_delay(ms), .blackhole(), .unreachable(), .delay(ms) or .truncate(n) (line 2, column 15)" },
		{ "conn.onErrorResponse().kill()", "onErrorResponse(): fluent.py's structs.py does not "
		  "decode ErrorResponse messages, so this filter would never match (column 6)" },
		{ "conn.onCommandcomplete().kill()",
		  "unknown message type 'Commandcomplete' (did you mean onCommandComplete?) (column 6)" },
		{ "conn.onCopyOutResponse(format=\"0\").kill()", "field 'format' of CopyOutResponse is "
		  "neither text nor an enum: onX() matches text and enum fields only (it has no text or "
		  "enum field) (column 24)" },
		{ "conn.onExecute(max_rows_to_return=\"0\").kill()", "field 'max_rows_to_return' of "
		  "Execute is neither text nor an enum: onX() matches text and enum fields only (text "
		  "fields: name) (column 16)" },
		{ "conn.onDescribe(kind=\"portal\").kill()",
		  "Describe has no field 'kind' (text fields: name; enum fields: type) (column 17)" },
		{ "conn.onReadyForQuery(status=\"idle\").kill()",
		  "ReadyForQuery has no field 'status' (enum fields: state) (column 22)" },
		{ "conn.onReadyForQuery(state=b\"idle\").kill()",
		  "onReadyForQuery(state=...) needs a str regex like \"^COMMIT\", not bytes (column 28)" },
		{ "conn.onParse(x=\"y\").kill()",
		  "Parse has no field 'x' (text fields: name, query) (column 14)" },
		{ "conn.contains(None).kill()",
		  "contains() needs bytes like b\"...\", not NoneType (column 15)" },
		{ "conn.contains(256).kill()",
		  "contains() with an int needs a byte value in range(0, 256) (column 15)" },
		{ "conn.contains(-1).kill()",
		  "contains() with an int needs a byte value in range(0, 256) (column 15)" },
		{ "conn.matches(\"x\").kill()",
		  "matches() needs a bytes regex, not str: write matches(b\"...\") (column 14)" },
		{ "conn.after(True).kill()", "after() needs an int, not bool (column 12)" },
		{ "conn.after(99999999999999999999).kill()", "after(): integer out of range (column 12)" },
		{ "conn.cancel(0)", "cancel(pid) needs a process id > 0, not 0: os.kill() would signal a "
		  "whole process group (column 13)" },
		{ "conn.cancel(-1)", "cancel(pid) needs a process id > 0, not -1: os.kill() would signal "
		  "a whole process group (column 13)" },
		{ "conn.cancel(2147483648)", "cancel(pid): 2147483648 is not a process id (column 13)" },
		{ "conn.cancel(1.5)", "cancel(pid) needs an int, not float (column 13)" },
		{ "conn.cancel(99999999999999999999)", "cancel(pid): integer out of range (column 13)" },
		{ "conn.connect_delay(2147483648)",
		  "connect_delay(ms) needs 0 <= ms <= 2147483647, not 2147483648 (column 20)" },
		{ "conn.allow().foo", "'AcceptHandler' object has no attribute 'foo'" },
		{ "conn.onQuery(query=conn).kill()", "conn cannot be an argument (column 20)" },
		{ "conn.onQuery(query=recorder).kill()", "recorder cannot be an argument (column 20)" },
		{ "conn.kill() + conn", "conn may appear only once in a command (column 15)" },
		{ "conn.after(1)._accept", "attribute '_accept'" INTERNAL " (column 15)" },
		{ "conn.after(1).target", "attribute 'target'" INTERNAL " (column 15)" },
		{ "recorder.command", "attribute 'command'" INTERNAL " (column 10)" },
		{ "conn.after.__call__(1)", "attribute '__call__'" INTERNAL " (column 12)" },
		{ "\"a\".upper()", "attribute 'upper' of a str value is not supported (column 5)" },
		{ "conn.onQuery(query=f\"x\").kill()", "f-strings are not supported (column 20)" },
		{ "conn.onQuery(query=\"\\ud800\").kill()",
		  "a surrogate code point (U+D800) cannot be part of a pattern (column 21)" },
		{ "conn.onQuery(query=\"\\N{DIGIT ONE}\").kill()", "\\N{...} escapes are not supported: "
		  "write the character itself or a \\u escape (column 21)" },
		{ "conn.allow()\xff", "command is not valid UTF-8 (column 13)" },
		{ "conn.allow()\xed\xa0\x80", "command is not valid UTF-8 (column 13)" },
		{ "conn.after(-x)", "name 'x' is not defined" },
		{ "conn.after(1)[0]", "'['" NOT_PY " (column 14)" },
		{ "conn.after(not 1)", "'not'" NOT_PY " (column 12)" },
		{ "conn.after(~1)", "'~'" NOT_PY " (column 12)" },
		{ "conn.after(*x)", "'*'" NOT_PY " (column 12)" },
		{ "conn.onQuery(**x)", "'**'" NOT_PY " (column 14)" },
		{ "conn.after(3-1)", "'-'" NOT_PY " (column 13)" },
		{ "conn.after(x for x in y)", "'for'" NOT_PY " (column 14)" },
		{ "conn.after({})", "'{'" NOT_PY " (column 12)" },
		{ "...", "'...'" NOT_PY " (column 1)" },
		{ "conn, conn", "','" NOT_PY " (column 5)" },
		{ "(conn, conn)", "','" NOT_PY " (column 6)" },
		{ "conn.allow() or 1", "'or'" NOT_PY " (column 14)" },
		{ "conn.allow() is 1", "'is'" NOT_PY " (column 14)" },
		{ "await conn", "'await'" NOT_PY " (column 1)" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(cases); i++)
		check_err(cases[i].src, cases[i].msg);
}

/* ---- literals ----------------------------------------------------------------------------- */

static void test_literals(void **state)
{
	(void)state;
	/* strings: escapes, prefixes, quotes, concatenation */
	check_ok("conn.onQuery(query=\"\\\\\\'\\\"\\a\\b\\f\\n\\r\\t\\v\").kill()",
		 "conn.onQuery(query=\"\\\\'\\\"\\x07\\x08\\x0c\\n\\r\\t\\x0b\").kill()");
	check_ok("conn.onQuery(query=\"\\101\\7\\0\\777\\08\").kill()",
		 "conn.onQuery(query=\"A\\x07\\x00ǿ\\x008\").kill()");
	check_ok("conn.onQuery(query=\"\\x41\\xe9\\u00e9\\U0001F600\\u2028\").kill()",
		 "conn.onQuery(query=\"Aéé😀\\u2028\").kill()");
	check_ok("conn.onQuery(query=\"\\q\\(\\d\").kill()",
		 "conn.onQuery(query=\"\\\\q\\\\(\\\\d\").kill()");
	check_ok("conn.onQuery(query=r\"\\n\\(\\\"\").kill()",
		 "conn.onQuery(query=\"\\\\n\\\\(\\\\\\\"\").kill()");
	check_ok("conn.onQuery(query=R'a\\'').kill()", "conn.onQuery(query=\"a\\\\'\").kill()");
	check_ok("conn.onQuery(query=u\"x\").kill()", "conn.onQuery(query=\"x\").kill()");
	check_ok("conn.onQuery(query=U'x').kill()", "conn.onQuery(query=\"x\").kill()");
	check_ok("conn.onQuery(query='''a\"b\nc''').kill()",
		 "conn.onQuery(query=\"a\\\"b\\nc\").kill()");
	check_ok("conn.onQuery(query=\"\"\"a\r\nb\rc\"\"\").kill()",
		 "conn.onQuery(query=\"a\\nb\\nc\").kill()");
	check_ok("conn.onQuery(query=\"a\\\nb\").kill()", "conn.onQuery(query=\"ab\").kill()");
	check_ok("conn.onQuery(query=\"a\\\r\nb\").kill()", "conn.onQuery(query=\"ab\").kill()");
	check_ok("conn.onQuery(query=\"\").kill()", "conn.onQuery(query=\"\").kill()");
	check_ok("conn.onQuery(query=\"\"\"\"\"\").kill()", "conn.onQuery(query=\"\").kill()");
	check_ok("conn.onQuery(query=\"a\" 'b' \"\"\"c\"\"\" r\"\\d\").kill()",
		 "conn.onQuery(query=\"abc\\\\d\").kill()");
	check_ok("conn.onQuery(query=\"CO\" + \"MM\" + (\"IT\")).kill()",
		 "conn.onQuery(query=\"COMMIT\").kill()");
	check_ok("conn.onQuery(query=\"\x01\").kill()", "conn.onQuery(query=\"\\x01\").kill()");
	/* bytes: ASCII source, \x is a byte, no \u / \N */
	check_ok("conn.contains(b\"\\x00\\xff\\777\\400\\u1234\\N{x}\").kill()",
		 "conn.contains(b\"\\x00\\xff\\xff\\x00\\\\u1234\\\\N{x}\").kill()");
	check_ok("conn.contains(B'a' b\"b\" + rb\"\\x\" + Rb'c' + bR\"d\" + BR'e').kill()",
		 "conn.contains(b\"ab\\\\xcde\").kill()");
	check_ok("conn.contains(b\"\").kill()", "conn.contains(b\"\").kill()");
	check_ok("conn.matches(b\"^\\\\x00|\\t\").kill()", "conn.matches(b\"^\\\\x00|\\t\").kill()");
	/* ints */
	check_ok("conn.after(0x1F).kill()", "conn.after(31).kill()");
	check_ok("conn.after(0o17).kill()", "conn.after(15).kill()");
	check_ok("conn.after(0B101).kill()", "conn.after(5).kill()");
	check_ok("conn.after(1_000).kill()", "conn.after(1000).kill()");
	check_ok("conn.after(0x_ff_ff).kill()", "conn.after(65535).kill()");
	check_ok("conn.after(00).kill()", "conn.after(0).kill()");
	check_ok("conn.after(0_0).kill()", "conn.after(0).kill()");
	check_ok("conn.after(- -+2).kill()", "conn.after(2).kill()");
	check_ok("conn.after(2 + 3).kill()", "conn.after(5).kill()");
	check_ok("conn.after(-5).kill()", "conn.after(0).kill()");
	check_ok("conn.after(9223372036854775807).kill()", "conn.after(9223372036854775807).kill()");
	check_ok("conn.after(-99999999999999999999).kill()", "conn.after(0).kill()");
	check_ok("conn.after(((2))).kill()", "conn.after(2).kill()");
	check_ok("conn.cancel(0x10)", "conn.cancel(16)");
	check_ok("conn.cancel(2147483647)", "conn.cancel(2147483647)");
	check_ok("conn.connect_delay(0)", "conn.connect_delay(0)");
	/* layout */
	check_ok("\t conn . onQuery ( query = \"x\" , ) . kill ( ) # comment\n\n# more\n",
		 "conn.onQuery(query=\"x\").kill()");
	check_ok("conn.onQuery(\n  query=\"x\",  # the query\n).kill()",
		 "conn.onQuery(query=\"x\").kill()");
	check_ok("conn\\\n.allow()", "conn.allow()");
	check_ok("\\\nconn.allow()", "conn.allow()");
	check_ok("\fconn.allow()", "conn.allow()");
	check_ok("conn.allow()\r\n", "conn.allow()");
	check_ok("conn.allow()\n  \n\t\n", "conn.allow()");
	check_ok("(conn).allow()", "conn.allow()");
	check_ok("(conn.after)(times=1).kill()", "conn.after(1).kill()");
	check_ok("((conn.allow()))", "conn.allow()");
	check_ok("conn.after(1,).kill()", "conn.after(1).kill()");
	check_ok("conn.onQuery(query=\"x\",).kill()", "conn.onQuery(query=\"x\").kill()");
	check_ok("recorder.dump()", "recorder.dump()");
	check_ok("recorder.reset()\n", "recorder.reset()");
	check_ok("recorder.reset().dump().reset()", "recorder.reset()");
	check_ok("conn.contains(pattern=b\"x\").matches(pattern=b\"y\").cancel(pid=7)",
		 "conn.contains(b\"x\").matches(b\"y\").cancel(7)");
	check_ok("conn.connect_delay(timeMs=5)", "conn.connect_delay(5)");
}

/* ---- the AST ------------------------------------------------------------------------------ */

static void test_ast(void **state)
{
	struct wf_command c;
	struct wf_parse_error e;
	const char *src;

	(void)state;
	src = "conn.onParse(query=\"^SELECT\", name=\"s1\").onCopyData().contains(b\"a\\x00b\")"
	      ".matches(b\"x+\").after(3).cancel(4242)";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_int_equal(c.kind, WF_CMD_PIPELINE);
	assert_int_equal(c.nfilters, 5);

	assert_int_equal(c.filters[0].kind, WF_FILTER_ON);
	assert_string_equal(c.filters[0].on.name, "Parse");
	assert_non_null(c.filters[0].on.msg[WF_DIR_FRONTEND]);
	assert_null(c.filters[0].on.msg[WF_DIR_BACKEND]);
	assert_int_equal(c.filters[0].on.msg[WF_DIR_FRONTEND]->type, 'P');
	assert_int_equal(c.filters[0].on.nfields, 2);
	assert_string_equal(c.filters[0].on.fields[0].field, "query");
	assert_int_equal(c.filters[0].on.fields[0].regex.len, 7);
	assert_string_equal((char *)c.filters[0].on.fields[0].regex.data, "^SELECT");
	/* Parse: name, query, ...: query is the second string */
	assert_int_equal(c.filters[0].on.fields[0].loc[WF_DIR_FRONTEND].fixed_prefix, 0);
	assert_int_equal(c.filters[0].on.fields[0].loc[WF_DIR_FRONTEND].text_index, 1);
	assert_string_equal(c.filters[0].on.fields[1].field, "name");
	assert_int_equal(c.filters[0].on.fields[1].loc[WF_DIR_FRONTEND].text_index, 0);

	/* a name both directions send */
	assert_string_equal(c.filters[1].on.name, "CopyData");
	assert_int_equal(c.filters[1].on.msg[WF_DIR_FRONTEND]->type, 'd');
	assert_int_equal(c.filters[1].on.msg[WF_DIR_BACKEND]->type, 'd');
	assert_int_equal(c.filters[1].on.nfields, 0);

	assert_int_equal(c.filters[2].kind, WF_FILTER_CONTAINS);
	assert_int_equal(c.filters[2].contains.len, 3);
	assert_memory_equal(c.filters[2].contains.data, "a\0b", 4);
	assert_int_equal(c.filters[3].kind, WF_FILTER_MATCHES);
	assert_string_equal((char *)c.filters[3].matches.data, "x+");
	assert_int_equal(c.filters[4].kind, WF_FILTER_AFTER);
	assert_int_equal(c.filters[4].after, 3);
	assert_int_equal(c.action.kind, WF_ACTION_CANCEL);
	assert_int_equal(c.action.arg, 4242);
	wf_command_free(&c);
	assert_null(c.filters);
	wf_command_free(&c);	/* twice is fine */

	/* wirefault's own action: blackhole(), no argument, last, and back to text */
	src = "conn.onQuery(query=\"^COMMIT\").after(1).blackhole()";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_int_equal(c.action.kind, WF_ACTION_BLACKHOLE);
	assert_int_equal(c.nfilters, 2);
	wf_command_free(&c);
	check_ok(src, src);
	src = "conn.onDataRow().delay(50)";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_int_equal(c.action.kind, WF_ACTION_DELAY);
	assert_int_equal(c.action.arg, 50);
	wf_command_free(&c);
	check_ok(src, src);
	check_err("conn.delay(3600001)", "delay(ms) needs 0 <= ms <= 3600000, not 3600001 (column 12)");
	check_err("conn.delay()", "ActionsMixin.delay() missing 1 required positional argument: 'ms'");
	check_err("conn.blackhole(1)", "ActionsMixin.blackhole() takes 1 positional argument but 2 were given");
	check_err("conn.blackhole().kill()", "'BlackholeHandler' object has no attribute 'kill'");

	/* unreachable(): no argument, last */
	check_ok("conn.onQuery(query=\"^COMMIT\").unreachable()", "conn.onQuery(query=\"^COMMIT\").unreachable()");
	check_err("conn.unreachable(1)", "ActionsMixin.unreachable() takes 1 positional argument but 2 were given");
	check_err("conn.unreachable().allow()", "'UnreachableHandler' object has no attribute 'allow'");

	/* delay(ms, jitter): the second argument is optional, by position or name */
	src = "conn.onQuery().delay(50, 20)";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_int_equal(c.action.arg, 50);
	assert_int_equal(c.action.jitter, 20);
	wf_command_free(&c);
	check_ok(src, src);
	check_ok("conn.delay(jitter=5, ms=10)", "conn.delay(10, 5)");
	check_ok("conn.delay(10, 0)", "conn.delay(10)");
	check_err("conn.delay(10, -1)", "delay(ms, jitter) needs 0 <= jitter <= 3600000, not -1 (column 16)");
	check_err("conn.delay(10, 1, 2)", "ActionsMixin.delay() takes from 2 to 3 positional arguments but 4 were given");
	check_err("conn.delay(10, ms=3)", "ActionsMixin.delay() got multiple values for argument 'ms'");
	check_err("conn.delay(jitter=3)", "ActionsMixin.delay() missing 1 required positional argument: 'ms'");

	/* times(n), probability(p), seed(n): wirefault's own, anywhere before the action */
	src = "conn.seed(42).onQuery(query=\"^COMMIT\").probability(0.25).times(3).kill()";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_true(c.has_seed);
	assert_int_equal(c.seed, 42);
	assert_int_equal(c.nfilters, 3);
	assert_int_equal(c.filters[1].kind, WF_FILTER_PROBABILITY);
	assert_true(c.filters[1].probability == 0.25);
	assert_int_equal(c.filters[2].kind, WF_FILTER_TIMES);
	assert_int_equal(c.filters[2].times, 3);
	wf_command_free(&c);
	check_ok(src, src);
	check_ok("conn.onQuery().seed(7).reset()", "conn.seed(7).onQuery().reset()");
	check_ok("conn.probability(1).kill()", "conn.probability(1).kill()");
	check_ok("conn.probability(0.1).kill()", "conn.probability(0.1).kill()");
	check_ok("conn.probability(-0.0 + 0.5).kill()", "conn.probability(0.5).kill()");
	check_ok("conn.probability(True).kill()", "conn.probability(1).kill()");
	check_ok("conn.times(0).kill()", "conn.times(0).kill()");
	check_ok("conn.times(n=2).kill()", "conn.times(2).kill()");
	{
		static const struct { const char *src, *msg; } bad[] = {
			{ "conn.probability(1.5).kill()", "probability(p) needs 0 <= p <= 1, not 1.5" },
			{ "conn.probability(-0.1).kill()", "probability(p) needs 0 <= p <= 1, not -0.1" },
			{ "conn.probability('x').kill()", "probability(p) needs a number, not str" },
			{ "conn.probability().kill()",
			  "probability() missing 1 required positional argument: 'p'" },
			{ "conn.times(-1).kill()", "times(n) needs n >= 0, not -1" },
			{ "conn.times(1.5).kill()", "times(n) needs an int, not float" },
			{ "conn.seed(1).seed(2).kill()", "seed() given twice" },
			{ "conn.seed(-3).kill()", "seed(n) needs n >= 0, not -3" },
			{ "conn.seed(99999999999999999999).kill()", "seed(n): integer out of range" },
			{ "conn.times(2).kill().times(1)", "'KillHandler' object has no attribute 'times'" },
		};

		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			if (!parse(bad[k].src, strlen(bad[k].src), &c, &e))
				fail_msg("accepted: %s", bad[k].src);
			if (!strstr(e.msg, bad[k].msg))
				fail_msg("%s: got \"%s\", want \"%s\"", bad[k].src, e.msg, bad[k].msg);
		}
	}

	/* truncate(n): n bytes, 0..2^31-1, printed back as given */
	src = "conn.onRowDescription().truncate(100)";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_int_equal(c.action.kind, WF_ACTION_TRUNCATE);
	assert_int_equal(c.action.arg, 100);
	assert_int_equal(c.nfilters, 1);
	wf_command_free(&c);
	check_ok(src, src);
	check_ok("conn.truncate(0)", "conn.truncate(0)");
	check_ok("conn.onDataRow().after(2).truncate(2147483647)",
		 "conn.onDataRow().after(2).truncate(2147483647)");
	check_ok("conn.truncate(n=0x10)", "conn.truncate(16)");
	check_ok("conn.truncate(1_000)", "conn.truncate(1000)");
	check_err("conn.truncate(-1)",
		  "truncate(n) needs 0 <= n <= 2147483647 bytes, not -1 (column 15)");
	check_err("conn.truncate(2147483648)",
		  "truncate(n) needs 0 <= n <= 2147483647 bytes, not 2147483648 (column 15)");
	check_err("conn.truncate(99999999999999999999999)",
		  "truncate(n): integer out of range (column 15)");
	check_err("conn.truncate(\"10\")", "truncate(n) needs an int, not str (column 15)");
	check_err("conn.truncate(1.5)", "truncate(n) needs an int, not float (column 15)");
	check_err("conn.truncate()",
		  "ActionsMixin.truncate() missing 1 required positional argument: 'n'");
	check_err("conn.truncate(1, 2)",
		  "ActionsMixin.truncate() takes 2 positional arguments but 3 were given");
	check_err("conn.truncate(m=1)",
		  "ActionsMixin.truncate() got an unexpected keyword argument 'm'");
	check_err("conn.truncate(10).kill()", "'TruncateHandler' object has no attribute 'kill'");
	check_err("conn.truncate(10).after(1)", "'TruncateHandler' object has no attribute 'after'");

	/* enum fields at a fixed body offset: matched by their symbol names */
	src = "conn.onDescribe(type=\"^portal$\", name=\"p1\").onReadyForQuery(state=\"idle\").kill()";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_int_equal(c.nfilters, 2);
	assert_string_equal(c.filters[0].on.fields[0].field, "type");
	assert_int_equal(c.filters[0].on.fields[0].kind[WF_DIR_FRONTEND], PG_FIELD_ENUM8);
	assert_int_equal(c.filters[0].on.fields[0].loc[WF_DIR_FRONTEND].fixed_prefix, 0);
	assert_int_equal(c.filters[0].on.fields[0].loc[WF_DIR_FRONTEND].text_index, 0);
	assert_int_equal(c.filters[0].on.fields[1].kind[WF_DIR_FRONTEND], PG_FIELD_TEXT);
	assert_int_equal(c.filters[0].on.fields[1].loc[WF_DIR_FRONTEND].fixed_prefix, 1);
	assert_int_equal(c.filters[0].on.fields[1].loc[WF_DIR_FRONTEND].text_index, 0);
	assert_null(c.filters[1].on.msg[WF_DIR_FRONTEND]);
	assert_int_equal(c.filters[1].on.msg[WF_DIR_BACKEND]->type, 'Z');
	assert_int_equal(c.filters[1].on.fields[0].kind[WF_DIR_BACKEND], PG_FIELD_ENUM8);
	assert_int_equal(c.filters[1].on.fields[0].loc[WF_DIR_BACKEND].fixed_prefix, 0);
	assert_string_equal((char *)c.filters[1].on.fields[0].regex.data, "idle");
	wf_command_free(&c);
	check_ok("conn.onReadyForQuery(state='in_.*_block').kill()",
		 "conn.onReadyForQuery(state=\"in_.*_block\").kill()");

	/* backend-only names */
	src = "conn.onCommandComplete(command=\"^COPY\").onAuthenticationOk().killall()";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_null(c.filters[0].on.msg[WF_DIR_FRONTEND]);
	assert_int_equal(c.filters[0].on.msg[WF_DIR_BACKEND]->type, 'C');
	assert_int_equal(c.filters[1].on.msg[WF_DIR_BACKEND]->type, 'R');
	assert_int_equal(c.action.kind, WF_ACTION_KILLALL);
	wf_command_free(&c);

	src = "conn.connect_delay(1400)";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_int_equal(c.nfilters, 0);
	assert_null(c.filters);
	assert_int_equal(c.action.kind, WF_ACTION_CONNECT_DELAY);
	assert_int_equal(c.action.arg, 1400);
	wf_command_free(&c);

	src = "recorder.dump()";
	assert_int_equal(parse(src, strlen(src), &c, &e), 0);
	assert_int_equal(c.kind, WF_CMD_RECORDER_DUMP);
	assert_int_equal(c.nfilters, 0);
	wf_command_free(&c);

	/* an error leaves the command empty and says where */
	src = "conn.onQuery(query=\"x\").after(1).foo()";
	assert_int_equal(parse(src, strlen(src), &c, &e), -EINVAL);
	assert_null(c.filters);
	assert_int_equal(c.nfilters, 0);
	assert_false(e.python);
	assert_int_equal(e.line, 1);
	assert_int_equal(e.column, 34);
	assert_int_equal(e.offset, 33);
	/* columns count characters */
	src = "conn.onQuery(query=\"é日本\").foo()";
	assert_int_equal(parse(src, strlen(src), &c, &e), -EINVAL);
	assert_int_equal(e.column, 27);
	/* err may be NULL */
	assert_int_equal(wf_command_parse("conn.", 5, &c, NULL), -EINVAL);

	/* equality ignores nothing but spelling */
	{
		struct wf_command a, b;

		assert_int_equal(parse("conn.after(1).kill()", 20, &a, &e), 0);
		assert_int_equal(parse("conn.after(0x1).kill( )", 23, &b, &e), 0);
		assert_true(wf_command_equal(&a, &b));
		wf_command_free(&b);
		assert_int_equal(parse("conn.after(2).kill()", 20, &b, &e), 0);
		assert_false(wf_command_equal(&a, &b));
		wf_command_free(&b);
		assert_int_equal(parse("conn.after(1).reset()", 21, &b, &e), 0);
		assert_false(wf_command_equal(&a, &b));
		wf_command_free(&a);
		wf_command_free(&b);
	}
	assert_string_equal(wf_action_name(WF_ACTION_CONNECT_DELAY), "connect_delay");
	assert_string_equal(wf_filter_name(WF_FILTER_MATCHES), "matches");
}

/* ---- limits ------------------------------------------------------------------------------- */

static void test_limits(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct wf_command c;
	struct wf_parse_error e;
	int i;

	(void)state;
	/* 64 filters */
	strbuf_adds(&sb, "conn");
	for (i = 0; i < WF_COMMAND_MAX_FILTERS; i++)
		strbuf_adds(&sb, ".after(0)");
	strbuf_adds(&sb, ".kill()");
	assert_int_equal(parse(sb.buf, sb.len, &c, &e), 0);
	assert_int_equal(c.nfilters, WF_COMMAND_MAX_FILTERS);
	wf_command_free(&c);
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn");
	for (i = 0; i < WF_COMMAND_MAX_FILTERS + 1; i++)
		strbuf_adds(&sb, ".onQuery()");
	strbuf_adds(&sb, ".kill()");
	check_err_len(sb.buf, sb.len, "a pipeline holds at most 64 filters (column 653)");

	/* long chains cost no stack: 20 000 trailers, 30 000 operands */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn.allow()");
	for (i = 0; i < 10000; i++)
		strbuf_adds(&sb, ".x()");
	check_err_len(sb.buf, sb.len, "'AcceptHandler' object has no attribute 'x'");
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn.after(1");
	for (i = 0; i < 30000; i++)
		strbuf_adds(&sb, "+1");
	strbuf_adds(&sb, ").kill()");
	check_ok_len(sb.buf, sb.len, "conn.after(30001).kill()");
	/* a sum of strings is built in linear time: 30 000 times 32 bytes */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn.onQuery(query=\"\"");
	for (i = 0; i < 30000; i++)
		strbuf_adds(&sb, "+\"0123456789abcdef0123456789abcdef\"");
	strbuf_adds(&sb, ").kill()");
	assert_int_equal(parse(sb.buf, sb.len, &c, &e), 0);
	assert_int_equal(c.filters[0].on.fields[0].regex.len, 30000 * 32);
	wf_command_free(&c);
	/* tokens: 65 536 */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn.after(1");
	for (i = 0; i < 40000; i++)
		strbuf_adds(&sb, "+1");
	strbuf_adds(&sb, ").kill()");
	check_err_len(sb.buf, sb.len, "command longer than 65536 tokens (column 65544)");

	/* nesting: Python's 200 brackets; unary operators */
	strbuf_reset(&sb);
	for (i = 0; i < 199; i++)
		strbuf_addc(&sb, '(');
	strbuf_adds(&sb, "conn.allow()");
	for (i = 0; i < 199; i++)
		strbuf_addc(&sb, ')');
	check_ok_len(sb.buf, sb.len, "conn.allow()");
	strbuf_reset(&sb);
	for (i = 0; i < 201; i++)
		strbuf_addc(&sb, '(');
	check_err_len(sb.buf, sb.len, "too many nested parentheses (<string>, line 1)");
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn.after(");
	for (i = 0; i < 390; i++)
		strbuf_addc(&sb, '-');
	strbuf_adds(&sb, "1).kill()");
	check_ok_len(sb.buf, sb.len, "conn.after(1).kill()");
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn.after(");
	for (i = 0; i < 5000; i++)
		strbuf_addc(&sb, '-');
	strbuf_adds(&sb, "1).kill()");
	check_err_len(sb.buf, sb.len, "expression nested too deeply (column 410)");

	/* strings: 1 MiB */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn.onQuery(query=\"");
	for (i = 0; i < (int)WF_COMMAND_MAX_STRING; i++)
		strbuf_addc(&sb, 'a');
	strbuf_adds(&sb, "\").kill()");
	check_ok_len(sb.buf, sb.len, NULL);
	strbuf_truncate(&sb, sb.len - 9);
	strbuf_adds(&sb, "a\").kill()");
	check_err_len(sb.buf, sb.len, "string longer than 1048576 bytes (column 20)");
	strbuf_truncate(&sb, sb.len - 10);
	strbuf_adds(&sb, "\" + \"a\").kill()");
	check_err_len(sb.buf, sb.len, "string longer than 1048576 bytes (column 20)");

	/* input: 4 MiB */
	strbuf_reset(&sb);
	strbuf_adds(&sb, "conn.allow()");
	while (sb.len <= WF_COMMAND_MAX_INPUT)
		strbuf_addc(&sb, ' ');
	check_err_len(sb.buf, sb.len, "command longer than 4194304 bytes (column 1)");
	strbuf_truncate(&sb, WF_COMMAND_MAX_INPUT);
	check_ok_len(sb.buf, sb.len, "conn.allow()");

	/* long names are cut in messages */
	strbuf_reset(&sb);
	for (i = 0; i < 200; i++)
		strbuf_adds(&sb, "é");
	assert_int_equal(parse(sb.buf, sb.len, &c, &e), -EINVAL);
	assert_false(e.python);
	assert_non_null(strstr(e.msg, "...' is not defined (column 1)"));
	strbuf_free(&sb);
}

/* ---- fuzz --------------------------------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static const char *const dictionary[] = {
	"conn", "recorder", ".", "(", ")", "\"", "'", "\\", "\\\\", "b\"", "r\"", "rb'", "\"\"\"",
	"onQuery", "onParse", "onCopyData", "onCommandComplete", "query=", "command=", "name=",
	"after(", "kill()", "allow()", "reset()", "killall()", "cancel(", "connect_delay(",
	"contains(", "matches(", "dump()", "+", "-", "0x", "0o", "0b", "_", "1", "0", "4242",
	"99999999999999999999999", "\\x", "\\u", "\\U", "\\N{", "\\0", "\n", "\r", "\r\n", "\t",
	" ", "#", ",", "=", "None", "True", "lambda", "[", "]", "{", "}", "é", "日本", "\xff",
	"\x01", "\x7f", ":=", "**", "times=", "pid=", "root", "__class__", "\\\n", "1.5", "2j",
	"f\"", "u'", "if", "and", "...",
};

static const char *const seeds[] = {
	"conn.allow()\n",
	"conn.onQuery(query=\"^COMMIT\").after(2).kill()\n",
	"conn.onParse(query=\"x\", name='y').contains(b\"\\\\x00\").matches(b\"a+\").cancel(4242)\n",
	"conn.onCopyData().connect_delay(100)",
	"recorder.dump().reset()\n",
	"conn.onQuery(query=r\"\\\\(\" \"\"\"a\nb\"\"\" + 'c').killall()",
	"conn.after(0x_1 + -0o7 + 0b1).reset()\n",
	"(conn . onCommandComplete ( command = u'x' , ) ) . kill ( ) # c\n",
};

/* One mutation of buf (in place, within cap). */
static void mutate(struct strbuf *buf, const struct strbuf *other)
{
	size_t pos = rnd_below(buf->len + 1), n;
	const char *d;

	switch (rnd_below(8)) {
	case 0:	/* flip a bit */
		if (buf->len)
			buf->buf[rnd_below(buf->len)] ^= (char)(1u << rnd_below(8));
		break;
	case 1:	/* any byte */
		if (buf->len)
			buf->buf[rnd_below(buf->len)] = (char)rnd();
		break;
	case 2:
	case 3:	/* insert a dictionary word */
		d = dictionary[rnd_below(ARRAY_LEN(dictionary))];
		n = strlen(d);
		strbuf_reserve(buf, n);
		if (strbuf_failed(buf))
			return;
		memmove(buf->buf + pos + n, buf->buf + pos, buf->len - pos + 1);
		memcpy(buf->buf + pos, d, n);
		buf->len += n;
		break;
	case 4:	/* delete a span */
		n = rnd_below(buf->len - pos + 1);
		memmove(buf->buf + pos, buf->buf + pos + n, buf->len - pos - n + 1);
		buf->len -= n;
		break;
	case 5:	/* duplicate a span */
		n = rnd_below(buf->len - pos + 1);
		if (n > 64)
			n = 64;
		strbuf_reserve(buf, n);
		if (strbuf_failed(buf))
			return;
		memmove(buf->buf + pos + n, buf->buf + pos, buf->len - pos + 1);
		buf->len += n;
		break;
	case 6:	/* splice the tail of another input */
		if (other->len) {
			size_t from = rnd_below(other->len);

			strbuf_truncate(buf, pos);
			strbuf_add(buf, other->buf + from, other->len - from);
		}
		break;
	default:	/* truncate */
		strbuf_truncate(buf, pos);
		break;
	}
	buf->buf[buf->len] = '\0';
}

/* Parse; if accepted, format -> parse must give the same command and the same text. */
static bool fuzz_one(const char *src, size_t len)
{
	struct wf_command c, again;
	struct wf_parse_error e;
	char *f, *f2;
	int rc = wf_command_parse(src, len, &c, &e);

	if (rc) {
		assert_int_equal(rc, -EINVAL);
		assert_true(e.msg[0] != '\0');
		assert_true(strlen(e.msg) < sizeof(e.msg));
		assert_true(e.offset <= len);
		assert_true(e.column >= 1);
		assert_null(c.filters);
		return false;
	}
	f = wf_command_format(&c);
	assert_non_null(f);
	rc = wf_command_parse(f, strlen(f), &again, &e);
	if (rc)
		fail_msg("canonical text refused: %s: %s (from %.*s)", f, e.msg, (int)len, src);
	if (!wf_command_equal(&c, &again))
		fail_msg("round trip changed the command: %.*s -> %s", (int)len, src, f);
	f2 = wf_command_format(&again);
	assert_non_null(f2);
	assert_string_equal(f, f2);
	free(f);
	free(f2);
	wf_command_free(&c);
	wf_command_free(&again);
	return true;
}

/* ---- scopes: conn(port=P, client="ADDR") ---------------------------------------------------- */

static void test_scopes(void **state)
{
	static const struct {
		const char *src, *canonical;
	} ok[] = {
		{ "conn(port=5433).onQuery().kill()", "conn(port=5433).onQuery().kill()" },
		{ "conn(client=\"::1\").blackhole()", "conn(client=\"::1\").blackhole()" },
		{ "conn(client='127.0.0.1').allow()", "conn(client=\"127.0.0.1\").allow()" },
		{ "conn(client=\"::ffff:10.0.0.1\", port=1).kill()",
		  "conn(port=1, client=\"10.0.0.1\").kill()" },
		{ "conn(port=65535, client=\"fe80:0:0::1\").seed(3).probability(0.5).reset()",
		  "conn(port=65535, client=\"fe80::1\").seed(3).probability(0.5).reset()" },
		{ "conn ( port = 5433 ) . allow ( )", "conn(port=5433).allow()" },
		{ "conn.allow()", "conn.allow()" },
	};
	static const struct {
		const char *src, *msg;
	} err[] = {
		{ "conn(5433).kill()", "conn() takes keyword arguments only: conn(port=P), "
		  "conn(client=\"ADDR\") or conn(port=P, client=\"ADDR\") (column 6)" },
		{ "conn(5433, port=1).kill()", "conn() takes keyword arguments only: conn(port=P), "
		  "conn(client=\"ADDR\") or conn(port=P, client=\"ADDR\") (column 6)" },
		{ "conn(host=\"::1\").kill()",
		  "conn() has no argument 'host': it takes port=P and client=\"ADDR\" (column 6)" },
		{ "conn(client=\"::1::2\").kill()",
		  "conn(client=\"::1::2\"): not an IPv4 or IPv6 address (column 13)" },
		{ "conn(client=\"localhost\").kill()",
		  "conn(client=\"localhost\"): not an IPv4 or IPv6 address (column 13)" },
		{ "conn(client=b\"::1\").kill()", "conn(client=...) needs an IPv4 or IPv6 address as a "
		  "str, e.g. client=\"127.0.0.1\" or client=\"::1\" (column 13)" },
		{ "conn(port=0).kill()", "conn(port=...) needs a port number 1..65535 (column 11)" },
		{ "conn(port=65536).kill()", "conn(port=...) needs a port number 1..65535 (column 11)" },
		{ "conn(port=\"5433\").kill()", "conn(port=...) needs a port number 1..65535 (column 11)" },
		{ "conn(port=1)(port=2).kill()",
		  "conn(...) chooses the scope once, right after conn (column 13)" },
		{ "conn(port=1)", "conn alone is not a command: add an action, e.g. conn.allow() (column 1)" },
		{ "conn()", "'RootHandler' object is not callable" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_LEN(ok); i++) {
		check_ok(ok[i].src, ok[i].canonical);
		assert_true(fuzz_one(ok[i].src, strlen(ok[i].src)));
	}
	for (i = 0; i < ARRAY_LEN(err); i++)
		check_err(err[i].src, err[i].msg);
}

static void test_fuzz(void **state)
{
	const char *env = getenv("WF_FUZZ_SECONDS"), *seed_env = getenv("WF_FUZZ_SEED");
	double seconds = env && *env ? atof(env) : 2.0;
	struct strbuf *pool;
	size_t npool = 0, i, iters = 0, accepted = 0;
	struct timespec t0, t;
	uint64_t seed;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	seed = seed_env && *seed_env ? strtoull(seed_env, NULL, 0) :
	       (uint64_t)t0.tv_nsec ^ ((uint64_t)t0.tv_sec << 32) ^ (uint64_t)getpid();
	rng_state = seed ? seed : 1;
	print_message("fuzz: %.1f s, WF_FUZZ_SEED=%#" PRIx64 "\n", seconds, seed);

	/* the pool: the reference rows (small ones), the seeds */
	pool = calloc(nrows + ARRAY_LEN(seeds), sizeof(*pool));
	assert_non_null(pool);
	for (i = 0; i < nrows; i++) {
		if (rows[i].slug_len > 4096)
			continue;
		strbuf_add(&pool[npool], rows[i].slug, rows[i].slug_len);
		strbuf_reserve(&pool[npool++], 0);
	}
	for (i = 0; i < ARRAY_LEN(seeds); i++) {
		strbuf_adds(&pool[npool], seeds[i]);
		npool++;
	}
	for (i = 0; i < npool; i++)
		accepted += fuzz_one(pool[i].buf, pool[i].len);

	for (;;) {
		struct strbuf in = STRBUF_INIT;
		size_t k, rounds;

		if ((iters & 255) == 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >=
			    seconds)
				break;
		}
		if (rnd_below(16) == 0) {
			/* random bytes */
			size_t n = rnd_below(64);

			for (k = 0; k < n; k++)
				strbuf_addc(&in, (char)rnd());
			strbuf_reserve(&in, 0);
		} else {
			const struct strbuf *from = &pool[rnd_below(npool)];

			strbuf_add(&in, from->buf, from->len);
			strbuf_reserve(&in, 1);
			rounds = 1 + rnd_below(4);
			for (k = 0; k < rounds; k++)
				mutate(&in, &pool[rnd_below(npool)]);
		}
		assert_false(strbuf_failed(&in));
		if (fuzz_one(in.buf, in.len)) {
			accepted++;
			/* accepted inputs become seeds (bounded pool) */
			if (in.len < 2048) {
				size_t slot = rnd_below(npool);

				strbuf_free(&pool[slot]);
				pool[slot] = in;
				in = (struct strbuf)STRBUF_INIT;
			}
		}
		strbuf_free(&in);
		iters++;
	}
	print_message("fuzz: %zu inputs, %zu accepted\n", iters, accepted);
	for (i = 0; i < npool; i++)
		strbuf_free(&pool[i]);
	free(pool);
	assert_true(iters > 1000);
}

/* ---- main --------------------------------------------------------------------------------- */

static void test_corpus_missing(void **state)
{
	(void)state;
	fail_msg("conformance corpus not found (set WF_CONFORMANCE_DIR or run from the repository)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_commands),
		cmocka_unit_test(test_reference_rows),
		cmocka_unit_test(test_refused_rows),
		cmocka_unit_test(test_python_texts),
		cmocka_unit_test(test_own_texts),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_ast),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_fuzz),
	};
	const struct CMUnitTest missing[] = { cmocka_unit_test(test_corpus_missing) };
	int rc;

	if (!(conf_dir = wf_test_conformance_dir()) || !load_rows())
		return cmocka_run_group_tests(missing, NULL, NULL);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	wf_test_free_responses(&responses);
	return rc;
}
