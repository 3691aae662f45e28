/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Finding the cgroup (v2) that cgroup programs attach to.  By default the
 * loader's own: the harness that starts wirefault, and the servers and
 * clients it starts, live there (DESIGN.md §7: never the root by accident
 * for hooks that change what connect() does).
 */
#ifndef WF_CGROUP_H
#define WF_CGROUP_H

#include <stddef.h>

/* Mount point of the cgroup2 hierarchy ("/sys/fs/cgroup" or
 * "/sys/fs/cgroup/unified" on hybrid systems): 0 or -ENOENT. */
int wf_cgroup2_mount(char *buf, size_t size);

/* Directory of this process's cgroup v2: 0 or a negative errno. */
int wf_cgroup_own_dir(char *buf, size_t size);

#endif /* WF_CGROUP_H */
