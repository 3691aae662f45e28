/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow table: finding, creating and re-initialising the entry of a
 * connection, and following its handshake.
 *
 *  - A SYN (no ACK) from the client creates the entry, or re-initialises it
 *    for a new connection on a reused 4-tuple: new conn_id, the client's
 *    stream expects isn + 1 in STARTUP state.  A retransmitted SYN (same ISN)
 *    changes nothing.
 *  - The SYN-ACK gives the server's stream isn + 1, TYPED state.  A SYN-ACK
 *    without an entry (the loader started between SYN and SYN-ACK) creates a
 *    fully synchronised entry: its ack field is the client's isn + 1.
 *  - In proxy mode (include/wf_vport.h) only connections made through the
 *    virtual port get an entry; the others are counted and passed.
 *  - Any other segment with payload and no entry creates an UNSYNCED entry
 *    (a connection older than the loader): recorded, never framed.  Segments
 *    without payload create entries only while killall() is in force.
 */
#ifndef WF_BPF_FLOW_TABLE_H
#define WF_BPF_FLOW_TABLE_H

#include "counters.h"
#include "maps.h"
#include "packet.h"
#include "recorder.h"
#include "virtual_port.h"

/* Connection ids: unique per load, in order of first sight, first id 1. */
__u64 wf_last_conn_id = 0;

static __always_inline __u64 wf_new_conn_id(void)
{
	return __sync_fetch_and_add(&wf_last_conn_id, 1) + 1;
}

/*
 * BPF_ANY replaces an entry (a new connection on a reused 4-tuple);
 * BPF_NOEXIST creates one unless another CPU just did (then that one wins,
 * so a connection never gets two ids).
 */
static __always_inline struct wf_flow *
wf_flow_insert(struct wf_pkt *p, struct wf_flow *init, __u64 how)
{
	struct wf_flow *f;
	long err = bpf_map_update_elem(&flows, &p->key, init, how);

	if (err && err != -17 /* EEXIST */) {
		wf_count(WF_CNT_FLOW_TABLE_FULL);
		return NULL;
	}
	f = bpf_map_lookup_elem(&flows, &p->key);
	if (!f)	/* evicted at once: the table is thrashing */
		wf_count(WF_CNT_FLOW_TABLE_FULL);
	return f;
}

/* Client SYN: a new connection, unless it is a retransmission of the SYN that
 * created the entry. */
/*
 * A new entry is composed in a per-CPU scratch value, not on the stack: the
 * program's call chains must fit in 512 bytes of stack together, and a
 * struct wf_flow is 200 of them.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_flow);
} flow_init SEC(".maps");

static __always_inline struct wf_flow *wf_flow_blank(void)
{
	__u32 zero = 0;
	struct wf_flow *init = bpf_map_lookup_elem(&flow_init, &zero);

	if (init)
		__builtin_memset(init, 0, sizeof(*init));
	else
		wf_count(WF_CNT_ERRORS);
	return init;
}

/* Subprograms (not inlined): they run rarely, keep them out of the main frame. */
static __noinline struct wf_flow *
wf_flow_syn(struct __sk_buff *skb, const struct wf_config *cfg, struct wf_pkt *p, struct wf_flow *f)
{
	struct wf_flow *init;

	if (f && (f->flags & WF_FLOW_SYN) && f->client_isn == p->seq)
		return f;
	if (f)	/* 4-tuple reused: let the recorder release the old connection */
		wf_record_close(cfg, f, &p->key);

	init = wf_flow_blank();
	if (!init)
		return NULL;
	init->conn_id = wf_new_conn_id();
	init->first_ns = bpf_ktime_get_ns();
	init->flags = WF_FLOW_SYN;
	init->client_isn = p->seq;
	init->dir[WF_DIR_FRONTEND].next_seq = p->seq + 1;
	init->dir[WF_DIR_FRONTEND].state = WF_STREAM_STARTUP;
	init->dir[WF_DIR_FRONTEND].flags = WF_STREAM_F_SEQ_KNOWN;
	init->dir[WF_DIR_BACKEND].state = WF_STREAM_UNSYNCED;	/* until the SYN-ACK */
	f = wf_flow_insert(p, init, BPF_ANY);
	if (f)
		wf_count(WF_CNT_FLOWS_NEW);
	return f;
}

/*
 * A connection wirefault does not follow (proxy mode, made straight to the
 * port): counted and passed.  An entry left by an earlier, followed
 * connection on the same 4-tuple is closed and removed.
 */
static __noinline struct wf_flow *
wf_flow_not_followed(const struct wf_config *cfg, struct wf_pkt *p, struct wf_flow *f)
{
	if (f) {
		wf_record_close(cfg, f, &p->key);
		bpf_map_delete_elem(&flows, &p->key);
	}
	wf_count(WF_CNT_VPORT_DIRECT);
	return NULL;
}

/* Server SYN-ACK: the server's initial sequence number. */
static __noinline struct wf_flow *
wf_flow_synack(struct wf_pkt *p, struct wf_flow *f)
{
	struct wf_flow *init;

	if (f) {
		struct wf_stream *be = &f->dir[WF_DIR_BACKEND];

		if ((f->flags & (WF_FLOW_SYN | WF_FLOW_SYNACK)) != WF_FLOW_SYN)
			return f;	/* retransmitted SYN-ACK, or a mid-stream entry */
		be->next_seq = p->seq + 1;
		be->flags |= WF_STREAM_F_SEQ_KNOWN;
		if (be->state == WF_STREAM_UNSYNCED)
			be->state = WF_STREAM_TYPED;
		__sync_fetch_and_or(&f->flags, WF_FLOW_SYNACK);
		return f;
	}

	init = wf_flow_blank();
	if (!init)
		return NULL;
	init->conn_id = wf_new_conn_id();
	init->first_ns = bpf_ktime_get_ns();
	init->flags = WF_FLOW_SYN | WF_FLOW_SYNACK;
	init->client_isn = p->ack_seq - 1;
	init->dir[WF_DIR_FRONTEND].next_seq = p->ack_seq;
	init->dir[WF_DIR_FRONTEND].state = WF_STREAM_STARTUP;
	init->dir[WF_DIR_FRONTEND].flags = WF_STREAM_F_SEQ_KNOWN;
	init->dir[WF_DIR_BACKEND].next_seq = p->seq + 1;
	init->dir[WF_DIR_BACKEND].state = WF_STREAM_TYPED;
	init->dir[WF_DIR_BACKEND].flags = WF_STREAM_F_SEQ_KNOWN;
	f = wf_flow_insert(p, init, BPF_NOEXIST);
	if (f)
		wf_count(WF_CNT_FLOWS_NEW);
	return f;
}

/* A connection first seen after its handshake. */
static __noinline struct wf_flow *wf_flow_midstream(struct wf_pkt *p)
{
	struct wf_flow *init = wf_flow_blank();

	if (!init)
		return NULL;
	init->conn_id = wf_new_conn_id();
	init->first_ns = bpf_ktime_get_ns();
	/* Its first chunk went by before us: none of ours is "initial". */
	init->flags = WF_FLOW_INITIAL_SEEN;
	init->dir[WF_DIR_FRONTEND].state = WF_STREAM_UNSYNCED;
	init->dir[WF_DIR_BACKEND].state = WF_STREAM_UNSYNCED;
	return wf_flow_insert(p, init, BPF_NOEXIST);
}

/*
 * The entry this packet belongs to, after applying its SYN/SYN-ACK; NULL when
 * there is none and the packet does not warrant one, or when the connection
 * is not followed (proxy mode: not made through the virtual port; the
 * virtual-port check is made only where an entry would be created, so a
 * followed connection pays for it once).
 * any_packet: a packet without payload may create an entry too (killall()
 * must reach connections older than the loader through their bare ACKs).
 */
static __always_inline struct wf_flow *
wf_flow_track(struct __sk_buff *skb, const struct wf_config *cfg, struct wf_pkt *p, bool any_packet)
{
	struct wf_flow *f = bpf_map_lookup_elem(&flows, &p->key);
	__u8 fl = p->tcp_flags;
	bool synack = false;

	if ((fl & (WF_TCP_SYN | WF_TCP_RST)) == WF_TCP_SYN) {
		if (!(fl & WF_TCP_ACK) && p->dir == WF_DIR_FRONTEND) {
			if (!wf_vport_follows(cfg, &p->key))
				return wf_flow_not_followed(cfg, p, f);
			return wf_flow_syn(skb, cfg, p, f);
		}
		synack = (fl & WF_TCP_ACK) && p->dir == WF_DIR_BACKEND;
		/* otherwise simultaneous open or a server SYN: nothing to learn */
	}
	if (f)
		return synack ? wf_flow_synack(p, f) : f;
	if (!synack && ((!p->payload_len && !any_packet) || (fl & (WF_TCP_RST | WF_TCP_SYN))))
		return wf_vport_follows(cfg, &p->key) ? NULL : wf_flow_not_followed(cfg, p, NULL);
	if (!wf_vport_follows(cfg, &p->key))
		return wf_flow_not_followed(cfg, p, NULL);
	return synack ? wf_flow_synack(p, NULL) : wf_flow_midstream(p);
}

#endif /* WF_BPF_FLOW_TABLE_H */
