// SPDX-License-Identifier: GPL-2.0
#include "unreachable.h"

#include <errno.h>

#include "tcp_frame.h"

int wf_unreachable_answer(struct wf_packet_sender *s, const struct wf_event *ev, int ifindex)
{
	/* The quote needs the segment's headers only: rebuild them from the
	 * connection and the sequence number (tcp_v4_err/tcp_v6_err look the
	 * socket up by addresses and ports and check seq is in flight). */
	const struct wf_tcp_segment seg = {
		.key = &ev->key,
		.to_server = ev->dir == WF_DIR_FRONTEND,
		.seq = ev->seq,
		.flags = WF_TCP_ACK | WF_TCP_PSH,
		.window = WF_TCP_SYN_WINDOW,
	};
	uint8_t frame[WF_ETH_HLEN + WF_IPV6_HLEN + WF_TCP_HLEN_MIN], msg[WF_ICMP_UNREACH_MAX];
	uint8_t src[16], dst[16];
	struct wf_tcp_frame tf;
	int len, mlen;

	len = wf_tcp_frame_build(frame, sizeof(frame), &seg);
	if (len < 0)
		return len;
	if (wf_tcp_frame_parse_headers(frame, (size_t)len, &tf))
		return -EINVAL;
	mlen = wf_tcp_frame_build_unreach(frame, &tf, WF_UNREACH_HOST, msg, sizeof(msg));
	if (mlen < 0)
		return mlen;
	/* to the segment's sender: its TCP finds the quote to be its own */
	wf_tcp_frame_addrs(frame, &tf, src, dst);
	return wf_packet_send_icmp(s, tf.family, src, ifindex, msg, (size_t)mlen);
}
