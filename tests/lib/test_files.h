/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Files the tests read: the vendored conformance corpus (and its
 * responses.tsv) and whole files.
 */
#ifndef WF_TEST_FILES_H
#define WF_TEST_FILES_H

#include <stddef.h>

/*
 * The conformance corpus directory (the one holding golden/, commands.txt,
 * responses.tsv): $WF_CONFORMANCE_DIR, else tests/conformance of this
 * repository (found from the test program's path build/tests/DIR/, else
 * from the working directory).  NULL if it is not there: a test that needs
 * it must fail, not skip.
 */
const char *wf_test_conformance_dir(void);

/*
 * A file of the repository, e.g. "tests/golden_differences.txt" or
 * "build/wirefault": found from the test program's path (build/tests/DIR/),
 * else relative to the current directory.  Returns buf.
 */
const char *wf_test_repo_path(const char *rel, char *buf, size_t size);

/* A whole file, NUL-terminated (not counted in *len), malloc'd; NULL if unreadable. */
char *wf_test_read_file(const char *path, size_t *len);

/* One row of the corpus' responses.tsv (README.md there), fields unescaped (\\ \t \n \r). */
struct wf_test_response {
	char *command, *response, *kind, *label, *slug, *pipeline_after, *probe;
	size_t slug_len;	/* the FIFO bytes may hold anything */
	int line;		/* in the file, for messages */
};

struct wf_test_responses {
	struct wf_test_response *rows;
	size_t n;
	char *text;		/* the rows point into it */
};

/* Reads conf_dir/responses.tsv; 0, or -1 if unreadable (out empty). */
int wf_test_load_responses(const char *conf_dir, struct wf_test_responses *out);
void wf_test_free_responses(struct wf_test_responses *r);

#endif /* WF_TEST_FILES_H */
