/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The printer of recorded rows (struct wf_row, one chunk each) in the three
 * forms people read them in:
 *  - fluent.py's dump row, what recorder.dump() answers and Citus' tests
 *    load with COPY: "0\tcoordinator\t['Query(query=SELECT 1)']";
 *  - JSON lines (`dump --json`, `watch --json`, `decode --json`): one object
 *    per PostgreSQL message with when, which connection, which way and what
 *    the pipeline did, followed by the message's own "type" and "fields"
 *    (docs/json.md);
 *  - a watch line (`wirefault watch`, like tcpdump: one line per chunk):
 *    "05:40:01.123456 #0 127.0.0.1:40000 > 127.0.0.1:5432 ['Query(query=SELECT 1)'] KILL".
 * Messages themselves are printed by user/pg_print.c and user/pg_json.c.
 */
#ifndef WF_ROW_FORMAT_H
#define WF_ROW_FORMAT_H

#include <stddef.h>

#include "recorder.h"
#include "strbuf.h"

/* f:317-321: "{conn}\t{source}\t{list with every backslash doubled}" (rows without a list: nothing) */
void wf_row_format_fluent(struct strbuf *out, const struct wf_row *r);

/* A note about missing rows ("[recorder dropped ...]") as a fluent row: "-1\twirefault\t[...]". */
void wf_row_format_note_fluent(struct strbuf *out, const char *note, size_t len);

/*
 * One JSON object per message of the row, each followed by '\n'.  A row
 * without messages (a chunk that completes none) gives one object with
 * "type": null and its byte count, but only when the pipeline acted on it,
 * so that no verdict goes unseen.
 */
void wf_row_format_json(struct strbuf *out, const struct wf_row *r);

/* A note as a JSON object: {"type":null,"note":"recorder dropped ..."} and '\n'. */
void wf_row_format_note_json(struct strbuf *out, const char *note, size_t len);

/* One watch line for the row, ending in '\n'. */
void wf_row_format_watch(struct strbuf *out, const struct wf_row *r);

/* "kill" etc. for a row's verdict, in upper case for watch lines; "" for allow. */
const char *wf_row_verdict_text(const struct wf_row *r);

#endif /* WF_ROW_FORMAT_H */
