/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The recorder: copies each chunk's new payload into the ring buffer as
 * pieces of at most WF_REC_PIECE_MAX bytes (include/wf_record.h), and
 * reports the end of a connection with one WF_REC_CLOSE record.
 *
 * Wake-ups: userspace consumes the ring on a short timer, so pieces are
 * written with BPF_RB_NO_WAKEUP; once the ring is more than a quarter full
 * every piece forces a wake-up so that a burst cannot fill it unseen.
 * Every loss (ring full, CPU without scratch slot, failed copy) is counted in
 * REC_LOST_PIECES/REC_LOST_BYTES and flags the chunk's later pieces
 * WF_REC_F_TRUNCATED.
 */
#ifndef WF_BPF_RECORDER_H
#define WF_BPF_RECORDER_H

#include "counters.h"
#include "maps.h"

/*
 * Largest piece, a load-time knob: the loader keeps WF_REC_PIECE_MAX; the
 * BPF tests lower it to exercise multi-piece chunks and truncation, which
 * BPF_PROG_TEST_RUN's one-page packets cannot reach otherwise.
 */
const volatile __u32 wf_rec_piece_max = WF_REC_PIECE_MAX;

static __always_inline __u32 wf_piece_max(void)
{
	__u32 pm = wf_rec_piece_max;

	return pm && pm <= WF_REC_PIECE_MAX ? pm : WF_REC_PIECE_MAX;
}

static __always_inline __u64 wf_ring_wakeup_flags(void)
{
	__u64 avail = bpf_ringbuf_query(&records, BPF_RB_AVAIL_DATA);
	__u64 size = bpf_ringbuf_query(&records, BPF_RB_RING_SIZE);

	return avail > size / 4 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

struct wf_rec_ctx {
	struct __sk_buff *skb;
	struct wf_rec_slot *slot;
	__u32 skb_off;		/* skb offset of the chunk's first byte */
	__u32 len;		/* chunk length */
	__u32 done;		/* bytes handled so far */
	__u8 flags;		/* record flags of the next piece */
};

static long wf_record_piece(__u32 i, void *data)
{
	struct wf_rec_ctx *c = data;
	struct wf_rec_slot *slot = c->slot;
	__u32 n, m;

	if (c->done >= c->len)
		return 1;
	n = c->len - c->done;
	if (n > wf_piece_max())
		n = wf_piece_max();
	/* n is 1..WF_REC_PIECE_MAX; say so in a form the verifier keeps (clang
	 * would fold a range check into one unsigned compare it cannot use). */
	m = n - 1;
	asm volatile("" : "+r"(m));
	m &= WF_REC_PIECE_MAX - 1;

	slot->hdr.ts_ns = bpf_ktime_get_ns();
	slot->hdr.offset = c->done;
	slot->hdr.len = m + 1;
	slot->hdr.flags = c->flags;
	if (bpf_skb_load_bytes(c->skb, c->skb_off + c->done, slot->data, m + 1)) {
		wf_count(WF_CNT_ERRORS);
		goto lost;
	}
	if (bpf_ringbuf_output(&records, slot, sizeof(slot->hdr) + m + 1, wf_ring_wakeup_flags()))
		goto lost;
	wf_count(WF_CNT_REC_PIECES);
	wf_count_n(WF_CNT_REC_BYTES, m + 1);
	c->done += m + 1;
	return 0;
lost:
	wf_count(WF_CNT_REC_LOST_PIECES);
	wf_count_n(WF_CNT_REC_LOST_BYTES, m + 1);
	c->flags |= WF_REC_F_TRUNCATED;
	c->done += m + 1;
	return 0;
}

/* Records `len` payload bytes at skb offset `skb_off` (TCP seq `seq`). */
static __always_inline void
wf_record_chunk(struct __sk_buff *skb, const struct wf_flow *f, const struct wf_flow_key *key,
		__u8 dir, __u32 seq, __u32 skb_off, __u32 len, __u8 flags)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct wf_rec_ctx c = {
		.skb = skb,
		.skb_off = skb_off,
		.len = len,
		.flags = flags,
	};
	__u32 pm = wf_piece_max();
	__u32 pieces = (len + pm - 1) / pm;

	if (!len)
		return;
	c.slot = bpf_map_lookup_elem(&rec_scratch, &cpu);
	if (!c.slot) {	/* the loader sized rec_scratch for fewer CPUs */
		wf_count(WF_CNT_ERRORS);
		wf_count_n(WF_CNT_REC_LOST_PIECES, pieces);
		wf_count_n(WF_CNT_REC_LOST_BYTES, len);
		return;
	}
	if (pieces > WF_REC_PIECES_MAX) {
		__u32 kept = WF_REC_PIECES_MAX * pm;

		wf_count_n(WF_CNT_REC_LOST_PIECES, pieces - WF_REC_PIECES_MAX);
		wf_count_n(WF_CNT_REC_LOST_BYTES, len - kept);
		c.flags |= WF_REC_F_TRUNCATED;
		c.len = kept;
		pieces = WF_REC_PIECES_MAX;
	}

	c.slot->hdr.conn_id = f->conn_id;
	c.slot->hdr.flow = *key;
	c.slot->hdr.seq = seq;
	c.slot->hdr.chunk_len = len;
	c.slot->hdr.kind = WF_REC_CHUNK;
	c.slot->hdr.dir = dir;
	c.slot->hdr.action = 0;
	c.slot->hdr.pipe_gen = 0;
	bpf_loop(pieces, wf_record_piece, &c, 0);
}

/* One WF_REC_CLOSE per connection, and only for connections the recorder
 * was told about (a chunk went by). */
static __always_inline void
wf_record_close(const struct wf_config *cfg, struct wf_flow *f, const struct wf_flow_key *key)
{
	struct wf_record r = {};
	__u32 old;

	if (!(cfg->flags & WF_CFG_RECORD) || !(f->flags & WF_FLOW_INITIAL_SEEN) ||
	    (f->flags & WF_FLOW_CLOSE_REPORTED))
		return;
	old = __sync_fetch_and_or(&f->flags, WF_FLOW_CLOSE_REPORTED);
	if (old & WF_FLOW_CLOSE_REPORTED)
		return;	/* the other direction's CPU won */
	r.ts_ns = bpf_ktime_get_ns();
	r.conn_id = f->conn_id;
	r.flow = *key;
	r.kind = WF_REC_CLOSE;
	if (bpf_ringbuf_output(&records, &r, sizeof(r), wf_ring_wakeup_flags())) {
		wf_count(WF_CNT_REC_LOST_PIECES);
		return;
	}
	wf_count(WF_CNT_REC_CLOSES);
}

/*
 * What the pipeline did to the chunk just recorded (never called for
 * allow): the loader's recorder, dump --json, watch and the pcap writer show
 * it next to the chunk.  `delivered`: for truncate(), the chunk's bytes its
 * receiver gets (0 for the other actions).  Built in this CPU's scratch
 * slot, which the chunk's pieces are done with, because the stack is
 * spoken for.
 */
static __always_inline void
wf_record_verdict(const struct wf_config *cfg, const struct wf_flow *f, const struct wf_flow_key *key,
		  __u8 dir, __u32 seq, __u32 len, __u8 action, __u32 pipe_gen, __u32 delivered)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct wf_rec_slot *slot;

	if (!(cfg->flags & WF_CFG_RECORD))
		return;
	slot = bpf_map_lookup_elem(&rec_scratch, &cpu);
	if (!slot) {
		wf_count(WF_CNT_REC_LOST_PIECES);
		return;
	}
	slot->hdr.ts_ns = bpf_ktime_get_ns();
	slot->hdr.conn_id = f->conn_id;
	slot->hdr.flow = *key;
	slot->hdr.seq = seq;
	slot->hdr.chunk_len = len;
	slot->hdr.offset = delivered;
	slot->hdr.len = 0;
	slot->hdr.kind = WF_REC_VERDICT;
	slot->hdr.dir = dir;
	slot->hdr.flags = 0;
	slot->hdr.action = action;
	slot->hdr.pipe_gen = pipe_gen;
	if (bpf_ringbuf_output(&records, &slot->hdr, sizeof(slot->hdr), wf_ring_wakeup_flags()))
		wf_count(WF_CNT_REC_LOST_PIECES);
	else
		wf_count(WF_CNT_REC_VERDICTS);
}

#endif /* WF_BPF_RECORDER_H */
