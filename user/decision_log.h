/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The log of probability() decisions (include/wf_random.h): one entry per
 * WF_REC_DECISION the kernel writes, kept in a bounded ring (the oldest go
 * first, counted).  `wirefault decisions` prints it; `wirefault status`
 * sums it.  A decision is printed with what names it in any run of the same
 * workload (seed, connection ident, direction, message index, filter) and
 * with what this run adds (time, connection number, addresses), so that two
 * runs can be compared on the first part: a replay makes the same decisions.
 *
 *   text:  2026-12-06 08:41:07.123456 gen 3 conn 12 127.0.0.1:40112 > 127.0.0.1:5432
 *          seed 42 ident 5f1c2a9e0b7d3e11 message 7 filter 1 p 0.25 draw 0.18341 pass
 *   json:  {"time":...,"gen":3,"conn":12,"client":...,"server":...,"direction":"frontend",
 *           "seed":42,"ident":"5f1c2a9e0b7d3e11","message":7,"filter":1,"p":0.25,
 *           "draw":0.18341,"passed":true}
 */
#ifndef WF_DECISION_LOG_H
#define WF_DECISION_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wf_record.h"

struct strbuf;

struct wf_decision_entry {
	uint64_t wall_ns;		/* CLOCK_REALTIME of the decision */
	uint64_t conn_id;
	struct wf_flow_key flow;
	uint32_t seq, chunk_len, pipe_gen;
	uint8_t dir;			/* enum wf_dir */
	struct wf_decision d;
};

struct wf_decision_log_stats {
	uint64_t total;		/* decisions logged since start */
	uint64_t passed;	/* of which passed */
	uint64_t kept;		/* in the log now */
	uint64_t dropped;	/* pushed out by newer ones */
};

#define WF_DECISION_LOG_DEFAULT	100000

struct wf_decision_log;

/* A log keeping at most cap entries (> 0); NULL when out of memory. */
struct wf_decision_log *wf_decision_log_new(size_t cap);
void wf_decision_log_free(struct wf_decision_log *log);

void wf_decision_log_add(struct wf_decision_log *log, const struct wf_decision_entry *e);

/* Calls fn for each kept entry, oldest first. */
void wf_decision_log_for_each(const struct wf_decision_log *log,
			      void (*fn)(void *ctx, const struct wf_decision_entry *e), void *ctx);

void wf_decision_log_get_stats(const struct wf_decision_log *log, struct wf_decision_log_stats *st);

/* Appends one entry as a line (text or JSON), with its newline. */
void wf_decision_format(struct strbuf *sb, const struct wf_decision_entry *e, bool json);

#endif /* WF_DECISION_LOG_H */
