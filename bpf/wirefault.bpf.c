// SPDX-License-Identifier: GPL-2.0
/*
 * wirefault's tc program: follows every TCP connection to the configured
 * PostgreSQL port, frames the messages of both directions and records the
 * traffic into a ring buffer.  Attached by the loader as a tcx ingress link
 * on lo, where it sees every packet of both directions exactly once.
 *
 * This milestone never acts on a packet: every path returns TCX_NEXT (run
 * the next program, then deliver), including every internal failure (fail
 * open).  Each outcome is counted (include/wf_counters.h).
 *
 * Concerns live in small headers:
 *   maps.h        the maps (pinned by the loader, BTF-typed)
 *   counters.h    outcome counters
 *   packet.h      Ethernet/IPv4/IPv6/TCP parsing
 *   flow_table.h  connection entries and the handshake
 *   pg_framer.h   PostgreSQL message boundaries (bpf_loop)
 *   stream.h      one direction: sequence numbers, claim, resync
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
#include "recorder.h"
#include "stream.h"

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

static __always_inline void wf_handle(struct __sk_buff *skb)
{
	struct wf_config *cfg;
	struct wf_pkt pkt;
	struct wf_flow *f;
	__u32 zero = 0;

	if (skb->mark == WF_OWN_MARK) {
		wf_count(WF_CNT_OWN_PACKETS);
		return;
	}
	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->port) {
		wf_count(WF_CNT_NO_CONFIG);
		return;
	}
	switch (wf_parse_packet(skb, cfg->port, &pkt)) {
	case WF_PARSE_OK:
		break;
	case WF_PARSE_OTHER:
		wf_count(WF_CNT_OTHER_PACKETS);
		return;
	default:
		wf_count(WF_CNT_NON_TCP_OR_MALFORMED);
		return;
	}
	wf_count(WF_CNT_PACKETS);

	f = wf_flow_track(skb, cfg, &pkt);
	if (!f)
		return;
	/* An RST's payload (a diagnostic, if any) is never delivered. */
	if (pkt.payload_len && !(pkt.tcp_flags & WF_TCP_RST))
		wf_stream_data(skb, cfg, f, &pkt);
	if (pkt.tcp_flags & (WF_TCP_FIN | WF_TCP_RST))
		wf_handle_close(cfg, f, &pkt);
}

SEC("tc")
int wf_tc_ingress(struct __sk_buff *skb)
{
	wf_handle(skb);
	wf_count(WF_CNT_VERDICT_PASS);
	return TCX_NEXT;
}
