// SPDX-License-Identifier: GPL-2.0
/*
 * The FIFO protocol (user/fifo_server.c, user/fifo_client.c) over a real FIFO:
 * framing of commands and answers, and clients that misbehave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fifo_client.h"
#include "fifo_server.h"

struct harness {
	char dir[64], path[96];
	struct wf_fifo_server srv;
	pthread_t thread;
	atomic_int stop;
	char last[256];		/* last command the handler saw */
	size_t last_len;
};

/* Answers "got <len>\n", like a pipeline command; "dump" answers two rows without a newline. */
static char *handler(void *ctx, const char *cmd, size_t len, size_t *answer_len)
{
	struct harness *h = ctx;
	char *out;

	h->last_len = len;
	memcpy(h->last, cmd, len < sizeof(h->last) ? len : sizeof(h->last));
	if (len == 5 && !memcmp(cmd, "dump\n", 5))
		out = strdup("0\tcoordinator\t[initial message]\n0\tworker\t[]");
	else if (asprintf(&out, "got %zu\n", len) < 0)
		out = NULL;
	*answer_len = out ? strlen(out) : 0;
	return out;
}

static void *serve(void *arg)
{
	struct harness *h = arg;

	while (!atomic_load(&h->stop)) {
		struct pollfd pfd;
		int timeout = 20;

		wf_fifo_server_prepare(&h->srv, &pfd, &timeout);
		poll(&pfd, 1, timeout);
		wf_fifo_server_service(&h->srv, pfd.revents);
	}
	return NULL;
}

static int setup(void **state)
{
	struct harness *h = calloc(1, sizeof(*h));

	strcpy(h->dir, "/tmp/wf-fifo-test.XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	snprintf(h->path, sizeof(h->path), "%s/fifo", h->dir);
	assert_int_equal(wf_fifo_server_open(&h->srv, h->path, 300, handler, h), 0);
	assert_true(h->srv.created);
	assert_int_equal(pthread_create(&h->thread, NULL, serve, h), 0);
	*state = h;
	return 0;
}

static int teardown(void **state)
{
	struct harness *h = *state;
	struct stat st;

	atomic_store(&h->stop, 1);
	pthread_join(h->thread, NULL);
	wf_fifo_server_close(&h->srv);
	assert_int_equal(stat(h->path, &st), -1);	/* a FIFO we created is removed */
	rmdir(h->dir);
	free(h);
	return 0;
}

static void test_round_trip_is_copy_text(void **state)
{
	struct harness *h = *state;
	char *answer;
	size_t len;

	/* The client encodes like COPY TO: backslash doubled, newline appended. */
	assert_int_equal(wf_fifo_send(h->path, "conn.onQuery(query=\"a\\(\")", 2000, &answer, &len), 0);
	assert_string_equal(h->last, "conn.onQuery(query=\"a\\\\(\")\n");
	assert_string_equal(answer, "got 27\n");
	free(answer);
}

static void test_answer_without_trailing_newline(void **state)
{
	struct harness *h = *state;
	char *answer;
	size_t len;

	assert_int_equal(wf_fifo_send(h->path, "dump", 2000, &answer, &len), 0);
	assert_string_equal(answer, "0\tcoordinator\t[initial message]\n0\tworker\t[]");
	free(answer);
}

static void test_silent_opener_is_ignored(void **state)
{
	struct harness *h = *state;
	char *answer;
	size_t len;
	int fd = open(h->path, O_WRONLY);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(wf_fifo_send(h->path, "x", 2000, &answer, &len), 0);
	assert_string_equal(answer, "got 2\n");
	free(answer);
}

static void test_huge_command_is_read_whole(void **state)
{
	struct harness *h = *state;
	size_t n = 1u << 20, len;
	char *big = malloc(n + 1), *answer;

	memset(big, 'a', n);
	big[n] = '\0';
	assert_int_equal(wf_fifo_send(h->path, big, 5000, &answer, &len), 0);
	assert_string_equal(answer, "got 1048577\n");
	free(answer);
	free(big);
}

static void test_unread_answer_is_abandoned(void **state)
{
	struct harness *h = *state;
	int fd = open(h->path, O_WRONLY);
	char *answer;
	size_t len;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "lost\n", 5), 5);
	close(fd);
	usleep(500 * 1000);	/* the server gives up after 300 ms */
	assert_int_equal(wf_fifo_send(h->path, "next", 2000, &answer, &len), 0);
	assert_string_equal(answer, "got 5\n");
	assert_true(h->srv.abandoned >= 1);
	free(answer);
}

static void test_no_server_times_out(void **state)
{
	char dir[] = "/tmp/wf-fifo-none.XXXXXX", path[64];
	char *answer;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(wf_fifo_send(path, "conn.allow()", 200, &answer, &len), -ETIMEDOUT);
	unlink(path);
	assert_int_equal(wf_fifo_send(path, "conn.allow()", 200, &answer, &len), -ENOENT);
	rmdir(dir);
}

static void test_existing_non_fifo_is_refused(void **state)
{
	struct wf_fifo_server srv;
	char path[] = "/tmp/wf-fifo-file.XXXXXX";
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(wf_fifo_server_open(&srv, path, 100, handler, NULL), -EEXIST);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_is_copy_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_without_trailing_newline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_opener_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_command_is_read_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread_answer_is_abandoned, setup, teardown),
		cmocka_unit_test(test_no_server_times_out),
		cmocka_unit_test(test_existing_non_fifo_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
