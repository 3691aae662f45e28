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
	size_t max_bytes;	/* retained rows' text, JSON and raw bytes (the newest row is always kept) */
	size_t max_message;	/* largest message body buffered while it arrives in pieces */
	size_t max_conns;	/* connections with stream state (least recently used evicted) */
};

#define WF_RECORDER_DEFAULT_MAX_ROWS	100000
#define WF_RECORDER_DEFAULT_MAX_BYTES	(8u << 20)
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
	/* Where and when, for dump --json, watch and pcap (0/NULL: unknown). */
	uint64_t ts_ns;			/* wall-clock time, ns since the epoch */
	const struct wf_flow_key *flow;	/* the connection's addresses */
	uint32_t seq;			/* TCP seq of data[0] */
};

/* What the pipeline did to a chunk (include/wf_record.h WF_REC_VERDICT). */
struct wf_verdict {
	uint64_t conn_id;
	enum wf_dir dir;
	uint32_t seq;		/* the chunk's first byte */
	uint32_t len;
	uint8_t action;		/* enum wf_pipe_action_kind, never allow */
	uint32_t pipe_gen;
	uint32_t delivered;	/* truncate(): the chunk's bytes its receiver got */
};

/*
 * A retained row: one chunk.  `list` is the Python list fluent.py prints
 * for it ("[initial message]", "['Query(query=SELECT 1)']"), NULL for a
 * chunk fluent would not show (only Terminate); `json` holds one JSON
 * object per message of the chunk, each followed by '\n'
 * (user/pg_json.h: {"type":...,"fields":...}), without time, connection
 * or verdict, which user/row_format.c adds; `raw` the chunk's bytes.
 */
struct wf_row {
	uint64_t serial;	/* 1, 2, ... in order of arrival, never reused */
	uint64_t number;	/* fluent's connection number */
	uint64_t conn_id;
	uint64_t ts_ns;
	enum wf_dir dir;
	bool initial, unframed;
	bool has_flow;
	struct wf_flow_key flow;
	uint32_t seq;
	uint8_t action;		/* enum wf_pipe_action_kind; allow until a verdict says otherwise */
	uint32_t pipe_gen;
	uint32_t delivered;	/* truncate(): how many of raw's bytes the receiver got */
	const char *list;
	size_t list_len;
	const char *json;
	size_t json_len;
	const uint8_t *raw;
	size_t raw_len;
};

typedef void (*wf_row_fn)(void *ctx, const struct wf_row *row);

struct wf_recorder_stats {
	uint64_t chunks;	/* chunks added since start */
	uint64_t rows;		/* rows currently retained */
	uint64_t row_bytes;	/* their text, JSON and raw bytes */
	uint64_t max_rows, max_bytes;	/* the bounds in force */
	uint64_t verdicts;	/* verdicts attached to rows since start */
	uint64_t verdicts_unmatched;	/* ... that found no retained row */
	uint64_t rows_dropped;	/* rows discarded by max_rows/max_bytes since the last dump/reset */
	uint64_t rows_dropped_total;	/* ... since start */
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

/*
 * The pipeline acted on a chunk: its row (the latest of the connection's
 * direction, if its seq matches) gets the action.  0, or -ENOENT when that
 * row is not retained (not recorded, dropped, dumped).
 */
int wf_recorder_add_verdict(struct wf_recorder *rec, const struct wf_verdict *v);

/* The kernel reported lost ring-buffer pieces: noted in the next dump. */
void wf_recorder_note_lost(struct wf_recorder *rec, uint64_t pieces, uint64_t bytes);

/* The kernel failed this many times to track a connection (flow table full): noted in the next dump. */
void wf_recorder_note_untracked(struct wf_recorder *rec, uint64_t failures);

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

/*
 * Calls fn for each retained row whose serial is above `after`, oldest
 * first, decoded (rows are decoded when first read: recorder.c).
 */
void wf_recorder_for_each(struct wf_recorder *rec, uint64_t after, wf_row_fn fn, void *ctx);

/* The same without decoding: rows not read yet have list NULL and json "" (the pcap writer needs only bytes). */
void wf_recorder_for_each_raw(const struct wf_recorder *rec, uint64_t after, wf_row_fn fn, void *ctx);

/* Serial of the newest row added (retained or not), 0 if none yet. */
uint64_t wf_recorder_last_serial(const struct wf_recorder *rec);

/*
 * The notes about missing rows since the last dump/reset, one per line,
 * each "[...]" as it appears in a note row; "" if none.  Caller frees.
 * Decodes the rows not read yet first (which may drop more of them).
 */
char *wf_recorder_notes(struct wf_recorder *rec);

/* Forget the retained rows and the losses noted (what a dump does after). */
void wf_recorder_forget(struct wf_recorder *rec);

/* recorder.reset(): forget the rows and restart connection numbering. */
void wf_recorder_reset(struct wf_recorder *rec);

void wf_recorder_get_stats(const struct wf_recorder *rec, struct wf_recorder_stats *st);

#endif /* WF_RECORDER_H */
