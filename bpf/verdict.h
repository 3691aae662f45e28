/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Carrying out a chunk's verdict, and the fate of a killed connection.
 *
 * kill(): the proxy fluent.py drives reads the chunk, does not forward it,
 * and closes both of its sockets: each peer reads EOF.  Here the segment
 * itself becomes the FIN toward its receiver (its payload cut off, at the
 * sequence number of its first new byte), and a FIN back to its sender is
 * cloned from it, acknowledging the chunk as the proxy's socket would have
 * (so the sender never retransmits it).  The connection is marked killed.
 *
 * reset(): the same with RSTs, as a proxy that closes both sockets with
 * SO_LINGER {1, 0} (what fluent.py's reset() means to do): each peer reads
 * ECONNRESET, the server logs "Connection reset by peer".
 *
 * Killed connections: the peers answer our FINs and later close their own
 * sockets.  Every later packet is dropped; one carrying data or a FIN is
 * answered with a RST to its sender, as a closed socket answers, so that no
 * socket lingers in LAST-ACK (DESIGN.md §7); bare ACKs are dropped quietly.
 */
#ifndef WF_BPF_VERDICT_H
#define WF_BPF_VERDICT_H

#include "counters.h"
#include "packet.h"
#include "pipeline.h"
#include "recorder.h"
#include "tcp_inject.h"

static __noinline void wf_flow_mark_killed(const struct wf_config *cfg, struct wf_flow *f,
						const struct wf_flow_key *key)
{
	__sync_fetch_and_or(&f->flags, WF_FLOW_KILLED);
	wf_record_close(cfg, f, key);
}

/*
 * Where the control segment back to the packet's sender goes: after every
 * byte its peer has sent it, which is the packet's ack unless the peer's
 * data was in flight when the packet left (a NOTICE crossing a Query): then
 * the peer's direction, which this program saw pass, knows better.  Not
 * while that direction has a chunk on hold: those bytes are not delivered.
 */
static __always_inline __u32 wf_peer_sent_end(const struct wf_flow *f, const struct wf_pkt *p)
{
	__u32 peer = (p->dir & 1) ^ 1;
	const struct wf_stream *s = &f->dir[peer];
	__u32 end = p->ack_seq;

	if ((s->flags & WF_STREAM_F_SEQ_KNOWN) && !f->hold_slot[peer] &&
	    (__s32)(s->next_seq - end) > 0)
		end = s->next_seq;
	return end;
}

/* With wf_close_both()'s flag: the caller counts the verdict (truncate()). */
#define WF_CLOSE_UNCOUNTED	0x200

/*
 * kill() (WF_TCP_FIN) or reset() (WF_TCP_RST) of the segment in hand, whose
 * first undelivered byte is `seq`: returns the tcx verdict for the packet,
 * counted as VERDICT_RESET or VERDICT_KILL unless flag has
 * WF_CLOSE_UNCOUNTED.  Counted here, not by the callers: a count at each
 * call site would double the paths the verifier follows through this
 * function (measured: +44% of the verified instructions of the program).  Not
 * inlined, like wf_killed_flow_packet(): the control segment's headers get
 * a stack frame of their own.
 */
static __noinline int wf_close_both(struct __sk_buff *skb, struct wf_flow *f,
				    const struct wf_pkt *p, __u32 seq, __u32 flag)
{
	struct wf_tcp_ctl *ctl = wf_tcp_ctl_scratch();
	__u32 fin = p->tcp_flags & WF_TCP_FIN ? 1 : 0, zero = 0;
	const struct wf_config *cfg = bpf_map_lookup_elem(&config, &zero);

	if (!(flag & WF_CLOSE_UNCOUNTED))
		wf_count(flag == WF_TCP_RST ? WF_CNT_VERDICT_RESET : WF_CNT_VERDICT_KILL);
	flag &= WF_TCP_FIN | WF_TCP_RST;
	if (cfg)
		wf_flow_mark_killed(cfg, f, &p->key);
	else
		__sync_fetch_and_or(&f->flags, WF_FLOW_KILLED);
	if (!ctl || wf_tcp_ctl_load(skb, p, ctl) || wf_tcp_ctl_trim(skb, ctl) ||
	    wf_tcp_ctl_write(skb, ctl, WF_CTL_REVERSE | flag | WF_TCP_ACK, wf_peer_sent_end(f, p),
			     p->seq + p->payload_len + fin) ||
	    wf_tcp_ctl_send_back(skb) ||
	    wf_tcp_ctl_write(skb, ctl, flag | WF_TCP_ACK, seq, p->ack_seq)) {
		/* Cannot build the control segments: the chunk is at least
		 * not delivered, and the killed connection is answered with
		 * RSTs from now on. */
		wf_count(WF_CNT_INJECT_FAILED);
		return TCX_DROP;
	}
	return TCX_NEXT;	/* the segment, now the FIN/RST to its receiver */
}

/* A packet of a killed connection (not one of ours): the tcx verdict. */
static __noinline int wf_killed_flow_packet(struct __sk_buff *skb, const struct wf_pkt *p)
{
	struct wf_tcp_ctl *ctl = wf_tcp_ctl_scratch();
	__u32 fin = p->tcp_flags & WF_TCP_FIN ? 1 : 0;

	wf_count(WF_CNT_KILLED_FLOW_DROPS);
	if ((p->tcp_flags & WF_TCP_RST) || (!p->payload_len && !fin))
		return TCX_DROP;
	if (!ctl || wf_tcp_ctl_load(skb, p, ctl) || wf_tcp_ctl_trim(skb, ctl) ||
	    wf_tcp_ctl_write(skb, ctl, WF_CTL_REVERSE | WF_TCP_RST | WF_TCP_ACK, p->ack_seq,
			     p->seq + p->payload_len + fin) ||
	    wf_tcp_ctl_send_back(skb))
		wf_count(WF_CNT_INJECT_FAILED);
	else
		wf_count(WF_CNT_KILLED_FLOW_RESETS);
	return TCX_DROP;
}

#endif /* WF_BPF_VERDICT_H */
