// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_frame: parsing Ethernet + IPv4/IPv6 + TCP frames, finding and
 * advancing the TCP timestamp, recomputing checksums, the killall SYN probe
 * and the ICMP unreachable quote; hold_release's refusals that need no
 * socket.  Expected checksums come from hand-computed vectors and from a
 * plain RFC 1071 sum over an explicitly built pseudo-header, not from the
 * code under test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "byteorder.h"
#include "hold_release.h"
#include "tcp_frame.h"

#define FRAME_CAP 2048

/* ---- an independent frame builder and checksum ------------------------------------------- */

struct seg {
	int family;			/* 4 or 6 */
	const uint8_t *ip_opts;		/* IPv4 options (a multiple of 4 bytes) */
	size_t ip_opts_len;
	const uint8_t *opts;		/* TCP options (a multiple of 4 bytes) */
	size_t opts_len;
	const uint8_t *payload;
	size_t len;
	uint32_t seq, ack;
	uint8_t flags;
};

static const uint8_t v4_src[4] = { 10, 1, 2, 3 }, v4_dst[4] = { 192, 168, 7, 9 };
static const uint8_t v6_src[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0x01 };
static const uint8_t v6_dst[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xcd, 0x02 };

/*
 * Builds the frame with deliberately wrong checksums (what a copy from the
 * tc hook looks like: anything but the final value).  Returns its length.
 */
static size_t build(uint8_t *f, const struct seg *s)
{
	size_t l3 = s->family == 4 ? 20 + s->ip_opts_len : 40;
	size_t thl = 20 + s->opts_len, len = 14 + l3 + thl + s->len;
	uint8_t *ip = f + 14, *th = ip + l3;

	assert_true(len <= FRAME_CAP);
	memset(f, 0, len);
	if (s->family == 4) {
		wf_put_be16(f + 12, 0x0800);
		ip[0] = (uint8_t)(0x40 | l3 / 4);
		wf_put_be16(ip + 2, (uint16_t)(l3 + thl + s->len));
		wf_put_be16(ip + 4, 0x1234);	/* id */
		wf_put_be16(ip + 6, 0x4000);	/* DF */
		ip[8] = 64;
		ip[9] = 6;
		wf_put_be16(ip + 10, 0xbeef);
		memcpy(ip + 12, v4_src, 4);
		memcpy(ip + 16, v4_dst, 4);
		if (s->ip_opts_len)
			memcpy(ip + 20, s->ip_opts, s->ip_opts_len);
	} else {
		wf_put_be16(f + 12, 0x86dd);
		ip[0] = 0x60;
		wf_put_be16(ip + 4, (uint16_t)(thl + s->len));
		ip[6] = 6;
		ip[7] = 64;
		memcpy(ip + 8, v6_src, 16);
		memcpy(ip + 24, v6_dst, 16);
	}
	wf_put_be16(th, 51000);
	wf_put_be16(th + 2, 5432);
	wf_put_be32(th + 4, s->seq);
	wf_put_be32(th + 8, s->ack);
	th[12] = (uint8_t)(thl / 4 << 4);
	th[13] = s->flags;
	wf_put_be16(th + 14, 512);
	wf_put_be16(th + 16, 0x5a5a);
	if (s->opts_len)
		memcpy(th + 20, s->opts, s->opts_len);
	if (s->len)
		memcpy(th + thl, s->payload, s->len);
	return len;
}

/* RFC 1071, written out: 16-bit big-endian words, end-around carry, complement. */
static uint16_t ref_csum(const uint8_t *p, size_t n)
{
	uint32_t sum = 0;
	size_t i;

	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* The TCP checksum the receiver expects, from a pseudo-header built here. */
static uint16_t ref_tcp_csum(const uint8_t *f, size_t len)
{
	static uint8_t buf[40 + FRAME_CAP];
	const uint8_t *ip = f + 14;
	size_t l3, ph, tcp_len;

	if (wf_be16(f + 12) == 0x0800) {
		l3 = (ip[0] & 0xf) * 4u;
		tcp_len = wf_be16(ip + 2) - l3;
		memcpy(buf, ip + 12, 8);		/* src, dst */
		buf[8] = 0;
		buf[9] = 6;
		wf_put_be16(buf + 10, (uint16_t)tcp_len);
		ph = 12;
	} else {
		l3 = 40;
		tcp_len = wf_be16(ip + 4);
		memcpy(buf, ip + 8, 32);		/* src, dst */
		wf_put_be32(buf + 32, (uint32_t)tcp_len);
		buf[36] = buf[37] = buf[38] = 0;
		buf[39] = 6;
		ph = 40;
	}
	assert_true(14 + l3 + tcp_len <= len);
	memcpy(buf + ph, ip + l3, tcp_len);
	buf[ph + 16] = buf[ph + 17] = 0;		/* the checksum field itself */
	return ref_csum(buf, ph + tcp_len);
}

static uint16_t tcp_check_field(const uint8_t *f, const struct wf_tcp_frame *tf)
{
	return wf_be16(f + tf->l4_off + 16);
}

static void parse_ok(const uint8_t *f, size_t len, struct wf_tcp_frame *tf)
{
	assert_int_equal(wf_tcp_frame_parse(f, len, tf), 0);
}

/* ---- parsing ------------------------------------------------------------------------------- */

static void test_parse_ipv4(void **state)
{
	static const uint8_t ip_opts[8] = { 1, 1, 1, 0 };	/* NOP NOP NOP EOL + pad */
	static const uint8_t opts[12] = { 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 };
	uint8_t f[FRAME_CAP];
	struct seg s = { .family = 4, .ip_opts = ip_opts, .ip_opts_len = 8, .opts = opts,
			 .opts_len = 12, .payload = (const uint8_t *)"hello", .len = 5,
			 .seq = 0xfffffffe, .ack = 77, .flags = WF_TCP_PSH | WF_TCP_ACK };
	size_t len = build(f, &s);
	struct wf_tcp_frame tf;

	parse_ok(f, len, &tf);
	assert_int_equal(tf.family, WF_FAMILY_IPV4);
	assert_int_equal(tf.ethertype, 0x0800);
	assert_int_equal(tf.l3_off, 14);
	assert_int_equal(tf.l4_off, 14 + 28);
	assert_int_equal(tf.tcp_hlen, 32);
	assert_int_equal(tf.payload_off, 14 + 28 + 32);
	assert_int_equal(tf.payload_len, 5);
	assert_int_equal(tf.packet_len, len);
	assert_int_equal(tf.seq, 0xfffffffe);
	assert_int_equal(tf.ack, 77);
	assert_int_equal(tf.flags, WF_TCP_PSH | WF_TCP_ACK);
	assert_false(tf.cut);
	assert_memory_equal(f + tf.payload_off, "hello", 5);

	/* Link-layer padding after the IP packet is not part of it. */
	memset(f + len, 0xee, 6);
	parse_ok(f, len + 6, &tf);
	assert_int_equal(tf.packet_len, len);
	assert_int_equal(tf.payload_len, 5);
}

static void test_parse_ipv6(void **state)
{
	uint8_t f[FRAME_CAP];
	struct seg s = { .family = 6, .payload = (const uint8_t *)"Q\0\0\0\x0dSELECT 1", .len = 14,
			 .seq = 1000, .ack = 2000, .flags = WF_TCP_ACK };
	size_t len = build(f, &s);
	struct wf_tcp_frame tf;
	uint8_t src[16], dst[16];

	parse_ok(f, len, &tf);
	assert_int_equal(tf.family, WF_FAMILY_IPV6);
	assert_int_equal(tf.ethertype, 0x86dd);
	assert_int_equal(tf.l4_off, 14 + 40);
	assert_int_equal(tf.tcp_hlen, 20);
	assert_int_equal(tf.payload_off, 74);
	assert_int_equal(tf.payload_len, 14);
	assert_int_equal(tf.packet_len, 74 + 14);
	assert_int_equal(tf.seq, 1000);
	assert_int_equal(tf.ack, 2000);

	wf_tcp_frame_addrs(f, &tf, src, dst);
	assert_memory_equal(src, v6_src, 16);
	assert_memory_equal(dst, v6_dst, 16);
}

static void test_addrs_ipv4_are_v4_mapped(void **state)
{
	static const uint8_t want_src[16] = { [10] = 0xff, [11] = 0xff, 10, 1, 2, 3 };
	static const uint8_t want_dst[16] = { [10] = 0xff, [11] = 0xff, 192, 168, 7, 9 };
	uint8_t f[FRAME_CAP], src[16], dst[16];
	struct seg s = { .family = 4 };
	size_t len = build(f, &s);
	struct wf_tcp_frame tf;

	parse_ok(f, len, &tf);
	wf_tcp_frame_addrs(f, &tf, src, dst);
	assert_memory_equal(src, want_src, 16);
	assert_memory_equal(dst, want_dst, 16);
}

/* A damage done to a good frame, and the error the parser must give. */
struct damage {
	const char *what;
	int family;
	size_t off;		/* byte to overwrite (from the frame start) */
	int value;		/* -1: no overwrite */
	int len_delta;		/* added to the buffer length */
	int want;
	int want_headers;	/* wf_tcp_frame_parse_headers() */
};

static void test_parse_refuses_malformed(void **state)
{
	/* Good frames: IPv4 14+20+20+10, IPv6 14+40+20+10. */
	static const struct damage cases[] = {
		{ "empty buffer", 4, 0, -1, -64, -EMSGSIZE, -EMSGSIZE },
		{ "shorter than Ethernet", 4, 0, -1, -(64 - 10), -EMSGSIZE, -EMSGSIZE },
		{ "ARP ethertype", 4, 13, 0x06, 0, -EPROTONOSUPPORT, -EPROTONOSUPPORT },
		{ "VLAN ethertype", 4, 12, 0x81, 0, -EPROTONOSUPPORT, -EPROTONOSUPPORT },
		{ "IPv4 cut in its header", 4, 0, -1, -(64 - 30), -EMSGSIZE, -EMSGSIZE },
		{ "IPv4 version 6", 4, 14, 0x65, 0, -EINVAL, -EINVAL },
		{ "IPv4 IHL 4", 4, 14, 0x44, 0, -EINVAL, -EINVAL },
		{ "IPv4 IHL past the frame", 4, 14, 0x4f, 0, -EINVAL, -EINVAL },
		{ "IPv4 UDP", 4, 14 + 9, 17, 0, -EPROTONOSUPPORT, -EPROTONOSUPPORT },
		{ "IPv4 more fragments", 4, 14 + 6, 0x60, 0, -EPROTONOSUPPORT, -EPROTONOSUPPORT },
		{ "IPv4 fragment offset", 4, 14 + 7, 0x01, 0, -EPROTONOSUPPORT, -EPROTONOSUPPORT },
		{ "IPv4 total length below headers", 4, 14 + 3, 39, 0, -EINVAL, -EINVAL },
		{ "IPv4 total length 0 (TSO)", 4, 14 + 3, 0, 0, -EINVAL, -EINVAL },
		{ "IPv4 total length past the frame", 4, 14 + 3, 51, 0, -EMSGSIZE, 0 },
		{ "IPv4 payload cut", 4, 0, -1, -1, -EMSGSIZE, 0 },
		{ "IPv4 TCP header cut", 4, 0, -1, -(10 + 1), -EMSGSIZE, -EMSGSIZE },
		{ "TCP data offset 4", 4, 34 + 12, 0x40, 0, -EINVAL, -EINVAL },
		{ "TCP data offset 0", 4, 34 + 12, 0x00, 0, -EINVAL, -EINVAL },
		{ "TCP options past the IP length", 4, 34 + 12, 0x80, 0, -EINVAL, -EINVAL },
		{ "IPv6 cut in its header", 6, 0, -1, -(84 - 50), -EMSGSIZE, -EMSGSIZE },
		{ "IPv6 version 4", 6, 14, 0x40, 0, -EINVAL, -EINVAL },
		{ "IPv6 hop-by-hop header", 6, 14 + 6, 0, 0, -EPROTONOSUPPORT, -EPROTONOSUPPORT },
		{ "IPv6 UDP", 6, 14 + 6, 17, 0, -EPROTONOSUPPORT, -EPROTONOSUPPORT },
		{ "IPv6 payload length 0 (jumbo)", 6, 14 + 5, 0, 0, -EINVAL, -EINVAL },
		{ "IPv6 payload length 19", 6, 14 + 5, 19, 0, -EINVAL, -EINVAL },
		{ "IPv6 payload cut", 6, 0, -1, -3, -EMSGSIZE, 0 },
		{ "IPv6 TCP data offset 15 past the frame", 6, 54 + 12, 0xf0, 0, -EINVAL, -EINVAL },
	};
	uint8_t f[FRAME_CAP];
	struct wf_tcp_frame tf;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct damage *d = &cases[i];
		struct seg s = { .family = d->family, .payload = (const uint8_t *)"0123456789",
				 .len = 10 };
		size_t len = build(f, &s);
		int got, got_h;

		assert_int_equal(len, d->family == 4 ? 64 : 84);
		/* The undamaged frame parses: the damage is what is refused. */
		parse_ok(f, len, &tf);
		if (d->value >= 0)
			f[d->off] = (uint8_t)d->value;
		len = (size_t)((int)len + d->len_delta);
		got = wf_tcp_frame_parse(f, len, &tf);
		got_h = wf_tcp_frame_parse_headers(f, len, &tf);
		if (got != d->want || got_h != d->want_headers)
			fail_msg("%s: parse %d (want %d), parse_headers %d (want %d)", d->what, got,
				 d->want, got_h, d->want_headers);
		if (got_h == 0)
			assert_true(tf.cut);
	}
}

static void test_parse_headers_of_a_cut_copy(void **state)
{
	static uint8_t payload[1000];
	static const uint8_t opts[12] = { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 8 };
	uint8_t f[FRAME_CAP];
	struct seg s = { .family = 4, .opts = opts, .opts_len = 12, .payload = payload,
			 .len = sizeof(payload), .seq = 5 };
	struct wf_tcp_frame tf;

	build(f, &s);
	/* What the tc program keeps of a frame too big to copy. */
	assert_int_equal(wf_tcp_frame_parse(f, WF_HOLD_HEADERS_MAX, &tf), -EMSGSIZE);
	assert_int_equal(wf_tcp_frame_parse_headers(f, WF_HOLD_HEADERS_MAX, &tf), 0);
	assert_true(tf.cut);
	assert_int_equal(tf.payload_len, 1000);
	assert_int_equal(tf.packet_len, 14 + 20 + 32 + 1000);
	assert_int_equal(tf.seq, 5);
	assert_int_equal(wf_tcp_frame_find_tsval(f, &tf), 34 + 24);
	/* A cut frame's checksum cannot be computed. */
	assert_int_equal(wf_tcp_frame_fix_checksums(f, &tf), -EINVAL);
}

/* ---- the timestamp option ------------------------------------------------------------------ */

struct ts_case {
	const char *what;
	uint8_t opts[40];
	size_t len;
	int want;		/* offset of TSval in the options, or -errno */
};

#define TS(v) 8, 10, 0, 0, 0, (v), 0, 0, 0, 0

static void test_find_tsval(void **state)
{
	static const struct ts_case cases[] = {
		{ "NOP NOP TS (established Linux)", { 1, 1, TS(1) }, 12, 4 },
		{ "Linux SYN: MSS SACK-OK TS NOP WS", { 2, 4, 0x05, 0xb4, 4, 2, TS(1), 1, 3, 3, 7 },
		  20, 8 },
		{ "TS first, then NOP NOP", { TS(1), 1, 1 }, 12, 2 },
		{ "TS at an odd offset", { 1, TS(1), 1 }, 12, 3 },
		{ "MSS NOP WS SACK block TS",
		  { 2, 4, 0x05, 0xb4, 1, 3, 3, 7, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, TS(1) }, 28, 20 },
		{ "unknown kind 30 with length 6, NOPs, then TS",
		  { 30, 6, 1, 2, 3, 4, 1, 1, 1, 1, TS(1) }, 20, 12 },
		{ "TS at the very end of 40 bytes",
		  { 1, 1, 5, 26, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0,
		    6, 1, 1, TS(1) }, 40, 32 },
		{ "two TS: the last one counts", { TS(1), TS(2) }, 20, 12 },
		{ "no options", { 0 }, 0, -ENOENT },
		{ "no TS: MSS NOP NOP SACK-OK", { 2, 4, 0x05, 0xb4, 1, 1, 4, 2 }, 8, -ENOENT },
		{ "EOL before TS", { 1, 0, TS(1) }, 12, -ENOENT },
		{ "only NOPs", { 1, 1, 1, 1 }, 4, -ENOENT },
		{ "length 0", { 2, 0, 0, 0, TS(1), 1, 1 }, 16, -EINVAL },
		{ "length 1", { 1, 1, 2, 1, TS(1), 1, 1 }, 16, -EINVAL },
		{ "length past the header", { 1, 1, 1, 30, 6, 0, 0, 0 }, 8, -EINVAL },
		{ "TS of length 8", { 1, 1, 8, 8, 0, 0, 0, 1, 0, 0, 0, 0 }, 12, -EINVAL },
		{ "TS of length 12", { 8, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 }, 12, -EINVAL },
		{ "TS cut by the header end", { 1, 1, 1, 1, 1, 1, 8, 10, 0, 0, 0, 1 }, 12, -EINVAL },
		{ "kind without its length byte", { 1, 1, 1, 2 }, 4, -EINVAL },
		{ "bad length after a TS", { TS(1), 3, 9 }, 12, -EINVAL },
	};
	uint8_t f[FRAME_CAP];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ts_case *c = &cases[i];

		for (int family = 4; family <= 6; family += 2) {
			struct seg s = { .family = family, .opts = c->opts, .opts_len = c->len,
					 .payload = (const uint8_t *)"xy", .len = 2 };
			size_t len = build(f, &s), opt_off = family == 4 ? 34 + 20 : 54 + 20;
			struct wf_tcp_frame tf;
			int got, want = c->want < 0 ? c->want : (int)opt_off + c->want;

			assert_int_equal(c->len % 4, 0);
			parse_ok(f, len, &tf);
			got = wf_tcp_frame_find_tsval(f, &tf);
			if (got != want)
				fail_msg("%s (IPv%d): got %d, want %d", c->what, family, got, want);
		}
	}
}

/* Payload bytes that look like a TS option must not be taken for one. */
static void test_find_tsval_stops_at_header_end(void **state)
{
	static const uint8_t payload[] = { TS(7) };
	static const uint8_t opts[4] = { 1, 1, 1, 1 };
	uint8_t f[FRAME_CAP];
	struct seg s = { .family = 4, .opts = opts, .opts_len = 4, .payload = payload,
			 .len = sizeof(payload) };
	size_t len = build(f, &s);
	struct wf_tcp_frame tf;

	parse_ok(f, len, &tf);
	assert_int_equal(wf_tcp_frame_find_tsval(f, &tf), -ENOENT);
}

static void test_tsval_advance(void **state)
{
	static const struct {
		uint32_t before, ms, after;
	} cases[] = {
		{ 1000, 100, 1100 },
		{ 0x12345678, 0, 0x12345678 },
		{ 0xfffffff0, 0x20, 0x10 },		/* wraps */
		{ 0xffffffff, 1, 0 },
		{ 0x80000000, 0x80000000, 0 },
		{ 5, 0xffffffff, 4 },			/* 2^32 - 1 ms later */
	};
	uint8_t buf[12];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(buf, 0xa5, sizeof(buf));
		wf_put_be32(buf + 4, cases[i].before);
		wf_tcp_tsval_advance(buf, 4, cases[i].ms);
		assert_int_equal(wf_be32(buf + 4), cases[i].after);
		/* TSecr and everything else untouched. */
		assert_int_equal(wf_be32(buf), 0xa5a5a5a5);
		assert_int_equal(wf_be32(buf + 8), 0xa5a5a5a5);
	}
}

/* ---- checksums ----------------------------------------------------------------------------- */

/* Hand-computed: the IPv4 header example of RFC 1071 fame (Wikipedia's
 * 192.168.0.1 -> 192.168.0.199, checksum 0xb861 for UDP) with protocol TCP:
 * 0x4006 instead of 0x4011 makes the sum 0xb smaller, the checksum 0xb86c. */
static void test_ipv4_header_known_answer(void **state)
{
	static const uint8_t src[4] = { 192, 168, 0, 1 }, dst[4] = { 192, 168, 0, 199 };
	uint8_t f[FRAME_CAP], payload[75] = { 0 };
	struct seg s = { .family = 4, .payload = payload, .len = sizeof(payload) };
	size_t len = build(f, &s);
	struct wf_tcp_frame tf;

	wf_put_be16(f + 14 + 4, 0);		/* id 0, as in the example */
	memcpy(f + 14 + 12, src, 4);
	memcpy(f + 14 + 16, dst, 4);
	assert_int_equal(wf_be16(f + 14 + 2), 0x73);
	parse_ok(f, len, &tf);
	assert_int_equal(wf_tcp_frame_fix_checksums(f, &tf), 0);
	assert_int_equal(wf_be16(f + 14 + 10), 0xb86c);
}

/*
 * Hand-computed, odd payload: 127.0.0.1:40000 -> 127.0.0.1:5432, seq 1,
 * ack 2, PSH|ACK, window 0x0200, payload "abc".
 *   pseudo-header: 7f00+0001+7f00+0001 + 0006 + 0017 (23 bytes)  = 0x0fe1f
 *   TCP: 9c40+1538 + 0000+0001 + 0000+0002 + 5018 + 0200 + 0 + 0 = 0x10393
 *   payload: 6162 + 6300 (odd byte padded)                       = 0x0c462
 *   total 0x2c614 -> c614 + 2 = c616 -> checksum ~c616 = 0x39e9
 */
static void test_tcp_v4_known_answer(void **state)
{
	static const uint8_t lo[4] = { 127, 0, 0, 1 };
	uint8_t f[FRAME_CAP];
	struct seg s = { .family = 4, .payload = (const uint8_t *)"abc", .len = 3, .seq = 1,
			 .ack = 2, .flags = WF_TCP_PSH | WF_TCP_ACK };
	size_t len = build(f, &s);
	struct wf_tcp_frame tf;

	memcpy(f + 14 + 12, lo, 4);
	memcpy(f + 14 + 16, lo, 4);
	wf_put_be16(f + 34, 40000);
	wf_put_be16(f + 34 + 2, 5432);
	wf_put_be16(f + 34 + 14, 0x0200);
	parse_ok(f, len, &tf);
	assert_int_equal(wf_tcp_frame_fix_checksums(f, &tf), 0);
	assert_int_equal(tcp_check_field(f, &tf), 0x39e9);
}

static void check_fixed(int family, const uint8_t *ip_opts, size_t ip_opts_len,
			const uint8_t *opts, size_t opts_len, size_t payload_len)
{
	static uint8_t payload[1200];
	uint8_t f[FRAME_CAP], again[FRAME_CAP];
	struct seg s = { .family = family, .ip_opts = ip_opts, .ip_opts_len = ip_opts_len,
			 .opts = opts, .opts_len = opts_len, .payload = payload,
			 .len = payload_len, .seq = 0x89abcdef, .ack = 0x01234567,
			 .flags = WF_TCP_ACK | WF_TCP_PSH };
	size_t len, l3;
	struct wf_tcp_frame tf;
	uint16_t want;

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 37 + 11);
	len = build(f, &s);
	l3 = family == 4 ? 20 + ip_opts_len : 40;
	want = ref_tcp_csum(f, len);
	parse_ok(f, len, &tf);
	assert_int_equal(wf_tcp_frame_fix_checksums(f, &tf), 0);
	assert_int_equal(tcp_check_field(f, &tf), want);
	if (family == 4) {
		uint8_t hdr[60];

		memcpy(hdr, f + 14, l3);
		hdr[10] = hdr[11] = 0;
		assert_int_equal(wf_be16(f + 14 + 10), ref_csum(hdr, l3));
		/* A correct header sums to zero. */
		assert_int_equal(ref_csum(f + 14, l3), 0);
	}

	/* Whatever the field held before (the pseudo-header sum of a
	 * CHECKSUM_PARTIAL copy, zero, all ones) does not matter. */
	memcpy(again, f, len);
	for (int v = 0; v < 3; v++) {
		uint16_t stale = v == 0 ? (uint16_t)~want : v == 1 ? 0 : 0xffff;

		wf_put_be16(again + tf.l4_off + 16, stale);
		if (family == 4)
			wf_put_be16(again + 14 + 10, stale);
		assert_int_equal(wf_tcp_frame_fix_checksums(again, &tf), 0);
		assert_memory_equal(again, f, len);
	}
}

static void test_checksums_match_reference(void **state)
{
	static const uint8_t ip_opts[4] = { 1, 1, 1, 0 };
	static const uint8_t opts[12] = { 1, 1, 8, 10, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					  0x88 };
	static const size_t lens[] = { 0, 1, 2, 3, 57, 1000, 1001 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		check_fixed(4, NULL, 0, NULL, 0, lens[i]);
		check_fixed(4, NULL, 0, opts, sizeof(opts), lens[i]);
		check_fixed(4, ip_opts, sizeof(ip_opts), opts, sizeof(opts), lens[i]);
		check_fixed(6, NULL, 0, NULL, 0, lens[i]);
		check_fixed(6, NULL, 0, opts, sizeof(opts), lens[i]);
	}
}

/* Trailing padding after the packet is not summed. */
static void test_checksum_ignores_trailer(void **state)
{
	uint8_t f[FRAME_CAP];
	struct seg s = { .family = 6, .payload = (const uint8_t *)"abc", .len = 3 };
	size_t len = build(f, &s);
	struct wf_tcp_frame tf;
	uint16_t want = ref_tcp_csum(f, len);

	memset(f + len, 0x77, 5);
	parse_ok(f, len + 5, &tf);
	assert_int_equal(wf_tcp_frame_fix_checksums(f, &tf), 0);
	assert_int_equal(tcp_check_field(f, &tf), want);
	assert_int_equal(f[len], 0x77);
}

/* ---- the SYN probe ------------------------------------------------------------------------- */

static void key_v4(struct wf_flow_key *k, const uint8_t c[4], const uint8_t sv[4], uint16_t cport,
		   uint16_t sport)
{
	memset(k, 0, sizeof(*k));
	k->client_addr[10] = k->client_addr[11] = 0xff;
	k->server_addr[10] = k->server_addr[11] = 0xff;
	memcpy(k->client_addr + 12, c, 4);
	memcpy(k->server_addr + 12, sv, 4);
	k->client_port = cport;
	k->server_port = sport;
	k->family = WF_FAMILY_IPV4;
}

static void key_v6(struct wf_flow_key *k, const uint8_t c[16], const uint8_t sv[16],
		   uint16_t cport, uint16_t sport)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->client_addr, c, 16);
	memcpy(k->server_addr, sv, 16);
	k->client_port = cport;
	k->server_port = sport;
	k->family = WF_FAMILY_IPV6;
}

/* Hand-written frames; checksums computed by hand (see the comments). */
static void test_syn_known_frames(void **state)
{
	static const uint8_t lo4[4] = { 127, 0, 0, 1 }, lo6[16] = { [15] = 1 };
	static const uint8_t want4[54] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00,
		/* 4500+0028+0000+4000+4006+7f00+0001+7f00+0001 = 0x1c330
		 * -> c330 + 1 = c331 -> ~ = 0x3cce */
		0x45, 0x00, 0x00, 0x28, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0x3c, 0xce,
		0x7f, 0x00, 0x00, 0x01, 0x7f, 0x00, 0x00, 0x01,
		/* pseudo 7f00+0001+7f00+0001+0006+0014 = 0xfe1c; TCP
		 * 9c40+1538+0000+0001+0000+0000+5002+ffff = 0x2017a;
		 * total 0x2ff96 -> ff96 + 2 = ff98 -> ~ = 0x0067 */
		0x9c, 0x40, 0x15, 0x38, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x50, 0x02, 0xff, 0xff, 0x00, 0x67, 0x00, 0x00,
	};
	static const uint8_t want6[74] = {
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x86, 0xdd,
		0x60, 0x00, 0x00, 0x00, 0x00, 0x14, 0x06, 0x40,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
		/* pseudo ::1 + ::1 + 0014 + 0006 = 0x1c; TCP as above
		 * 0x2017a; total 0x20196 -> 0196 + 2 = 0198 -> ~ = 0xfe67 */
		0x9c, 0x40, 0x15, 0x38, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00,
		0x50, 0x02, 0xff, 0xff, 0xfe, 0x67, 0x00, 0x00,
	};
	uint8_t f[WF_TCP_SYN_FRAME_MAX + 8];
	struct wf_flow_key k;

	key_v4(&k, lo4, lo4, 40000, 5432);
	memset(f, 0xcc, sizeof(f));
	assert_int_equal(wf_tcp_frame_build_syn(f, sizeof(f), &k, 1), 54);
	assert_memory_equal(f, want4, 54);
	assert_int_equal(f[54], 0xcc);		/* nothing written past the frame */

	key_v6(&k, lo6, lo6, 40000, 5432);
	memset(f, 0xcc, sizeof(f));
	assert_int_equal(wf_tcp_frame_build_syn(f, sizeof(f), &k, 1), 74);
	assert_memory_equal(f, want6, 74);
	assert_int_equal(f[74], 0xcc);
}

static void check_syn(const struct wf_flow_key *k, uint32_t seq)
{
	uint8_t f[WF_TCP_SYN_FRAME_MAX];
	int v6 = k->family == WF_FAMILY_IPV6;
	int len = wf_tcp_frame_build_syn(f, sizeof(f), k, seq);
	const uint8_t *ip = f + 14, *th = ip + (v6 ? 40 : 20);

	assert_int_equal(len, v6 ? 74 : 54);
	assert_int_equal(wf_be16(f + 12), v6 ? 0x86dd : 0x0800);
	for (int i = 0; i < 12; i++)
		assert_int_equal(f[i], 0);
	if (v6) {
		assert_int_equal(ip[0] >> 4, 6);
		assert_int_equal(wf_be16(ip + 4), 20);
		assert_int_equal(ip[6], 6);
		assert_int_equal(ip[7], 64);
		assert_memory_equal(ip + 8, k->client_addr, 16);
		assert_memory_equal(ip + 24, k->server_addr, 16);
	} else {
		assert_int_equal(ip[0], 0x45);
		assert_int_equal(wf_be16(ip + 2), 40);
		assert_int_equal(wf_be16(ip + 6) & 0x3fff, 0);	/* not a fragment */
		assert_int_equal(ip[8], 64);
		assert_int_equal(ip[9], 6);
		assert_memory_equal(ip + 12, k->client_addr + 12, 4);
		assert_memory_equal(ip + 16, k->server_addr + 12, 4);
		assert_int_equal(ref_csum(ip, 20), 0);
	}
	assert_int_equal(wf_be16(th), k->client_port);
	assert_int_equal(wf_be16(th + 2), k->server_port);
	assert_int_equal(wf_be32(th + 4), seq);
	assert_int_equal(wf_be32(th + 8), 0);
	assert_int_equal(th[12], 0x50);				/* 20 bytes, no options */
	assert_int_equal(th[13], WF_TCP_SYN);
	assert_int_equal(wf_be16(th + 14), WF_TCP_SYN_WINDOW);
	assert_int_equal(wf_be16(th + 18), 0);			/* urgent pointer */
	assert_int_equal(wf_be16(th + 16), ref_tcp_csum(f, (size_t)len));
}

static void test_syn_fields(void **state)
{
	static const uint8_t c4[4] = { 10, 1, 2, 3 }, s4[4] = { 172, 31, 255, 254 };
	static const uint8_t c6[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0x12, 0x34 };
	static const uint8_t s6[16] = { 0xfe, 0x80, [8] = 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88 };
	static const uint32_t seqs[] = { 0, 1, 0x12345678, 0xdeadbeef, 0xffffffff };
	struct wf_flow_key k;

	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		key_v4(&k, c4, s4, 51234, 5432);
		check_syn(&k, seqs[i]);
		key_v4(&k, s4, c4, 65535, 1);
		check_syn(&k, seqs[i]);
		key_v6(&k, c6, s6, 40001, 9700);
		check_syn(&k, seqs[i]);
		key_v6(&k, s6, c6, 1, 65535);
		check_syn(&k, seqs[i]);
	}
}

static void test_syn_refusals(void **state)
{
	static const uint8_t c4[4] = { 10, 1, 2, 3 }, c6[16] = { 0x20, 0x01, [15] = 1 };
	uint8_t f[WF_TCP_SYN_FRAME_MAX];
	struct wf_flow_key k;

	key_v4(&k, c4, c4, 1, 2);
	assert_int_equal(wf_tcp_frame_build_syn(f, 53, &k, 0), -ENOSPC);
	assert_int_equal(wf_tcp_frame_build_syn(f, 54, &k, 0), 54);
	k.client_addr[10] = 0;			/* not v4-mapped */
	assert_int_equal(wf_tcp_frame_build_syn(f, sizeof(f), &k, 0), -EINVAL);
	key_v4(&k, c4, c4, 1, 2);
	k.family = 5;
	assert_int_equal(wf_tcp_frame_build_syn(f, sizeof(f), &k, 0), -EINVAL);
	k.family = 0;
	assert_int_equal(wf_tcp_frame_build_syn(f, sizeof(f), &k, 0), -EINVAL);

	key_v6(&k, c6, c6, 1, 2);
	assert_int_equal(wf_tcp_frame_build_syn(f, 73, &k, 0), -ENOSPC);
	assert_int_equal(wf_tcp_frame_build_syn(f, 74, &k, 0), 74);
	key_v4(&k, c4, c4, 1, 2);
	k.family = WF_FAMILY_IPV6;		/* v4-mapped in an IPv6 header */
	assert_int_equal(wf_tcp_frame_build_syn(f, sizeof(f), &k, 0), -EINVAL);
}

/* ---- ICMP unreachable quotes --------------------------------------------------------------- */

static void test_unreach_ipv4(void **state)
{
	static const uint8_t ip_opts[8] = { 1, 1, 1, 1, 1, 1, 1, 0 };
	static const uint8_t opts[12] = { 1, 1, TS(3) };
	static const uint8_t payload[100];

	for (int with_opts = 0; with_opts <= 1; with_opts++) {
		uint8_t f[FRAME_CAP], msg[WF_ICMP_UNREACH_MAX];
		struct seg s = { .family = 4, .ip_opts = with_opts ? ip_opts : NULL,
				 .ip_opts_len = with_opts ? 8 : 0, .opts = opts, .opts_len = 12,
				 .payload = payload, .len = with_opts ? 5 : 100, .seq = 0xa1b2c3d4,
				 .ack = 9, .flags = WF_TCP_ACK };
		size_t ihl = with_opts ? 28 : 20;
		struct wf_tcp_frame tf;
		int len;

		if (with_opts) {
			build(f, &s);
			parse_ok(f, 14 + ihl + 32 + 5, &tf);
		} else {
			build(f, &s);
			/* A headers-only copy of a 1500-byte segment. */
			wf_put_be16(f + 14 + 2, 20 + 32 + 1500);
			assert_int_equal(wf_tcp_frame_parse_headers(f, WF_HOLD_HEADERS_MAX, &tf), 0);
			assert_true(tf.cut);
		}
		assert_int_equal(wf_tcp_frame_build_unreach(f, &tf, WF_UNREACH_RTO_REVERT, msg, 8 + ihl + 7), -ENOSPC);
		len = wf_tcp_frame_build_unreach(f, &tf, WF_UNREACH_RTO_REVERT, msg, sizeof(msg));
		assert_int_equal(len, 8 + ihl + 8);
		assert_int_equal(msg[0], 3);		/* destination unreachable */
		assert_int_equal(msg[1], 1);		/* host unreachable */
		assert_int_equal(wf_be32(msg + 4), 0);	/* unused */
		assert_int_equal(ref_csum(msg, (size_t)len), 0);
		assert_memory_equal(msg + 8, f + 14, ihl + 8);
		/* The quoted TCP bytes are the ports and the seq tcp_v4_err() reads. */
		assert_int_equal(wf_be16(msg + 8 + ihl), 51000);
		assert_int_equal(wf_be16(msg + 8 + ihl + 2), 5432);
		assert_int_equal(wf_be32(msg + 8 + ihl + 4), 0xa1b2c3d4);
	}
}

static void test_unreach_ipv6(void **state)
{
	static const uint8_t opts[12] = { 1, 1, TS(3) };
	static const struct {
		size_t opts_len, payload, frame_len;	/* frame_len 0: whole */
		int want_quote_tcp;
	} cases[] = {
		{ 12, 100, 0, 32 },	/* 32 of 132 TCP bytes */
		{ 0, 5, 0, 25 },	/* the segment is shorter than 32 */
		{ 0, 12, 0, 32 },	/* exactly 32 */
		{ 0, 0, 0, 20 },	/* a bare ACK */
		{ 12, 1000, 128, 32 },	/* headers-only copy */
		{ 0, 1000, 74, 20 },	/* cut right after the TCP header */
	};
	static uint8_t payload[1000];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t f[FRAME_CAP], msg[WF_ICMP_UNREACH_MAX + 4];
		struct seg s = { .family = 6, .opts = opts, .opts_len = cases[i].opts_len,
				 .payload = payload, .len = cases[i].payload, .seq = 0x0badcafe };
		size_t len;
		struct wf_tcp_frame tf;
		int n, want = 8 + 40 + cases[i].want_quote_tcp;

		for (size_t j = 0; j < cases[i].payload; j++)
			payload[j] = (uint8_t)(j + 1);
		len = build(f, &s);
		if (cases[i].frame_len)
			len = cases[i].frame_len;
		assert_int_equal(wf_tcp_frame_parse_headers(f, len, &tf), 0);
		memset(msg, 0xcc, sizeof(msg));
		assert_int_equal(wf_tcp_frame_build_unreach(f, &tf, WF_UNREACH_RTO_REVERT, msg, (size_t)want - 1), -ENOSPC);
		n = wf_tcp_frame_build_unreach(f, &tf, WF_UNREACH_RTO_REVERT, msg, sizeof(msg));
		if (n != want)
			fail_msg("case %zu: length %d, want %d", i, n, want);
		assert_int_equal(msg[0], 1);		/* ICMPv6 destination unreachable */
		assert_int_equal(msg[1], 0);		/* no route */
		assert_int_equal(wf_be16(msg + 2), 0);	/* the kernel fills it in */
		assert_int_equal(wf_be32(msg + 4), 0);
		assert_memory_equal(msg + 8, f + 14, (size_t)want - 8);
		assert_int_equal(msg[n], 0xcc);
		assert_int_equal(wf_be32(msg + 8 + 40 + 4), 0x0badcafe);
		/* unreachable(): address unreachable (EHOSTUNREACH), the same quote */
		assert_int_equal(wf_tcp_frame_build_unreach(f, &tf, WF_UNREACH_HOST, msg, sizeof(msg)), n);
		assert_int_equal(msg[1], 3);
		assert_memory_equal(msg + 8, f + 14, (size_t)want - 8);
	}
}

/* ---- hold_release: what it refuses before any socket is used ---------------------------------- */

static void test_release_without_usable_copy(void **state)
{
	struct wf_packet_sender none = { .packet_fd = -1, .icmp4_fd = -1, .icmp6_fd = -1 };
	struct wf_hold *h = calloc(1, sizeof(*h));
	struct seg s = { .family = 4, .payload = (const uint8_t *)"x", .len = 1 };

	assert_non_null(h);
	h->ifindex = 1;
	h->copied_whole = 1;
	/* Nothing copied (the program's bpf_skb_load_bytes failed). */
	assert_int_equal(wf_hold_release(&none, h, 0), -ENODATA);
	/* A length the program cannot have written. */
	h->frame_len = WF_HOLD_FRAME_MAX + 1;
	assert_int_equal(wf_hold_release(&none, h, 0), -ENODATA);
	/* Bytes that are not a TCP frame: neither re-injected nor quoted. */
	h->frame_len = 100;
	memset(h->frame, 0xff, 100);
	assert_int_equal(wf_hold_release(&none, h, 0), -ENODATA);
	h->copied_whole = 0;
	assert_int_equal(wf_hold_release(&none, h, 0), -ENODATA);

	/* A good frame: the re-injection fails (no socket), the ICMP
	 * fallback is tried and fails the same way. */
	h->frame_len = (uint32_t)build(h->frame, &s);
	h->copied_whole = 1;
	assert_int_equal(wf_hold_release(&none, h, 0), -EBADF);
	h->copied_whole = 0;
	assert_int_equal(wf_hold_release(&none, h, 0), -EBADF);

	assert_string_equal(wf_release_method_name(WF_RELEASE_REINJECT), "reinject");
	assert_string_equal(wf_release_method_name(WF_RELEASE_ICMP), "icmp");
	free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_ipv4),
		cmocka_unit_test(test_parse_ipv6),
		cmocka_unit_test(test_addrs_ipv4_are_v4_mapped),
		cmocka_unit_test(test_parse_refuses_malformed),
		cmocka_unit_test(test_parse_headers_of_a_cut_copy),
		cmocka_unit_test(test_find_tsval),
		cmocka_unit_test(test_find_tsval_stops_at_header_end),
		cmocka_unit_test(test_tsval_advance),
		cmocka_unit_test(test_ipv4_header_known_answer),
		cmocka_unit_test(test_tcp_v4_known_answer),
		cmocka_unit_test(test_checksums_match_reference),
		cmocka_unit_test(test_checksum_ignores_trailer),
		cmocka_unit_test(test_syn_known_frames),
		cmocka_unit_test(test_syn_fields),
		cmocka_unit_test(test_syn_refusals),
		cmocka_unit_test(test_unreach_ipv4),
		cmocka_unit_test(test_unreach_ipv6),
		cmocka_unit_test(test_release_without_usable_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
