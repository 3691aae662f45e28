/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PostgreSQL framing: finds message boundaries in one direction's new bytes
 * and carries what a segment leaves unfinished (a partial header, the rest
 * of a body) in struct wf_stream for the next segment.
 *
 * One bpf_loop iteration handles one step: take (part of) a header, or
 * take (part of) a body: skipped at once, or read 64 bytes per step while
 * onX() conditions need it (field_match.h).  Every iteration but one consumes at least one
 * byte (the exception: the old-server ErrorResponse answer to SSLRequest, see
 * below), so len + 2 iterations always suffice; should they not, the
 * direction is marked DESYNC rather than framed wrongly.
 *
 * Per state:
 *   STARTUP   (client) untyped packets: int32 length + int32 code.
 *             SSLRequest/GSSENCRequest -> the server answers one byte
 *             (server stream ONE_BYTE); protocol 3.x StartupMessage -> TYPED;
 *             CancelRequest -> OPAQUE (nothing follows).
 *   ONE_BYTE  (server) 'N' -> TYPED; 'S'/'G' -> both directions OPAQUE
 *             (encrypted from here); 'E' -> TYPED, re-read as an ErrorResponse
 *             (servers older than the request answer that way).
 *   TYPED     type byte + int32 length (counting itself).
 * Anything else -> NOT_POSTGRES: counted, the direction goes OPAQUE.
 */
#ifndef WF_BPF_PG_FRAMER_H
#define WF_BPF_PG_FRAMER_H

#include "counters.h"
#include "field_match.h"
#include "maps.h"

enum wf_frame_result {
	WF_FRAME_ALL = 0,	/* every byte of the chunk was framed */
	WF_FRAME_STOPPED,	/* framing stopped inside the chunk: rest unframed */
};

struct wf_frame_ctx {
	struct __sk_buff *skb;
	struct wf_flow *flow;
	__u32 dir;
	__u32 off;		/* skb offset of the next byte to frame */
	__u32 end;		/* skb offset one past the chunk */
	__u32 messages;		/* headers parsed in this chunk */
	__u32 result;		/* enum wf_frame_result */
	struct wf_match_ctx m;	/* onX() matching of the messages framed */
};

static __always_inline bool wf_stream_framing(__u8 state)
{
	return state == WF_STREAM_STARTUP || state == WF_STREAM_TYPED ||
	       state == WF_STREAM_ONE_BYTE;
}

static __always_inline __u32 wf_be32(const __u8 *b)
{
	return ((__u32)b[0] << 24) | ((__u32)b[1] << 16) | ((__u32)b[2] << 8) | b[3];
}

/* Message type bytes are ASCII letters or digits ('1', '2', '3' are
 * ParseComplete, BindComplete, CloseComplete). */
static __always_inline bool wf_pg_type_ok(__u8 t)
{
	return (t >= '0' && t <= '9') || (t >= 'A' && t <= 'Z') || (t >= 'a' && t <= 'z');
}

static __always_inline long wf_not_postgres(struct wf_frame_ctx *c, struct wf_stream *s)
{
	s->state = WF_STREAM_OPAQUE;
	s->body_left = 0;
	s->hdr_have = 0;
	wf_count(WF_CNT_NOT_POSTGRES);
	c->result = WF_FRAME_STOPPED;
	return 1;
}

static __always_inline long wf_lost_sync(struct wf_frame_ctx *c, struct wf_stream *s)
{
	s->state = WF_STREAM_DESYNC;
	wf_count(WF_CNT_FLOWS_DESYNC);
	c->result = WF_FRAME_STOPPED;
	return 1;
}

/* A complete untyped startup-phase header in h[]. */
static __always_inline long
wf_frame_startup(struct wf_frame_ctx *c, struct wf_stream *s, struct wf_stream *peer, const __u8 *h)
{
	__u32 len = wf_be32(h), code = wf_be32(h + 4);

	s->cur_type = 0;
	s->msg_len = len;
	s->scan_gen = 0;	/* onX() never looks at startup packets */
	if (len < WF_PG_UNTYPED_HDR_LEN || len > WF_PG_STARTUP_MAX_LEN)
		return wf_not_postgres(c, s);
	if (code == WF_PG_SSL_REQUEST || code == WF_PG_GSSENC_REQUEST) {
		if (len != WF_PG_UNTYPED_HDR_LEN)
			return wf_not_postgres(c, s);
		/* Only a server stream we follow from its SYN-ACK can expect it. */
		if (peer->state == WF_STREAM_TYPED && !peer->body_left && !peer->hdr_have)
			peer->state = WF_STREAM_ONE_BYTE;
	} else if ((code >> 16) == (WF_PG_PROTOCOL_3_0 >> 16)) {
		s->state = WF_STREAM_TYPED;	/* protocol 3.x StartupMessage */
	} else if (code == WF_PG_CANCEL_REQUEST) {
		if (len < 16)
			return wf_not_postgres(c, s);
		s->state = WF_STREAM_OPAQUE;	/* its key is skipped as the body */
	} else {
		return wf_not_postgres(c, s);
	}
	s->body_left = len - WF_PG_UNTYPED_HDR_LEN;
	c->messages++;
	s->messages++;
	return 0;
}

static __always_inline long
wf_frame_typed(struct wf_frame_ctx *c, struct wf_stream *s, const __u8 *h)
{
	__u32 len = wf_be32(h + 1);

	if (!wf_pg_type_ok(h[0]) || len < WF_PG_TYPED_MIN_LEN || len > WF_PG_TYPED_MAX_LEN)
		return wf_not_postgres(c, s);
	s->cur_type = h[0];
	s->msg_len = len;
	s->body_left = len - WF_PG_TYPED_MIN_LEN;
	c->messages++;
	s->messages++;
	wf_match_begin(&c->m, s);
	return 0;
}

/* Loads 1..8 bytes (n) at skb offset off into buf. */
static __always_inline long wf_load_small(struct __sk_buff *skb, __u32 off, __u8 *buf, __u32 n)
{
	__u32 m = n - 1;

	asm volatile("" : "+r"(m));
	m &= WF_PG_HDR_MAX - 1;
	return bpf_skb_load_bytes(skb, off, buf, m + 1);
}

/* Skips what the chunk holds of the current message's body. */
static __always_inline void wf_skip_body(struct wf_frame_ctx *c, struct wf_stream *s)
{
	__u32 avail = c->end - c->off, n;

	if (!s->body_left || c->off >= c->end)
		return;
	n = s->body_left < avail ? s->body_left : avail;
	s->body_left -= n;
	c->off += n;
}

/*
 * Takes (part of) the current message's body: skipped, or read 64 bytes at
 * a time while onX() conditions are still undecided (field_match.h).  The
 * message is decided by the step after its last byte (or at the end of the
 * chunk): one call site each, which keeps the verifier's work small.
 */
static __always_inline void wf_consume_body(struct wf_frame_ctx *c, struct wf_stream *s)
{
	if (s->body_left && c->off < c->end) {
		if (wf_match_wants_body(&c->m, s)) {
			__u32 n = c->end - c->off;
			int decided;

			if (n > s->body_left)
				n = s->body_left;
			if (n > WF_DFA_PIECE)
				n = WF_DFA_PIECE;
			decided = wf_match_piece(c->skb, s, c->m.v.pipe, c->m.v.pool, c->off << 8 | n);
			if (decided < 0) {
				wf_count(WF_CNT_ERRORS);
				s->scan_todo = 0;	/* undecided: no match */
			} else if (decided && c->m.carried) {
				wf_count(WF_CNT_PIPE_SPLIT_DECIDED);
			}
			s->body_left -= n;
			c->off += n;
		} else {
			wf_skip_body(c, s);
		}
	}
}

static __always_inline long wf_frame_step_body(struct wf_frame_ctx *c)
{
	struct wf_flow *f = c->flow;
	struct wf_stream *s = &f->dir[c->dir & 1];
	struct wf_stream *peer = &f->dir[(c->dir ^ 1) & 1];
	__u8 h[WF_PG_HDR_MAX], in[WF_PG_HDR_MAX] = {};
	__u32 avail, hlen, have, n, k;
	__u64 hv;

	if (c->off >= c->end)
		return 1;
	avail = c->end - c->off;

	if (s->body_left) {
		wf_consume_body(c, s);
		return 0;
	}
	if (s->scan_gen && !s->hdr_have)	/* the previous message is complete */
		wf_match_complete(&c->m.v, c->m.dir, s, &c->m.hits);

	switch (s->state) {
	case WF_STREAM_TYPED:
		hlen = WF_PG_TYPED_HDR_LEN;
		break;
	case WF_STREAM_STARTUP:
		hlen = WF_PG_UNTYPED_HDR_LEN;
		break;
	case WF_STREAM_ONE_BYTE:
		hlen = 1;
		break;
	default:
		/* CancelRequest, SSL 'S': nothing is framed after it */
		c->result = WF_FRAME_STOPPED;
		return 1;
	}

	have = s->hdr_have;
	if (have >= hlen)	/* cannot happen; do not trust the state then */
		return wf_lost_sync(c, s);
	n = hlen - have;
	if (n > avail)
		n = avail;
	if (wf_load_small(c->skb, c->off, in, n)) {
		wf_count(WF_CNT_ERRORS);
		return wf_lost_sync(c, s);
	}

	if (hlen == 1) {
		__u8 b = in[0];

		if (b == 'E') {
			/* Old server: ErrorResponse instead of the answer byte. */
			s->state = WF_STREAM_TYPED;
			return 0;
		}
		c->off += 1;
		s->cur_type = b;
		s->msg_len = 0;
		s->scan_gen = 0;
		if (b == WF_PG_ANSWER_NO) {
			s->state = WF_STREAM_TYPED;
		} else if (b == WF_PG_ANSWER_SSL_YES || b == WF_PG_ANSWER_GSS_YES) {
			s->state = WF_STREAM_OPAQUE;	/* TLS / GSS from here, both ways */
			peer->state = WF_STREAM_OPAQUE;
		} else {
			return wf_not_postgres(c, s);
		}
		c->messages++;
		s->messages++;
		return 0;
	}

	/*
	 * Assemble the header: bytes carried from earlier segments, then ours.
	 * Byte i lives in bits 8*i of hv (a variable index into a stack array
	 * would be turned by clang into pointer arithmetic the verifier refuses).
	 */
	__builtin_memcpy(&hv, s->hdr, WF_PG_HDR_MAX);
	hv &= (1ull << (8 * (have & 7))) - 1;
	for (k = 0; k < WF_PG_HDR_MAX; k++) {
		if (k >= n)
			break;
		hv |= (__u64)in[k] << (8 * ((have + k) & 7));
	}
	c->off += n;
	if (have + n < hlen) {	/* the header continues in the next segment */
		__builtin_memcpy(s->hdr, &hv, WF_PG_HDR_MAX);
		s->hdr_have = have + n;
		return 0;
	}
	__builtin_memcpy(h, &hv, WF_PG_HDR_MAX);
	s->hdr_have = 0;
	if (hlen == WF_PG_UNTYPED_HDR_LEN ? wf_frame_startup(c, s, peer, h) : wf_frame_typed(c, s, h))
		return 1;
	return 0;	/* the body (and the message's decision) in the next steps */
}

static long wf_frame_step(__u32 i, void *data)
{
	return wf_frame_step_body(data);
}

/*
 * Frames `len` new bytes at skb offset `off` of direction `dir`, whose state
 * is a framing one, matching onX() conditions of the pipeline in *v; *hits
 * receives the onX filters satisfied by messages completed in the chunk.
 * Returns enum wf_frame_result.
 */
static __always_inline __u32
wf_frame_chunk(struct __sk_buff *skb, struct wf_flow *f, __u8 dir, __u32 off, __u32 len,
	       const struct wf_pipe_view *v, __u16 *hits)
{
	struct wf_stream *st = &f->dir[dir & 1];
	struct wf_frame_ctx c = {
		.skb = skb,
		.flow = f,
		.dir = dir,
		.off = off,
		.end = off + len,
		.m = {
			.v = *v,
			.dir = dir,
			.carried = st->body_left || st->hdr_have,
		},
	};
	__u32 loops = len + 2;	/* each step consumes a byte, but one */

	if (loops > (1u << 23))	/* bpf_loop's own limit */
		loops = 1u << 23;
	bpf_loop(loops, wf_frame_step, &c, 0);
	if (c.messages)
		wf_count_n(WF_CNT_MESSAGES, c.messages);
	*hits = c.m.hits;
	if (!st->body_left && !st->hdr_have)	/* a message completed by the last bytes */
		wf_match_complete(v, dir, st, hits);
	if (c.result == WF_FRAME_ALL && c.off < c.end) {
		/* ran out of iterations: never frame on a guess */
		if (wf_stream_framing(st->state)) {
			st->state = WF_STREAM_DESYNC;
			wf_count(WF_CNT_FLOWS_DESYNC);
		}
		c.result = WF_FRAME_STOPPED;
	}
	return c.result;
}

#endif /* WF_BPF_PG_FRAMER_H */
