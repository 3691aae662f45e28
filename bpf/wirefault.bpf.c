// SPDX-License-Identifier: GPL-2.0
/*
 * wirefault's tc program: follows every TCP connection to the configured
 * PostgreSQL port, frames the messages of both directions and records the
 * traffic into a ring buffer.  Attached by the loader as a tcx ingress link
 * on lo, where it sees every packet of both directions exactly once.
 *
 * Each data segment's new bytes are one chunk for the pipeline of the
 * current command (pipeline.h); a kill() verdict turns the segment into
 * FINs (verdict.h).  Everything the program does not act on, and every
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
 *   verdict.h     kill(), killed connections
 *   tcp_inject.h  FIN/RST segments built from the packet in hand
 *   recorder.h    ring-buffer records
 */
#include "wf_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "counters.h"
#include "flow_table.h"
#include "maps.h"
#include "packet.h"
#include "pg_framer.h"
#include "pipeline.h"
#include "recorder.h"
#include "stream.h"
#include "verdict.h"

char LICENSE[] SEC("license") = "GPL";

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
	switch (action) {
	case WF_PIPE_A_ALLOW:
		return TCX_NEXT;
	case WF_PIPE_A_KILL:
		return wf_kill_chunk(skb, cfg, f, p, ch);
	default:
		/* reset, cancel, killall, connect_delay: the loader refuses
		 * them until their kernel side exists; should one be here,
		 * the chunk passes (fail open). */
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
	__u32 zero = 0;
	int verdict;

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
	switch (wf_parse_packet(skb, cfg->port, pkt)) {
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

	f = wf_flow_track(skb, cfg, pkt);
	if (!f)
		return TCX_NEXT;
	if ((f->flags & WF_FLOW_KILLED) && !(pkt->tcp_flags & WF_TCP_SYN))
		return wf_killed_flow_packet(skb, pkt);

	verdict = TCX_NEXT;
	/* An RST's payload (a diagnostic, if any) is never delivered. */
	if (pkt->payload_len && !(pkt->tcp_flags & WF_TCP_RST)) {
		wf_pipe_current_view(&ch.v);
		wf_stream_data(skb, cfg, f, pkt, &ch);
		verdict = wf_act(skb, cfg, f, pkt, &ch, wf_pipe_eval(skb, f, &ch));
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
