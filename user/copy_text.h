/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PostgreSQL's COPY text format, the framing of the FIFO protocol: the SQL
 * helper writes the command with `COPY ... TO 'fifo'` and reads the answer with
 * `COPY ... FROM 'fifo'` (one row per line, backslash escapes).
 */
#ifndef WF_COPY_TEXT_H
#define WF_COPY_TEXT_H

#include <stddef.h>

/*
 * Escape one field as COPY TO writes it: '\' doubled, BS FF LF CR TAB VT as
 * \b \f \n \r \t \v.  Returns a malloc'd string (no row terminator), NULL on
 * allocation failure.
 */
char *wf_copy_text_escape(const char *field, size_t len);

/*
 * Undo the escaping of one field as COPY FROM reads it (\b \f \n \r \t \v,
 * \\, octal \NNN, hex \xHH; a backslash before any other character stands for
 * that character).  Decodes in place; returns the new length.
 */
size_t wf_copy_text_unescape(char *field, size_t len);

#endif /* WF_COPY_TEXT_H */
