/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The FIFO protocol of Citus' citus.mitmproxy() (DESIGN.md §1): a client
 * opens the FIFO for writing, writes one command and closes it; the server
 * reads to EOF, runs the command, then opens the FIFO for writing and writes
 * the answer, which the client reads to EOF.  One command at a time.
 *
 * The server never blocks: it is a state machine driven by poll() from the
 * loader's main loop, so a client that writes nothing, writes a huge command,
 * or never reads its answer cannot wedge traffic recording or the next
 * command (the answer is abandoned after a timeout).
 */
#ifndef WF_FIFO_SERVER_H
#define WF_FIFO_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

/* Commands longer than this are read to the end, discarded and refused. */
#define WF_FIFO_COMMAND_MAX	(4u << 20)
#define WF_FIFO_ANSWER_TIMEOUT_MS_DEFAULT	10000

/*
 * Runs one command (the exact bytes read, not NUL-terminated inside) and
 * returns the answer bytes to write back (malloc'd, *answer_len set), or
 * NULL for out of memory.
 */
typedef char *(*wf_fifo_handler)(void *ctx, const char *command, size_t len, size_t *answer_len);

struct wf_fifo_server {
	char *path;
	bool created;			/* we made the FIFO: remove it on close */
	int answer_timeout_ms;
	wf_fifo_handler handler;
	void *ctx;

	int fd;				/* read end while reading, write end while answering */
	bool answering;
	char *buf;			/* command being read, or answer being written */
	size_t len, off;
	bool overflow;			/* command exceeded WF_FIFO_COMMAND_MAX */
	long long deadline_ms;		/* answering: give up after this */
	unsigned long long commands, abandoned;
};

/* Create the FIFO if needed (mode 0666, so a PostgreSQL server running as
 * another user can use it) and start listening.  0 or -errno. */
int wf_fifo_server_open(struct wf_fifo_server *srv, const char *path, int answer_timeout_ms,
			wf_fifo_handler handler, void *ctx);

/* Fill *pfd for poll() (fd -1 when only waiting for time) and lower *timeout_ms if needed. */
void wf_fifo_server_prepare(struct wf_fifo_server *srv, struct pollfd *pfd, int *timeout_ms);

/* Call after poll() with the revents of the pollfd filled by prepare. */
void wf_fifo_server_service(struct wf_fifo_server *srv, short revents);

void wf_fifo_server_close(struct wf_fifo_server *srv);

#endif /* WF_FIFO_SERVER_H */
