/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Holding a chunk for cancel(pid) and connect_delay(ms), and keeping its
 * direction quiet until the loader releases it (include/wf_hold.h has the
 * protocol; DESIGN.md §7 "Holding precisely" the measurements).
 *
 * The held segment and, until the release, every data segment or FIN of
 * its direction are cut down to the bare ACK they carry, at the sequence
 * number of the first held byte: the receiver still learns what its peer
 * acknowledged (else the peer would retransmit its own last answer), and
 * the bytes come later, once, in order: the held ones from the loader's
 * copy, the ones behind them by the sender's retransmission.
 */
#ifndef WF_BPF_HOLD_H
#define WF_BPF_HOLD_H

#include "counters.h"
#include "maps.h"
#include "packet.h"
#include "pipeline.h"
#include "tcp_inject.h"
#include "wf_event.h"
#include "wf_hold.h"
#include "wf_random.h"

/*
 * Tells the loader (seq, dir: the segment an UNREACHABLE event is about); a
 * lost event is counted (a hold then ends when the loader's periodic sweep
 * finds the slot).
 */
static __always_inline void wf_event_send_seg(__u32 kind, __u32 slot, __u32 gen,
					      const struct wf_pipe_view *v, const struct wf_flow_key *key,
					      __u32 seq, __u8 dir)
{
	struct wf_event *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev) {
		wf_count(WF_CNT_EVENTS_LOST);
		return;
	}
	ev->kind = kind;
	ev->slot = slot;
	ev->gen = gen;
	ev->pipe_gen = v->gen;
	ev->action = v->pipe ? v->pipe->action : 0;
	ev->pad = 0;
	ev->action_arg = v->pipe ? v->pipe->action_arg : 0;
	ev->ns = bpf_ktime_get_ns();
	ev->key = *key;
	ev->seq = seq;
	ev->dir = dir;
	ev->pad2[0] = ev->pad2[1] = ev->pad2[2] = 0;
	bpf_ringbuf_submit(ev, 0);
}

/* An event about a connection as a whole (hold, killall). */
static __always_inline void wf_event_send(__u32 kind, __u32 slot, __u32 gen,
					  const struct wf_pipe_view *v, const struct wf_flow_key *key)
{
	wf_event_send_seg(kind, slot, gen, v, key, 0, 0);
}

/* Cuts the packet down to a bare ACK of its sender's at `seq`. */
static __always_inline int wf_cut_to_ack(struct __sk_buff *skb, const struct wf_pkt *p, __u32 seq)
{
	struct wf_tcp_ctl *ctl = wf_tcp_ctl_scratch();

	if (!ctl || wf_tcp_ctl_load(skb, p, ctl) || wf_tcp_ctl_trim(skb, ctl) ||
	    wf_tcp_ctl_write(skb, ctl, WF_TCP_ACK, seq, p->ack_seq)) {
		/* Without its ACK the packet is at least not delivered: the
		 * hold stands, the peer may retransmit once. */
		wf_count(WF_CNT_INJECT_FAILED);
		return TCX_DROP;
	}
	return TCX_NEXT;
}

/* Takes a free slot: its index, or WF_HOLD_SLOTS if all are busy. */
static __always_inline __u32 wf_hold_claim(void)
{
	__u32 i;

	for (i = 0; i < WF_HOLD_SLOTS; i++) {
		__u32 k = i;
		struct wf_hold *h = bpf_map_lookup_elem(&holds, &k);

		if (h && h->state == WF_HOLD_FREE &&
		    __sync_val_compare_and_swap(&h->state, WF_HOLD_FREE, WF_HOLD_FILLING) ==
			    WF_HOLD_FREE)
			return i;
	}
	return WF_HOLD_SLOTS;
}

/*
 * Copies the frame into the slot: all of it if it fits, else its first
 * WF_HOLD_HEADERS_MAX bytes (the loader then releases by ICMP).
 */
static __always_inline void wf_hold_copy(struct __sk_buff *skb, struct wf_hold *h)
{
	__u32 n = skb->len, m;

	h->copied_whole = n <= WF_HOLD_FRAME_MAX;
	if (!h->copied_whole)
		n = WF_HOLD_HEADERS_MAX;
	/* 1..WF_HOLD_FRAME_MAX, in a form the verifier can bound: clang
	 * would otherwise merge the range checks into one it cannot follow. */
	m = n - 1;
	asm volatile("" : "+r"(m));
	m &= WF_HOLD_FRAME_MAX - 1;
	if (bpf_skb_load_bytes(skb, 0, h->frame, m + 1)) {
		h->frame_len = 0;
		h->copied_whole = 0;
		return;
	}
	h->frame_len = m + 1;
}

/*
 * Holds the chunk in hand for the pipeline's action (cancel or
 * connect_delay): returns the tcx verdict for the packet.  Not inlined: the
 * slot search and copy get a stack frame of their own.
 */
static __noinline int wf_hold_chunk(struct __sk_buff *skb, struct wf_flow *f,
				    const struct wf_pkt *p, const struct wf_chunk *ch)
{
	__u32 slot = wf_hold_claim(), dir = p->dir & 1, pipe_gen = ch->v.gen, seq = ch->seq;
	const struct wf_pipeline *pipe = ch->v.pipe;
	struct wf_hold *h;

	h = slot < WF_HOLD_SLOTS ? bpf_map_lookup_elem(&holds, &slot) : NULL;
	if (!h) {
		/* Every slot busy: the chunk goes through now (fail open);
		 * the loader still signals a cancel's pid. */
		wf_count(WF_CNT_HOLD_NO_SLOT);
		wf_event_send(WF_EVENT_HOLD, WF_HOLD_SLOTS, 0, &ch->v, &p->key);
		return TCX_NEXT;
	}
	h->key = p->key;
	h->dir = dir;
	h->action = pipe ? pipe->action : 0;
	h->action_arg = pipe ? pipe->action_arg : 0;
	if (pipe && pipe->action == WF_PIPE_A_DELAY && pipe->action_jitter)
		h->action_arg = wf_jittered_ms(pipe->action_arg, pipe->action_jitter,
					       wf_draw(pipe->seed, f->ident, dir, ch->message,
						       WF_DRAW_SALT_JITTER));
	h->seq = seq;
	h->len = ch->len;
	h->ifindex = skb->ifindex;
	h->pipe_gen = pipe_gen;
	h->held_ns = bpf_ktime_get_ns();
	wf_hold_copy(skb, h);
	h->l4_off = WF_ETH_HLEN + (p->key.family == WF_FAMILY_IPV4 ? (h->frame[WF_ETH_HLEN] & 0xf) * 4
								   : WF_IPV6_HLEN);
	if (!h->copied_whole)
		wf_count(WF_CNT_HOLD_HEADERS_ONLY);
	f->hold_gen[dir] = h->gen;
	f->hold_slot[dir] = slot + 1;
	__sync_lock_test_and_set(&h->state, WF_HOLD_HELD);
	wf_count(WF_CNT_VERDICT_HOLD);
	wf_event_send(WF_EVENT_HOLD, slot, h->gen, &ch->v, &p->key);
	return wf_cut_to_ack(skb, p, seq);
}

/*
 * A data segment or FIN of a direction with a hold: *verdict and true while
 * the hold lasts; false once the loader has released it (the packet then
 * takes the ordinary path).
 */
static __noinline bool wf_hold_continues(struct __sk_buff *skb, struct wf_flow *f,
					 const struct wf_pkt *p, int *verdict)
{
	__u32 dir = p->dir & 1, slot = f->hold_slot[dir] - 1;
	struct wf_hold *h = bpf_map_lookup_elem(&holds, &slot);

	if (!h || h->gen != f->hold_gen[dir] || h->state == WF_HOLD_FREE) {
		f->hold_slot[dir] = 0;
		return false;
	}
	wf_count(WF_CNT_HOLD_SEGMENTS_CUT);
	*verdict = wf_cut_to_ack(skb, p, h->seq);
	return true;
}

#endif /* WF_BPF_HOLD_H */
