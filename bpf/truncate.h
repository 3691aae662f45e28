/* SPDX-License-Identifier: GPL-2.0 */
/*
 * truncate(n): a connection dying mid-fetch.  A proxy that forwards only the
 * first n bytes it reads from the matching chunk on and then closes both of
 * its sockets: the receiver gets those bytes and EOF (say in the middle of
 * a large DataRow), the sender EOF.
 *
 * When the pipeline fires, the chunk's direction gets a mark: trunc_end =
 * the chunk's first new byte + n (include/wf_flow.h).  From then on the
 * direction's data segments go by the mark, not by the pipeline:
 *   - a segment wholly before the mark is delivered: a chunk of n bytes or
 *     fewer passes whole, and so do the direction's later segments up to
 *     the mark, whatever response they belong to;
 *   - the segment that crosses the mark, or starts at it, is cut there: its
 *     bytes before the mark (with any retransmitted prefix it carries) and
 *     a FIN right after them go to the receiver, a FIN acknowledging the
 *     whole segment goes back to the sender, and the connection is killed
 *     as by kill() (verdict.h: its later packets are dropped, those with
 *     data or a FIN answered with a RST).  truncate(0) is kill().
 * Two limits shape the cut:
 *   - the FIN after the cut must reach a receiver that has every byte
 *     before it, or it waits in the receiver's out-of-order queue for bytes
 *     that never come.  trunc_have is how far the receiver has, or is sure
 *     to get, every byte: moved on by the segments delivered here and by
 *     the receiver's ACKs.  A segment across the mark that starts after it
 *     is dropped (TRUNCATE_HELD_BACK) until the sender's retransmission
 *     closes the gap;
 *   - one cut keeps at most wf_trim_frame_max bytes of frame (tcp_trim.h),
 *     and segments on lo reach 512 KiB: when more must be kept, the first
 *     part goes on without a FIN (TRUNCATE_PARTIAL) and the sender, its
 *     rest unacknowledged, retransmits that when its timers fire (a loss
 *     probe, then the RTO sock_ops lowered to 10 ms), to be cut in turn:
 *     measured, a 600 KB fetch cut 300001 bytes in took 139-249 ms instead
 *     of 31 ms (docs/commands.md).
 * The chunk that set the mark and the chunk the mark falls in get a
 * verdict record each, with the number of their bytes that were delivered.
 * Two CPUs racing on one direction (stream.h) can reorder the cut, as they
 * can a kill().
 */
#ifndef WF_BPF_TRUNCATE_H
#define WF_BPF_TRUNCATE_H

#include "counters.h"
#include "packet.h"
#include "pipeline.h"
#include "recorder.h"
#include "tcp_inject.h"
#include "tcp_trim.h"
#include "verdict.h"

static __always_inline __u32 wf_trunc_flag(__u32 dir)
{
	return WF_FLOW_TRUNCATE_FRONTEND << (dir & 1);
}

/*
 * Every packet: when the other direction is marked, what the packet's ACK
 * tells of that direction's receiver.  A global function called on every
 * path: a branch here, inlined, splits every later state of the program in
 * two for the verifier (measured: +43% of its verified instructions).
 */
__noinline int wf_trunc_acked(struct wf_flow *f, const struct wf_pkt *p)
{
	__u32 d, ack;

	if (!f || !p)
		return 0;
	d = (p->dir & 1) ^ 1;
	ack = p->ack_seq;
	if (!(f->flags & wf_trunc_flag(d)) || !(p->tcp_flags & WF_TCP_ACK))
		return 0;
	if ((__s32)(ack - f->trunc_have[d]) > 0 && (__s32)(ack - f->trunc_end[d]) <= 0)
		f->trunc_have[d] = ack;
	return 0;
}

/*
 * The truncate(n) of the pipeline of generation `gen`: n, or -1 if that
 * pipeline is gone (its slot is rewritten only 50 ms after it stopped
 * being current, include/wf_pipeline.h: not while a packet evaluated with
 * it is under way).
 */
static __always_inline __s64 wf_trunc_arg(__u32 gen)
{
	__u32 slot;

	for (slot = 0; slot < WF_PIPE_SLOTS; slot++) {
		__u32 k = slot;
		const struct wf_pipeline *pipe = bpf_map_lookup_elem(&pipelines, &k);

		if (pipe && pipe->generation == gen && pipe->action == WF_PIPE_A_TRUNCATE)
			return pipe->action_arg;
	}
	return -1;
}

/* wf_truncate(): the connection ends with kill()'s FINs at trunc_have. */
#define WF_TRUNC_CLOSE	0x100

/*
 * A data segment of a direction truncate() marks now (the pipeline fired
 * on its chunk ch: the direction had no mark yet) or marked before:
 * returns the tcx verdict, or WF_TRUNC_CLOSE for the caller to call
 * wf_close_both() (from here, its stack frame and this one would not fit
 * the program's 512 bytes together).  p's FIN flag is cleared when the
 * packet no longer delivers its FIN.
 *
 * A global function, verified once on its own rather than once per path of
 * the program that reaches it, and the mark is set here rather than by the
 * caller: measured, setting it inline made the verifier follow 44% more
 * instructions.  Pointer arguments may be NULL as far as the verifier
 * knows, hence the checks; ch's pipeline is found again by its generation
 * (a pointer read from the caller's struct is a mere number here).
 */
__noinline int wf_truncate(struct __sk_buff *skb, struct wf_flow *f, struct wf_pkt *p,
			   const struct wf_chunk *ch)
{
	__u32 d, s, e, end, have, keep, cut, fired, zero = 0;
	const struct wf_config *cfg;
	struct wf_tcp_ctl *ctl;
	__s64 n;

	if (!f || !p || !ch)
		return TCX_NEXT;
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return TCX_NEXT;
	d = p->dir & 1;
	fired = !(f->flags & wf_trunc_flag(d));
	if (fired) {
		n = wf_trunc_arg(ch->v.gen);
		if (n < 0) {	/* cannot happen (see wf_trunc_arg()): fail open */
			wf_count(WF_CNT_ERRORS);
			return TCX_NEXT;
		}
		f->trunc_end[d] = ch->seq + (__u32)n;
		f->trunc_have[d] = ch->seq;
		f->trunc_gen[d] = ch->v.gen;
		__sync_fetch_and_or(&f->flags, wf_trunc_flag(d));
		wf_count(WF_CNT_VERDICT_TRUNCATE);
	}
	end = f->trunc_end[d];
	if (fired || (ch->len && (__s32)(end - ch->seq) >= 0 && (__s32)(end - ch->seq - ch->len) < 0))
		wf_record_verdict(cfg, f, &p->key, d, ch->seq, ch->len, WF_PIPE_A_TRUNCATE,
				  f->trunc_gen[d],
				  (__s32)(end - ch->seq - ch->len) < 0 ? end - ch->seq : ch->len);

	s = p->seq;
	e = s + p->payload_len;
	have = f->trunc_have[d];
	if ((__s32)(e - end) <= 0) {
		/* nothing after the mark */
		if ((__s32)(s - have) <= 0 && (__s32)(e - have) > 0)
			f->trunc_have[d] = e;
		return TCX_NEXT;
	}
	if ((__s32)(s - have) > 0) {
		wf_count(WF_CNT_TRUNCATE_HELD_BACK);
		p->tcp_flags &= ~WF_TCP_FIN;
		return TCX_DROP;
	}
	if (have == end)	/* the receiver has every byte before the mark: just the FINs */
		goto close;

	ctl = wf_tcp_ctl_scratch();
	if (!ctl || wf_tcp_ctl_load(skb, p, ctl))
		goto fail;
	keep = end - s;
	cut = keep <= wf_trim_keep_max(p);
	if (!cut)
		keep = wf_trim_keep_max(p);
	if (wf_tcp_trim_data(skb, ctl, p->payload_off, keep, cut))
		goto fail;
	if (!cut) {
		/* the first part now, the rest when the sender retransmits it */
		if ((__s32)(p->seq + keep - f->trunc_have[d]) > 0)
			f->trunc_have[d] = p->seq + keep;
		p->tcp_flags &= ~WF_TCP_FIN;
		wf_count(WF_CNT_TRUNCATE_PARTIAL);
		return TCX_NEXT;
	}
	/* The bytes up to the mark and the FIN go to the receiver as a clone;
	 * what is left of the packet becomes the FIN back to the sender,
	 * acknowledging the whole segment as kill()'s does. */
	if (wf_tcp_ctl_send_back(skb))
		goto fail;
	wf_count(WF_CNT_TRUNCATE_CUTS);
	wf_flow_mark_killed(cfg, f, &p->key);
	if (wf_tcp_ctl_trim(skb, ctl) ||
	    wf_tcp_ctl_write(skb, ctl, WF_CTL_REVERSE | WF_TCP_FIN | WF_TCP_ACK, wf_peer_sent_end(f, p),
			     p->seq + p->payload_len + (p->tcp_flags & WF_TCP_FIN ? 1 : 0)) ||
	    wf_tcp_ctl_send_back(skb))
		wf_count(WF_CNT_INJECT_FAILED);
	return TCX_DROP;

fail:
	/* Not cut (the packet may be half rewritten): the connection ends
	 * where the receiver's bytes end, as a kill() there. */
	wf_count(WF_CNT_INJECT_FAILED);
close:
	wf_count(WF_CNT_TRUNCATE_CUTS);
	return WF_TRUNC_CLOSE;
}

#endif /* WF_BPF_TRUNCATE_H */
