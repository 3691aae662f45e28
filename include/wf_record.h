/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Ring-buffer records: what the tc program tells the loader's recorder.
 *
 * Every TCP segment with new payload on the target port becomes one *chunk*
 * (fluent.py's unit: one delivery of bytes in one direction).  A chunk is
 * sent as one or more *pieces*, each a struct wf_record followed by `len`
 * payload bytes, because one record is bounded (segments on lo reach 512 KiB
 * with GSO).  Pieces of one chunk carry the same chunk_len and increasing
 * offset; the last one has offset + len == chunk_len.
 *
 * Order: the ring is filled by every CPU.  Chunks of one direction that the
 * kernel framed (no WF_REC_F_UNFRAMED) are written in stream order, each
 * starting where the previous framed one ended or later.  Unframed chunks may
 * come out of order (two CPUs raced on the direction) or leave holes (bytes
 * reordered before the tc hook arrive after the kernel moved past them and
 * are not recorded): use seq.  A framed chunk whose seq is the end of the
 * previous framed chunk of its direction continues it; any other framed chunk
 * starts at a message boundary (the kernel resynchronised at a ReadyForQuery).
 */
#ifndef WF_RECORD_H
#define WF_RECORD_H

#include "wf_types.h"
#include "wf_flow.h"

enum wf_record_kind {
	WF_REC_CHUNK = 1,	/* payload bytes */
	WF_REC_CLOSE = 2,	/* the connection ended (FIN both ways or RST): len = 0 */
	/*
	 * The pipeline acted on a chunk (anything but allow): len = 0; seq,
	 * chunk_len and dir name the chunk, which was recorded just before on
	 * the same CPU; action and pipe_gen say what and which pipeline.
	 * For truncate(), offset is how many of the chunk's bytes its receiver
	 * gets (chunk_len: all of them, the mark lies further on).
	 */
	WF_REC_VERDICT = 3,
	/*
	 * A probability(p) filter decided: seq, chunk_len and dir name the
	 * chunk, pipe_gen the pipeline; len = sizeof(struct wf_decision),
	 * which follows the header.  Written when the decision is taken, so
	 * before the chunk's own record when both are written.
	 */
	WF_REC_DECISION = 4,
};

enum wf_record_flags {
	/* The connection's first chunk (fluent's is_initial).  Never set on
	 * connections first seen mid-stream: their first chunk went by before
	 * the loader. */
	WF_REC_F_INITIAL = 1u << 0,
	/* The framer did not follow all of this chunk: the direction was
	 * joined mid-stream, lost sync (sequence gap), is encrypted, carried a
	 * CancelRequest or is not PostgreSQL, or stopped being framed inside
	 * this chunk.  Message boundaries are unknown from here on. */
	WF_REC_F_UNFRAMED = 1u << 1,
	/* Some bytes of this chunk are missing: an earlier piece was lost (ring
	 * full) or the chunk is larger than WF_REC_PIECES_MAX pieces. */
	WF_REC_F_TRUNCATED = 1u << 2,
};

struct wf_record {
	__u64 ts_ns;		/* bpf_ktime_get_ns() */
	__u64 conn_id;		/* struct wf_flow.conn_id */
	struct wf_flow_key flow;
	__u32 seq;		/* TCP seq of the chunk's first byte */
	__u32 chunk_len;	/* payload bytes of the whole chunk */
	__u32 offset;		/* offset of this piece's first byte in the chunk
				 * (VERDICT of truncate(): bytes delivered) */
	__u32 len;		/* payload bytes following this header */
	__u8 kind;		/* enum wf_record_kind */
	__u8 dir;		/* enum wf_dir */
	__u8 flags;		/* enum wf_record_flags */
	__u8 action;		/* VERDICT: enum wf_pipe_action_kind, else 0 */
	__u32 pipe_gen;		/* VERDICT: generation of the pipeline that acted */
	/* __u8 data[len] follows */
};

/* What a WF_REC_DECISION carries (include/wf_random.h has the draw). */
struct wf_decision {
	__u64 seed;
	__u64 ident;		/* struct wf_flow.ident */
	__u64 threshold;	/* the filter's: p * 2^32 */
	__u32 message;		/* messages of the direction before the chunk */
	__u32 draw;
	__u8 filter;		/* index of the probability() filter */
	__u8 passed;		/* draw < threshold */
	__u8 pad[6];
};

/* Largest piece.  The per-CPU scratch slot holds one header + one piece. */
#define WF_REC_PIECE_MAX	65536u
/* Pieces per chunk: 8 x 64 KiB covers the largest lo skb seen (512 KiB). */
#define WF_REC_PIECES_MAX	8u
/* Default ring size; the loader may change it before load (--ring-size). */
#define WF_REC_RING_DEFAULT	(4u << 20)

#endif /* WF_RECORD_H */
