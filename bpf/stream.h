/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One direction of a connection: sequence bookkeeping, the per-direction
 * claim, framing, resynchronisation and recording of a segment's payload.
 *
 * Sequence rules (comparisons modulo 2^32, (__s32)(a - b)):
 *  - all bytes before next_seq: a retransmission, counted, neither framed
 *    nor recorded;
 *  - overlapping next_seq: only the new bytes are framed and recorded;
 *  - starting after next_seq (bytes missing before it): framing stops for
 *    the direction (DESYNC) and the segment is recorded unframed.
 *
 * Claim: on lo two CPUs can process consecutive segments of one direction at
 * once (the sender migrated).  The first to claim the direction (BUSY) owns
 * its state until it has framed *and recorded* its segment, so chunks of a
 * direction reach the ring in stream order; a segment meeting a busy
 * direction is recorded unframed and makes the direction DESYNC.
 *
 * Resync: when a server segment ends with ReadyForQuery ('Z', length 5,
 * status I/T/E), the server is idle and so, in the request/response flow
 * PostgreSQL clients use, is the client: both directions are at a message
 * boundary, and DESYNC or UNSYNCED directions are framed again from there.
 * A chunk framed after a resync starts at a message boundary.
 */
#ifndef WF_BPF_STREAM_H
#define WF_BPF_STREAM_H

#include "counters.h"
#include "maps.h"
#include "packet.h"
#include "pg_framer.h"
#include "pipeline.h"
#include "recorder.h"

/* Returns the previous claim bits: the caller owns the direction unless
 * they contain WF_STREAM_BUSY. */
static __always_inline __u32 wf_stream_claim(struct wf_stream *s)
{
	return __sync_fetch_and_or(&s->busy, WF_STREAM_BUSY);
}

static __always_inline void wf_stream_lose_sync(struct wf_stream *s)
{
	if (wf_stream_framing(s->state)) {
		s->state = WF_STREAM_DESYNC;
		wf_count(WF_CNT_FLOWS_DESYNC);
	}
}

static __always_inline void wf_stream_release(struct wf_stream *s)
{
	if (__sync_val_compare_and_swap(&s->busy, WF_STREAM_BUSY, 0) != WF_STREAM_BUSY) {
		/* raced while we held it: the racer's bytes were not framed */
		wf_stream_lose_sync(s);
		__sync_fetch_and_and(&s->busy, 0);
	}
}

static __always_inline void wf_stream_resync(struct wf_stream *s, __u8 cur_type, __u32 msg_len)
{
	s->state = WF_STREAM_TYPED;
	s->hdr_have = 0;
	s->body_left = 0;
	s->cur_type = cur_type;
	s->msg_len = msg_len;
	s->scan_gen = 0;
	wf_count(WF_CNT_FLOWS_RESYNC);
}

/* The chunk [off, off + len) ends with a complete ReadyForQuery. */
static __always_inline bool wf_ends_with_rfq(struct __sk_buff *skb, __u32 off, __u32 len)
{
	__u8 z[6];

	if (len < sizeof(z) || bpf_skb_load_bytes(skb, off + len - sizeof(z), z, sizeof(z)))
		return false;
	return z[0] == 'Z' && !z[1] && !z[2] && !z[3] && z[4] == 5 &&
	       (z[5] == 'I' || z[5] == 'T' || z[5] == 'E');
}

/* The server is idle: a client direction that lost framing resumes. */
static __always_inline void wf_resync_client(struct wf_flow *f)
{
	struct wf_stream *fe = &f->dir[WF_DIR_FRONTEND];
	__u32 old;

	if (fe->state != WF_STREAM_DESYNC && fe->state != WF_STREAM_UNSYNCED)
		return;
	old = wf_stream_claim(fe);
	if (old & WF_STREAM_BUSY)
		return;	/* the client is sending right now: not idle after all */
	if (!(old & WF_STREAM_RACED) &&
	    (fe->state == WF_STREAM_DESYNC || fe->state == WF_STREAM_UNSYNCED))
		wf_stream_resync(fe, 0, 0);
	wf_stream_release(fe);
}

static __always_inline __u8 wf_initial_flag(struct wf_flow *f)
{
	if (f->flags & WF_FLOW_INITIAL_SEEN)
		return 0;
	return __sync_fetch_and_or(&f->flags, WF_FLOW_INITIAL_SEEN) & WF_FLOW_INITIAL_SEEN ?
		0 : WF_REC_F_INITIAL;
}

/*
 * Everything about one segment's payload, with the direction claimed; *ch
 * receives what the pipeline evaluates (len 0 for a retransmission).
 */
static __always_inline void
wf_stream_owned(struct __sk_buff *skb, const struct wf_config *cfg, struct wf_flow *f,
		struct wf_pkt *p, struct wf_stream *s, __u32 seq, struct wf_chunk *ch)
{
	__u32 len = p->payload_len, skip = 0, newlen, off;
	bool rfq = false;
	__u8 state, rflags = 0;
	__s32 ahead;

	if (!(s->flags & WF_STREAM_F_SEQ_KNOWN)) {
		s->next_seq = seq;
		s->flags |= WF_STREAM_F_SEQ_KNOWN;
	}
	if ((__s32)(seq + len - s->next_seq) <= 0) {
		wf_count(WF_CNT_RETRANSMITS);
		return;
	}

	ahead = (__s32)(seq - s->next_seq);
	if (ahead > 0) {
		/* Bytes before this segment are missing (reordered, or lost
		 * before us): message boundaries are lost. */
		wf_stream_lose_sync(s);
		rflags |= WF_REC_F_UNFRAMED;
	} else {
		skip = (__u32)(-ahead);
	}
	newlen = len - skip;
	off = p->payload_off + skip;
	s->next_seq = seq + len;
	wf_count(WF_CNT_DATA_SEGMENTS);
	wf_count_n(WF_CNT_PAYLOAD_BYTES, newlen);

	ch->message = s->messages;
	ch->dir = p->dir;
	state = s->state;
	if (wf_stream_framing(state)) {
		if (wf_frame_chunk(skb, f, p->dir, off, newlen, &ch->v, &ch->hits) != WF_FRAME_ALL)
			rflags |= WF_REC_F_UNFRAMED;
		else if (p->dir == WF_DIR_BACKEND && s->cur_type == 'Z' && !s->body_left &&
			 !s->hdr_have)
			rfq = true;	/* the chunk ended with a framed ReadyForQuery */
	} else {
		if (state == WF_STREAM_UNSYNCED)
			wf_count(WF_CNT_FLOWS_UNSYNCED);
		else if (state == WF_STREAM_OPAQUE)
			wf_count(WF_CNT_FLOWS_OPAQUE);
		rflags |= WF_REC_F_UNFRAMED;
		if (p->dir == WF_DIR_BACKEND &&
		    (state == WF_STREAM_DESYNC || state == WF_STREAM_UNSYNCED) &&
		    wf_ends_with_rfq(skb, off, newlen)) {
			wf_stream_resync(s, 'Z', 5);
			rfq = true;
		}
	}

	rflags |= wf_initial_flag(f);
	if (cfg->flags & WF_CFG_RECORD)
		wf_record_chunk(skb, f, &p->key, p->dir, seq + skip, off, newlen, rflags);
	if (rfq)
		wf_resync_client(f);
	ch->off = off;
	ch->len = newlen;
	ch->seq = seq + skip;
	ch->initial = !!(rflags & WF_REC_F_INITIAL);
}

/* New payload of one segment (not an RST); *ch as for wf_stream_owned(),
 * ch->v set by the caller. */
static __always_inline void
wf_stream_data(struct __sk_buff *skb, const struct wf_config *cfg, struct wf_flow *f,
	       struct wf_pkt *p, struct wf_chunk *ch)
{
	struct wf_stream *s = &f->dir[p->dir & 1];
	__u32 seq = p->seq, old;

	if (p->tcp_flags & WF_TCP_SYN)	/* data on a SYN (TCP Fast Open) follows the ISN */
		seq += 1;

	old = wf_stream_claim(s);
	if (old & WF_STREAM_BUSY) {
		/* Another CPU is inside this direction: we cannot know where
		 * these bytes stand.  Pass them on to the recorder as they are. */
		__u8 initial = wf_initial_flag(f);

		__sync_fetch_and_or(&s->busy, WF_STREAM_RACED);
		wf_count(WF_CNT_RACED_SEGMENTS);
		if (cfg->flags & WF_CFG_RECORD)
			wf_record_chunk(skb, f, &p->key, p->dir, seq, p->payload_off, p->payload_len,
					WF_REC_F_UNFRAMED | initial);
		/* unframed: onX() cannot pass, the other filters can */
		ch->message = s->messages;
		ch->dir = p->dir;
		ch->off = p->payload_off;
		ch->len = p->payload_len;
		ch->seq = seq;
		ch->initial = !!initial;
		return;
	}
	if (old & WF_STREAM_RACED)	/* a racer came after the last owner left */
		wf_stream_lose_sync(s);
	wf_stream_owned(skb, cfg, f, p, s, seq, ch);
	wf_stream_release(s);
}

#endif /* WF_BPF_STREAM_H */
