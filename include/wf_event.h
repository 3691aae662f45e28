/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Events: what the tc program asks the loader to do, because the kernel
 * cannot (send a signal, wait, sweep idle sockets).  A small ring buffer,
 * `events`, separate from the recorder's: each event wakes the loader at
 * once, while the recorder's ring is drained on a timer.
 */
#ifndef WF_EVENT_H
#define WF_EVENT_H

#include "wf_types.h"
#include "wf_flow.h"

#define WF_EVENT_RING_SIZE	(64 * 1024)

enum wf_event_kind {
	/* A chunk is held (include/wf_hold.h): slot/gen name it; the loader
	 * signals (cancel) and releases it when its time has come. */
	WF_EVENT_HOLD = 1,
	/* killall() took effect: the loader makes idle connections of the
	 * port speak, so that the program kills them too. */
	WF_EVENT_KILLALL = 2,
	/* unreachable(): a segment of key's connection was dropped (dir, seq
	 * name it); the loader answers its sender with an ICMP host
	 * unreachable (ICMPv6 no route) quoting it, as a router without a
	 * route to the destination would. */
	WF_EVENT_UNREACHABLE = 3,
};

struct wf_event {
	__u32 kind;		/* enum wf_event_kind */
	__u32 slot;		/* HOLD: index into the holds map */
	__u32 gen;		/* HOLD: the slot's generation */
	__u32 pipe_gen;		/* generation of the pipeline that acted */
	__u32 action;		/* enum wf_pipe_action_kind */
	__u32 pad;
	__s64 action_arg;	/* HOLD: cancel's pid, connect_delay's milliseconds */
	__u64 ns;		/* bpf_ktime_get_ns() */
	struct wf_flow_key key;	/* the connection that triggered the event */
	__u32 seq;		/* UNREACHABLE: TCP seq of the dropped segment */
	__u8 dir;		/* UNREACHABLE: enum wf_dir of the dropped segment */
	__u8 pad2[3];
};

#endif /* WF_EVENT_H */
