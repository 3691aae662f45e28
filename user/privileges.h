/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What `wirefault run` needs from the kernel's permission checks, asked up
 * front so that a missing privilege is named instead of surfacing later as
 * a bare "Operation not permitted" from some BPF call.
 */
#ifndef WF_PRIVILEGES_H
#define WF_PRIVILEGES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the names of the missing effective capabilities, comma-separated,
 * into buf ("" when none is missing).  need_mount adds CAP_SYS_ADMIN (bpffs
 * must be mounted).  Returns the number missing, or -errno.
 */
int wf_missing_capabilities(bool need_mount, char *buf, size_t size);

#endif /* WF_PRIVILEGES_H */
