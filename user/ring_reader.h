/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Consumer of the kernel's `records` ring buffer: joins the pieces of each
 * chunk (a segment larger than one record is split by the kernel) and feeds
 * whole chunks and connection-close events to the recorder, and random
 * decisions to the decision log.
 *
 * The kernel writes without waking us up (a wake-up per record costs real
 * throughput, DESIGN.md §7), so the loader calls wf_ring_reader_drain() on a
 * short timer and before every dump.
 */
#ifndef WF_RING_READER_H
#define WF_RING_READER_H

#include <stdint.h>

struct wf_decision_log;
struct wf_recorder;
struct wf_ring_reader;

struct wf_ring_reader *wf_ring_reader_new(int records_map_fd, struct wf_recorder *rec);
void wf_ring_reader_free(struct wf_ring_reader *rr);

/* Where WF_REC_DECISION records go (probability() decisions); NULL: nowhere. */
void wf_ring_reader_set_decisions(struct wf_ring_reader *rr, struct wf_decision_log *log);

/* Consume everything the kernel has written so far.  Returns records consumed or -errno. */
int wf_ring_reader_drain(struct wf_ring_reader *rr);

/* The ring's fd for poll(): readable when the kernel forced a wake-up (ring filling up). */
int wf_ring_reader_fd(const struct wf_ring_reader *rr);

/* Chunks whose pieces did not all arrive (the kernel lost some). */
uint64_t wf_ring_reader_incomplete_chunks(const struct wf_ring_reader *rr);

#endif /* WF_RING_READER_H */
