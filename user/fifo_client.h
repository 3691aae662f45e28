/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The client side of the FIFO protocol, exactly as citus.mitmproxy() drives
 * it with COPY: write the COPY-text-encoded command and a newline, close, then
 * read the answer to EOF.  Used by `wirefault send` and by tests.
 */
#ifndef WF_FIFO_CLIENT_H
#define WF_FIFO_CLIENT_H

#include <stddef.h>

/*
 * Send one command and collect the raw answer (malloc'd, NUL-terminated, in
 * *answer).  Gives up after timeout_ms in total.  0 or -errno (-ETIMEDOUT
 * when no loader picked the command up or answered in time).
 */
int wf_fifo_send(const char *path, const char *command, int timeout_ms, char **answer, size_t *answer_len);

#endif /* WF_FIFO_CLIENT_H */
