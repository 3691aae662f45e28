// SPDX-License-Identifier: GPL-2.0
#include "test_files.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

const char *wf_test_repo_path(const char *rel, char *buf, size_t size)
{
	char exe[PATH_MAX], dir[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = '\0';
		snprintf(dir, sizeof(dir), "%s/../../..", dirname(exe));
		if (is_dir(dir)) {
			snprintf(buf, size, "%s/%s", dir, rel);
			if (access(buf, F_OK) == 0)
				return buf;
		}
	}
	snprintf(buf, size, "%s", rel);
	return buf;
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

static size_t unescape(char *s)
{
	char *in = s, *out = s;

	while (*in) {
		if (in[0] == '\\' && in[1]) {
			switch (in[1]) {
			case 't': *out++ = '\t'; break;
			case 'n': *out++ = '\n'; break;
			case 'r': *out++ = '\r'; break;
			default: *out++ = in[1]; break;
			}
			in += 2;
		} else {
			*out++ = *in++;
		}
	}
	*out = '\0';
	return (size_t)(out - s);
}

int wf_test_load_responses(const char *conf_dir, struct wf_test_responses *out)
{
	char path[PATH_MAX + 64], *line, *next;
	struct wf_test_response *nr;
	int lineno = 0;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/responses.tsv", conf_dir);
	out->text = wf_test_read_file(path, NULL);
	if (!out->text)
		return -1;
	for (line = out->text; line && *line; line = next) {
		char *f[8];
		int k;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (++lineno == 1)
			continue;	/* header */
		for (k = 0; k < 8; k++) {
			f[k] = line;
			line = strchr(line, '\t');
			if (line)
				*line++ = '\0';
			else
				line = f[k] + strlen(f[k]);
		}
		nr = realloc(out->rows, (out->n + 1) * sizeof(*out->rows));
		if (!nr) {
			wf_test_free_responses(out);
			return -1;
		}
		out->rows = nr;
		out->rows[out->n] = (struct wf_test_response){
			.command = f[0], .response = f[1], .kind = f[2], .label = f[3],
			.slug = f[4], .pipeline_after = f[5], .probe = f[7], .line = lineno,
		};
		for (k = 0; k < 8; k++)
			if (k != 4)
				unescape(f[k]);
		out->rows[out->n].slug_len = unescape(f[4]);
		out->n++;
	}
	return 0;
}

void wf_test_free_responses(struct wf_test_responses *r)
{
	free(r->rows);
	free(r->text);
	memset(r, 0, sizeof(*r));
}
