/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loader's way of putting packets on the wire: re-injected held frames
 * and killall probes as whole Ethernet frames through a packet socket, and
 * the ICMP unreachables of the RFC 6069 release through raw ICMP sockets
 * (DESIGN.md §7).  Every socket marks what it sends with WF_OWN_MARK, so
 * the tc program lets our own packets through untouched.
 *
 * Why raw IP sockets for ICMP: an ICMP frame sent through the packet socket
 * on lo was measured never to reach icmp_rcv() (proto/datapath2, pitfall 5),
 * while TCP frames sent the same way are delivered.
 *
 * All sockets are opened up front, so that a missing privilege is reported
 * when the loader starts, not at the first release.
 */
#ifndef WF_PACKET_SEND_H
#define WF_PACKET_SEND_H

#include <stddef.h>
#include <stdint.h>

struct wf_packet_sender {
	int packet_fd;		/* AF_PACKET, SOCK_RAW: whole frames */
	int icmp4_fd;		/* AF_INET, SOCK_RAW, IPPROTO_ICMP */
	int icmp6_fd;		/* AF_INET6, SOCK_RAW, IPPROTO_ICMPV6; -1 without IPv6 */
};

/*
 * Opens the sockets.  0, or -errno after reporting the failure with wf_err
 * (naming CAP_NET_RAW when that is what is missing).  A kernel without IPv6
 * is not an error: icmp6_fd stays -1.  On failure nothing stays open; the
 * sender may be closed either way.
 */
int wf_packet_sender_open(struct wf_packet_sender *s);

/* Closes what is open; the sender can be opened again. */
void wf_packet_sender_close(struct wf_packet_sender *s);

/*
 * Sends a whole frame (Ethernet header first) out of the device ifindex.
 * The packet socket's protocol is the frame's ethertype.  0, or -errno
 * (-EINVAL for a frame shorter than an Ethernet header, -EIO for a short
 * write).  On lo the frame loops back into the device's ingress.
 */
int wf_packet_send_frame(struct wf_packet_sender *s, int ifindex, const uint8_t *frame, size_t len);

/*
 * 1 if ifindex is a loopback device, 0 if not, -errno.  A frame sent on a
 * loopback device comes back into its ingress, as if it had just arrived;
 * on any other device it would leave the machine instead.
 */
int wf_packet_ifindex_is_loopback(struct wf_packet_sender *s, int ifindex);

/*
 * Sends one ICMP message (type byte first; the kernel adds the IP header)
 * to dst, 16 bytes, IPv4 v4-mapped (family WF_FAMILY_IPV4) or IPv6
 * (WF_FAMILY_IPV6, the kernel fills in the ICMPv6 checksum).  ifindex
 * scopes an IPv6 link-local destination.  0, or -errno (-EAFNOSUPPORT for
 * IPv6 when the kernel has none).
 */
int wf_packet_send_icmp(struct wf_packet_sender *s, int family, const uint8_t dst[16],
			int ifindex, const uint8_t *msg, size_t len);

#endif /* WF_PACKET_SEND_H */
