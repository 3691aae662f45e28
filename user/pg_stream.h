/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Framing of one connection's two byte streams into PostgreSQL messages,
 * across chunk boundaries: the startup phase (untyped packets, the server's
 * one-byte SSL/GSS answer), then typed messages.  A message split across
 * chunks is reported with the chunk that completes it.
 *
 * Bounded by construction: at most one message per direction is buffered,
 * and only when its body is at most max_message bytes; a larger one is
 * skipped and reported as PG_FRAME_NOT_RETAINED with its length.  Bytes
 * that cannot be PostgreSQL (a length below the minimum or above the
 * protocol's maximum, an unknown startup code) stop framing for good on
 * that direction: every later byte is PG_FRAME_UNPARSED.
 */
#ifndef WF_PG_STREAM_H
#define WF_PG_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wf_flow.h"
#include "wf_pg_proto.h"

enum pg_phase {
	PG_PHASE_STARTUP,	/* client: untyped packets (startup, SSL/GSS/cancel requests) */
	PG_PHASE_ANSWER,	/* server: one byte answering SSLRequest/GSSENCRequest */
	PG_PHASE_TYPED,		/* type byte + Int32 length messages */
	PG_PHASE_ENCRYPTED,	/* after 'S'/'G' (or a direct TLS hello): nothing to frame */
	PG_PHASE_NOT_POSTGRES,	/* framing failed, or bytes after a CancelRequest */
	PG_PHASE_UNFRAMED,	/* place lost (chunks flagged unframed): each chunk on its own */
};

enum pg_frame_kind {
	PG_FRAME_MESSAGE,	/* type, body, len */
	PG_FRAME_STARTUP,	/* an untyped packet: code, body (after the code; NULL if not kept), len */
	PG_FRAME_ANSWER,	/* the server's one-byte answer: type */
	PG_FRAME_NOT_RETAINED,	/* type, len = body length; the body was skipped */
	PG_FRAME_UNPARSED,	/* len bytes of this chunk that were not framed; phase says why */
};

struct pg_frame {
	enum pg_frame_kind kind;
	uint8_t type;
	uint32_t code;
	const uint8_t *body;
	uint64_t len;
	enum pg_phase phase;	/* UNPARSED: ENCRYPTED, NOT_POSTGRES or UNFRAMED */
	/*
	 * The code of the last Authentication message the backend sent on
	 * the connection before this frame, -1 if none yet (or its body was
	 * not retained): what a frontend 'p' answers (pg_print_message()).
	 */
	int32_t auth_code;
};

typedef void (*pg_frame_fn)(void *ctx, const struct pg_frame *frame);

struct pg_stream {
	uint8_t phase;		/* enum pg_phase */
	uint8_t hdr_have;	/* header bytes collected in hdr */
	bool in_body;		/* header complete, body under way */
	bool retaining;		/* the body is copied into buf (else skipped) */
	uint8_t type;		/* 0 for untyped packets */
	uint8_t hdr[WF_PG_HDR_MAX];
	uint32_t code;		/* untyped packets: the code after the length */
	uint64_t body_len;
	uint64_t body_have;
	uint8_t *buf;
	size_t cap;
};

struct pg_conn_stream {
	struct pg_stream dir[WF_DIR__COUNT];
	size_t max_message;
	int32_t auth_code;	/* pg_frame's auth_code for the next frame */
};

/*
 * from_start: the connection's first chunk is the client's startup packet
 * (a chunk flagged initial); otherwise both directions start typed.
 */
void pg_conn_stream_init(struct pg_conn_stream *cs, bool from_start, size_t max_message);
void pg_conn_stream_free(struct pg_conn_stream *cs);

/*
 * Frames one chunk, calling fn for each frame in order.  unframed: the
 * source could not follow this direction; from then on each chunk is framed
 * on its own and must consist of complete messages of known types, or it is
 * reported as one PG_FRAME_UNPARSED.
 */
void pg_conn_stream_feed(struct pg_conn_stream *cs, enum wf_dir dir, const uint8_t *data,
			 size_t len, bool unframed, pg_frame_fn fn, void *ctx);

/* Bytes held for incomplete messages (for stats). */
size_t pg_conn_stream_buffered(const struct pg_conn_stream *cs);

#endif /* WF_PG_STREAM_H */
