/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Holding a chunk for cancel(pid), connect_delay(ms), delay(ms) and a port's
 * stall, and keeping its direction quiet until the loader releases it (include/wf_hold.h has the
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
 * Tells the loader (seq, dir: the segment an UNREACHABLE event is about;
 * action, arg: what the event asks for); a lost event is counted (a hold
 * then ends when the loader's periodic sweep finds the slot).
 */
static __always_inline void wf_event_emit(__u32 kind, __u32 slot, __u32 gen, __u32 pipe_gen,
					  __u8 action, __s64 arg, const struct wf_flow_key *key,
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
	ev->pipe_gen = pipe_gen;
	ev->action = action;
	ev->pad = 0;
	ev->action_arg = arg;
	ev->ns = bpf_ktime_get_ns();
	ev->key = *key;
	ev->seq = seq;
	ev->dir = dir;
	ev->pad2[0] = ev->pad2[1] = ev->pad2[2] = 0;
	bpf_ringbuf_submit(ev, 0);
}

/* An event about a segment, for the pipeline's action. */
static __always_inline void wf_event_send_seg(__u32 kind, __u32 slot, __u32 gen,
					      const struct wf_pipe_view *v, const struct wf_flow_key *key,
					      __u32 seq, __u8 dir)
{
	wf_event_emit(kind, slot, gen, v->gen, v->pipe ? v->pipe->action : 0,
		      v->pipe ? v->pipe->action_arg : 0, key, seq, dir);
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

/* The port_stalls entry of the connection's port (include/wf_hold.h), if followed. */
static __always_inline struct wf_port_stall *wf_port_stall_of(const struct wf_config *cfg,
							      const struct wf_flow_key *key)
{
	int i = cfg ? wf_config_port_index(cfg, key->server_port) : -1;
	__u32 index = (__u32)i;

	return i < 0 ? NULL : bpf_map_lookup_elem(&port_stalls, &index);
}

/* The end of the port's cancel() or connect_delay() stall if it lasts at `now`, else 0. */
static __always_inline __u64 wf_port_stalled_until(const struct wf_config *cfg,
						   const struct wf_flow_key *key, __u64 now)
{
	struct wf_port_stall *s = wf_port_stall_of(cfg, key);
	__u64 until = s ? s->until_ns : 0;

	return until > now ? until : 0;
}

/*
 * A cancel() or connect_delay(ms) hold h takes its turn in the port's stall:
 * released its sleep (100 ms, ms) after the later of its arrival and the
 * stall's end, which moves there (fluent.py's sleeps follow one another).
 * Not inlined: wf_hold_chunk's frame stays within the 512-byte stack.
 */
static __noinline void wf_port_stall_extend(struct wf_hold *h, const struct wf_flow_key *key)
{
	__u64 ms = h->action == WF_PIPE_A_CANCEL ? WF_CANCEL_HOLD_MS
		   : h->action_arg > 0 ? (__u64)h->action_arg : 0;
	__u64 span = ms * 1000000ull, old, until;
	__u32 zero = 0;
	struct wf_port_stall *s = wf_port_stall_of(bpf_map_lookup_elem(&config, &zero), key);

	until = h->held_ns + span;
	/* another CPU may move the end meanwhile: a few tries, then its own span */
	for (int i = 0; s && i < 4; i++) {
		old = s->until_ns;
		until = (old > h->held_ns ? old : h->held_ns) + span;
		if (__sync_val_compare_and_swap(&s->until_ns, old, until) == old)
			break;
	}
	h->release_ns = until;
}

/*
 * Holds the chunk in hand: for the pipeline's action (cancel, connect_delay,
 * delay) or, if stall_until is set, until then behind the port's stall.
 * True if it is held (the caller cuts the packet to its ACK), false if every
 * slot was busy (it passes).  Not inlined: the slot search and copy get a
 * stack frame of their own, and the cut is left to the caller so that no
 * three frames (this one's, the packet's, the cut's) stand on each other.
 */
static __noinline bool wf_hold_chunk(struct __sk_buff *skb, struct wf_flow *f,
				    const struct wf_pkt *p, const struct wf_chunk *ch, __u64 stall_until)
{
	__u32 slot = wf_hold_claim(), dir = p->dir & 1, pipe_gen = ch->v.gen, seq = ch->seq;
	const struct wf_pipeline *pipe = ch->v.pipe;
	struct wf_hold *h;

	h = slot < WF_HOLD_SLOTS ? bpf_map_lookup_elem(&holds, &slot) : NULL;
	if (!h) {
		/* Every slot busy: the chunk goes through now (fail open);
		 * the loader still signals a cancel's pid. */
		wf_count(WF_CNT_HOLD_NO_SLOT);
		if (!stall_until)
			wf_event_send(WF_EVENT_HOLD, WF_HOLD_SLOTS, 0, &ch->v, &p->key);
		return false;
	}
	h->held_ns = bpf_ktime_get_ns();
	h->key = p->key;
	h->dir = dir;
	h->release_ns = stall_until;
	if (stall_until) {
		h->action = WF_PIPE_A_STALL;
		h->action_arg = 0;
		wf_count(WF_CNT_STALL_HOLDS);
	} else {
		h->action = pipe ? pipe->action : 0;
		h->action_arg = pipe ? pipe->action_arg : 0;
	}
	if (pipe && h->action == WF_PIPE_A_DELAY && pipe->action_jitter)
		h->action_arg = wf_jittered_ms(pipe->action_arg, pipe->action_jitter,
					       wf_draw(pipe->seed, f->ident, dir, ch->message,
						       WF_DRAW_SALT_JITTER));
	if (h->action == WF_PIPE_A_CONNECT_DELAY || h->action == WF_PIPE_A_CANCEL)
		wf_port_stall_extend(h, &p->key);
	h->seq = seq;
	h->len = ch->len;
	h->ifindex = skb->ifindex;
	h->pipe_gen = pipe_gen;
	wf_hold_copy(skb, h);
	h->l4_off = WF_ETH_HLEN + (p->key.family == WF_FAMILY_IPV4 ? (h->frame[WF_ETH_HLEN] & 0xf) * 4
								   : WF_IPV6_HLEN);
	if (!h->copied_whole)
		wf_count(WF_CNT_HOLD_HEADERS_ONLY);
	f->hold_gen[dir] = h->gen;
	f->hold_slot[dir] = slot + 1;
	__sync_lock_test_and_set(&h->state, WF_HOLD_HELD);
	wf_count(WF_CNT_VERDICT_HOLD);
	/* the hold's own action and argument: a stalled chunk's pipeline may
	 * be a cancel()'s that did not match it */
	wf_event_emit(WF_EVENT_HOLD, slot, h->gen, pipe_gen, h->action, h->action_arg, &p->key, 0, 0);
	return true;
}

/* Holds the chunk (wf_hold_chunk): the tcx verdict for its packet. */
static __always_inline int wf_hold(struct __sk_buff *skb, struct wf_flow *f, const struct wf_pkt *p,
				   const struct wf_chunk *ch, __u64 stall_until)
{
	return wf_hold_chunk(skb, f, p, ch, stall_until) ? wf_cut_to_ack(skb, p, ch->seq) : TCX_NEXT;
}

/*
 * A chunk about to pass untouched: held instead while its port's
 * cancel() or connect_delay() stall lasts (include/wf_hold.h); a
 * retransmission (no new bytes) passes.
 */
static __always_inline int wf_pass_or_stall(struct __sk_buff *skb, const struct wf_config *cfg,
					    struct wf_flow *f, const struct wf_pkt *p,
					    const struct wf_chunk *ch)
{
	__u64 until = ch->len ? wf_port_stalled_until(cfg, &p->key, bpf_ktime_get_ns()) : 0;

	return until ? wf_hold(skb, f, p, ch, until) : TCX_NEXT;
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
