/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Control segments built from the packet in hand: the packet is cut down to
 * its headers and rewritten as a FIN or RST, toward its receiver (forward)
 * or back to its sender (reverse: addresses, ports, seq/ack and the TCP
 * timestamps swapped), with correct IP and TCP checksums.  A reverse
 * segment is cloned out of the device the packet came in on (egress; on
 * lo it loops back in), marked WF_OWN_MARK so the program passes it
 * untouched.  Not BPF_F_INGRESS: that path scrubs the route, and on IPv4
 * a fresh input route lookup drops 127/8 sources (kfree_skb reason
 * IP_LOCALNET) when the receiving socket has no cached route yet, i.e. a
 * client whose first chunk was killed would never see its FIN.
 *
 * Layouts handled: IPv4 without options and IPv6 without extension headers;
 * TCP options either absent or starting with Linux's NOP,NOP,Timestamp
 * (the timestamp is kept, so the peer's PAWS check passes), anything else
 * is sent without options (Linux accepts segments without a timestamp).
 * DESIGN.md §7 "Verdicts on the wire" has the measurements behind this.
 */
#ifndef WF_BPF_TCP_INJECT_H
#define WF_BPF_TCP_INJECT_H

#include "counters.h"
#include "packet.h"

#define WF_TCPOPT_NOP_NOP_TS	0x0101080au	/* NOP, NOP, kind 8, length 10 */
#define WF_TCP_HLEN		20
#define WF_TCP_TS_LEN		12

struct wf_tcp_ctl {
	__u32 l4;		/* skb offset of the TCP header */
	__u8 family;		/* enum wf_family */
	__u8 has_ts;
	__u8 pad[2];
	__be32 tsval, tsecr;	/* the packet's timestamp option, as on the wire */
	struct tcphdr th;
	union {
		struct iphdr ip4;
		struct ipv6hdr ip6;
	};
};

/* Per-CPU room for one struct wf_tcp_ctl (kept off the stack, see flow_table.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_tcp_ctl);
} ctl_scratch SEC(".maps");

static __always_inline struct wf_tcp_ctl *wf_tcp_ctl_scratch(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ctl_scratch, &zero);
}

static __always_inline __u16 wf_csum_fold(__u64 s)
{
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffffffff) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return (__u16)~s;
}

/* Reads what a control segment needs from the packet; -1 if its layout is not handled. */
static __always_inline int wf_tcp_ctl_load(struct __sk_buff *skb, const struct wf_pkt *p,
					   struct wf_tcp_ctl *ctl)
{
	__u32 opt[3];

	ctl->family = p->key.family;
	if (p->key.family == WF_FAMILY_IPV4) {
		if (bpf_skb_load_bytes(skb, WF_ETH_HLEN, &ctl->ip4, sizeof(ctl->ip4)) || ctl->ip4.ihl != 5)
			return -1;
		ctl->l4 = WF_ETH_HLEN + sizeof(struct iphdr);
	} else {
		if (bpf_skb_load_bytes(skb, WF_ETH_HLEN, &ctl->ip6, sizeof(ctl->ip6)))
			return -1;
		ctl->l4 = WF_ETH_HLEN + WF_IPV6_HLEN;
	}
	if (bpf_skb_load_bytes(skb, ctl->l4, &ctl->th, sizeof(ctl->th)))
		return -1;
	ctl->has_ts = 0;
	if (ctl->th.doff * 4 >= WF_TCP_HLEN + WF_TCP_TS_LEN &&
	    !bpf_skb_load_bytes(skb, ctl->l4 + WF_TCP_HLEN, opt, sizeof(opt)) &&
	    opt[0] == bpf_htonl(WF_TCPOPT_NOP_NOP_TS)) {
		ctl->has_ts = 1;
		ctl->tsval = opt[1];
		ctl->tsecr = opt[2];
	}
	return 0;
}

/* Cuts the packet down to the headers a control segment needs. */
static __always_inline int wf_tcp_ctl_trim(struct __sk_buff *skb, const struct wf_tcp_ctl *ctl)
{
	return bpf_skb_change_tail(skb, ctl->l4 + WF_TCP_HLEN + (ctl->has_ts ? WF_TCP_TS_LEN : 0), 0);
}

#define WF_CTL_REVERSE	0x100	/* with the TCP flags in wf_tcp_ctl_write()'s `how` */

/*
 * Writes the (trimmed) packet as a control segment with the TCP flags in
 * `how` (| WF_CTL_REVERSE: back to its sender), `seq` and `ack` (host
 * order).  0 or -1.  Not inlined: its headers get a stack frame of their
 * own (the program's call chains must fit in 512 bytes together).
 */
static __noinline int wf_tcp_ctl_write(struct __sk_buff *skb, const struct wf_tcp_ctl *ctl,
				       __u32 how, __u32 seq, __u32 ack)
{
	bool reverse = how & WF_CTL_REVERSE;
	__u8 flags = how & 0xff;
	__u32 thl = WF_TCP_HLEN + (ctl->has_ts ? WF_TCP_TS_LEN : 0);
	struct tcphdr th = ctl->th;
	__u32 opt[3] = {};
	__u64 cs;

	if (reverse) {
		th.source = ctl->th.dest;
		th.dest = ctl->th.source;
	}
	th.seq = bpf_htonl(seq);
	th.ack_seq = bpf_htonl(ack);
	th.doff = thl / 4;
	((__u8 *)&th)[13] = flags;
	th.urg_ptr = 0;
	th.check = 0;
	if (ctl->has_ts) {
		opt[0] = bpf_htonl(WF_TCPOPT_NOP_NOP_TS);
		opt[1] = reverse ? ctl->tsecr : ctl->tsval;
		opt[2] = reverse ? ctl->tsval : ctl->tsecr;
	}

	if (ctl->family == WF_FAMILY_IPV4) {
		struct iphdr ip = ctl->ip4;
		struct {
			__be32 s, d;
			__u8 zero, proto;
			__be16 len;
		} ph;

		if (reverse) {
			ip.saddr = ctl->ip4.daddr;
			ip.daddr = ctl->ip4.saddr;
		}
		ip.tot_len = bpf_htons(sizeof(ip) + thl);
		ip.ttl = 64;
		ip.check = 0;
		ip.check = wf_csum_fold(bpf_csum_diff(0, 0, (__be32 *)&ip, sizeof(ip), 0));
		ph.s = ip.saddr;
		ph.d = ip.daddr;
		ph.zero = 0;
		ph.proto = WF_IPPROTO_TCP;
		ph.len = bpf_htons(thl);
		cs = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
		if (bpf_skb_store_bytes(skb, WF_ETH_HLEN, &ip, sizeof(ip), 0))
			return -1;
	} else {
		struct ipv6hdr ip6 = ctl->ip6;
		struct {
			struct in6_addr s, d;
			__be32 len;
			__u8 zero[3], proto;
		} ph;

		if (reverse) {
			ip6.saddr = ctl->ip6.daddr;
			ip6.daddr = ctl->ip6.saddr;
		}
		ip6.payload_len = bpf_htons(thl);
		ip6.hop_limit = 64;
		ph.s = ip6.saddr;
		ph.d = ip6.daddr;
		ph.len = bpf_htonl(thl);
		ph.zero[0] = ph.zero[1] = ph.zero[2] = 0;
		ph.proto = WF_IPPROTO_TCP;
		cs = bpf_csum_diff(0, 0, (__be32 *)&ph, sizeof(ph), 0);
		if (bpf_skb_store_bytes(skb, WF_ETH_HLEN, &ip6, sizeof(ip6), 0))
			return -1;
	}
	cs = bpf_csum_diff(0, 0, (__be32 *)&th, sizeof(th), cs);
	if (ctl->has_ts)
		cs = bpf_csum_diff(0, 0, (__be32 *)opt, sizeof(opt), cs);
	th.check = wf_csum_fold(cs);
	if (bpf_skb_store_bytes(skb, ctl->l4, &th, sizeof(th), 0))
		return -1;
	if (ctl->has_ts && bpf_skb_store_bytes(skb, ctl->l4 + WF_TCP_HLEN, opt, sizeof(opt), 0))
		return -1;
	return 0;
}

/* Sends the packet as it is now back in on its device, marked as ours. */
static __always_inline int wf_tcp_ctl_send_back(struct __sk_buff *skb)
{
	__u32 mark = skb->mark;
	long err;

	skb->mark = WF_OWN_MARK;
	err = bpf_clone_redirect(skb, skb->ifindex, 0);
	skb->mark = mark;
	return err ? -1 : 0;
}

#endif /* WF_BPF_TCP_INJECT_H */
