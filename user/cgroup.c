// SPDX-License-Identifier: GPL-2.0
#include "cgroup.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wf_cgroup2_mount(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int err = -ENOENT;

	if (!f)
		return -errno;
	/* "36 25 0:31 / /sys/fs/cgroup/unified rw,... - cgroup2 cgroup2 rw" */
	while (getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - ");
		char mnt[4096];

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1)
			continue;
		if ((size_t)snprintf(buf, size, "%s", mnt) >= size) {
			err = -ENAMETOOLONG;
			break;
		}
		err = 0;
		break;
	}
	free(line);
	fclose(f);
	return err;
}

int wf_cgroup_own_dir(char *buf, size_t size)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char *line = NULL, mnt[4096];
	size_t cap = 0;
	int err = -ENOENT;
	ssize_t n;

	if (!f)
		return -errno;
	/* the v2 line is "0::/path" */
	while ((n = getline(&line, &cap, f)) > 0) {
		if (strncmp(line, "0::", 3))
			continue;
		if (line[n - 1] == '\n')
			line[n - 1] = '\0';
		err = wf_cgroup2_mount(mnt, sizeof(mnt));
		if (!err && (size_t)snprintf(buf, size, "%s%s", mnt,
					     strcmp(line + 3, "/") ? line + 3 : "") >= size)
			err = -ENAMETOOLONG;
		break;
	}
	free(line);
	fclose(f);
	return err;
}
