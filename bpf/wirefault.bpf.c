// SPDX-License-Identifier: GPL-2.0
/*
 * wirefault's tc program: follows every TCP connection to the configured
 * PostgreSQL port (or, with a virtual proxy port, those made through it), frames the messages of both directions and records the
 * traffic into a ring buffer.  Attached by the loader as a tcx ingress link
 * on lo, where it sees every packet of both directions exactly once.
 *
 * Each data segment's new bytes are one chunk for the pipeline of the
 * current command (pipeline.h); kill() and reset() turn the segment into
 * FINs or RSTs to both peers (verdict.h), blackhole() and unreachable() drop
 * the connection's packets from then on, cancel() and connect_delay() hold
 * it for the loader to release (hold.h), killall() kills everything until
 * the next command (killall.h), truncate() lets its direction deliver n more
 * bytes, then kills (truncate.h).  Everything the program does not act on, and every
 * internal failure, returns TCX_NEXT (run the next program, then deliver):
 * fail open.  Each outcome is counted (include/wf_counters.h).
 *
 * Concerns live in small headers:
 *   maps.h        the maps (pinned by the loader, BTF-typed)
 *   counters.h    outcome counters
 *   packet.h      Ethernet/IPv4/IPv6/TCP parsing
 *   flow_table.h  connection entries and the handshake
 *   pg_framer.h   PostgreSQL message boundaries (bpf_loop)
 *   stream.h      one direction: sequence numbers, claim, resync
 *   field_match.h onX(field="regex") conditions over message bodies
 *   dfa.h         regex DFAs over bytes
 *   pipeline.h    the current pipeline, evaluated per chunk
 *   verdict.h     kill(), reset(), killed connections
 *   hold.h        cancel(), connect_delay(), delay(): held chunks
 *   identity.h    a connection's name for reproducible random decisions
 *   killall.h     killall()
 *   truncate.h    truncate(n): a direction's mark, the cut
 *   tcp_inject.h  FIN/RST segments built from the packet in hand
 *   tcp_trim.h    a data segment cut short, its checksum summed afresh
 *   virtual_port.h  --proxy-port: connect/getpeername hooks, which flows are ours
 *   recorder.h    ring-buffer records
 */
#include "wf_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "counters.h"
#include "flow_table.h"
#include "hold.h"
#include "identity.h"
#include "killall.h"
#include "maps.h"
#include "packet.h"
#include "pg_framer.h"
#include "pipeline.h"
#include "recorder.h"
#include "stream.h"
#include "truncate.h"
#include "verdict.h"
#include "virtual_port.h"

char LICENSE[] SEC("license") = "GPL";

#define SOL_TCP 6	/* a macro, so not in vmlinux.h */

/* FIN from both sides or any RST ends the connection for the recorder. */
static __always_inline void
wf_handle_close(const struct wf_config *cfg, struct wf_flow *f, struct wf_pkt *p)
{
	__u32 bit, now;

	if (p->tcp_flags & WF_TCP_RST)
		bit = WF_FLOW_RST;
	else
		bit = p->dir == WF_DIR_FRONTEND ? WF_FLOW_FIN_FRONTEND : WF_FLOW_FIN_BACKEND;
	now = f->flags;
	if (!(now & bit))
		now = __sync_fetch_and_or(&f->flags, bit) | bit;
	if ((now & WF_FLOW_RST) ||
	    (now & (WF_FLOW_FIN_FRONTEND | WF_FLOW_FIN_BACKEND)) ==
		    (WF_FLOW_FIN_FRONTEND | WF_FLOW_FIN_BACKEND))
		wf_record_close(cfg, f, &p->key);
}

/*
 * Where a FIN toward the packet's receiver goes when the packet brings no
 * new byte (a bare ACK, a FIN, a retransmission): after everything its
 * sender has sent so far.  The end of the packet alone is not enough: a
 * retransmitted segment that was not the sender's last ends before bytes
 * the receiver already has, and a FIN there is an old duplicate to it.
 */
static __always_inline __u32 wf_sent_end(const struct wf_flow *f, const struct wf_pkt *p)
{
	const struct wf_stream *s = &f->dir[p->dir & 1];
	__u32 end = p->seq + p->payload_len;

	if ((s->flags & WF_STREAM_F_SEQ_KNOWN) && (__s32)(s->next_seq - end) > 0)
		end = s->next_seq;
	return end;
}

/*
 * The packet's parsed headers live in a per-CPU scratch value rather than
 * on the stack: the program's call chains (framer callback, regex
 * matching, FIN injection) must fit in 512 bytes of stack together.  tc
 * programs run with bottom halves off and our own injected packets are
 * queued, not processed re-entrantly, so one slot per CPU suffices.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_pkt);
} pkt_scratch SEC(".maps");

/* Applies the chunk's action; the tcx verdict. */
static __always_inline int wf_act(struct __sk_buff *skb, const struct wf_config *cfg,
				  struct wf_flow *f, struct wf_pkt *p, const struct wf_chunk *ch,
				  __u8 action)
{
	int verdict;

	switch (action) {
	case WF_PIPE_A_ALLOW:
		return wf_pass_or_stall(skb, cfg, f, p, ch);
	case WF_PIPE_A_KILL:
		return wf_close_both(skb, f, p, ch->seq, WF_TCP_FIN);
	case WF_PIPE_A_RESET:
		return wf_close_both(skb, f, p, ch->seq, WF_TCP_RST);
	case WF_PIPE_A_KILLALL:
		wf_killall_fire(&ch->v, &p->key);
		wf_count(WF_CNT_KILLALL_KILLS);
		return wf_close_both(skb, f, p, ch->seq, WF_TCP_FIN);
	case WF_PIPE_A_TRUNCATE:
		verdict = wf_truncate(skb, f, p, ch);
		if (verdict != WF_TRUNC_CLOSE)
			return verdict;
		return wf_close_both(skb, f, p, f->trunc_have[p->dir & 1],
				     WF_TCP_FIN | WF_CLOSE_UNCOUNTED);
	case WF_PIPE_A_BLACKHOLE:
		/* No FIN, no RST: the peers find out by their own timers. */
		__sync_fetch_and_or(&f->flags, WF_FLOW_BLACKHOLED);
		wf_count(WF_CNT_VERDICT_BLACKHOLE);
		return TCX_DROP;
	case WF_PIPE_A_UNREACHABLE:
		/* Dropped as by blackhole(), and the sender is told by an ICMP
		 * host unreachable (sent by the loader) quoting the segment. */
		__sync_fetch_and_or(&f->flags, WF_FLOW_BLACKHOLED | WF_FLOW_UNREACHABLE);
		wf_count(WF_CNT_VERDICT_UNREACHABLE);
		wf_event_send_seg(WF_EVENT_UNREACHABLE, 0, 0, &ch->v, &p->key, ch->seq, p->dir);
		return TCX_DROP;
	case WF_PIPE_A_CONNECT_DELAY:
		if (!ch->initial)	/* fluent.py delays the initial chunk only */
			return wf_pass_or_stall(skb, cfg, f, p, ch);
		/* fall through */
	case WF_PIPE_A_DELAY:
	case WF_PIPE_A_CANCEL:
		return wf_hold(skb, f, p, ch, 0);
	default:
		/* an action this program does not know: the chunk passes */
		wf_count(WF_CNT_PIPE_UNSUPPORTED_ACTION);
		return TCX_NEXT;
	}
}

static __always_inline int wf_handle(struct __sk_buff *skb)
{
	struct wf_chunk ch = {};
	struct wf_config *cfg;
	struct wf_pkt *pkt;
	struct wf_flow *f;
	__u32 zero = 0, seq;
	int verdict;
	__u8 action;
	bool data, killall;

	if (skb->mark == WF_OWN_MARK) {
		wf_count(WF_CNT_OWN_PACKETS);
		return TCX_NEXT;
	}
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->port) {
		wf_count(WF_CNT_NO_CONFIG);
		return TCX_NEXT;
	}
	pkt = bpf_map_lookup_elem(&pkt_scratch, &zero);
	if (!pkt) {
		wf_count(WF_CNT_ERRORS);
		return TCX_NEXT;
	}
	switch (wf_parse_packet(skb, cfg, pkt)) {
	case WF_PARSE_OK:
		break;
	case WF_PARSE_OTHER:
		wf_count(WF_CNT_OTHER_PACKETS);
		return TCX_NEXT;
	default:
		wf_count(WF_CNT_NON_TCP_OR_MALFORMED);
		return TCX_NEXT;
	}
	wf_count(WF_CNT_PACKETS);

	wf_pipe_current_view(&ch.v, &pkt->key);
	killall = wf_killall_in_force(&ch.v) && wf_killall_takes(pkt);
	f = wf_flow_track(skb, cfg, pkt, killall);
	if (!f)
		return TCX_NEXT;
	if ((f->flags & WF_FLOW_KILLED) && !(pkt->tcp_flags & WF_TCP_SYN))
		return wf_killed_flow_packet(skb, pkt);
	if ((f->flags & WF_FLOW_BLACKHOLED) && !(pkt->tcp_flags & WF_TCP_SYN)) {
		wf_count(WF_CNT_BLACKHOLE_DROPS);
		/* a router without a route answers every datagram it drops */
		if ((f->flags & WF_FLOW_UNREACHABLE) && pkt->payload_len &&
		    !(pkt->tcp_flags & WF_TCP_RST))
			wf_event_send_seg(WF_EVENT_UNREACHABLE, 0, 0, &ch.v, &pkt->key, pkt->seq,
					  pkt->dir);
		return TCX_DROP;
	}
	wf_trunc_acked(f, pkt);

	/* An RST's payload (a diagnostic, if any) is never delivered. */
	data = pkt->payload_len && !(pkt->tcp_flags & WF_TCP_RST);
	if (f->hold_slot[pkt->dir & 1] && (data || (pkt->tcp_flags & WF_TCP_FIN)) &&
	    wf_hold_continues(skb, f, pkt, &verdict))
		return verdict;

	verdict = TCX_NEXT;
	if (data && !f->ident && pkt->dir == WF_DIR_FRONTEND)
		wf_flow_identify(skb, f, pkt->payload_off, pkt->payload_len, ch.v.gen);
	if (data)
		wf_stream_data(skb, cfg, f, pkt, &ch);
	if (killall) {
		seq = ch.len ? ch.seq : wf_sent_end(f, pkt);
		wf_count(WF_CNT_KILLALL_KILLS);
		if (ch.len)
			wf_record_verdict(cfg, f, &pkt->key, pkt->dir, ch.seq, ch.len,
					  WF_PIPE_A_KILLALL, ch.v.gen, 0);
		return wf_close_both(skb, f, pkt, seq, WF_TCP_FIN);
	}
	/* Never act on a SYN: data on it (TCP Fast Open) passes. */
	if (data && !(pkt->tcp_flags & WF_TCP_SYN)) {
		/* a direction truncate() marked goes by its mark, not by the pipeline */
		if (f->flags & wf_trunc_flag(pkt->dir))
			action = WF_PIPE_A_TRUNCATE;
		else
			action = wf_pipe_eval(skb, f, &pkt->key, &ch);
		/* connect_delay() acts on the initial chunk only; truncate()
		 * records its verdicts itself */
		if (action != WF_PIPE_A_ALLOW && action != WF_PIPE_A_TRUNCATE &&
		    (action != WF_PIPE_A_CONNECT_DELAY || ch.initial))
			wf_record_verdict(cfg, f, &pkt->key, pkt->dir, ch.seq, ch.len, action,
					  ch.v.gen, 0);
		verdict = wf_act(skb, cfg, f, pkt, &ch, action);
		if (f->flags & WF_FLOW_KILLED)
			return verdict;	/* our FINs replace the packet's own */
	}
	if (pkt->tcp_flags & (WF_TCP_FIN | WF_TCP_RST))
		wf_handle_close(cfg, f, pkt);
	return verdict;
}

SEC("tc")
int wf_tc_ingress(struct __sk_buff *skb)
{
	int verdict = wf_handle(skb);

	wf_count(verdict == TCX_DROP ? WF_CNT_VERDICT_DROP : WF_CNT_VERDICT_PASS);
	return verdict;
}

/*
 * sock_ops, on the cgroup the loader attaches it to:
 *  - a client socket about to send its SYN enters vconns if connect4/6
 *    tagged it (virtual_port.h), and leaves it when it closes;
 *  - connections of the ports that wirefault follows get TCP_BPF_RTO_MIN =
 *    rto_min_us once established, so that segments cut away during a hold
 *    (the bytes behind a held chunk) are retransmitted after ~20 ms instead
 *    of the usual 200 ms or more (DESIGN.md §7).
 */
SEC("sockops")
int wf_sockops(struct bpf_sock_ops *skops)
{
	struct wf_flow_key key;
	struct wf_config *cfg;
	__u32 zero = 0;
	bool active;
	int rto;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->port)
		return 1;
	switch (skops->op) {
	case BPF_SOCK_OPS_TCP_CONNECT_CB:
		if (cfg->proxy_port && wf_config_follows(cfg, (__u16)bpf_ntohl(skops->remote_port)))
			wf_vport_sockops_connect(skops);
		return 1;
	case BPF_SOCK_OPS_STATE_CB:
		wf_vport_sockops_state(skops);
		return 1;
	case BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB:
	case BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB:
		break;
	default:
		return 1;
	}
	if (!cfg->rto_min_us)
		return 1;
	active = skops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB;
	if (!wf_config_follows(cfg, active ? (__u16)bpf_ntohl(skops->remote_port)
					     : (__u16)skops->local_port))
		return 1;
	if (cfg->proxy_port) {
		wf_sockops_key(skops, active, &key);
		if (!wf_vport_follows(cfg, &key))
			return 1;
	}
	rto = (int)cfg->rto_min_us;
	if (bpf_setsockopt(skops, SOL_TCP, TCP_BPF_RTO_MIN, &rto, sizeof(rto)))
		wf_count(WF_CNT_ERRORS);
	else
		wf_count(WF_CNT_RTO_LOWERED);
	return 1;
}

/* The virtual proxy port: connect() and getpeername() of the hooked cgroup. */
SEC("cgroup/connect4")
int wf_connect4(struct bpf_sock_addr *ctx)
{
	wf_vport_connect(ctx, wf_vport_loopback4(ctx->user_ip4));
	return 1;
}

SEC("cgroup/connect6")
int wf_connect6(struct bpf_sock_addr *ctx)
{
	__u32 a[4] = { ctx->user_ip6[0], ctx->user_ip6[1], ctx->user_ip6[2], ctx->user_ip6[3] };

	wf_vport_connect(ctx, wf_vport_loopback6(a));
	return 1;
}

SEC("cgroup/getpeername4")
int wf_getpeername4(struct bpf_sock_addr *ctx)
{
	wf_vport_peername(ctx);
	return 1;
}

SEC("cgroup/getpeername6")
int wf_getpeername6(struct bpf_sock_addr *ctx)
{
	wf_vport_peername(ctx);
	return 1;
}
