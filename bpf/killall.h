/* SPDX-License-Identifier: GPL-2.0 */
/*
 * killall(): fluent.py kills the connection in hand and replaces its whole
 * pipeline with kill(), so that every chunk of every connection, new ones
 * included, is killed until the next command.  Here the pipeline's
 * generation is written to pipe_current.killall_gen; while it is the
 * current generation, the program kills every connection on its next
 * packet that says something (include/wf_pipeline.h).
 *
 * Idle connections say nothing, so on the first firing the loader is told
 * (WF_EVENT_KILLALL): it lists the port's established connections and sends
 * each server socket a bare SYN, which it answers with a challenge ACK
 * (RFC 5961).  That ACK, a bare ACK from the server, is the packet the
 * program turns into the FIN pair (DESIGN.md §7).
 */
#ifndef WF_BPF_KILLALL_H
#define WF_BPF_KILLALL_H

#include "counters.h"
#include "hold.h"
#include "maps.h"
#include "packet.h"
#include "pipeline.h"

static __always_inline bool wf_killall_in_force(const struct wf_pipe_view *v)
{
	const struct wf_pipe_current *cur;
	__u32 zero = 0;

	if (!v->pipe)
		return false;
	cur = bpf_map_lookup_elem(&pipe_current, &zero);
	return cur && *(volatile const __u32 *)&cur->killall_gen == v->gen;
}

/* The pipeline's killall() fired: in force from now on. */
static __always_inline void wf_killall_fire(const struct wf_pipe_view *v, const struct wf_flow_key *key)
{
	struct wf_pipe_current *cur;
	__u32 zero = 0;

	cur = bpf_map_lookup_elem(&pipe_current, &zero);
	if (cur && __sync_lock_test_and_set(&cur->killall_gen, v->gen) != v->gen)
		wf_event_send(WF_EVENT_KILLALL, 0, 0, v, key);
}

/*
 * Does a packet of a live connection end it while killall() is in force?
 * Anything that carries data or a FIN does, and a bare ACK from the server
 * (the answer to the loader's probe; the server acknowledges nothing else
 * once every client chunk is killed).  Not a SYN: a new connection is
 * killed on its first chunk, once both ends are established.
 */
static __always_inline bool wf_killall_takes(const struct wf_pkt *p)
{
	if (p->tcp_flags & (WF_TCP_SYN | WF_TCP_RST))
		return false;
	return p->payload_len || (p->tcp_flags & WF_TCP_FIN) || p->dir == WF_DIR_BACKEND;
}

#endif /* WF_BPF_KILLALL_H */
