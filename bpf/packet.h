/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Packet parsing: Ethernet + IPv4 (options allowed) or IPv6 (fixed 40-byte
 * header) + TCP, through bpf_skb_load_bytes() so that non-linear and GSO
 * skbs parse like linear ones.  Produces the client->server flow key and the
 * payload's place in the skb.
 */
#ifndef WF_BPF_PACKET_H
#define WF_BPF_PACKET_H

#include "wf_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "wf_config.h"
#include "wf_flow.h"

#define WF_ETH_HLEN		14
#define WF_ETH_P_IP		0x0800
#define WF_ETH_P_IPV6		0x86DD
#define WF_IPPROTO_TCP		6
#define WF_IP_MF_OFFSET		0x3fff	/* frag_off: more-fragments + offset */
#define WF_IPV6_HLEN		40

#define WF_TCP_FIN		0x01
#define WF_TCP_SYN		0x02
#define WF_TCP_RST		0x04
#define WF_TCP_PSH		0x08
#define WF_TCP_ACK		0x10

struct wf_pkt {
	struct wf_flow_key key;	/* client -> server, whichever way the packet goes */
	__u32 seq;		/* TCP sequence number, host order */
	__u32 ack_seq;
	__u32 payload_off;	/* skb offset of the first payload byte */
	__u32 payload_len;	/* payload bytes (skb->len based: GSO skbs exceed 64 KiB) */
	__u8 tcp_flags;		/* WF_TCP_* */
	__u8 dir;		/* enum wf_dir */
	__u8 pad[2];
};

enum wf_parse_result {
	WF_PARSE_OK = 0,
	WF_PARSE_OTHER,		/* not TCP, or TCP of no followed port */
	WF_PARSE_MALFORMED,	/* IP whose TCP header cannot be read */
};

/* IPv6 extension headers: a TCP header may hide behind them, but this
 * parser only takes the fixed header (loopback traffic carries none). */
static __always_inline bool wf_ipv6_ext_hdr(__u8 nexthdr)
{
	switch (nexthdr) {
	case 0:		/* hop-by-hop options */
	case 43:	/* routing */
	case 44:	/* fragment */
	case 51:	/* authentication header */
	case 60:	/* destination options */
	case 135:	/* mobility */
	case 139:	/* host identity protocol */
	case 140:	/* shim6 */
		return true;
	}
	return false;
}

/* IPv4 addresses are keyed in their v4-mapped IPv6 form ::ffff:a.b.c.d. */
static __always_inline void wf_addr_v4(__u8 out[16], __be32 addr)
{
	out[10] = 0xff;
	out[11] = 0xff;
	__builtin_memcpy(&out[12], &addr, 4);
}

/*
 * Fills *p for a TCP packet to or from a port cfg follows (wf_config_follows:
 * the server side is the followed port; if both are, the destination).  The L3 length is
 * computed from skb->len: the IP length field is only used to cut off
 * trailing link-layer padding of small non-GSO frames (a bare ACK padded to
 * 60 bytes must not look like 6 payload bytes).  GSO skbs on lo reach
 * 512 KiB, where IPv4 tot_len is 0 or wrong.
 *
 * Not inlined: its headers and addresses get a stack frame of their own.
 */
static __noinline enum wf_parse_result
wf_parse_packet(struct __sk_buff *skb, const struct wf_config *cfg, struct wf_pkt *p)
{
	__u32 l3 = WF_ETH_HLEN, l4, ip_end = 0;
	__u8 saddr[16] = {}, daddr[16] = {};
	struct tcphdr th;
	__u16 sport, dport;
	__u8 family;

	if (skb->protocol == bpf_htons(WF_ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, l3, &ip, sizeof(ip)))
			return WF_PARSE_MALFORMED;
		if (ip.version != 4 || ip.ihl < 5)
			return WF_PARSE_MALFORMED;
		if (ip.protocol != WF_IPPROTO_TCP)
			return WF_PARSE_OTHER;
		if (ip.frag_off & bpf_htons(WF_IP_MF_OFFSET))
			return WF_PARSE_MALFORMED;
		l4 = l3 + ip.ihl * 4;
		if (ip.tot_len)
			ip_end = l3 + bpf_ntohs(ip.tot_len);
		wf_addr_v4(saddr, ip.saddr);
		wf_addr_v4(daddr, ip.daddr);
		family = WF_FAMILY_IPV4;
	} else if (skb->protocol == bpf_htons(WF_ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, l3, &ip6, sizeof(ip6)))
			return WF_PARSE_MALFORMED;
		if (ip6.version != 6)
			return WF_PARSE_MALFORMED;
		if (ip6.nexthdr != WF_IPPROTO_TCP)
			return wf_ipv6_ext_hdr(ip6.nexthdr) ? WF_PARSE_MALFORMED : WF_PARSE_OTHER;
		l4 = l3 + WF_IPV6_HLEN;
		/* payload_len 0 is a jumbogram / BIG TCP GSO skb: length unknown */
		if (ip6.payload_len)
			ip_end = l4 + bpf_ntohs(ip6.payload_len);
		__builtin_memcpy(saddr, &ip6.saddr, 16);
		__builtin_memcpy(daddr, &ip6.daddr, 16);
		family = WF_FAMILY_IPV6;
	} else {
		return WF_PARSE_OTHER;
	}

	if (bpf_skb_load_bytes(skb, l4, &th, sizeof(th)))
		return WF_PARSE_MALFORMED;
	sport = bpf_ntohs(th.source);
	dport = bpf_ntohs(th.dest);
	if (wf_config_follows(cfg, dport))
		p->dir = WF_DIR_FRONTEND;
	else if (wf_config_follows(cfg, sport))
		p->dir = WF_DIR_BACKEND;
	else
		return WF_PARSE_OTHER;

	if (th.doff < 5)
		return WF_PARSE_MALFORMED;
	p->payload_off = l4 + th.doff * 4;
	if (p->payload_off > skb->len)
		return WF_PARSE_MALFORMED;
	p->payload_len = skb->len - p->payload_off;
	if (!skb->gso_size && ip_end) {
		if (ip_end < p->payload_off || ip_end > skb->len)
			return WF_PARSE_MALFORMED;
		p->payload_len = ip_end - p->payload_off;
	}

	p->seq = bpf_ntohl(th.seq);
	p->ack_seq = bpf_ntohl(th.ack_seq);
	p->tcp_flags = ((__u8 *)&th)[13];
	p->pad[0] = 0;
	p->pad[1] = 0;

	__builtin_memset(&p->key, 0, sizeof(p->key));
	p->key.family = family;
	if (p->dir == WF_DIR_FRONTEND) {
		__builtin_memcpy(p->key.client_addr, saddr, 16);
		__builtin_memcpy(p->key.server_addr, daddr, 16);
		p->key.client_port = sport;
		p->key.server_port = dport;
	} else {
		__builtin_memcpy(p->key.client_addr, daddr, 16);
		__builtin_memcpy(p->key.server_addr, saddr, 16);
		p->key.client_port = dport;
		p->key.server_port = sport;
	}
	return WF_PARSE_OK;
}

#endif /* WF_BPF_PACKET_H */
