// SPDX-License-Identifier: GPL-2.0
#include "tcp_frame.h"

#include <errno.h>
#include <string.h>

#include "byteorder.h"

#define IPPROTO_TCP_NUM		6
#define IPV4_DF			0x4000
#define IPV4_FRAG_MASK		0x3fff	/* MF + fragment offset */
#define DEFAULT_TTL		64

#define TCPOPT_EOL		0
#define TCPOPT_NOP		1
#define TCPOPT_TIMESTAMP	8
#define TCPOLEN_TIMESTAMP	10

#define ICMP_DEST_UNREACH	3
#define ICMP_HOST_UNREACH	1
#define ICMPV6_DEST_UNREACH	1
#define ICMPV6_NOROUTE		0
#define ICMPV6_ADDR_UNREACH	3
#define ICMP_HLEN		8
#define ICMP_QUOTE_TCP_V4	8	/* RFC 792: the IP header + 64 bits of data */
#define ICMP_QUOTE_TCP_V6	32

/* ---- Internet checksum (RFC 1071) ------------------------------------------------------------ */

/*
 * Adds the bytes as big-endian 16-bit words; an odd last byte is the high
 * half of a word padded with zero.  Only the last piece of a checksummed
 * sequence may have an odd length.
 */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	while (n > 1) {
		sum += wf_be16(p);
		p += 2;
		n -= 2;
	}
	if (n)
		sum += (uint64_t)p[0] << 8;
	return sum;
}

/* Folds the carries back in and complements: the value to store. */
static uint16_t csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- parsing ------------------------------------------------------------------------------- */

static int parse(const uint8_t *frame, size_t len, bool allow_cut, struct wf_tcp_frame *tf)
{
	const uint8_t *ip = frame + WF_ETH_HLEN, *th;
	uint32_t ip_len, ip_hlen;

	memset(tf, 0, sizeof(*tf));
	if (len < WF_ETH_HLEN)
		return -EMSGSIZE;
	tf->ethertype = wf_be16(frame + 12);
	tf->l3_off = WF_ETH_HLEN;
	switch (tf->ethertype) {
	case WF_ETH_P_IPV4:
		if (len < WF_ETH_HLEN + WF_IPV4_HLEN_MIN)
			return -EMSGSIZE;
		ip_hlen = (ip[0] & 0xf) * 4u;
		if (ip[0] >> 4 != 4 || ip_hlen < WF_IPV4_HLEN_MIN)
			return -EINVAL;
		if (ip[9] != IPPROTO_TCP_NUM || (wf_be16(ip + 6) & IPV4_FRAG_MASK))
			return -EPROTONOSUPPORT;
		ip_len = wf_be16(ip + 2);
		tf->family = WF_FAMILY_IPV4;
		break;
	case WF_ETH_P_IPV6:
		if (len < WF_ETH_HLEN + WF_IPV6_HLEN)
			return -EMSGSIZE;
		if (ip[0] >> 4 != 6)
			return -EINVAL;
		if (ip[6] != IPPROTO_TCP_NUM)
			return -EPROTONOSUPPORT;
		ip_hlen = WF_IPV6_HLEN;
		/* payload_len 0 would be a jumbogram (BIG TCP): refused below
		 * as shorter than its TCP header. */
		ip_len = WF_IPV6_HLEN + wf_be16(ip + 4);
		tf->family = WF_FAMILY_IPV6;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	tf->l4_off = WF_ETH_HLEN + ip_hlen;
	if (ip_len < ip_hlen + WF_TCP_HLEN_MIN)
		return -EINVAL;
	if (len < tf->l4_off + WF_TCP_HLEN_MIN)
		return -EMSGSIZE;
	th = frame + tf->l4_off;
	tf->tcp_hlen = (th[12] >> 4) * 4u;
	if (tf->tcp_hlen < WF_TCP_HLEN_MIN || ip_len < ip_hlen + tf->tcp_hlen)
		return -EINVAL;
	if (len < tf->l4_off + tf->tcp_hlen)
		return -EMSGSIZE;
	tf->payload_off = tf->l4_off + tf->tcp_hlen;
	tf->payload_len = ip_len - ip_hlen - tf->tcp_hlen;
	tf->packet_len = WF_ETH_HLEN + ip_len;
	tf->seq = wf_be32(th + 4);
	tf->ack = wf_be32(th + 8);
	tf->flags = th[13];
	tf->cut = len < tf->packet_len;
	if (tf->cut && !allow_cut)
		return -EMSGSIZE;
	return 0;
}

int wf_tcp_frame_parse(const uint8_t *frame, size_t len, struct wf_tcp_frame *tf)
{
	return parse(frame, len, false, tf);
}

int wf_tcp_frame_parse_headers(const uint8_t *frame, size_t len, struct wf_tcp_frame *tf)
{
	return parse(frame, len, true, tf);
}

void wf_tcp_frame_addrs(const uint8_t *frame, const struct wf_tcp_frame *tf,
			uint8_t src[16], uint8_t dst[16])
{
	const uint8_t *ip = frame + tf->l3_off;

	if (tf->family == WF_FAMILY_IPV6) {
		memcpy(src, ip + 8, 16);
		memcpy(dst, ip + 24, 16);
		return;
	}
	memset(src, 0, 10);
	memset(dst, 0, 10);
	src[10] = src[11] = dst[10] = dst[11] = 0xff;
	memcpy(src + 12, ip + 12, 4);
	memcpy(dst + 12, ip + 16, 4);
}

/* ---- TCP timestamp ------------------------------------------------------------------------- */

int wf_tcp_frame_find_tsval(const uint8_t *frame, const struct wf_tcp_frame *tf)
{
	size_t i = tf->l4_off + WF_TCP_HLEN_MIN, end = tf->l4_off + tf->tcp_hlen;
	int tsval_off = -ENOENT;

	while (i < end) {
		uint8_t kind = frame[i], olen;

		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (end - i < 2)
			return -EINVAL;
		olen = frame[i + 1];
		if (olen < 2 || olen > end - i)
			return -EINVAL;
		if (kind == TCPOPT_TIMESTAMP) {
			if (olen != TCPOLEN_TIMESTAMP)
				return -EINVAL;
			tsval_off = (int)(i + 2);
		}
		i += olen;
	}
	return tsval_off;
}

void wf_tcp_tsval_advance(uint8_t *frame, size_t tsval_off, uint32_t ms)
{
	/* Unsigned arithmetic: wraps modulo 2^32 like the TCP TS clock. */
	wf_put_be32(frame + tsval_off, wf_be32(frame + tsval_off) + ms);
}

/* ---- checksums ----------------------------------------------------------------------------- */

/* Sum of the TCP pseudo-header (RFC 793 §3.1 for IPv4, RFC 8200 §8.1 for IPv6). */
static uint64_t tcp_pseudo_sum(const uint8_t *ip, uint8_t family, uint32_t tcp_len)
{
	uint8_t tail[4];

	if (family == WF_FAMILY_IPV6) {
		/* src(16) dst(16) upper-layer length(32) zero(24) next header(8) */
		uint8_t ph[8] = { 0 };

		wf_put_be32(ph, tcp_len);
		ph[7] = IPPROTO_TCP_NUM;
		return csum_add(csum_add(0, ip + 8, 32), ph, sizeof(ph));
	}
	/* src(4) dst(4) zero(8) protocol(8) TCP length(16) */
	tail[0] = 0;
	tail[1] = IPPROTO_TCP_NUM;
	wf_put_be16(tail + 2, (uint16_t)tcp_len);
	return csum_add(csum_add(0, ip + 12, 8), tail, sizeof(tail));
}

int wf_tcp_frame_fix_checksums(uint8_t *frame, const struct wf_tcp_frame *tf)
{
	uint8_t *ip = frame + tf->l3_off, *th = frame + tf->l4_off;
	uint32_t tcp_len = tf->packet_len - tf->l4_off;
	uint64_t sum;

	if (tf->cut)
		return -EINVAL;
	if (tf->family == WF_FAMILY_IPV4) {
		uint32_t ip_hlen = tf->l4_off - tf->l3_off;

		wf_put_be16(ip + 10, 0);
		wf_put_be16(ip + 10, csum_fold(csum_add(0, ip, ip_hlen)));
	}
	/* Whatever th->check holds (often the pseudo-header sum the stack
	 * left for the device to finish) is discarded, not built upon. */
	wf_put_be16(th + 16, 0);
	sum = tcp_pseudo_sum(ip, tf->family, tcp_len);
	wf_put_be16(th + 16, csum_fold(csum_add(sum, th, tcp_len)));
	return 0;
}

/* ---- crafted frames ------------------------------------------------------------------------ */

static bool is_v4_mapped(const uint8_t a[16])
{
	static const uint8_t prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(a, prefix, sizeof(prefix)) == 0;
}

int wf_tcp_frame_build(uint8_t *buf, size_t size, const struct wf_tcp_segment *seg)
{
	const struct wf_flow_key *key = seg->key;
	const uint8_t *src = seg->to_server ? key->client_addr : key->server_addr;
	const uint8_t *dst = seg->to_server ? key->server_addr : key->client_addr;
	struct wf_tcp_frame tf;
	uint32_t ip_hlen, len;
	uint8_t *ip, *th;

	if (key->family == WF_FAMILY_IPV4) {
		if (!is_v4_mapped(key->client_addr) || !is_v4_mapped(key->server_addr))
			return -EINVAL;
		ip_hlen = WF_IPV4_HLEN_MIN;
	} else if (key->family == WF_FAMILY_IPV6) {
		/* v4-mapped addresses never appear in IPv6 headers on the
		 * wire (ipv6_rcv() drops them). */
		if (is_v4_mapped(key->client_addr) || is_v4_mapped(key->server_addr))
			return -EINVAL;
		ip_hlen = WF_IPV6_HLEN;
	} else {
		return -EINVAL;
	}
	if (seg->len > WF_TCP_SEGMENT_PAYLOAD_MAX)
		return -EMSGSIZE;
	len = WF_ETH_HLEN + ip_hlen + WF_TCP_HLEN_MIN + (uint32_t)seg->len;
	if (size < len)
		return -ENOSPC;
	memset(buf, 0, len - seg->len);		/* zero MACs, as on lo */
	ip = buf + WF_ETH_HLEN;
	th = ip + ip_hlen;
	if (key->family == WF_FAMILY_IPV4) {
		wf_put_be16(buf + 12, WF_ETH_P_IPV4);
		ip[0] = 0x45;				/* version 4, IHL 5 */
		wf_put_be16(ip + 2, (uint16_t)(ip_hlen + WF_TCP_HLEN_MIN + seg->len));
		wf_put_be16(ip + 6, IPV4_DF);		/* as Linux sends with PMTU discovery */
		ip[8] = DEFAULT_TTL;
		ip[9] = IPPROTO_TCP_NUM;
		memcpy(ip + 12, src + 12, 4);
		memcpy(ip + 16, dst + 12, 4);
	} else {
		wf_put_be16(buf + 12, WF_ETH_P_IPV6);
		ip[0] = 0x60;				/* version 6, class 0, no flow label */
		wf_put_be16(ip + 4, (uint16_t)(WF_TCP_HLEN_MIN + seg->len));
		ip[6] = IPPROTO_TCP_NUM;
		ip[7] = DEFAULT_TTL;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
	}
	wf_put_be16(th, seg->to_server ? key->client_port : key->server_port);
	wf_put_be16(th + 2, seg->to_server ? key->server_port : key->client_port);
	wf_put_be32(th + 4, seg->seq);
	wf_put_be32(th + 8, seg->ack);
	th[12] = (WF_TCP_HLEN_MIN / 4) << 4;
	th[13] = seg->flags;
	wf_put_be16(th + 14, seg->window);
	if (seg->len)
		memcpy(th + WF_TCP_HLEN_MIN, seg->payload, seg->len);

	/* Checksums through the same code as re-injected frames. */
	if (wf_tcp_frame_parse(buf, len, &tf) || wf_tcp_frame_fix_checksums(buf, &tf))
		return -EINVAL;		/* cannot happen: we just built it */
	return (int)len;
}

int wf_tcp_frame_build_syn(uint8_t *buf, size_t size, const struct wf_flow_key *key, uint32_t seq)
{
	struct wf_tcp_segment seg = {
		.key = key,
		.to_server = true,
		.seq = seq,
		.flags = WF_TCP_SYN,
		.window = WF_TCP_SYN_WINDOW,
	};

	return wf_tcp_frame_build(buf, size, &seg);
}

int wf_tcp_frame_build_unreach(const uint8_t *frame, const struct wf_tcp_frame *tf,
			       enum wf_unreach_why why, uint8_t *buf, size_t size)
{
	uint32_t ip_hlen = tf->l4_off - tf->l3_off, quote_tcp, len;

	if (tf->family == WF_FAMILY_IPV4) {
		quote_tcp = ICMP_QUOTE_TCP_V4;
	} else {
		/* A cut frame is known to hold its whole TCP header (>= 20). */
		uint32_t have = tf->cut ? tf->tcp_hlen : tf->packet_len - tf->l4_off;

		quote_tcp = have < ICMP_QUOTE_TCP_V6 ? have : ICMP_QUOTE_TCP_V6;
	}
	len = ICMP_HLEN + ip_hlen + quote_tcp;
	if (size < len)
		return -ENOSPC;
	memset(buf, 0, ICMP_HLEN);	/* checksum and the unused word */
	memcpy(buf + ICMP_HLEN, frame + tf->l3_off, ip_hlen + quote_tcp);
	if (tf->family == WF_FAMILY_IPV4) {
		buf[0] = ICMP_DEST_UNREACH;
		buf[1] = ICMP_HOST_UNREACH;
		wf_put_be16(buf + 2, csum_fold(csum_add(0, buf, len)));
	} else {
		buf[0] = ICMPV6_DEST_UNREACH;
		buf[1] = why == WF_UNREACH_HOST ? ICMPV6_ADDR_UNREACH : ICMPV6_NOROUTE;
	}
	return (int)len;
}
