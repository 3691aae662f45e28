/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The placeholder listener of the virtual proxy port (DESIGN.md §2, §7).
 *
 * It is bound before any connect hook is attached, and binding it is how
 * wirefault finds out whether the port is free: if another program has it,
 * wirefault refuses to start, so a hook never steals a port from anyone.
 * It starts listening only once wirefault is ready (hooks attached, FIFO
 * served): readiness checks such as Citus' `lsof -i :9060` see the port
 * open exactly when connections through it are redirected and faulted (a
 * bound socket that does not listen is invisible to them).  Then a connect() from outside the hooked cgroup (which the hook
 * does not redirect) reaches it and is closed at once, with a warning.
 *
 * The socket is held by a small child process without privileges: a process
 * started with file capabilities (or by sudo) is not dumpable, and lsof run
 * by the user who started it cannot read its /proc/PID/fd, so the listener
 * would be invisible to the harness that waits for it.  The child drops every
 * capability (and, under sudo, becomes SUDO_UID), marks itself dumpable, and
 * dies with the loader (PR_SET_PDEATHSIG); the loader watches a pipe to it
 * and stops if the child dies first.
 */
#ifndef WF_PROXY_PLACEHOLDER_H
#define WF_PROXY_PLACEHOLDER_H

#include <sys/types.h>

struct wf_placeholder {
	pid_t pid;		/* the holder process, 0 if none */
	int watch_fd;		/* read end of a pipe the holder keeps open: HUP = it died */
	int listen_fd;		/* our copy of the socket until it listens, else -1 */
	int go_fd;		/* tells the holder the socket listens, else -1 */
	unsigned int port;
};

/*
 * Binds every address of `port` (IPv6 dual-stack, or IPv4 only without
 * IPv6) and starts the holder.  0, or -errno after printing an error that
 * says what happened; -EADDRINUSE when another program has the port (named,
 * when this process may see who).
 */
int wf_placeholder_start(struct wf_placeholder *ph, unsigned int port);

/* Starts listening and leaves the socket to the holder alone.  0 or -errno (printed). */
int wf_placeholder_listen(struct wf_placeholder *ph);

/* Stops the holder (if any) and waits for it. */
void wf_placeholder_stop(struct wf_placeholder *ph);

#endif /* WF_PROXY_PLACEHOLDER_H */
