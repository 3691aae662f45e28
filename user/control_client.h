/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client side of the loader's control socket (user/control_server.h):
 * `wirefault dump`, `watch`, `decisions` and `status`.
 */
#ifndef WF_CONTROL_CLIENT_H
#define WF_CONTROL_CLIENT_H

#include <stddef.h>
#include <stdio.h>

/*
 * Finds the running loader's socket, sends `request` (one line, without
 * its newline) and reads the status line.  Returns the connected fd, the
 * answer's body following; or -1 after printing why (no loader, no socket,
 * not allowed, the loader's "error: ..." answer).
 */
int wf_control_request(const char *request);

/*
 * `wirefault watch` and `wirefault decisions`: sends request, copies the
 * answer to stdout until the loader ends it (line by line if line_buffered,
 * so that a pipe sees each line at once; a closed pipe ends the program).
 * Returns the exit status (WF_EXIT_*); errors are printed as "<what>: ...".
 */
int wf_control_print(const char *request, int line_buffered, const char *what);

/* Copies everything the fd delivers to out until EOF.  0 or -errno. */
int wf_control_copy(int fd, FILE *out);

/*
 * Reads one "NAME N\n" header and then exactly N bytes into out.  0, or
 * -EPROTO (a different header, a short body), -errno.
 */
int wf_control_read_section(FILE *in, const char *name, FILE *out);

#endif /* WF_CONTROL_CLIENT_H */
