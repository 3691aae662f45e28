// SPDX-License-Identifier: GPL-2.0
#include "fifo_server.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mono_clock.h"

/*
 * A FIFO gives no event when the client opens its read end or reads the
 * answer, so those moments are polled for.  The client does both within
 * microseconds of our previous step, so each is first tried for a short
 * while yielding the CPU (WAIT_SPIN_US), then every ANSWER_RETRY_MS: a
 * command's round trip stays at the protocol's floor (docs/performance.md)
 * and a client that never comes costs a wake-up per millisecond until the
 * answer timeout.
 */
#define ANSWER_RETRY_MS 1
#define WAIT_SPIN_US 1000

/* Calls done(srv) until it returns true or WAIT_SPIN_US have passed, yielding in between. */
static bool spin_until(struct wf_fifo_server *srv, bool (*done)(struct wf_fifo_server *srv))
{
	uint64_t end = wf_now_ns() + WAIT_SPIN_US * 1000ull;

	do {
		if (done(srv))
			return true;
		sched_yield();	/* the client, if it shares our CPU, runs now */
	} while (wf_now_ns() < end);
	return done(srv);
}

/*
 * A dump answer is megabytes while the loader's steady state is a few; glibc
 * keeps freed memory in the process unless asked (docs/performance.md).
 */
#define TRIM_AFTER_BYTES (1u << 20)

static void free_and_trim(void *p)
{
	free(p);
	malloc_trim(0);
}

static int start_reading(struct wf_fifo_server *srv)
{
	/*
	 * O_NONBLOCK: opening the read end must not wait for a writer.  poll()
	 * reports nothing until a writer has come (POLLIN) and gone (POLLHUP),
	 * so an idle FIFO costs nothing.
	 */
	srv->fd = open(srv->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (srv->fd < 0)
		return -errno;
	srv->answering = false;
	srv->len = srv->off = 0;
	srv->overflow = false;
	return 0;
}

int wf_fifo_server_open(struct wf_fifo_server *srv, const char *path, int answer_timeout_ms,
			wf_fifo_handler handler, void *ctx)
{
	struct stat st;
	int err;

	memset(srv, 0, sizeof(*srv));
	srv->fd = -1;
	srv->handler = handler;
	srv->ctx = ctx;
	srv->answer_timeout_ms = answer_timeout_ms > 0 ? answer_timeout_ms : WF_FIFO_ANSWER_TIMEOUT_MS_DEFAULT;
	srv->path = strdup(path);
	if (!srv->path)
		return -ENOMEM;
	if (stat(path, &st) == 0) {
		if (!S_ISFIFO(st.st_mode)) {
			free(srv->path);
			srv->path = NULL;
			return -EEXIST;
		}
	} else if (errno == ENOENT) {
		mode_t old = umask(0);

		err = mkfifo(path, 0666);
		umask(old);
		if (err < 0) {
			err = -errno;
			free(srv->path);
			srv->path = NULL;
			return err;
		}
		srv->created = true;
	} else {
		err = -errno;
		free(srv->path);
		srv->path = NULL;
		return err;
	}
	err = start_reading(srv);
	if (err)
		wf_fifo_server_close(srv);
	return err;
}

static int pipe_pending(int fd)
{
	int n = 0;

	return ioctl(fd, FIONREAD, &n) < 0 ? 0 : n;
}

/* An answer nobody read to the end: take its bytes out of the pipe ourselves. */
static void discard_pending(struct wf_fifo_server *srv)
{
	char tmp[4096];
	int fd;

	if (srv->fd < 0 || pipe_pending(srv->fd) <= 0)
		return;
	fd = open(srv->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	while (read(fd, tmp, sizeof(tmp)) > 0)
		;
	close(fd);
}

static void finish_answer(struct wf_fifo_server *srv, bool abandoned)
{
	if (abandoned)
		discard_pending(srv);
	if (srv->fd >= 0)
		close(srv->fd);
	srv->fd = -1;
	if (srv->len > TRIM_AFTER_BYTES)
		free_and_trim(srv->buf);	/* a dump: give its memory back to the system */
	else
		free(srv->buf);
	srv->buf = NULL;
	if (abandoned)
		srv->abandoned++;
	if (start_reading(srv) < 0)
		wf_err("failed to reopen FIFO %s for reading: %s", srv->path, strerror(errno));
}

static void run_command(struct wf_fifo_server *srv)
{
	size_t answer_len = 0;
	char *answer;

	srv->commands++;
	if (srv->overflow) {
		static const char msg[] = "command too long: more than 4 MiB\n";

		wf_warn("refused a command of more than %u bytes", WF_FIFO_COMMAND_MAX);
		answer = strdup(msg);
		answer_len = answer ? sizeof(msg) - 1 : 0;
	} else {
		answer = srv->handler(srv->ctx, srv->buf, srv->len, &answer_len);
	}
	free(srv->buf);
	srv->buf = answer;
	srv->len = answer ? answer_len : 0;
	srv->off = 0;
	srv->answering = true;
	srv->deadline_ms = wf_now_ms() + srv->answer_timeout_ms;
}

static void write_answer(struct wf_fifo_server *srv);

static void read_command(struct wf_fifo_server *srv)
{
	char tmp[65536];

	for (;;) {
		ssize_t n = read(srv->fd, tmp, sizeof(tmp));

		if (n > 0) {
			if (srv->overflow || srv->len + (size_t)n > WF_FIFO_COMMAND_MAX) {
				srv->overflow = true;	/* keep draining so the writer can finish */
				continue;
			}
			char *nb = realloc(srv->buf, srv->len + (size_t)n + 1);

			if (!nb) {
				srv->overflow = true;
				continue;
			}
			srv->buf = nb;
			memcpy(srv->buf + srv->len, tmp, (size_t)n);
			srv->len += (size_t)n;
			srv->buf[srv->len] = '\0';
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;		/* the writer is still writing */
		break;			/* EOF: the writer closed */
	}
	/* The read end must be closed before we open the write end, or the
	 * answer would be "read" by our own descriptor. */
	close(srv->fd);
	srv->fd = -1;
	if (srv->len == 0 && !srv->overflow) {
		/* Opened and closed without writing: nobody waits for an answer. */
		wf_debug("FIFO opened and closed without a command; ignored");
		finish_answer(srv, false);
		return;
	}
	run_command(srv);
	write_answer(srv);	/* the client is about to open its read end: answer at once */
}

/* The client has read the whole answer. */
static bool answer_read(struct wf_fifo_server *srv)
{
	return pipe_pending(srv->fd) <= 0;
}

/* The write end could be opened (the client has opened its read end), or failed for good. */
static bool opened_for_answer(struct wf_fifo_server *srv)
{
	srv->fd = open(srv->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	return srv->fd >= 0 || errno != ENXIO;	/* ENXIO: the client has not opened its end yet */
}

static void write_answer(struct wf_fifo_server *srv)
{
	if (srv->fd < 0) {
		if (!spin_until(srv, opened_for_answer))
			return;
		if (srv->fd < 0) {
			wf_warn("failed to open FIFO %s for the answer: %s", srv->path, strerror(errno));
			return;
		}
	}
	while (srv->off < srv->len) {
		ssize_t n = write(srv->fd, srv->buf + srv->off, srv->len - srv->off);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;	/* the client reads slowly: wait for POLLOUT */
			wf_warn("the client went away before reading its answer: %s", strerror(errno));
			finish_answer(srv, true);
			return;
		}
		srv->off += (size_t)n;
	}
	/*
	 * Keep the write end open until the client has read everything: the
	 * bytes stay in the pipe after we close, and the read end we reopen for
	 * the next command would take them for a command.  (The reference
	 * avoids this with a blocking open that waits for the next writer.)
	 */
	if (!spin_until(srv, answer_read))
		return;
	finish_answer(srv, false);
}

void wf_fifo_server_prepare(struct wf_fifo_server *srv, struct pollfd *pfd, int *timeout_ms)
{
	pfd->fd = srv->fd;
	pfd->events = 0;
	pfd->revents = 0;
	if (!srv->answering) {
		pfd->events = POLLIN;
		return;
	}
	/* Wake up for the deadline, and to retry the open while the client has
	 * not opened its read end (a FIFO gives no event for that). */
	bool written = srv->fd >= 0 && srv->off == srv->len;	/* waiting for the client to read */
	int wait = srv->fd >= 0 && !written ? (int)(srv->deadline_ms - wf_now_ms() + 1) : ANSWER_RETRY_MS;

	if (wait < 0)
		wait = 0;
	if (srv->fd >= 0 && !written)
		pfd->events = POLLOUT;
	if (*timeout_ms < 0 || *timeout_ms > wait)
		*timeout_ms = wait;
}

void wf_fifo_server_service(struct wf_fifo_server *srv, short revents)
{
	if (!srv->answering) {
		if (srv->fd >= 0 && (revents & (POLLIN | POLLHUP | POLLERR)))
			read_command(srv);
		else if (srv->fd < 0 && start_reading(srv) < 0)
			wf_err("failed to open FIFO %s for reading: %s", srv->path, strerror(errno));
		return;
	}
	if (wf_now_ms() > srv->deadline_ms) {
		wf_warn("nobody read the answer within %d ms; dropped it", srv->answer_timeout_ms);
		finish_answer(srv, true);
		return;
	}
	if (srv->fd < 0 || srv->off == srv->len || (revents & (POLLOUT | POLLERR | POLLHUP)))
		write_answer(srv);
}

void wf_fifo_server_close(struct wf_fifo_server *srv)
{
	if (srv->fd >= 0)
		close(srv->fd);
	srv->fd = -1;
	free(srv->buf);
	srv->buf = NULL;
	if (srv->created && srv->path)
		unlink(srv->path);
	free(srv->path);
	srv->path = NULL;
}
