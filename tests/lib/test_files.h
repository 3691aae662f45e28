/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Files the tests read: the vendored conformance corpus and whole files.
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

/* A whole file, NUL-terminated (not counted in *len), malloc'd; NULL if unreadable. */
char *wf_test_read_file(const char *path, size_t *len);

#endif /* WF_TEST_FILES_H */
