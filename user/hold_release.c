// SPDX-License-Identifier: GPL-2.0
#include "hold_release.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "tcp_frame.h"

#define NSEC_PER_MSEC 1000000ull

/*
 * Milliseconds to add to the copy's TSval.  Floored: the copy's TSval was
 * taken at or before held_ns, so floor(TSval clock then) + floor(elapsed)
 * never exceeds the sender's TS clock now, and the receiver's PAWS
 * (which would reject an older TSval than one it has seen) stays happy
 * with the sender's later segments.  Without the bump, the receiver's ACK
 * echoes a TSval as old as the hold and the sender takes the hold time as
 * an RTT sample (measured: RTO 16 -> 228 ms after 20 holds of 100 ms).
 */
static uint32_t held_ms(const struct wf_hold *h, uint64_t now_ns)
{
	return now_ns > h->held_ns ? (uint32_t)((now_ns - h->held_ns) / NSEC_PER_MSEC) : 0;
}

/* Sends a fixed-up copy of the whole frame: 0 or -errno. */
static int reinject(struct wf_packet_sender *s, const struct wf_hold *h, uint64_t now_ns)
{
	struct wf_tcp_frame tf;
	uint8_t *frame;
	int err, tsval_off;

	/* Sent on another device, the frame would leave the machine
	 * instead of reaching the receiver: only loopback turns it round. */
	err = wf_packet_ifindex_is_loopback(s, (int)h->ifindex);
	if (err <= 0)
		return err ? err : -EOPNOTSUPP;

	/* A private copy, parsed and fixed up: the slot is const, and it
	 * lives in memory the program shares. */
	frame = malloc(h->frame_len);
	if (!frame)
		return -ENOMEM;
	memcpy(frame, h->frame, h->frame_len);
	err = wf_tcp_frame_parse(frame, h->frame_len, &tf);
	if (err)
		goto out;
	tsval_off = wf_tcp_frame_find_tsval(frame, &tf);
	if (tsval_off == -EINVAL) {
		err = -EINVAL;	/* not what Linux sends: do not guess */
		goto out;
	}
	if (tsval_off > 0)
		wf_tcp_tsval_advance(frame, (size_t)tsval_off, held_ms(h, now_ns));
	err = wf_tcp_frame_fix_checksums(frame, &tf);
	if (!err)
		err = wf_packet_send_frame(s, (int)h->ifindex, frame, tf.packet_len);
out:
	free(frame);
	return err;
}

/* Sends the burst of unreachables: 0 if at least one went out, else -errno. */
static int icmp_burst(struct wf_packet_sender *s, const struct wf_hold *h)
{
	uint8_t msg[WF_ICMP_UNREACH_MAX], src[16], dst[16];
	struct wf_tcp_frame tf;
	int len, err = 0, sent = 0;

	if (wf_tcp_frame_parse_headers(h->frame, h->frame_len, &tf))
		return -ENODATA;
	len = wf_tcp_frame_build_unreach(h->frame, &tf, WF_UNREACH_RTO_REVERT, msg, sizeof(msg));
	if (len < 0)
		return len;
	/* To the segment's sender: its TCP looks the quote up as its own. */
	wf_tcp_frame_addrs(h->frame, &tf, src, dst);
	for (int i = 0; i < WF_RELEASE_ICMP_BURST; i++) {
		int e = wf_packet_send_icmp(s, tf.family, src, (int)h->ifindex, msg, (size_t)len);

		if (e)
			err = e;
		else
			sent++;
	}
	return sent ? 0 : err;
}

int wf_hold_release(struct wf_packet_sender *s, const struct wf_hold *h, uint64_t now_ns)
{
	int err;

	/* The slot is written by the program: never trust its length. */
	if (h->frame_len == 0 || h->frame_len > WF_HOLD_FRAME_MAX)
		return -ENODATA;
	if (h->copied_whole) {
		err = reinject(s, h, now_ns);
		if (!err)
			return WF_RELEASE_REINJECT;
		wf_debug("hold release: re-injection failed (%s), falling back to ICMP",
			 strerror(-err));
	}
	err = icmp_burst(s, h);
	return err ? err : WF_RELEASE_ICMP;
}

const char *wf_release_method_name(int method)
{
	switch (method) {
	case WF_RELEASE_REINJECT:
		return "reinject";
	case WF_RELEASE_ICMP:
		return "icmp";
	default:
		return "none";
	}
}
