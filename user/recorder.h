/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The recorder: turns chunks of PostgreSQL traffic into fluent.py's dump rows
 * ("conn\tsource\tmessage"), keeps a bounded number of them, and hands them
 * out on recorder.dump().
 *
 * Chunks come from the ring buffer (user/ring_reader.c) or from a pcap file
 * (user/pcap_source.c); both feed the same recorder, so a capture and a live
 * run print identically.  Row contents, including the placeholders for
 * bytes that cannot be decoded, are described in user/recorder.c; the
 * differences from fluent.py in docs/differences.md.
 */
#ifndef WF_RECORDER_H
#define WF_RECORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wf_flow.h"

struct wf_recorder;

/* Every limit: 0 means the default.  Older rows are dropped first. */
struct wf_recorder_opts {
	size_t max_rows;	/* retained rows */
	size_t max_bytes;	/* retained row text (the newest row is always kept) */
	size_t max_message;	/* largest message body buffered while it arrives in pieces */
	size_t max_conns;	/* connections with stream state (least recently used evicted) */
};

#define WF_RECORDER_DEFAULT_MAX_ROWS	100000
#define WF_RECORDER_DEFAULT_MAX_BYTES	(256u << 20)
#define WF_RECORDER_DEFAULT_MAX_MESSAGE	(1u << 20)
#define WF_RECORDER_DEFAULT_MAX_CONNS	(4 * WF_FLOW_TABLE_SIZE)

/* One delivery of bytes in one direction of one connection. */
struct wf_chunk {
	uint64_t conn_id;	/* stable id of the connection (kernel's wf_flow.conn_id) */
	enum wf_dir dir;	/* WF_DIR_FRONTEND = "coordinator", WF_DIR_BACKEND = "worker" */
	bool initial;		/* the connection's first chunk: printed as [initial message] */
	/*
	 * The source could not follow this direction (joined mid-way, a
	 * sequence gap, ring-buffer pieces of it lost).  Sticky: the recorder
	 * stops reassembling the direction and decodes each later chunk on its
	 * own.  The ring reader sets it on a chunk with lost pieces and on a
	 * chunk whose seq does not follow its direction's previous chunk.
	 */
	bool unframed;
	const uint8_t *data;
	size_t len;
};

struct wf_recorder_stats {
	uint64_t chunks;	/* chunks added since start */
	uint64_t rows;		/* rows currently retained */
	uint64_t row_bytes;	/* their text */
	uint64_t rows_dropped;	/* rows discarded by max_rows/max_bytes since the last dump/reset */
	uint64_t lost_pieces;	/* ring-buffer pieces the kernel could not write, since start */
	uint64_t lost_bytes;
	uint64_t connections;	/* connections with stream state held */
	uint64_t buffered_bytes;	/* held for messages not yet complete */
};

struct wf_recorder *wf_recorder_new(const struct wf_recorder_opts *opts);
void wf_recorder_free(struct wf_recorder *rec);

/* Decode one chunk and append its row (if it produces one).  0 or -errno. */
int wf_recorder_add_chunk(struct wf_recorder *rec, const struct wf_chunk *chunk);

/* The connection is gone: release its stream state (its rows stay). */
void wf_recorder_close_conn(struct wf_recorder *rec, uint64_t conn_id);

/* The kernel reported lost ring-buffer pieces: noted in the next dump. */
void wf_recorder_note_lost(struct wf_recorder *rec, uint64_t pieces, uint64_t bytes);

/*
 * recorder.dump(): returns every retained row joined by '\n' without a
 * trailing newline ("" when empty) and forgets them.  Caller frees.
 * NULL only on allocation failure (the rows are kept then).
 *
 * When rows were dropped (limits) or lost (wf_recorder_note_lost) since the
 * last dump/reset, the dump starts with note rows that still load into
 * (conn int, source text, message text) with COPY ... FROM:
 *   -1\twirefault\t[recorder dropped 12 older rows: limit of 100000 rows reached]
 */
char *wf_recorder_dump(struct wf_recorder *rec);

/* recorder.reset(): forget the rows and restart connection numbering. */
void wf_recorder_reset(struct wf_recorder *rec);

void wf_recorder_get_stats(const struct wf_recorder *rec, struct wf_recorder_stats *st);

#endif /* WF_RECORDER_H */
