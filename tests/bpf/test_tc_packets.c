// SPDX-License-Identifier: GPL-2.0
/*
 * Packet classification, table-driven (katran style): one frame per case,
 * run through the tc program on a fresh load; expected: the verdict
 * (always TCX_NEXT), which class counter moved, and whether a flow entry
 * appeared.
 */
#include "harness.h"

#include <string.h>

static const uint8_t query_select_1[] = { 'Q', 0, 0, 0, 13, 'S', 'E', 'L', 'E', 'C', 'T', ' ',
					  '1', 0 };

struct pkt_case {
	const char *name;
	struct pb_seg seg;	/* .flow filled in by the runner */
	int family;
	uint16_t cport, sport;
	uint32_t mark;
	uint16_t ethertype;	/* != 0: overwrite the Ethernet type */
	enum wf_counter expect;	/* the class counter that must be 1 */
	bool expect_flow;
	uint64_t expect_flows_new;
};

#define V4 .family = 4, .cport = 40000, .sport = TEST_PORT
#define V6 .family = 6, .cport = 40000, .sport = TEST_PORT

static const struct pkt_case cases[] = {
	{ "ipv4 syn to the port", { .flags = PB_TCP_SYN, .seq = 100 }, V4,
	  .expect = WF_CNT_PACKETS, .expect_flow = true, .expect_flows_new = 1 },
	{ "ipv6 syn to the port", { .flags = PB_TCP_SYN, .seq = 100 }, V6,
	  .expect = WF_CNT_PACKETS, .expect_flow = true, .expect_flows_new = 1 },
	{ "ipv4 syn-ack from the port (loader started after the SYN)",
	  { .flags = PB_TCP_SYN | PB_TCP_ACK, .seq = 7, .ack = 101, .from_server = true }, V4,
	  .expect = WF_CNT_PACKETS, .expect_flow = true, .expect_flows_new = 1 },
	{ "ipv4 data mid-stream creates an unsynced entry",
	  { .flags = PB_TCP_ACK | PB_TCP_PSH, .seq = 5, .payload = query_select_1,
	    .len = sizeof(query_select_1) }, V4,
	  .expect = WF_CNT_PACKETS, .expect_flow = true },
	{ "ipv4 bare ack of an unknown connection: no entry", { .flags = PB_TCP_ACK, .seq = 5 }, V4,
	  .expect = WF_CNT_PACKETS },
	{ "ipv4 bare ack padded to 60 bytes: no payload, no entry",
	  { .flags = PB_TCP_ACK, .seq = 5, .trailer = 6 }, V4, .expect = WF_CNT_PACKETS },
	{ "ipv4 rst with payload of an unknown connection: no entry",
	  { .flags = PB_TCP_RST, .seq = 5, .payload = query_select_1, .len = 4 }, V4,
	  .expect = WF_CNT_PACKETS },
	{ "ipv4 other port", { .flags = PB_TCP_SYN }, .family = 4, .cport = 40000, .sport = 5433,
	  .expect = WF_CNT_OTHER_PACKETS },
	{ "ipv6 other port", { .flags = PB_TCP_SYN }, .family = 6, .cport = 40000, .sport = 80,
	  .expect = WF_CNT_OTHER_PACKETS },
	{ "ipv4 udp to the port", { .ip_proto = 17, .len = 0 }, V4, .expect = WF_CNT_OTHER_PACKETS },
	{ "ipv6 icmpv6", { .ip_proto = 58 }, V6, .expect = WF_CNT_OTHER_PACKETS },
	{ "arp", { .flags = PB_TCP_SYN }, V4, .ethertype = 0x0806, .expect = WF_CNT_OTHER_PACKETS },
	{ "ipv4 source port is the port (server side)", { .flags = PB_TCP_ACK, .from_server = true }, V4,
	  .expect = WF_CNT_PACKETS },
	{ "ipv6 hop-by-hop header", { .flags = PB_TCP_SYN, .ipv6_ext = 0, .ipv6_ext_set = true }, V6,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv6 destination options", { .flags = PB_TCP_SYN, .ipv6_ext = 60, .ipv6_ext_set = true }, V6,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv6 fragment header", { .flags = PB_TCP_SYN, .ipv6_ext = 44, .ipv6_ext_set = true }, V6,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv4 later fragment", { .flags = PB_TCP_SYN, .ipv4_frag_off = 0x0010 }, V4,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv4 first fragment (MF)", { .flags = PB_TCP_SYN, .ipv4_frag_off = 0x2000 }, V4,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv4 truncated tcp header", { .flags = PB_TCP_SYN, .truncate = 14 + 20 + 10 }, V4,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv6 truncated tcp header", { .flags = PB_TCP_SYN, .truncate = 14 + 40 + 12 }, V6,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv4 tcp data offset < 5", { .flags = PB_TCP_SYN, .doff_override = 3 }, V4,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv4 tcp data offset past the packet", { .flags = PB_TCP_SYN, .doff_override = 15 }, V4,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv4 length beyond the frame", { .flags = PB_TCP_ACK, .ip_len_delta = 100 }, V4,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "ipv6 length shorter than the tcp header", { .flags = PB_TCP_ACK, .ip_len_delta = -8 }, V6,
	  .expect = WF_CNT_NON_TCP_OR_MALFORMED },
	{ "own packet (mark)", { .flags = PB_TCP_SYN }, V4, .mark = WF_OWN_MARK,
	  .expect = WF_CNT_OWN_PACKETS },
	{ "own packet, even malformed", { .flags = PB_TCP_SYN, .doff_override = 2 }, V6,
	  .mark = WF_OWN_MARK, .expect = WF_CNT_OWN_PACKETS },
	{ "foreign mark is an ordinary packet", { .flags = PB_TCP_SYN }, V4, .mark = 42,
	  .expect = WF_CNT_PACKETS, .expect_flow = true, .expect_flows_new = 1 },
};

static const enum wf_counter class_counters[] = {
	WF_CNT_PACKETS, WF_CNT_OTHER_PACKETS, WF_CNT_NON_TCP_OR_MALFORMED,
	WF_CNT_OWN_PACKETS, WF_CNT_NO_CONFIG,
};

static void test_packet_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pkt_case *tc = &cases[i];
		struct wf_harness h;
		struct h_opts o = { .port = TEST_PORT, .record = true };
		struct pb_flow flow;
		struct pb_seg seg = tc->seg;
		struct wf_flow f;
		uint8_t frame[PB_FRAME_MAX];
		size_t n;

		print_message("case: %s\n", tc->name);
		assert_int_equal(h_open(&h, &o), 0);
		if (tc->family == 6)
			pb_flow_v6(&flow, tc->cport, tc->sport);
		else
			pb_flow_v4(&flow, tc->cport, tc->sport);
		seg.flow = &flow;
		n = pb_build(&seg, frame, sizeof(frame));
		assert_true(n > 0);
		if (tc->ethertype) {
			frame[12] = (uint8_t)(tc->ethertype >> 8);
			frame[13] = (uint8_t)tc->ethertype;
		}
		assert_int_equal(h_run(&h, frame, n, tc->mark, 0, 0), TCX_NEXT_RETVAL);

		for (size_t k = 0; k < sizeof(class_counters) / sizeof(class_counters[0]); k++)
			assert_int_equal(h_counter(&h, class_counters[k]), class_counters[k] == tc->expect);
		assert_int_equal(h_counter(&h, WF_CNT_VERDICT_PASS), 1);
		assert_int_equal(h_counter(&h, WF_CNT_ERRORS), 0);
		assert_int_equal(h_counter(&h, WF_CNT_FLOWS_NEW), tc->expect_flows_new);
		assert_int_equal(h_flow(&h, &flow, &f), tc->expect_flow);
		assert_int_equal(h_flow_count(&h), tc->expect_flow ? 1 : 0);
		if (tc->expect == WF_CNT_PACKETS && !tc->expect_flow)
			assert_int_equal(h_counter(&h, WF_CNT_DATA_SEGMENTS), 0);
		h_close(&h);
	}
}

/* No configuration (port 0): nothing is parsed, tracked or recorded. */
static void test_port_zero(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };

	tc_init(&c, h, 4, 40001, 1000, 5000);
	tc_handshake(&c);
	pgw_startup(&b, "postgres", "postgres");
	tc_send_buf(&c, C2S, &b);
	assert_int_equal(h_counter(h, WF_CNT_NO_CONFIG), 4);
	assert_int_equal(h_counter(h, WF_CNT_PACKETS), 0);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_PASS), 4);
	assert_int_equal(h_flow_count(h), 0);
	assert_int_equal(h_drain(h), 0);

	/* A config with port 0 but recording on is still off. */
	h_set_config(h, 0, WF_CFG_RECORD);
	tc_send_buf(&c, C2S, &b);
	assert_int_equal(h_counter(h, WF_CNT_NO_CONFIG), 5);
	assert_int_equal(h_flow_count(h), 0);
	assert_int_equal(h_drain(h), 0);
	pgw_free(&b);
	tc_free(&c);
}

/* GSO skb: the IP length field is 0 (BIG TCP style); the payload length comes
 * from skb->len. */
static void test_gso_length_from_skb(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct pb_seg s;
	uint8_t frame[PB_FRAME_MAX];
	size_t n;
	struct wf_flow f;

	tc_init(&c, h, 4, 40002, 1000, 5000);
	tc_handshake(&c);
	pgw_startup(&b, "u", "d");
	tc_send_buf(&c, C2S, &b);
	pgw_free(&b);

	for (int i = 0; i < 40; i++)
		pgw_query(&b, "SELECT 1");
	s = (struct pb_seg){ .flow = &c.flow, .flags = PB_TCP_ACK | PB_TCP_PSH, .seq = c.next[C2S],
			     .payload = b.data, .len = b.len, .ip_len_zero = true };
	n = pb_build(&s, frame, sizeof(frame));
	assert_int_equal(h_run(h, frame, n, 0, 100, 5), TCX_NEXT_RETVAL);
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].messages, 41);
	assert_int_equal(f.dir[C2S].next_seq, c.next[C2S] + b.len);
	assert_int_equal(f.dir[C2S].state, WF_STREAM_TYPED);
	assert_int_equal(h_counter(h, WF_CNT_NON_TCP_OR_MALFORMED), 0);

	/* Without GSO, a length field of 0 gives no length to trust either:
	 * skb->len is used. */
	s.seq += (uint32_t)b.len;
	n = pb_build(&s, frame, sizeof(frame));
	assert_int_equal(h_run(h, frame, n, 0, 0, 0), TCX_NEXT_RETVAL);
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].messages, 81);
	assert_int_equal(h_counter(h, WF_CNT_NON_TCP_OR_MALFORMED), 0);
	pgw_free(&b);
	tc_free(&c);
}

/* Link-layer padding after a small non-GSO frame is not payload. */
static void test_padding_not_payload(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct pb_seg s;
	struct wf_flow f;

	tc_init(&c, h, 4, 40003, 1000, 5000);
	tc_handshake(&c);
	pgw_startup(&b, "u", "d");
	tc_send_buf(&c, C2S, &b);
	pgw_free(&b);

	pgw_msg(&b, 'S', NULL, 0);	/* Sync: 5 bytes, a 59-byte frame */
	s = (struct pb_seg){ .flow = &c.flow, .flags = PB_TCP_ACK | PB_TCP_PSH, .seq = c.next[C2S],
			     .payload = b.data, .len = b.len, .trailer = 7 };
	h_run_seg(h, &s);
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].next_seq, c.next[C2S] + 5);
	assert_int_equal(f.dir[C2S].messages, 2);
	assert_int_equal(f.dir[C2S].hdr_have, 0);
	assert_int_equal(h_counter(h, WF_CNT_PAYLOAD_BYTES), b.len + c.sent[C2S].len);
	pgw_free(&b);
	tc_free(&c);
}

/*
 * Several followed ports (`run --port A --port B`): a segment to or from any
 * of them is followed, its server side being the followed port; a port not
 * in the list is not.  The first port is also `port`, as the loader writes it.
 */
static void test_several_ports(void **state)
{
	static const struct {
		uint16_t cport, sport;
		bool from_server;
		bool followed;
	} segs[] = {
		{ 40000, TEST_PORT, false, true },
		{ 40001, 5433, false, true },
		{ 40002, 6000, true, true },	/* server side as source */
		{ 40003, 5434, false, false },
		{ 5433, 6000, false, true },	/* both followed: the destination is the server */
	};
	static const uint16_t ports[] = { TEST_PORT, 5433, 6000 };
	struct h_opts o = { .port = TEST_PORT, .record = true };
	struct wf_harness h;
	uint64_t followed = 0;

	(void)state;
	assert_int_equal(h_open(&h, &o), 0);
	h_set_config_ports(&h, ports, 3, WF_CFG_RECORD);
	for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		struct pb_flow flow;
		struct pb_seg seg = { .flags = segs[i].from_server ? PB_TCP_SYN | PB_TCP_ACK : PB_TCP_SYN,
				      .seq = 100, .ack = segs[i].from_server ? 101 : 0,
				      .from_server = segs[i].from_server };
		struct wf_flow f;
		uint8_t frame[PB_FRAME_MAX];
		size_t n;

		pb_flow_v4(&flow, segs[i].cport, segs[i].sport);
		seg.flow = &flow;
		n = pb_build(&seg, frame, sizeof(frame));
		assert_true(n > 0);
		assert_int_equal(h_run(&h, frame, n, 0, 0, 0), TCX_NEXT_RETVAL);
		followed += segs[i].followed;
		assert_int_equal(h_counter(&h, WF_CNT_PACKETS), followed);
		assert_int_equal(h_counter(&h, WF_CNT_OTHER_PACKETS), i + 1 - followed);
		assert_int_equal(h_flow(&h, &flow, &f), segs[i].followed);
	}
	assert_int_equal(h_flow_count(&h), followed);
	h_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_packet_table),
		cmocka_unit_test(test_several_ports),
		cmocka_unit_test_setup_teardown(test_port_zero, h_setup_noconfig, h_teardown),
		cmocka_unit_test_setup_teardown(test_gso_length_from_skb, h_setup_record, h_teardown),
		cmocka_unit_test_setup_teardown(test_padding_not_payload, h_setup_record, h_teardown),
	};

	h_require_bpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
