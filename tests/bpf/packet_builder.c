// SPDX-License-Identifier: GPL-2.0
#include "packet_builder.h"

#include <string.h>

#include "byteorder.h"

#define ETH_HLEN 14
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += wf_be16(p + i);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

size_t pb_build(const struct pb_seg *s, uint8_t *out, size_t cap)
{
	const struct pb_flow *f = s->flow;
	bool v6 = f->family == 6;
	size_t opt_len = (s->options_len + 3) & ~(size_t)3;
	size_t ext_len = v6 && s->ipv6_ext_set ? 8 : 0;
	size_t l3 = ETH_HLEN, l4 = l3 + (v6 ? IPV6_HLEN + ext_len : IPV4_HLEN);
	size_t tcp_len = TCP_HLEN + opt_len + s->len;
	size_t total = l4 + tcp_len + s->trailer;
	const uint8_t *src = s->from_server ? f->server : f->client;
	const uint8_t *dst = s->from_server ? f->client : f->server;
	uint16_t sport = s->from_server ? f->server_port : f->client_port;
	uint16_t dport = s->from_server ? f->client_port : f->server_port;
	uint8_t proto = s->ip_proto ? s->ip_proto : 6;
	uint8_t *ip = out + l3, *th = out + l4;
	uint32_t sum;

	if (total > cap || opt_len > 40)
		return 0;
	memset(out, 0, total);

	/* Ethernet: lo uses zero addresses */
	wf_put_be16(out + 12, v6 ? 0x86dd : 0x0800);

	if (!v6) {
		int len = (int)(IPV4_HLEN + tcp_len) + s->ip_len_delta;

		ip[0] = 0x45;
		wf_put_be16(ip + 2, s->ip_len_zero ? 0 : (uint16_t)len);
		wf_put_be16(ip + 4, 0x1234);
		wf_put_be16(ip + 6, s->ipv4_frag_off ? s->ipv4_frag_off : 0x4000 /* DF */);
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		wf_put_be16(ip + 10, csum_fold(csum_add(0, ip, IPV4_HLEN)));
	} else {
		int len = (int)(ext_len + tcp_len) + s->ip_len_delta;

		ip[0] = 0x60;
		wf_put_be16(ip + 4, s->ip_len_zero ? 0 : (uint16_t)len);
		ip[6] = ext_len ? s->ipv6_ext : proto;
		ip[7] = 64;
		memcpy(ip + 8, src, 16);
		memcpy(ip + 24, dst, 16);
		if (ext_len) {
			uint8_t *ext = ip + IPV6_HLEN;

			ext[0] = proto;	/* next header */
			ext[1] = 0;	/* 8 bytes */
			ext[2] = 1;	/* PadN option covering the rest */
			ext[3] = 4;
		}
	}

	wf_put_be16(th + 0, sport);
	wf_put_be16(th + 2, dport);
	wf_put_be32(th + 4, s->seq);
	wf_put_be32(th + 8, s->ack);
	th[12] = (uint8_t)((s->doff_override ? s->doff_override : (TCP_HLEN + opt_len) / 4) << 4);
	th[13] = s->flags;
	wf_put_be16(th + 14, 65535);
	if (s->options_len)
		memcpy(th + TCP_HLEN, s->options, s->options_len);
	memset(th + TCP_HLEN + s->options_len, 1 /* NOP */, opt_len - s->options_len);
	if (s->len)
		memcpy(th + TCP_HLEN + opt_len, s->payload, s->len);

	/* TCP checksum over the pseudo-header (lo does not check it; real
	 * devices would). */
	if (!v6) {
		sum = csum_add(0, ip + 12, 8);
		sum += proto + (uint32_t)tcp_len;
	} else {
		sum = csum_add(0, ip + 8, 32);
		sum += proto + (uint32_t)tcp_len;
	}
	sum = csum_add(sum, th, tcp_len);
	wf_put_be16(th + 16, csum_fold(sum));

	if (s->truncate && s->truncate < total)
		total = s->truncate;
	return total;
}

void pb_flow_v4(struct pb_flow *f, uint16_t cport, uint16_t sport)
{
	memset(f, 0, sizeof(*f));
	f->family = 4;
	f->client[0] = 127, f->client[3] = 1;
	f->server[0] = 127, f->server[3] = 1;
	f->client_port = cport;
	f->server_port = sport;
}

void pb_flow_v6(struct pb_flow *f, uint16_t cport, uint16_t sport)
{
	memset(f, 0, sizeof(*f));
	f->family = 6;
	f->client[15] = 1;
	f->server[15] = 1;
	f->client_port = cport;
	f->server_port = sport;
}
