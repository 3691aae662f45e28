// SPDX-License-Identifier: GPL-2.0
/*
 * Command-line errors of the real binary (build/wirefault, or $WF_BINARY):
 * every mistake exits 2 with a message that names it, before touching the
 * kernel, so these run without privileges.
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

/* Run the binary with argv, capture stdout+stderr; returns the exit status. */
static int run(char *out, size_t outsz, const char *const *args)
{
	int pipefd[2], status;
	size_t len = 0;
	pid_t pid;

	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const char *argv[16] = { binary() };
		int n = 1;

		for (; args[n - 1] && n < 15; n++)
			argv[n] = args[n - 1];
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
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
	EXPECT(2, "invalid port 'abc'", "run", "--port", "abc");
	EXPECT(2, "invalid port '0'", "run", "--port", "0");
	EXPECT(2, "invalid port '65536'", "run", "--port", "65536");
	EXPECT(2, "invalid port '-5'", "run", "-p", "-5");
	EXPECT(2, "invalid port '12x'", "run", "-p", "12x");
	EXPECT(2, "invalid --ring-size '5000'", "run", "-p", "5432", "--ring-size", "5000");
	EXPECT(2, "invalid --max-rows '0'", "run", "-p", "5432", "--max-rows", "0");
	EXPECT(2, "unexpected argument 'extra'", "run", "-p", "5432", "extra");
	EXPECT(2, "unrecognized option '--bogus'", "run", "--bogus");
	EXPECT(2, "COMMAND is missing", "send");
	EXPECT(2, "one COMMAND only", "send", "a", "b");
	EXPECT(2, "invalid --timeout 'soon'", "send", "--timeout", "soon", "x");
	EXPECT(2, "oo many arguments", "status", "extra");
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
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_errors_exit_2),
		cmocka_unit_test(test_help_and_version_exit_0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
