// SPDX-License-Identifier: GPL-2.0
#include "packet_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ETH_HLEN 14
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20

static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
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

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
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
	put16(out + 12, v6 ? 0x86dd : 0x0800);

	if (!v6) {
		int len = (int)(IPV4_HLEN + tcp_len) + s->ip_len_delta;

		ip[0] = 0x45;
		put16(ip + 2, s->ip_len_zero ? 0 : (uint16_t)len);
		put16(ip + 4, 0x1234);
		put16(ip + 6, s->ipv4_frag_off ? s->ipv4_frag_off : 0x4000 /* DF */);
		ip[8] = 64;
		ip[9] = proto;
		memcpy(ip + 12, src, 4);
		memcpy(ip + 16, dst, 4);
		put16(ip + 10, csum_fold(csum_add(0, ip, IPV4_HLEN)));
	} else {
		int len = (int)(ext_len + tcp_len) + s->ip_len_delta;

		ip[0] = 0x60;
		put16(ip + 4, s->ip_len_zero ? 0 : (uint16_t)len);
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

	put16(th + 0, sport);
	put16(th + 2, dport);
	put32(th + 4, s->seq);
	put32(th + 8, s->ack);
	th[12] = (uint8_t)((s->doff_override ? s->doff_override : (TCP_HLEN + opt_len) / 4) << 4);
	th[13] = s->flags;
	put16(th + 14, 65535);
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
	put16(th + 16, csum_fold(sum));

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

/* ---- byte buffers --------------------------------------------------------- */

void pb_buf_free(struct pb_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

void pb_put(struct pb_buf *b, const void *data, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + len)
			cap *= 2;
		b->data = realloc(b->data, cap);
		if (!b->data) {
			perror("realloc");
			abort();
		}
		b->cap = cap;
	}
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
}

void pb_put_u8(struct pb_buf *b, uint8_t v)
{
	pb_put(b, &v, 1);
}

void pb_put_be16(struct pb_buf *b, uint16_t v)
{
	uint8_t p[2];

	put16(p, v);
	pb_put(b, p, 2);
}

void pb_put_be32(struct pb_buf *b, uint32_t v)
{
	uint8_t p[4];

	put32(p, v);
	pb_put(b, p, 4);
}

void pb_put_str(struct pb_buf *b, const char *s)
{
	pb_put(b, s, strlen(s) + 1);
}

/* ---- PostgreSQL ----------------------------------------------------------- */

static void pg_untyped(struct pb_buf *b, uint32_t code, const struct pb_buf *body)
{
	pb_put_be32(b, (uint32_t)(8 + (body ? body->len : 0)));
	pb_put_be32(b, code);
	if (body)
		pb_put(b, body->data, body->len);
}

void pg_startup(struct pb_buf *b, const char *user, const char *database)
{
	struct pb_buf body = { 0 };

	pb_put_str(&body, "user");
	pb_put_str(&body, user);
	pb_put_str(&body, "database");
	pb_put_str(&body, database);
	pb_put_str(&body, "application_name");
	pb_put_str(&body, "psql");
	pb_put_u8(&body, 0);
	pg_untyped(b, 196608, &body);
	pb_buf_free(&body);
}

void pg_ssl_request(struct pb_buf *b)
{
	pg_untyped(b, 80877103, NULL);
}

void pg_gssenc_request(struct pb_buf *b)
{
	pg_untyped(b, 80877104, NULL);
}

void pg_cancel_request(struct pb_buf *b, uint32_t pid, uint32_t key)
{
	struct pb_buf body = { 0 };

	pb_put_be32(&body, pid);
	pb_put_be32(&body, key);
	pg_untyped(b, 80877102, &body);
	pb_buf_free(&body);
}

void pg_msg(struct pb_buf *b, char type, const void *body, size_t body_len)
{
	pb_put_u8(b, (uint8_t)type);
	pb_put_be32(b, (uint32_t)(4 + body_len));
	pb_put(b, body, body_len);
}

void pg_query(struct pb_buf *b, const char *sql)
{
	pg_msg(b, 'Q', sql, strlen(sql) + 1);
}

void pg_terminate(struct pb_buf *b)
{
	pg_msg(b, 'X', NULL, 0);
}

void pg_data_row(struct pb_buf *b, const char *const *values, int n)
{
	struct pb_buf body = { 0 };

	pb_put_be16(&body, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		if (!values[i]) {
			pb_put_be32(&body, 0xffffffffu);
			continue;
		}
		pb_put_be32(&body, (uint32_t)strlen(values[i]));
		pb_put(&body, values[i], strlen(values[i]));
	}
	pg_msg(b, 'D', body.data, body.len);
	pb_buf_free(&body);
}

void pg_data_row_big(struct pb_buf *b, size_t size)
{
	struct pb_buf body = { 0 };

	pb_put_be16(&body, 1);
	pb_put_be32(&body, (uint32_t)size);
	for (size_t i = 0; i < size; i++)
		pb_put_u8(&body, (uint8_t)('a' + i % 26));
	pg_msg(b, 'D', body.data, body.len);
	pb_buf_free(&body);
}

void pg_command_complete(struct pb_buf *b, const char *tag)
{
	pg_msg(b, 'C', tag, strlen(tag) + 1);
}

void pg_ready_for_query(struct pb_buf *b, char status)
{
	pg_msg(b, 'Z', &status, 1);
}

void pg_parameter_status(struct pb_buf *b, const char *name, const char *value)
{
	struct pb_buf body = { 0 };

	pb_put_str(&body, name);
	pb_put_str(&body, value);
	pg_msg(b, 'S', body.data, body.len);
	pb_buf_free(&body);
}

void pg_login_burst(struct pb_buf *b)
{
	static const char *const params[][2] = {
		{ "application_name", "psql" },
		{ "client_encoding", "UTF8" },
		{ "DateStyle", "ISO, MDY" },
		{ "default_transaction_read_only", "off" },
		{ "in_hot_standby", "off" },
		{ "integer_datetimes", "on" },
		{ "IntervalStyle", "postgres" },
		{ "is_superuser", "on" },
		{ "server_encoding", "UTF8" },
		{ "server_version", "15.20 (Debian 15.20-0+deb12u1)" },
		{ "session_authorization", "postgres" },
		{ "standard_conforming_strings", "on" },
		{ "TimeZone", "Etc/UTC" },
	};
	uint8_t auth_ok[4] = { 0, 0, 0, 0 };
	uint8_t key[8] = { 0, 0, 0x30, 0x39, 0xde, 0xad, 0xbe, 0xef };

	pg_msg(b, 'R', auth_ok, sizeof(auth_ok));
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		pg_parameter_status(b, params[i][0], params[i][1]);
	pg_msg(b, 'K', key, sizeof(key));
	pg_ready_for_query(b, 'I');
}
