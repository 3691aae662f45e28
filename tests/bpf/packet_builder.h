/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet builder for BPF_PROG_TEST_RUN: Ethernet + IPv4 or IPv6 + TCP
 * segments with any flags, seq/ack, options and payload.  Shared by
 * tests/bpf and bench/; the PostgreSQL messages to put in them come from
 * tests/lib/pg_wire_builder.h.
 */
#ifndef WF_PACKET_BUILDER_H
#define WF_PACKET_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PB_TCP_FIN 0x01
#define PB_TCP_SYN 0x02
#define PB_TCP_RST 0x04
#define PB_TCP_PSH 0x08
#define PB_TCP_ACK 0x10

/*
 * BPF_PROG_TEST_RUN for sched_cls takes one page minus skb head/tailroom
 * (about 3.7 KiB): keep whole frames below this.
 */
#define PB_FRAME_MAX 3600
#define PB_MSS 3400		/* payload per segment that always fits */

/* A TCP connection's addresses, as the client sees them. */
struct pb_flow {
	int family;		/* 4 or 6 */
	uint8_t client[16];	/* IPv4: the first 4 bytes */
	uint8_t server[16];
	uint16_t client_port;
	uint16_t server_port;
};

/* One segment. */
struct pb_seg {
	const struct pb_flow *flow;
	bool from_server;	/* server -> client */
	uint8_t flags;		/* PB_TCP_* */
	uint32_t seq, ack;
	const uint8_t *options;	/* TCP options; padded with NOPs to 4 bytes */
	size_t options_len;
	const uint8_t *payload;
	size_t len;
	/* Deliberate damage, for malformed-packet cases. */
	uint8_t ip_proto;	/* 0 = TCP */
	int ip_len_delta;	/* added to IPv4 tot_len / IPv6 payload_len */
	bool ip_len_zero;	/* length field 0 (GSO / jumbogram style) */
	uint8_t doff_override;	/* TCP data offset in 32-bit words, 0 = right */
	size_t truncate;	/* cut the frame to this many bytes (0 = no) */
	size_t trailer;		/* zero bytes after the IP packet (link padding) */
	uint16_t ipv4_frag_off;	/* host order: flags + offset field */
	uint8_t ipv6_ext;	/* put one 8-byte extension header of this type first */
	bool ipv6_ext_set;
};

/* Builds the frame into out (cap bytes); returns its length, 0 if too big. */
size_t pb_build(const struct pb_seg *s, uint8_t *out, size_t cap);

/* Addresses for tests: 127.0.0.1:cport -> 127.0.0.1:sport, or ::1. */
void pb_flow_v4(struct pb_flow *f, uint16_t cport, uint16_t sport);
void pb_flow_v6(struct pb_flow *f, uint16_t cport, uint16_t sport);

#endif /* WF_PACKET_BUILDER_H */
