/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Held segments: cancel(pid) and connect_delay(ms) hold a chunk, i.e. it is
 * not delivered until the loader releases it (DESIGN.md §7 "Holding
 * precisely").
 *
 * At hold time the tc program copies the whole frame (Ethernet + IP + TCP +
 * payload) into a free slot of the `holds` array, cuts the packet down to
 * the bare ACK it carries and passes that (so the receiver never misses an
 * acknowledgement and its peer never retransmits), and tells the loader
 * through the `events` ring (include/wf_event.h).  Until the release, every
 * data segment or FIN of the held direction is cut to a bare ACK the same
 * way: retransmissions of the held bytes and any bytes behind them (those
 * come again by retransmission after the release, so the receiver sees
 * every byte once and in order).
 *
 * The loader releases a slot by re-injecting the copy through a packet
 * socket (TCP timestamp advanced by the time held, checksums recomputed,
 * marked WF_OWN_MARK so the program passes it), or, when the frame was too
 * big to copy, by a burst of ICMP unreachables that makes the sender
 * retransmit at once (RFC 6069 backoff revert).  Then it frees the slot.
 *
 * The map is BPF_F_MMAPABLE: the slot `state` word is changed with atomic
 * compare-and-swap from both sides.
 *   FREE -(program: claim)-> FILLING -(program)-> HELD
 *   HELD -(loader: release)-> RELEASING -(loader: gen += 1)-> FREE
 * A flow refers to its hold by slot and generation (struct wf_flow), so a
 * freed and reused slot is never mistaken for the flow's own.
 *
 * Read them with:  bpftool map dump pinned /sys/fs/bpf/wirefault/holds
 */
#ifndef WF_HOLD_H
#define WF_HOLD_H

#include "wf_types.h"
#include "wf_config.h"
#include "wf_flow.h"

#define WF_HOLD_SLOTS		16	/* holds under way at once; more are passed, counted */
#define WF_HOLD_FRAME_MAX	65536	/* bytes of frame copied (a power of two) */
#define WF_HOLD_HEADERS_MAX	256	/* copied when the frame is bigger: the longest IP + TCP headers */
#define WF_CANCEL_HOLD_MS	100	/* fluent.py's CancelHandler sleeps this long after the signal */

enum wf_hold_state {
	WF_HOLD_FREE = 0,
	WF_HOLD_FILLING = 1,	/* the program is writing the slot */
	WF_HOLD_HELD = 2,	/* the loader may release it */
	WF_HOLD_RELEASING = 3,	/* the loader is releasing it */
};

/* Why a chunk is held: the action of the pipeline (enum wf_pipe_action_kind). */
struct wf_hold {
	__u32 state;		/* enum wf_hold_state, changed atomically only */
	__u32 gen;		/* bumped by the loader each time it frees the slot */
	struct wf_flow_key key;	/* the connection, client -> server */
	__u8 dir;		/* enum wf_dir of the held bytes */
	__u8 action;		/* enum wf_pipe_action_kind: CANCEL, CONNECT_DELAY,
				 * DELAY or STALL */
	__u8 copied_whole;	/* frame[] has the whole frame; else only headers */
	__u8 pad;
	__u32 seq;		/* TCP seq of the first held byte */
	__u32 len;		/* held payload bytes */
	__u32 ifindex;		/* device the frame arrived on (re-injected there) */
	__u32 frame_len;	/* bytes in frame[] */
	__u32 l4_off;		/* offset of the TCP header in frame[] */
	__u32 pipe_gen;		/* generation of the pipeline that decided the hold */
	__u32 pad2;
	__u64 held_ns;		/* bpf_ktime_get_ns() at hold time (CLOCK_MONOTONIC) */
	__u64 release_ns;	/* when to release (CLOCK_MONOTONIC), if the program
				 * decided it (cancel, connect_delay, stall); 0: the
				 * loader decides by the action */
	__s64 action_arg;	/* cancel: pid; connect_delay, delay: milliseconds */
	__u8 frame[WF_HOLD_FRAME_MAX];
};

/*
 * cancel() and connect_delay(ms) stall their port, as fluent.py's do: their
 * handlers time.sleep() (0.1 s after the SIGINT, ms) in mitmproxy's only
 * thread, so while one sleeps no byte of any proxied connection moves, and
 * the next message is handled, with the pipeline of that moment, only when
 * it wakes.  Citus' tests were written against that (a connection opened
 * just after a connect_delay step reaches the server only when the sleep
 * ends; a cancel request sent by the cancelled coordinator reaches the
 * worker after the held query).  So:
 *  - the program keeps, per followed port, the end of its stall; such a
 *    hold takes its turn after the stall's end (release_ns: its sleep after
 *    the later of its arrival and that end, which moves there), and any
 *    chunk of the port that would pass while a stall lasts is held until it
 *    ends (action STALL, release_ns the end as it was then);
 *  - the loader signals a queued cancel at its turn, and, when a queued
 *    hold's turn comes and its pipeline is no longer in force (fluent.py's
 *    next handler would not sleep), or a cancel's signal fails (fluent.py's
 *    handler raises before its sleep), releases it then and takes its sleep
 *    off the stall: off the port's end (atomically: the map is mmapped) and
 *    off the release of every hold of the port due after it; at the stall's
 *    end it releases the hold that ended it before the stalled chunks.
 *
 *   bpftool map dump pinned /sys/fs/bpf/wirefault/port_stalls
 */
#define WF_PORT_STALLS		WF_MAX_PORTS	/* indexed like wf_config.ports[] */

struct wf_port_stall {
	__u64 until_ns;		/* CLOCK_MONOTONIC; chunks before it wait */
};

#endif /* WF_HOLD_H */
