/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Outcome counters of the tc program, and a few the loader keeps (what it
 * does for the kernel: signals, releases, sweeps): a per-CPU array indexed
 * by enum wf_counter, summed by `wirefault status`.  The list is written once
 * (X-macro) so that the BPF side, the loader and the docs agree on names.
 */
#ifndef WF_COUNTERS_H
#define WF_COUNTERS_H

#include "wf_types.h"

/*
 * Every packet the tc program sees ends in exactly one of PACKETS,
 * OTHER_PACKETS, NON_TCP_OR_MALFORMED, OWN_PACKETS or NO_CONFIG, and is
 * counted once more in its verdict counter (VERDICT_PASS + VERDICT_DROP = their
 * sum).  The other counters refine PACKETS.
 */
#define WF_COUNTER_LIST(X)						\
	X(PACKETS,		"TCP packets to or from the target port") \
	X(OTHER_PACKETS,	"packets of other ports or protocols (not followed)") \
	X(NON_TCP_OR_MALFORMED,	"IP packets whose TCP header could not be read " \
				"(truncated, IPv6 extension headers, fragments)") \
	X(OWN_PACKETS,		"packets injected by wirefault itself")	\
	X(NO_CONFIG,		"packets passed untouched: no port configured") \
	X(DATA_SEGMENTS,	"segments carrying new payload")	\
	X(PAYLOAD_BYTES,	"new payload bytes")			\
	X(RETRANSMITS,		"segments carrying only bytes already seen") \
	X(MESSAGES,		"PostgreSQL message headers parsed")	\
	X(FLOWS_NEW,		"connections tracked from their handshake") \
	X(FLOWS_UNSYNCED,	"data segments of connections older than the loader") \
	X(FLOWS_OPAQUE,		"data segments of directions not framed any more " \
				"(encrypted, CancelRequest, not PostgreSQL)") \
	X(FLOWS_DESYNC,		"times a direction lost framing (sequence gap or race)") \
	X(FLOWS_RESYNC,		"times a direction regained framing at a ReadyForQuery") \
	X(RACED_SEGMENTS,	"segments met while another CPU held their direction") \
	X(NOT_POSTGRES,		"directions whose bytes are not PostgreSQL") \
	X(FLOW_TABLE_FULL,	"flow table insertions that failed")	\
	X(REC_PIECES,		"recorder pieces written to the ring")	\
	X(REC_BYTES,		"recorder payload bytes written")	\
	X(REC_LOST_PIECES,	"recorder pieces (and close records) lost: ring full or error") \
	X(REC_LOST_BYTES,	"recorder payload bytes lost")		\
	X(REC_CLOSES,		"connection-close records written")	\
	X(REC_VERDICTS,		"verdict records written (chunks the pipeline acted on)") \
	X(PIPE_CHUNKS,		"chunks evaluated by a pipeline")	\
	X(PIPE_STALE_SLOT,	"chunks allowed because the pipeline slot was being rewritten") \
	X(PIPE_MESSAGES_MATCHED, "messages that satisfied an onX() filter") \
	X(PIPE_SPLIT_DECIDED,	"field conditions decided on a later segment of their message") \
	X(PIPE_UNSUPPORTED_ACTION, "chunks whose action this kernel program does not apply (allowed)") \
	X(VERDICT_KILL,		"chunks killed: not delivered, FIN to both peers") \
	X(VERDICT_RESET,	"chunks reset: not delivered, RST to both peers") \
	X(VERDICT_HOLD,		"chunks held (cancel, connect_delay, delay, stall) until the loader releases them") \
	X(STALL_HOLDS,		"chunks held behind their port's cancel() or connect_delay() stall (fluent.py's proxy sleeps)") \
	X(HOLD_NO_SLOT,		"chunks that should have been held but every hold slot was busy (passed)") \
	X(HOLD_HEADERS_ONLY,	"held frames too big to copy (released by ICMP instead)") \
	X(HOLD_SEGMENTS_CUT,	"segments of a held direction cut down to their ACK") \
	X(VERDICT_BLACKHOLE,	"chunks blackholed: their connection's packets are dropped silently from then on") \
	X(BLACKHOLE_DROPS,	"packets of blackholed connections dropped") \
	X(VERDICT_TRUNCATE,	"chunks truncate(n) acted on: their direction delivers n more bytes, then both peers get a FIN") \
	X(TRUNCATE_CUTS,	"directions cut at their truncate() mark: bytes up to it delivered, FIN to both peers") \
	X(TRUNCATE_PARTIAL,	"segments across a truncate() mark too long to trim at once: a first part delivered, " \
				"the sender retransmits the rest") \
	X(TRUNCATE_HELD_BACK,	"segments across or after a truncate() mark dropped while the receiver still missed " \
				"bytes before them") \
	X(VERDICT_UNREACHABLE,	"chunks made unreachable: dropped like blackhole(), each data segment answered with an ICMP unreachable") \
	X(DECISIONS,		"probability() decisions written to the ring (wirefault decisions)") \
	X(TIMES_EXHAUSTED,	"chunks a times(n) filter stopped: it had passed n already") \
	X(KILLALL_KILLS,	"connections killed because killall() was in force") \
	X(RTO_LOWERED,		"connections of the port whose minimum RTO sock_ops lowered") \
	X(VPORT_REDIRECTS,	"connect()s to the virtual port sent to the real port (tagged)") \
	X(VPORT_TAG_FAILED,	"connect()s to the virtual port left alone: the socket could not be tagged") \
	X(VPORT_PEERNAMES,	"getpeername() answers given the virtual port back") \
	X(VPORT_DIRECT,		"packets of connections made straight to the port (not followed)") \
	X(EVENTS_LOST,		"events for the loader lost (event ring full)") \
	X(KILLED_FLOW_DROPS,	"packets of killed connections dropped")	\
	X(KILLED_FLOW_RESETS,	"RSTs answering data or FINs of killed connections") \
	X(INJECT_FAILED,	"control segments that could not be built or sent") \
	/* counted by the loader */					\
	X(CANCEL_SIGNALS,	"SIGINTs sent by cancel()")			\
	X(CANCEL_SIGNAL_FAILED,	"cancel() pids that could not be signalled (chunk delivered at once)") \
	X(HOLDS_RELEASED,	"held chunks released by re-injecting their copy") \
	X(UNREACHABLE_ICMPS,	"ICMP unreachables sent for unreachable() connections") \
	X(UNREACHABLE_FAILED,	"unreachable() segments whose ICMP could not be sent (or whose event was lost)") \
	X(HOLDS_RELEASED_ICMP,	"held chunks released by an ICMP burst (too big to copy)") \
	X(HOLD_RELEASE_FAILED,	"held chunks whose release failed (the sender retransmits them)") \
	X(KILLALL_SWEEPS,	"killall() sweeps of idle connections")	\
	X(KILLALL_PROBES,	"probes sent to idle connections by killall() sweeps") \
	X(ERRORS,		"internal errors (helper failures): the packet was passed") \
	X(VERDICT_PASS,		"packets passed (TCX_NEXT)")			\
	X(VERDICT_DROP,		"packets dropped (TCX_DROP)")

enum wf_counter {
#define WF_COUNTER_ENUM(name, doc) WF_CNT_##name,
	WF_COUNTER_LIST(WF_COUNTER_ENUM)
#undef WF_COUNTER_ENUM
	WF_CNT__COUNT
};

#endif /* WF_COUNTERS_H */
