// SPDX-License-Identifier: GPL-2.0
#include "test_files.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *wf_test_conformance_dir(void)
{
	static char dir[PATH_MAX];
	const char *env = getenv("WF_CONFORMANCE_DIR");
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
		return is_dir(dir) ? dir : NULL;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/../../../tests/conformance", dirname(exe));
		if (is_dir(dir))
			return dir;
	}
	snprintf(dir, sizeof(dir), "tests/conformance");
	return is_dir(dir) ? dir : NULL;
}

char *wf_test_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL, *nb;
	size_t used = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - used < 65536) {
			nb = realloc(buf, cap = cap ? 2 * cap : 65536 + 1);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + used, 1, cap - used - 1, f);
		used += n;
	} while (n > 0);
	fclose(f);
	buf[used] = '\0';
	if (len)
		*len = used;
	return buf;
}
