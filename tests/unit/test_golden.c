// SPDX-License-Identifier: GPL-2.0
/*
 * The golden corpus: replays each conformance/golden/NAME.pcap through
 * pcap_source and the recorder, for port 9060 (the client-to-proxy leg, the
 * traffic wirefault sees), and compares the dump with NAME.dump, the exact
 * bytes fluent.py returned for the same run.
 *
 * The same pcap is also decoded by the program, `build/wirefault decode
 * --port 9060 NAME.pcap`, whose rows must be the same.
 *
 * Every row must be byte-identical, except the differences declared, each
 * with its reason, in tests/golden_differences.txt: the expected dump is
 * the golden dump with those edits applied, and it must match exactly.  An
 * undeclared difference fails, and so does a declared one that no longer
 * applies.
 *
 * The corpus is found at $WF_CONFORMANCE_DIR/golden, else at
 * tests/conformance/golden (the copy vendored in the repository).
 * A missing corpus is a failure, not a skip.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "pcap_source.h"
#include "recorder.h"
#include "strbuf.h"
#include "test_files.h"

#define PROXY_PORT 9060

/* Every scenario the corpus has; more .pcap files are replayed too. */
static const char *const scenarios[] = {
	"concurrent_connections", "copy_from_stdin", "copy_to_stdout", "error_response",
	"extended_protocol", "long_query", "multi_statement", "normalizations",
	"nulls_binary", "reset_numbering", "simple_query", "ssl_prefer_startup",
	"unicode_query",
};

/* The runner sent recorder.reset() in the middle of these scenarios: just
 * before the first chunk of their n-th connection. */
static const struct {
	const char *scenario;
	int before_connection;
} resets[] = {
	{ "reset_numbering", 3 },
};

/* ---- the declared differences (tests/golden_differences.txt) ------------------------------ */

/*
 * In golden row `row` of `scenario`, the text `from` (searched after the
 * previous edit of the same row) becomes `to`.  from == NULL: wirefault has
 * the extra row `to`, before golden row `row`.  {{N*c}} in `to` stands for
 * N times the character c, {{TAB}} for a tab.
 */
struct difference {
	char *scenario;
	size_t row;
	char *from;
	char *to;
	char *reason;
};

static struct difference *differences;
static size_t n_differences;

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct reason {
	char tag[32];
	char *text;
};

/* Replaces every {{TAB}} in s (in place). */
static void untab(char *s)
{
	char *at;

	while ((at = strstr(s, "{{TAB}}"))) {
		*at = '\t';
		memmove(at + 1, at + 7, strlen(at + 7) + 1);
	}
}

/* Reads the differences file; a line that does not parse fails the run. */
static int load_differences(void)
{
	char path[PATH_MAX], *text, *line, *next;
	struct reason reasons[16];
	size_t n_reasons = 0, len, lineno = 0;

	wf_test_repo_path("tests/golden_differences.txt", path, sizeof(path));
	text = wf_test_read_file(path, &len);
	if (!text) {
		fprintf(stderr, "cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (line = text; line && *line; line = next) {
		char *f[6] = { 0 };
		int nf = 0;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (!*line || *line == '#')
			continue;
		for (char *p = line; p && nf < 6; nf++) {
			f[nf] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
		}
		if (!strcmp(f[0], "reason") && nf == 3 && n_reasons < ARRAY_LEN(reasons)) {
			snprintf(reasons[n_reasons].tag, sizeof(reasons[0].tag), "%s", f[1]);
			reasons[n_reasons++].text = f[2];
		} else if (!strcmp(f[0], "edit") && nf == 6) {
			struct difference *d;
			struct strbuf why = STRBUF_INIT;
			char *tag, *save = NULL, *tags = strdup(f[3]);

			differences = realloc(differences, (n_differences + 1) * sizeof(*differences));
			if (!differences || !tags)
				return -1;
			for (tag = strtok_r(tags, ",", &save); tag; tag = strtok_r(NULL, ",", &save)) {
				size_t r;

				for (r = 0; r < n_reasons && strcmp(reasons[r].tag, tag); r++)
					;
				if (r == n_reasons) {
					fprintf(stderr, "%s:%zu: unknown reason '%s'\n", path, lineno, tag);
					return -1;
				}
				if (why.len)
					strbuf_adds(&why, "; ");
				strbuf_adds(&why, reasons[r].text);
			}
			free(tags);
			d = &differences[n_differences++];
			d->scenario = strdup(f[1]);
			d->row = strtoul(f[2], NULL, 10);
			d->from = strcmp(f[4], "-") ? strdup(f[4]) : NULL;
			d->to = strdup(f[5]);
			d->reason = strbuf_detach(&why, NULL);
			if (d->from)
				untab(d->from);
			untab(d->to);
		} else {
			fprintf(stderr, "%s:%zu: not a reason or edit line\n", path, lineno);
			return -1;
		}
	}
	free(text);
	return 0;
}

/* ---- corpus access ------------------------------------------------------------------------ */

static char golden_dir[PATH_MAX];

static bool find_golden_dir(void)
{
	const char *dir = wf_test_conformance_dir();

	snprintf(golden_dir, sizeof(golden_dir), "%s/golden", dir ? dir : "tests/conformance");
	return dir != NULL;
}

/* Rows of a dump: split on '\n' (in place); an empty dump has no rows. */
struct rows {
	char **v;
	size_t n;
};

static void split_rows(char *text, struct rows *r)
{
	char *p;

	r->n = 0;
	r->v = NULL;
	if (!*text)
		return;
	for (p = text; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		r->v = realloc(r->v, (r->n + 1) * sizeof(*r->v));
		assert_non_null(r->v);
		r->v[r->n++] = p;
	}
	for (p = text; (p = strchr(p, '\n')); p++)
		*p = '\0';
}

/* Expands {{N*c}} into N times c. */
static void expand(struct strbuf *out, const char *s)
{
	const char *open, *close;
	unsigned long count;
	char *end;

	while ((open = strstr(s, "{{"))) {
		strbuf_add(out, s, (size_t)(open - s));
		count = strtoul(open + 2, &end, 10);
		assert_true(end[0] == '*' && end[1] && end[2] == '}' && end[3] == '}');
		while (count--)
			strbuf_addc(out, end[1]);
		close = end + 4;
		s = close;
	}
	strbuf_adds(out, s);
}

/* ---- replay ------------------------------------------------------------------------------- */

struct replay_ctx {
	struct wf_recorder *rec;
	int connections;
	int reset_before;
};

static int on_chunk(void *arg, const struct wf_chunk *chunk, const struct wf_pcap_packet *pkt)
{
	struct replay_ctx *c = arg;

	if (chunk->initial && ++c->connections == c->reset_before)
		wf_recorder_reset(c->rec);
	return wf_recorder_add_chunk(c->rec, chunk);
}

static void on_close(void *arg, uint64_t conn_id)
{
	struct replay_ctx *c = arg;

	wf_recorder_close_conn(c->rec, conn_id);
}

static char *replay(const char *scenario)
{
	struct replay_ctx c = { .rec = wf_recorder_new(NULL) };
	struct wf_pcap_handlers h = { .chunk = on_chunk, .close = on_close, .ctx = &c };
	char path[PATH_MAX + 64];
	char *dump;
	size_t i;

	assert_non_null(c.rec);
	for (i = 0; i < ARRAY_LEN(resets); i++)
		if (strcmp(resets[i].scenario, scenario) == 0)
			c.reset_before = resets[i].before_connection;
	/* the runner reset the recorder before each scenario */
	wf_recorder_reset(c.rec);
	snprintf(path, sizeof(path), "%s/%s.pcap", golden_dir, scenario);
	assert_int_equal(wf_pcap_replay(path, PROXY_PORT, &h, NULL), 0);
	dump = wf_recorder_dump(c.rec);
	assert_non_null(dump);
	wf_recorder_free(c.rec);
	return dump;
}

/* The same through the program: `wirefault decode --port 9060 FILE` prints one row per line. */
static char *decode_with_program(const char *scenario)
{
	char exe[PATH_MAX], cmd[3 * PATH_MAX];
	struct strbuf out = STRBUF_INIT;
	char buf[65536], *s;
	size_t i, n;
	FILE *p;
	int reset = 0, rc;

	for (i = 0; i < ARRAY_LEN(resets); i++)
		if (strcmp(resets[i].scenario, scenario) == 0)
			reset = resets[i].before_connection;
	wf_test_repo_path("build/wirefault", exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "'%s' decode --port %d %s%.0d '%s/%s.pcap'", exe, PROXY_PORT,
		 reset ? "--reset-before " : "", reset, golden_dir, scenario);
	p = popen(cmd, "r");
	assert_non_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		strbuf_add(&out, buf, n);
	rc = pclose(p);
	if (rc != 0)
		fail_msg("%s exited with status %d", cmd, rc);
	/* rows end in '\n'; a dump has none after the last */
	if (out.len && out.buf[out.len - 1] == '\n')
		strbuf_truncate(&out, out.len - 1);
	strbuf_adds(&out, "");
	s = strbuf_detach(&out, NULL);
	assert_non_null(s);
	return s;
}

/* The golden rows with this scenario's declared differences applied. */
static void expected_rows(const char *scenario, const struct rows *golden, struct rows *out,
			  struct strbuf *store)
{
	size_t *offsets, *cursor = calloc(golden->n + 1, sizeof(*cursor));
	struct strbuf *edited = calloc(golden->n, sizeof(*edited));
	size_t g, i, n = 0;

	assert_non_null(cursor);
	assert_non_null(edited);
	for (g = 0; g < golden->n; g++)
		strbuf_adds(&edited[g], golden->v[g]);
	for (i = 0; i < n_differences; i++) {
		const struct difference *d = &differences[i];
		struct strbuf to = STRBUF_INIT, row = STRBUF_INIT;
		char *at;

		if (strcmp(d->scenario, scenario) != 0 || !d->from)
			continue;
		if (d->row >= golden->n)
			fail_msg("%s: difference entry %zu names row %zu of %zu", scenario, i, d->row,
				 golden->n);
		expand(&to, d->to);
		at = strstr(edited[d->row].buf + cursor[d->row], d->from);
		if (!at)
			fail_msg("%s row %zu: declared difference no longer applies: \"%s\" not found (%s)",
				 scenario, d->row, d->from, d->reason);
		if (strcmp(d->from, to.buf) == 0)
			fail_msg("%s row %zu: difference entry changes nothing", scenario, d->row);
		strbuf_add(&row, edited[d->row].buf, (size_t)(at - edited[d->row].buf));
		strbuf_add(&row, to.buf, to.len);
		cursor[d->row] = row.len;
		strbuf_adds(&row, at + strlen(d->from));
		strbuf_free(&edited[d->row]);
		edited[d->row] = row;
		strbuf_free(&to);
	}

	/* flatten, with added rows before their golden row; offsets into store
	 * first, because store moves while it grows */
	offsets = calloc(golden->n + n_differences + 1, sizeof(*offsets));
	assert_non_null(offsets);
	for (g = 0; g <= golden->n; g++) {
		for (i = 0; i < n_differences; i++) {
			const struct difference *d = &differences[i];

			if (strcmp(d->scenario, scenario) || d->from || d->row != g)
				continue;
			offsets[n++] = store->len;
			expand(store, d->to);
			strbuf_addc(store, '\0');
		}
		if (g == golden->n)
			break;
		offsets[n++] = store->len;
		strbuf_add(store, edited[g].buf, edited[g].len + 1);
		strbuf_free(&edited[g]);
	}
	assert_false(strbuf_failed(store));
	out->n = n;
	out->v = calloc(n + 1, sizeof(*out->v));
	assert_non_null(out->v);
	for (i = 0; i < n; i++)
		out->v[i] = store->buf + offsets[i];
	free(offsets);
	free(edited);
	free(cursor);
}

/* A row shortened for messages: long rows are mostly repeated characters. */
static const char *clip(const char *row)
{
	static char buf[2][420];
	static int which;
	size_t len = strlen(row);

	which ^= 1;
	if (len < sizeof(buf[0]))
		return row;
	snprintf(buf[which], sizeof(buf[which]), "%.200s ...(%zu bytes)... %s", row, len,
		 row + len - 150);
	return buf[which];
}

static size_t count_differences(const char *scenario)
{
	size_t i, n = 0;

	for (i = 0; i < n_differences; i++)
		n += strcmp(differences[i].scenario, scenario) == 0;
	return n;
}

/* actual (from `via`) must equal the expected rows. */
static void compare(const char *scenario, const char *via, const struct rows *expected,
		    const struct rows *actual)
{
	size_t i;

	for (i = 0; i < expected->n && i < actual->n; i++) {
		size_t at = 0;

		while (expected->v[i][at] && expected->v[i][at] == actual->v[i][at])
			at++;
		if (expected->v[i][at] || actual->v[i][at])
			fail_msg("%s row %zu (%s): undeclared difference at byte %zu\n"
				 "  expected: ...%.120s\n  actual:   ...%.120s\n"
				 "  (expected row: %s)", scenario, i, via, at,
				 expected->v[i] + (at > 40 ? at - 40 : 0),
				 actual->v[i] + (at > 40 ? at - 40 : 0), clip(expected->v[i]));
	}
	if (expected->n != actual->n)
		fail_msg("%s (%s): undeclared difference: %zu rows expected, %zu rows dumped (first extra: %s)",
			 scenario, via, expected->n, actual->n,
			 clip(expected->n > actual->n ? expected->v[actual->n] : actual->v[expected->n]));
}

static void test_scenario(void **state)
{
	const char *scenario = *state;
	char path[PATH_MAX + 64];
	struct strbuf store = STRBUF_INIT;
	struct rows golden, actual, decoded, expected;
	char *golden_text, *actual_text, *decoded_text;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s.dump", golden_dir, scenario);
	golden_text = wf_test_read_file(path, &len);
	if (!golden_text)
		fail_msg("cannot read %s: %s", path, strerror(errno));
	actual_text = replay(scenario);
	decoded_text = decode_with_program(scenario);
	split_rows(golden_text, &golden);
	split_rows(actual_text, &actual);
	split_rows(decoded_text, &decoded);
	expected_rows(scenario, &golden, &expected, &store);

	compare(scenario, "recorder", &expected, &actual);
	compare(scenario, "wirefault decode", &expected, &decoded);
	print_message("%s: %zu rows, %zu declared differences, everything else identical "
		      "(recorder and wirefault decode)\n",
		      scenario, actual.n, count_differences(scenario));
	free(golden.v);
	free(actual.v);
	free(decoded.v);
	free(expected.v);
	strbuf_free(&store);
	free(golden_text);
	free(actual_text);
	free(decoded_text);
}

/* Every scenario is in the corpus, and every declared difference names one. */
static void test_corpus_complete(void **state)
{
	char path[PATH_MAX + 64];
	size_t i, j;

	for (i = 0; i < ARRAY_LEN(scenarios); i++) {
		snprintf(path, sizeof(path), "%s/%s.pcap", golden_dir, scenarios[i]);
		if (access(path, R_OK) != 0)
			fail_msg("missing %s", path);
		snprintf(path, sizeof(path), "%s/%s.dump", golden_dir, scenarios[i]);
		if (access(path, R_OK) != 0)
			fail_msg("missing %s", path);
	}
	for (i = 0; i < n_differences; i++) {
		for (j = 0; j < ARRAY_LEN(scenarios); j++)
			if (strcmp(differences[i].scenario, scenarios[j]) == 0)
				break;
		if (j == ARRAY_LEN(scenarios))
			fail_msg("difference entry %zu names unknown scenario %s", i,
				 differences[i].scenario);
	}
}

static void test_corpus_missing(void **state)
{
	fail_msg("golden corpus not found (%s): set WF_CONFORMANCE_DIR to the conformance "
		 "directory (the one holding golden/)", golden_dir);
}

/* Scenario names: the known list plus any other .pcap in the corpus. */
static size_t list_scenarios(char ***names)
{
	size_t n = 0, i;
	struct dirent *e;
	DIR *dir;

	*names = calloc(ARRAY_LEN(scenarios), sizeof(**names));
	assert_non_null(*names);
	for (i = 0; i < ARRAY_LEN(scenarios); i++)
		(*names)[n++] = strdup(scenarios[i]);
	dir = opendir(golden_dir);
	while (dir && (e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		bool known = false;

		if (len < 6 || strcmp(e->d_name + len - 5, ".pcap") != 0)
			continue;
		for (i = 0; i < ARRAY_LEN(scenarios); i++)
			known |= strncmp(e->d_name, scenarios[i], len - 5) == 0 &&
				 strlen(scenarios[i]) == len - 5;
		if (known)
			continue;
		*names = realloc(*names, (n + 1) * sizeof(**names));
		assert_non_null(*names);
		(*names)[n++] = strndup(e->d_name, len - 5);
	}
	if (dir)
		closedir(dir);
	return n;
}

int main(void)
{
	struct CMUnitTest *tests;
	char **names;
	size_t n, i;
	int rc;

	if (load_differences())
		return 1;
	if (!find_golden_dir()) {
		const struct CMUnitTest missing[] = { cmocka_unit_test(test_corpus_missing) };

		return cmocka_run_group_tests(missing, NULL, NULL);
	}
	n = list_scenarios(&names);
	tests = calloc(n + 1, sizeof(*tests));
	if (!tests)
		return 1;
	tests[0] = (struct CMUnitTest)cmocka_unit_test(test_corpus_complete);
	for (i = 0; i < n; i++)
		tests[i + 1] = (struct CMUnitTest){ .name = names[i], .test_func = test_scenario,
						    .initial_state = names[i] };
	rc = _cmocka_run_group_tests("golden", tests, n + 1, NULL, NULL);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(tests);
	for (i = 0; i < n_differences; i++) {
		free(differences[i].scenario);
		free(differences[i].from);
		free(differences[i].to);
		free(differences[i].reason);
	}
	free(differences);
	return rc;
}

