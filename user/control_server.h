/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loader's control socket: what the FIFO protocol of fluent.py cannot
 * carry.  `wirefault dump --json|--pcap` and `wirefault watch` connect to
 * it; the FIFO stays exactly the reference's protocol.
 *
 * A Unix stream socket (mode 0600: the loader's user, and root), path
 * WF_CONTROL_PATH_DEFAULT or $WIREFAULT_SOCKET, published in the instance
 * file.  A client sends one request line and reads the answer until EOF:
 *
 *   dump text|json [keep]   "ok\n", then the rows (fluent's dump rows with
 *                           a trailing newline, or JSON lines); the rows
 *                           are forgotten like recorder.dump() unless keep
 *   dump pcap [keep]        "ok\n", "pcap N\n" + N bytes of pcap,
 *                           "notes M\n" + M bytes of notes (JSON lines)
 *   watch text|json         "ok\n", then every new row as it is recorded,
 *                           until the client hangs up
 *   anything else           "error: <why>\n"
 *
 * Watchers are never allowed to slow the loader down: a watcher that does
 * not read is given at most WF_CONTROL_WATCH_BUFFER bytes of backlog, then
 * rows are skipped for it and a note says how many.
 */
#ifndef WF_CONTROL_SERVER_H
#define WF_CONTROL_SERVER_H

#include <poll.h>
#include <stdint.h>

struct wf_exec_ctx;
struct wf_control_server;

#define WF_CONTROL_PATH_DEFAULT		"/run/wirefault.sock"
#define WF_CONTROL_MAX_CLIENTS		8
#define WF_CONTROL_WATCH_BUFFER		(4u << 20)
/* pollfds the server needs: its socket and its clients */
#define WF_CONTROL_POLLFDS		(1 + WF_CONTROL_MAX_CLIENTS)

/* Path of the socket (env WIREFAULT_SOCKET overrides, for tests). */
const char *wf_control_path(void);

/*
 * Listens on `path` (a stale socket there is replaced; any other file is
 * refused with -EEXIST).  NULL with errno set on failure.  The recorder is
 * brought up to date through wf_exec_catch_up(x) before every dump.
 */
struct wf_control_server *wf_control_server_open(const char *path, struct wf_exec_ctx *x);

/* Removes a socket at path nobody listens on (a dead loader's): 1 removed, 0 none, -errno. */
int wf_control_remove_stale(const char *path);

/* Fills pfd[0..WF_CONTROL_POLLFDS) (unused entries get fd -1). */
void wf_control_server_prepare(struct wf_control_server *srv, struct pollfd *pfd);

/* Accepts, reads requests, writes answers, after poll() filled revents. */
void wf_control_server_service(struct wf_control_server *srv, const struct pollfd *pfd);

/* Sends the rows recorded since the last call to the watchers. */
void wf_control_server_feed(struct wf_control_server *srv);

/* Clients connected now (watchers included). */
unsigned int wf_control_server_clients(const struct wf_control_server *srv);

/* Closes every client and removes the socket. */
void wf_control_server_close(struct wf_control_server *srv);

#endif /* WF_CONTROL_SERVER_H */
