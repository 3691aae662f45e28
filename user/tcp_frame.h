/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP frames as the tc program sees them on lo, and the few frames the
 * loader crafts itself (DESIGN.md §7 "Holding precisely", killall):
 *
 *   Ethernet (14 bytes, zero MACs on lo; ethertype 0x0800 or 0x86DD)
 *   + IPv4 (any IHL) or IPv6 (the fixed 40-byte header, next header TCP:
 *     no extension headers, which local TCP never emits)
 *   + TCP header (20..60 bytes) + payload.
 *
 * Used for:
 *  - re-injecting a held frame: find and advance its TCP timestamp, then
 *    recompute its checksums from scratch (a copy taken at the tc hook of
 *    locally generated traffic carries only the CHECKSUM_PARTIAL
 *    pseudo-header sum in the TCP checksum field, while the re-injected
 *    packet is CHECKSUM_NONE and the receiver verifies it in full);
 *  - the killall probe: a bare SYN client -> server, which a server socket
 *    in ESTABLISHED answers with a challenge ACK (RFC 5961 §4);
 *  - the ICMP "destination unreachable" that quotes a held segment, sent to
 *    its sender to revert the RTO backoff (RFC 6069).
 *
 * All functions work on byte buffers with no alignment assumption.  Errors
 * are negative errno values.
 */
#ifndef WF_TCP_FRAME_H
#define WF_TCP_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wf_flow.h"

#define WF_ETH_HLEN		14
#define WF_ETH_P_IPV4		0x0800
#define WF_ETH_P_IPV6		0x86dd
#define WF_IPV4_HLEN_MIN	20
#define WF_IPV6_HLEN		40
#define WF_TCP_HLEN_MIN		20

#define WF_TCP_FIN		0x01
#define WF_TCP_SYN		0x02
#define WF_TCP_RST		0x04
#define WF_TCP_PSH		0x08
#define WF_TCP_ACK		0x10

/* The SYN probe: Ethernet + IPv6 + a TCP header without options. */
#define WF_TCP_SYN_FRAME_MAX	(WF_ETH_HLEN + WF_IPV6_HLEN + WF_TCP_HLEN_MIN)
#define WF_TCP_SYN_WINDOW	65535

/* The largest ICMP message wf_tcp_frame_build_unreach() writes: the ICMPv6
 * header, the IPv6 header and 32 bytes of TCP (an IPv4 one quotes at most
 * 60 + 8 bytes). */
#define WF_ICMP_UNREACH_MAX	(8 + WF_IPV6_HLEN + 32)

/* Where things are in a parsed frame.  Offsets count from the frame start. */
struct wf_tcp_frame {
	uint8_t family;		/* enum wf_family: WF_FAMILY_IPV4 or WF_FAMILY_IPV6 */
	uint8_t flags;		/* the TCP flags byte (WF_TCP_*) */
	uint16_t ethertype;	/* WF_ETH_P_IPV4 or WF_ETH_P_IPV6 */
	uint32_t l3_off;	/* IP header (always WF_ETH_HLEN) */
	uint32_t l4_off;	/* TCP header */
	uint32_t tcp_hlen;	/* TCP data offset in bytes, 20..60 */
	uint32_t payload_off;
	uint32_t payload_len;	/* as the IP header declares it */
	uint32_t packet_len;	/* Ethernet + the IP length: bytes that make the packet
				 * (a longer frame has trailing bytes, not sent) */
	uint32_t seq;		/* host order */
	uint32_t ack;
	bool cut;		/* the buffer ends before packet_len (headers-only copy) */
};

/*
 * Parses a whole frame of len bytes.  0, or -EPROTONOSUPPORT (not IPv4 or
 * IPv6 carrying TCP, an IPv4 fragment, an IPv6 extension header), -EINVAL
 * (malformed: version, header lengths, IP length shorter than its headers)
 * or -EMSGSIZE (the buffer ends before the IP length says).
 */
int wf_tcp_frame_parse(const uint8_t *frame, size_t len, struct wf_tcp_frame *tf);

/*
 * The same for a copy of which only the first len bytes were kept: the
 * Ethernet, IP and whole TCP header must be there, the payload may be cut
 * (tf->cut tells).  Enough to quote the segment in an ICMP error.
 */
int wf_tcp_frame_parse_headers(const uint8_t *frame, size_t len, struct wf_tcp_frame *tf);

/*
 * The offset in the frame of the TSval of the TCP timestamp option, found
 * wherever it is among the options (EOL ends them, NOP is one byte, any
 * other kind has a length byte).  -ENOENT if there is none, -EINVAL if an
 * option length is wrong (below 2, past the header, or a timestamp option
 * not 10 bytes long).  With several timestamp options, the last one: that
 * is the one Linux's tcp_parse_options() keeps.
 */
int wf_tcp_frame_find_tsval(const uint8_t *frame, const struct wf_tcp_frame *tf);

/* Adds ms to the 32-bit TSval at frame + tsval_off, modulo 2^32 (the TCP
 * timestamp clock wraps). */
void wf_tcp_tsval_advance(uint8_t *frame, size_t tsval_off, uint32_t ms);

/*
 * Recomputes the IPv4 header checksum and the full TCP checksum
 * (pseudo-header + TCP header + payload) of a parsed, uncut frame.
 * -EINVAL if tf->cut.
 */
int wf_tcp_frame_fix_checksums(uint8_t *frame, const struct wf_tcp_frame *tf);

/*
 * The frame's source and destination addresses as 16 bytes each, IPv4 in
 * the v4-mapped form ::ffff:a.b.c.d (as struct wf_flow_key stores them).
 */
void wf_tcp_frame_addrs(const uint8_t *frame, const struct wf_tcp_frame *tf,
			uint8_t src[16], uint8_t dst[16]);

/* A segment to build: from one peer of `key` to the other. */
struct wf_tcp_segment {
	const struct wf_flow_key *key;
	bool to_server;		/* client -> server, else server -> client */
	uint32_t seq, ack;
	uint8_t flags;		/* WF_TCP_* */
	uint16_t window;
	const uint8_t *payload;
	size_t len;		/* at most WF_TCP_SEGMENT_PAYLOAD_MAX */
};

/* Payload that fits one IPv4 packet (total length 65535) without options. */
#define WF_TCP_SEGMENT_PAYLOAD_MAX	(65535 - WF_IPV4_HLEN_MIN - WF_TCP_HLEN_MIN)
#define WF_TCP_SEGMENT_FRAME_MAX	(WF_ETH_HLEN + WF_IPV6_HLEN + WF_TCP_HLEN_MIN + \
					 WF_TCP_SEGMENT_PAYLOAD_MAX)

/*
 * Writes an Ethernet (zero MACs, as on lo) + IPv4/IPv6 + TCP frame without
 * options carrying the segment, TTL/hop limit 64, checksums filled in.
 * Returns the frame length, -EINVAL for a key whose family is unknown or
 * whose IPv4 addresses are not v4-mapped, -EMSGSIZE for too much payload,
 * -ENOSPC if buf is too small (WF_TCP_SEGMENT_FRAME_MAX always suffices).
 * The pcap writer's packets, and the killall probe below.
 */
int wf_tcp_frame_build(uint8_t *buf, size_t size, const struct wf_tcp_segment *seg);

/*
 * Writes the killall probe into buf (size bytes): a bare SYN from the
 * key's client to its server with sequence number seq, no options, window
 * WF_TCP_SYN_WINDOW, TTL/hop limit 64, checksums filled in.  Returns the
 * frame length (54 for IPv4, 74 for IPv6), -EINVAL for a key whose family
 * is unknown or whose IPv4 addresses are not v4-mapped, -ENOSPC if buf is
 * too small (WF_TCP_SYN_FRAME_MAX always suffices).
 */
int wf_tcp_frame_build_syn(uint8_t *buf, size_t size, const struct wf_flow_key *key, uint32_t seq);

/*
 * Writes into buf the ICMP message (from its type byte on, as a raw ICMP
 * socket sends it) that reports the parsed frame's segment undeliverable:
 *  - IPv4: type 3 code 1 (host unreachable), quoting the IP header with its
 *    options and the first 8 TCP bytes (ports and seq: all tcp_v4_err()
 *    reads), ICMP checksum filled in;
 *  - IPv6: ICMPv6 type 1 code 0 (no route) for WF_UNREACH_RTO_REVERT, code 3
 *    (address unreachable: EHOSTUNREACH, as IPv4's host unreachable) for
 *    WF_UNREACH_HOST, quoting the 40-byte IPv6
 *    header and the first 32 TCP bytes (fewer if the segment is shorter,
 *    at least 8), checksum left 0 (a raw ICMPv6 socket fills it in: it
 *    covers the pseudo-header, which only the kernel knows for sure).
 * RTO_REVERT (a hold's release): the codes for which tcp_v4_err() and
 * tcp_v6_err() call tcp_ld_RTO_revert().  HOST (unreachable()): the codes a
 * socket reports as EHOSTUNREACH.  The frame may be cut (headers only).  Returns the
 * message length, or -ENOSPC (WF_ICMP_UNREACH_MAX always suffices).
 */
enum wf_unreach_why {
	WF_UNREACH_RTO_REVERT,	/* make the sender retransmit at once */
	WF_UNREACH_HOST,	/* tell the sender its peer is unreachable */
};

int wf_tcp_frame_build_unreach(const uint8_t *frame, const struct wf_tcp_frame *tf,
			       enum wf_unreach_why why, uint8_t *buf, size_t size);

#endif /* WF_TCP_FRAME_H */
