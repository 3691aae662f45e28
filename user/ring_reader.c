// SPDX-License-Identifier: GPL-2.0
#include "ring_reader.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decision_log.h"
#include "log.h"
#include "recorder.h"
#include "wf_record.h"

/*
 * Pieces of one chunk are written back to back by one program run on one
 * CPU, but records of other CPUs may come in between: keep a few partial
 * chunks, keyed by connection and direction.
 */
#define WF_PARTIALS 16

struct partial_chunk {
	uint64_t conn_id;
	uint64_t ts_ns;
	struct wf_flow_key flow;
	uint32_t seq;
	uint8_t dir;
	uint8_t flags;
	uint32_t chunk_len;
	uint32_t have;		/* bytes received, contiguous from offset 0 */
	uint64_t last_use;
	uint8_t *data;		/* chunk_len bytes */
};

struct wf_ring_reader {
	struct ring_buffer *rb;
	struct wf_recorder *rec;
	struct partial_chunk partials[WF_PARTIALS];
	uint64_t tick;
	uint64_t incomplete;
	int64_t wall_offset_ns;	/* CLOCK_REALTIME - CLOCK_MONOTONIC (bpf_ktime_get_ns) */
	struct wf_decision_log *decisions;	/* probability() decisions go there; may be NULL */
};

/* The kernel stamps records with the monotonic clock; people want dates. */
static int64_t wall_offset_ns(void)
{
	struct timespec mono, wall;

	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &wall);
	return ((int64_t)wall.tv_sec - mono.tv_sec) * 1000000000 + (wall.tv_nsec - mono.tv_nsec);
}

/* Where a chunk came from: its first piece's header. */
struct chunk_origin {
	uint64_t conn_id;
	uint64_t ts_ns;		/* monotonic */
	const struct wf_flow_key *flow;
	uint32_t seq;
	uint8_t dir;
};

static void deliver(struct wf_ring_reader *rr, const struct chunk_origin *o, uint8_t flags,
		    const uint8_t *data, size_t len)
{
	struct wf_chunk chunk = {
		.conn_id = o->conn_id,
		.dir = o->dir ? WF_DIR_BACKEND : WF_DIR_FRONTEND,
		.initial = flags & WF_REC_F_INITIAL,
		.unframed = flags & WF_REC_F_UNFRAMED,
		.data = data,
		.len = len,
		.ts_ns = (uint64_t)((int64_t)o->ts_ns + rr->wall_offset_ns),
		.flow = o->flow,
		.seq = o->seq,
	};
	int err = wf_recorder_add_chunk(rr->rec, &chunk);

	if (err)
		wf_warn("recorder could not take a chunk of connection %llu: %s",
			(unsigned long long)o->conn_id, strerror(-err));
}

static void flush_partial(struct wf_ring_reader *rr, struct partial_chunk *p)
{
	/* Deliver what arrived, marked unframed: the stream now has a hole, so
	 * the recorder must stop reassembling across it. */
	struct chunk_origin o = { p->conn_id, p->ts_ns, &p->flow, p->seq, p->dir };

	if (p->have)
		deliver(rr, &o, p->flags | WF_REC_F_UNFRAMED, p->data, p->have);
	rr->incomplete++;
	free(p->data);
	memset(p, 0, sizeof(*p));
}

static struct partial_chunk *find_partial(struct wf_ring_reader *rr, uint64_t conn_id, uint8_t dir)
{
	for (int i = 0; i < WF_PARTIALS; i++)
		if (rr->partials[i].data && rr->partials[i].conn_id == conn_id && rr->partials[i].dir == dir)
			return &rr->partials[i];
	return NULL;
}

static struct partial_chunk *new_partial(struct wf_ring_reader *rr)
{
	struct partial_chunk *oldest = &rr->partials[0];

	for (int i = 0; i < WF_PARTIALS; i++) {
		if (!rr->partials[i].data)
			return &rr->partials[i];
		if (rr->partials[i].last_use < oldest->last_use)
			oldest = &rr->partials[i];
	}
	flush_partial(rr, oldest);
	return oldest;
}

static void handle_piece(struct wf_ring_reader *rr, const struct wf_record *r, const uint8_t *data)
{
	struct partial_chunk *p = find_partial(rr, r->conn_id, r->dir);
	struct chunk_origin o = { r->conn_id, r->ts_ns, &r->flow, r->seq, r->dir };

	if (r->offset == 0 && r->len == r->chunk_len) {
		if (p)
			flush_partial(rr, p);
		deliver(rr, &o, r->flags, data, r->len);
		return;
	}
	if (p && (r->offset != p->have || r->chunk_len != p->chunk_len)) {
		/* a piece went missing: give up on the old chunk */
		flush_partial(rr, p);
		p = NULL;
	}
	if (!p) {
		if (r->offset != 0) {
			rr->incomplete++;	/* the head of this chunk was lost */
			return;
		}
		p = new_partial(rr);
		p->data = malloc(r->chunk_len);
		if (!p->data) {
			rr->incomplete++;
			return;
		}
		p->conn_id = r->conn_id;
		p->ts_ns = r->ts_ns;
		p->flow = r->flow;
		p->seq = r->seq;
		p->dir = r->dir;
		p->flags = r->flags;
		p->chunk_len = r->chunk_len;
	}
	memcpy(p->data + p->have, data, r->len);
	p->have += r->len;
	p->last_use = ++rr->tick;
	if (p->have == p->chunk_len) {
		struct chunk_origin po = { p->conn_id, p->ts_ns, &p->flow, p->seq, p->dir };

		deliver(rr, &po, p->flags, p->data, p->have);
		free(p->data);
		memset(p, 0, sizeof(*p));
	}
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct wf_ring_reader *rr = ctx;
	const struct wf_record *r = data;

	if (size < sizeof(*r) || size < sizeof(*r) + r->len ||
	    (r->kind != WF_REC_DECISION && r->offset + (uint64_t)r->len > r->chunk_len)) {
		wf_warn("ignoring a malformed ring record (%zu bytes)", size);
		return 0;
	}
	switch (r->kind) {
	case WF_REC_CHUNK:
		handle_piece(rr, r, (const uint8_t *)(r + 1));
		break;
	case WF_REC_CLOSE: {
		struct partial_chunk *p;

		while ((p = find_partial(rr, r->conn_id, WF_DIR_FRONTEND)) ||
		       (p = find_partial(rr, r->conn_id, WF_DIR_BACKEND)))
			flush_partial(rr, p);
		wf_recorder_close_conn(rr->rec, r->conn_id);
		break;
	}
	case WF_REC_VERDICT: {
		struct wf_verdict v = {
			.conn_id = r->conn_id,
			.dir = r->dir ? WF_DIR_BACKEND : WF_DIR_FRONTEND,
			.seq = r->seq,
			.len = r->chunk_len,
			.action = r->action,
			.pipe_gen = r->pipe_gen,
			.delivered = r->offset,	/* truncate()'s, include/wf_record.h */
		};

		if (wf_recorder_add_verdict(rr->rec, &v))
			wf_debug("verdict %u on connection %llu found no recorded chunk", r->action,
				 (unsigned long long)r->conn_id);
		break;
	}
	case WF_REC_DECISION: {
		struct wf_decision_entry e = {
			.wall_ns = (uint64_t)((int64_t)r->ts_ns + rr->wall_offset_ns),
			.conn_id = r->conn_id,
			.flow = r->flow,
			.seq = r->seq,
			.chunk_len = r->chunk_len,
			.pipe_gen = r->pipe_gen,
			.dir = r->dir ? WF_DIR_BACKEND : WF_DIR_FRONTEND,
		};

		if (r->len < sizeof(e.d)) {
			wf_warn("ignoring a malformed decision record (%u bytes)", r->len);
			break;
		}
		memcpy(&e.d, r + 1, sizeof(e.d));
		if (rr->decisions)
			wf_decision_log_add(rr->decisions, &e);
		break;
	}
	default:
		wf_debug("ignoring ring record of unknown kind %u", r->kind);
	}
	return 0;
}

struct wf_ring_reader *wf_ring_reader_new(int records_map_fd, struct wf_recorder *rec)
{
	struct wf_ring_reader *rr = calloc(1, sizeof(*rr));

	if (!rr)
		return NULL;
	rr->rec = rec;
	rr->wall_offset_ns = wall_offset_ns();
	rr->rb = ring_buffer__new(records_map_fd, on_record, rr, NULL);
	if (!rr->rb) {
		int err = errno;

		free(rr);
		errno = err;
		return NULL;
	}
	return rr;
}

void wf_ring_reader_free(struct wf_ring_reader *rr)
{
	if (!rr)
		return;
	for (int i = 0; i < WF_PARTIALS; i++)
		free(rr->partials[i].data);
	ring_buffer__free(rr->rb);
	free(rr);
}

void wf_ring_reader_set_decisions(struct wf_ring_reader *rr, struct wf_decision_log *log)
{
	rr->decisions = log;
}

int wf_ring_reader_drain(struct wf_ring_reader *rr)
{
	return ring_buffer__consume(rr->rb);
}

int wf_ring_reader_fd(const struct wf_ring_reader *rr)
{
	return ring_buffer__epoll_fd(rr->rb);
}

uint64_t wf_ring_reader_incomplete_chunks(const struct wf_ring_reader *rr)
{
	return rr->incomplete;
}
