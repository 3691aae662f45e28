/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Releasing one held segment (include/wf_hold.h, DESIGN.md §7 "Holding
 * precisely") so that the receiver gets its bytes now, not at the sender's
 * next retransmission:
 *
 *  - re-inject: when the tc program copied the whole frame, send that copy
 *    again through the packet socket, its TCP timestamp advanced by the time
 *    held and its checksums recomputed.  Exact for any hold length; the
 *    receiver's ACK cancels the sender's retransmission timer.
 *  - ICMP burst: when only the headers were copied (the frame was too big),
 *    send the segment's sender WF_RELEASE_ICMP_BURST ICMP(v6) unreachables
 *    quoting it; each undoes one step of its RTO backoff (RFC 6069), and
 *    once the reverted timeout has passed it retransmits at once.  Works
 *    only after a first RTO fired (holds of ~60 ms and more with a 10 ms
 *    rto_min); a shorter hold ends at the sender's own retransmission.
 *
 * Only the packets are sent here: the slot protocol (state, gen) is the
 * caller's.
 */
#ifndef WF_HOLD_RELEASE_H
#define WF_HOLD_RELEASE_H

#include <stdint.h>

#include "packet_send.h"
#include "wf_hold.h"

/*
 * Unreachables per ICMP release.  Each reverts one doubling of the RTO;
 * the sender retransmits once the reverted RTO is shorter than the time
 * since its last retransmission.  With the ~16 ms RTO of the 10 ms rto_min
 * the loader sets, 12 doublings are ~65 s of retransmissions: 12 cover
 * holds of about a minute (longer ones with larger RTOs).  Surplus ones do
 * nothing (the revert needs icsk_backoff > 0).
 */
#define WF_RELEASE_ICMP_BURST	12

enum wf_release_method {
	WF_RELEASE_REINJECT = 1,	/* the saved copy was sent again */
	WF_RELEASE_ICMP = 2,		/* the sender was told to retransmit */
};

/*
 * Releases the held segment h at CLOCK_MONOTONIC time now_ns (the clock
 * of bpf_ktime_get_ns() and of Linux's TCP timestamps).  Re-injects when
 * h->copied_whole and h->ifindex is a loopback device (elsewhere a sent
 * frame would leave the machine, not reach the local receiver), falling
 * back to the ICMP burst if the copy cannot be parsed or sent.  Returns
 * the enum wf_release_method used, or -errno: -ENODATA when the slot holds
 * nothing usable (not even the headers), or the send error.  Either way the sender's own retransmission still
 * delivers the bytes eventually, so the caller frees the slot regardless.
 */
int wf_hold_release(struct wf_packet_sender *s, const struct wf_hold *h, uint64_t now_ns);

/* "reinject" or "icmp", for logs. */
const char *wf_release_method_name(int method);

#endif /* WF_HOLD_RELEASE_H */
