// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line errors of the real binary (build/wirefault, or $WF_BINARY):
 * every mistake exits 2 with a message that names it, before touching the
 * kernel, so these run without privileges; and `wirefault check`, which
 * never needs the kernel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *binary(void)
{
	const char *b = getenv("WF_BINARY");

	return b && *b ? b : "build/wirefault";
}

/*
 * Run the binary with argv and `input` (if not NULL; else this process's) on
 * its stdin, capture stdout+stderr; returns the exit status.
 */
static int run_input(char *out, size_t outsz, const char *input, const char *const *args)
{
	int pipefd[2], infd[2], status;
	size_t len = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	if (input)
		assert_int_equal(pipe(infd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[16] = { binary() };
		int n = 1;

		for (; args[n - 1] && n < 15; n++)
			argv[n] = args[n - 1];
		if (input) {
			dup2(infd[0], 0);
			close(infd[0]);
			close(infd[1]);
		}
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (input) {
		close(infd[0]);
		/* small: fits in the pipe */
		assert_int_equal(write(infd[1], input, strlen(input)), (ssize_t)strlen(input));
		close(infd[1]);
	}
	close(pipefd[1]);
	for (ssize_t n; len + 1 < outsz && (n = read(pipefd[0], out + len, outsz - len - 1)) > 0;)
		len += (size_t)n;
	out[len] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static int run(char *out, size_t outsz, const char *const *args)
{
	return run_input(out, outsz, NULL, args);
}

#define EXPECT(code, text, ...)                                                        \
	do {                                                                           \
		char out[8192];                                                        \
		const char *const args[] = { __VA_ARGS__, NULL };                      \
		int rc = run(out, sizeof(out), args);                                  \
		if (rc != (code) || !strstr(out, (text)))                              \
			fail_msg("args %s...: exit %d (want %d), output:\n%s\n(want \"%s\")", \
				 args[0], rc, (code), out, (text));                    \
	} while (0)

static void test_usage_errors_exit_2(void **state)
{
	(void)state;
	EXPECT(2, "Usage: wirefault COMMAND", NULL);
	EXPECT(2, "unknown command 'frobnicate'", "frobnicate");
	EXPECT(2, "--port is required", "run");
	EXPECT(2, "invalid --port 'abc'", "run", "--port", "abc");
	EXPECT(2, "invalid --port '0'", "run", "--port", "0");
	EXPECT(2, "invalid --port '65536'", "run", "--port", "65536");
	EXPECT(2, "--port 5432 given twice", "run", "--port", "5432", "--port", "5432");
	EXPECT(2, "invalid --proxy-port 'x'", "run", "--port", "5432", "--proxy-port", "x");
	EXPECT(2, "--proxy-port 9060 given twice", "run", "--port", "5432", "--port", "5433",
	       "--proxy-port", "9060", "--proxy-port", "9060");
	EXPECT(2, "each --proxy-port stands in front of the --port given in the same place: 2 --port, "
	       "1 --proxy-port", "run", "--port", "5432", "--port", "5433", "--proxy-port", "9060");
	EXPECT(2, "--proxy-port 5433 is also a --port", "run", "--port", "5432", "--proxy-port", "9060",
	       "--port", "5433", "--proxy-port", "5433");
	EXPECT(2, "invalid --port '-5'", "run", "-p", "-5");
	EXPECT(2, "invalid --port '12x'", "run", "-p", "12x");
	EXPECT(2, "invalid --ring-size '5000'", "run", "-p", "5432", "--ring-size", "5000");
	EXPECT(2, "invalid --max-rows '0'", "run", "-p", "5432", "--max-rows", "0");
	EXPECT(2, "unexpected argument 'extra'", "run", "-p", "5432", "extra");
	EXPECT(2, "unrecognized option '--bogus'", "run", "--bogus");
	EXPECT(2, "COMMAND is missing", "send");
	EXPECT(2, "one COMMAND only", "send", "a", "b");
	EXPECT(2, "invalid --timeout 'soon'", "send", "--timeout", "soon", "x");
	EXPECT(2, "oo many arguments", "status", "extra");
	EXPECT(2, "COMMAND is missing (or give -f FILE)", "check");
	EXPECT(2, "cannot read /nonexistent/commands.txt", "check", "-f", "/nonexistent/commands.txt");
	EXPECT(2, "unrecognized option '--bogus'", "check", "--bogus");
}

/* `wirefault check`: no loader, no privileges; 0 all accepted, 1 any refused. */
static void test_check(void **state)
{
	char path[] = "/tmp/wf-test-check-XXXXXX";
	FILE *f;
	int fd;

	(void)state;
	EXPECT(0, "ok: conn.onQuery(query=\"^COMMIT\").after(2).kill()\n"
	       "    2 filters (on, after), 1 condition (text), 1 DFA (8x7), 56 of 262144 pool cells\n",
	       "check", "conn.onQuery(query=\"^COMMIT\").after(2).kill()");
	EXPECT(0, "ok: conn.onReadyForQuery(state=\"idle\").kill()\n"
	       "    1 filter (on), 1 condition (enum), 0 DFAs, 0 of 262144 pool cells\n",
	       "check", "conn.onReadyForQuery(state=\"idle\").kill()");
	EXPECT(0, "ok: recorder.dump()\n    recorder command (no pipeline)\n", "check",
	       "recorder.dump()");
	/* the text citus.mitmproxy() takes: COPY doubles the backslash, Python undoes it */
	EXPECT(0, "ok: conn.onQuery(query=\"pg_table_size\\\\(\").kill()", "check",
	       "conn.onQuery(query=\"pg_table_size\\(\").kill()");
	/* refusals: the parser's, the regex compiler's, the pipeline compiler's */
	EXPECT(1, "error: 'KillHandler' object has no attribute 'kill'\n"
	       "    command: conn.kill().kill()\n", "check", "conn.kill().kill()");
	EXPECT(1, "error: missing ), unterminated subpattern at position 0\n", "check",
	       "conn.onQuery(query=\"(\").kill()");
	EXPECT(1, "error: the pipeline has 17 filters, more than the kernel's WF_PIPE_MAX_FILTERS "
	       "= 16", "check", "conn.after(1).after(1).after(1).after(1).after(1).after(1)"
	       ".after(1).after(1).after(1).after(1).after(1).after(1).after(1).after(1).after(1)"
	       ".after(1).after(1).kill()");
	/* several: one refused makes 1, -q prints only the refused */
	EXPECT(1, "2 commands: 1 accepted, 1 refused\n", "check", "conn.allow()", "conn.foo()");
	EXPECT(1, "error: 'RootHandler' object has no attribute 'foo' (column 6)\n"
	       "    command: conn.foo()\n", "check", "-q", "conn.allow()", "conn.foo()");
	{
		char out[256];
		const char *const args[] = { "check", "--quiet", "conn.allow()", "conn.kill()", NULL };
		const char *const std[] = { "check", "-f", "-", NULL };

		assert_int_equal(run(out, sizeof(out), args), 0);
		assert_string_equal(out, "");
		/* -f -: standard input */
		assert_int_equal(run_input(out, sizeof(out), "conn.killall()\nconn.after(1).kill()\n",
					   std), 0);
		assert_non_null(strstr(out, "ok: conn.killall()\n"));
		assert_non_null(strstr(out, "ok: conn.after(1).kill()\n"));
		assert_non_null(strstr(out, "2 commands: 2 accepted, 0 refused\n"));
		assert_int_equal(run_input(out, sizeof(out), "conn.after(1)\n", std), 1);
		assert_non_null(strstr(out, "error: the pipeline has no action"));
		assert_non_null(strstr(out, "    <stdin>:1: conn.after(1)\n"));
	}

	/* -f FILE: one command per line, blank lines and # comments skipped, errors located */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fprintf(f, "# a comment\nconn.allow()\n\n  \nconn.onCopyData(data=\"x\").kill()\r\n"
		"conn.onParse(query=\"^SELECT\").kill()\n");
	fclose(f);
	EXPECT(1, "ok: conn.allow()\n    0 filters", "check", "-f", path);
	EXPECT(1, "error: field 'data' of CopyData is neither text nor an enum: onX() matches text "
	       "and enum fields only (it has no text or enum field) (column 17)\n", "check", "-f",
	       path);
	EXPECT(1, ":5: conn.onCopyData(data=\"x\").kill()\n", "check", "-f", path);
	EXPECT(1, "3 commands: 2 accepted, 1 refused\n", "check", "-f", path);
	/* arguments and files together */
	EXPECT(1, "4 commands: 3 accepted, 1 refused\n", "check", "-f", path, "conn.kill()");
	unlink(path);
}

static void test_help_and_version_exit_0(void **state)
{
	(void)state;
	EXPECT(0, "Commands:", "--help");
	EXPECT(0, "wirefault ", "--version");
	EXPECT(0, "EXAMPLES:", "run", "--help");
	EXPECT(0, "--port=PORT", "run", "--help");
	EXPECT(0, "EXAMPLES:", "send", "--help");
	EXPECT(0, "Exit status", "status", "--help");
	EXPECT(0, "Exit status", "cleanup", "--help");
	EXPECT(0, "EXAMPLES:", "check", "--help");
	EXPECT(0, "-f, --file=FILE", "check", "--help");
	EXPECT(0, "-q, --quiet", "check", "--help");
	EXPECT(0, "check ", "--help");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors_exit_2),
		cmocka_unit_test(test_help_and_version_exit_0),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
