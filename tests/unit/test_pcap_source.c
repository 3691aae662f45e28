// SPDX-License-Identifier: GPL-2.0
/*
 * pcap_source on captures written here with libpcap: link types, IPv4 and
 * IPv6, and TCP following (initial chunk, retransmits, overlaps, gaps,
 * connections without a SYN, FIN/RST, port reuse, snapshot cuts).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "byteorder.h"
#include "pcap_source.h"

#define PORT 9060
#define CLIENT_PORT 40000

#define FIN 0x01
#define SYN 0x02
#define RST 0x04
#define PSH 0x08
#define ACK 0x10

enum { EV_CHUNK, EV_CLOSE };

struct event {
	int kind;
	uint64_t conn_id;
	enum wf_dir dir;
	bool initial, unframed;
	char data[64];
};

static struct event events[64];
static size_t nevents;
static char path[] = "/tmp/wf-test-pcap-XXXXXX";
static pcap_t *dead;
static pcap_dumper_t *dumper;
static int linktype;
static bool ipv6;
static int snaplen_cut;	/* when > 0, record only this many bytes of the next packet */
static uint16_t server_port = PORT;

static int on_chunk(void *ctx, const struct wf_chunk *c, const struct wf_pcap_packet *pkt)
{
	struct event *e = &events[nevents++];

	assert_true(nevents < 64);
	e->kind = EV_CHUNK;
	e->conn_id = c->conn_id;
	e->dir = c->dir;
	e->initial = c->initial;
	e->unframed = c->unframed;
	assert_true(c->len < sizeof(e->data));
	memcpy(e->data, c->data, c->len);
	e->data[c->len] = '\0';
	assert_int_equal(pkt->flow->server_port, PORT);
	return 0;
}

static void on_close(void *ctx, uint64_t conn_id)
{
	struct event *e = &events[nevents++];

	e->kind = EV_CLOSE;
	e->conn_id = conn_id;
}

static void start(int dlt, bool v6)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	linktype = dlt;
	ipv6 = v6;
	dead = pcap_open_dead(dlt, 262144);
	assert_non_null(dead);
	dumper = pcap_dump_open(dead, path);
	assert_non_null(dumper);
	nevents = 0;
}

/* One TCP segment; from_client decides the direction. */
static void segment(bool from_client, uint16_t client_port, uint32_t seq, uint8_t flags,
		    const char *payload)
{
	uint8_t pkt[512] = { 0 };
	size_t plen = payload ? strlen(payload) : 0, l2 = 0, l3, len;
	uint16_t sport = from_client ? client_port : server_port;
	uint16_t dport = from_client ? server_port : client_port;
	uint16_t ethertype = ipv6 ? 0x86dd : 0x0800;
	struct pcap_pkthdr h = { .ts = { 1, (int)nevents } };
	uint8_t *ip, *tcp;

	switch (linktype) {
	case DLT_EN10MB:
		wf_put_be16(pkt + 12, ethertype);
		l2 = 14;
		break;
	case DLT_NULL:
		pkt[0] = ipv6 ? 10 : 2;	/* host order on a little-endian Linux */
		l2 = 4;
		break;
	case DLT_LINUX_SLL:
		wf_put_be16(pkt + 14, ethertype);
		l2 = 16;
		break;
	case DLT_LINUX_SLL2:
		wf_put_be16(pkt, ethertype);
		l2 = 20;
		break;
	case DLT_RAW:
		break;
	}
	ip = pkt + l2;
	if (ipv6) {
		ip[0] = 0x60;
		wf_put_be16(ip + 4, (uint16_t)(20 + plen));
		ip[6] = 6;
		ip[23] = from_client ? 1 : 2;	/* ::1 and ::2 */
		ip[39] = from_client ? 2 : 1;
		l3 = 40;
	} else {
		ip[0] = 0x45;
		wf_put_be16(ip + 2, (uint16_t)(20 + 20 + plen));
		ip[9] = 6;
		wf_put_be32(ip + 12, from_client ? 0x7f000001 : 0x7f000002);
		wf_put_be32(ip + 16, from_client ? 0x7f000002 : 0x7f000001);
		l3 = 20;
	}
	tcp = ip + l3;
	wf_put_be16(tcp, sport);
	wf_put_be16(tcp + 2, dport);
	wf_put_be32(tcp + 4, seq);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	memcpy(tcp + 20, payload ? payload : "", plen);
	len = l2 + l3 + 20 + plen;
	h.len = (bpf_u_int32)len;
	h.caplen = (bpf_u_int32)(snaplen_cut > 0 ? (size_t)snaplen_cut : len);
	snaplen_cut = 0;
	pcap_dump((u_char *)dumper, &h, pkt);
}

/* The client at CLIENT_PORT: ISN 1000, the server's 5000. */
#define C(seq, flags, data) segment(true, CLIENT_PORT, 1000 + (seq), flags, data)
#define S(seq, flags, data) segment(false, CLIENT_PORT, 5000 + (seq), flags, data)

static void replay(struct wf_pcap_stats *st)
{
	struct wf_pcap_handlers h = { .chunk = on_chunk, .close = on_close };

	pcap_dump_close(dumper);
	pcap_close(dead);
	assert_int_equal(wf_pcap_replay(path, PORT, &h, st), 0);
	unlink(path);
	strcpy(path, "/tmp/wf-test-pcap-XXXXXX");
}

static void expect_chunk(size_t i, uint64_t conn, enum wf_dir dir, bool initial, bool unframed,
			 const char *data)
{
	assert_true(i < nevents);
	assert_int_equal(events[i].kind, EV_CHUNK);
	assert_int_equal(events[i].conn_id, conn);
	assert_int_equal(events[i].dir, dir);
	assert_int_equal(events[i].initial, initial);
	assert_int_equal(events[i].unframed, unframed);
	assert_string_equal(events[i].data, data);
}

static void expect_close(size_t i, uint64_t conn)
{
	assert_true(i < nevents);
	assert_int_equal(events[i].kind, EV_CLOSE);
	assert_int_equal(events[i].conn_id, conn);
}

/* The same conversation on every link type and both IP versions. */
static void conversation(int dlt, bool v6)
{
	struct wf_pcap_stats st;

	start(dlt, v6);
	C(0, SYN, NULL);
	S(0, SYN | ACK, NULL);
	C(1, ACK, NULL);
	C(1, PSH | ACK, "startup");		/* initial */
	S(1, PSH | ACK, "auth");
	C(8, PSH | ACK, "query");
	C(8, PSH | ACK, "query");		/* retransmit: nothing new */
	C(10, PSH | ACK, "ery+more");		/* overlap: only "+more" */
	S(5, FIN | ACK, NULL);
	C(18, FIN | ACK, NULL);			/* both FINs: closed */
	C(19, ACK, NULL);
	replay(&st);
	assert_int_equal(nevents, 5);
	expect_chunk(0, 1, WF_DIR_FRONTEND, true, false, "startup");
	expect_chunk(1, 1, WF_DIR_BACKEND, false, false, "auth");
	expect_chunk(2, 1, WF_DIR_FRONTEND, false, false, "query");
	expect_chunk(3, 1, WF_DIR_FRONTEND, false, false, "+more");
	expect_close(4, 1);
	assert_int_equal(st.packets, 11);
	assert_int_equal(st.segments, 11);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.retransmits, 1);
	assert_int_equal(st.chunks, 4);
	assert_int_equal(st.skipped, 0);
}

static void test_link_types(void **state)
{
	conversation(DLT_EN10MB, false);
	conversation(DLT_EN10MB, true);
	conversation(DLT_NULL, false);
	conversation(DLT_NULL, true);
	conversation(DLT_LINUX_SLL, false);
	conversation(DLT_LINUX_SLL2, true);
	conversation(DLT_RAW, false);
	conversation(DLT_RAW, true);
}

static void test_gap_and_unsynced(void **state)
{
	start(DLT_EN10MB, false);
	C(0, SYN, NULL);
	S(0, SYN | ACK, NULL);
	C(1, PSH | ACK, "startup");
	C(20, PSH | ACK, "after a hole");	/* bytes 8..19 never captured */
	C(32, PSH | ACK, "later");		/* the direction stays unframed */
	S(1, PSH | ACK, "fine");		/* the other one does not */
	/* a connection whose SYN is not in the capture */
	segment(true, CLIENT_PORT + 1, 777, PSH | ACK, "mid-way");
	segment(false, CLIENT_PORT + 1, 888, PSH | ACK, "reply");
	replay(NULL);
	assert_int_equal(nevents, 8);
	expect_chunk(0, 1, WF_DIR_FRONTEND, true, false, "startup");
	expect_chunk(1, 1, WF_DIR_FRONTEND, false, true, "after a hole");
	expect_chunk(2, 1, WF_DIR_FRONTEND, false, true, "later");
	expect_chunk(3, 1, WF_DIR_BACKEND, false, false, "fine");
	expect_chunk(4, 2, WF_DIR_FRONTEND, false, true, "mid-way");
	expect_chunk(5, 2, WF_DIR_BACKEND, false, true, "reply");
	expect_close(6, 1);			/* the capture ends */
	expect_close(7, 2);
}

static void test_rst_reuse_and_cut(void **state)
{
	struct wf_pcap_stats st;

	start(DLT_EN10MB, false);
	C(0, SYN, NULL);
	C(0, SYN, NULL);			/* the SYN again: same connection */
	S(0, SYN | ACK, NULL);
	C(1, PSH | ACK, "one");
	S(1, RST, NULL);			/* closed */
	C(4, PSH | ACK, "late");		/* after the close: ignored */
	segment(true, CLIENT_PORT, 90000, SYN, NULL);	/* the 4-tuple again: a new connection */
	segment(true, CLIENT_PORT, 90001, PSH | ACK, "two");
	snaplen_cut = 14 + 20 + 20 + 2;		/* only "ab" of "abcdef" captured */
	segment(true, CLIENT_PORT, 90004, PSH | ACK, "abcdef");
	segment(true, CLIENT_PORT, 90010, PSH | ACK, "next");
	/* another server port: not followed */
	server_port = 5432;
	segment(true, CLIENT_PORT, 1, PSH | ACK, "x");
	server_port = PORT;
	replay(&st);
	assert_int_equal(nevents, 6);
	expect_chunk(0, 1, WF_DIR_FRONTEND, true, false, "one");
	expect_close(1, 1);
	expect_chunk(2, 2, WF_DIR_FRONTEND, true, false, "two");
	expect_chunk(3, 2, WF_DIR_FRONTEND, false, false, "ab");
	expect_chunk(4, 2, WF_DIR_FRONTEND, false, true, "next");
	expect_close(5, 2);			/* the capture ends */
	assert_int_equal(st.connections, 2);
	assert_int_equal(st.gaps, 1);
	assert_int_equal(st.skipped, 1);
}

static void test_missing_file(void **state)
{
	struct wf_pcap_handlers h = { .chunk = on_chunk };

	assert_int_equal(wf_pcap_replay("/nonexistent/x.pcap", PORT, &h, NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_link_types),
		cmocka_unit_test(test_gap_and_unsynced),
		cmocka_unit_test(test_rst_reuse_and_cut),
		cmocka_unit_test(test_missing_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
