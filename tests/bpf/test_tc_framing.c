// SPDX-License-Identifier: GPL-2.0
/*
 * PostgreSQL framing and sequence tracking, as scripts of segments through
 * the tc program (one BPF_PROG_TEST_RUN per segment; the flow table carries
 * the state between runs).  Every run must return TCX_NEXT (checked by the
 * harness on every segment).
 */
#include "harness.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wirefault.skel.h"

static void assert_stream(const struct wf_stream *s, uint8_t state, uint32_t messages)
{
	assert_int_equal(s->state, state);
	assert_int_equal(s->messages, messages);
}

/* A stream is between messages: no partial header or body pending. */
static void assert_boundary(const struct wf_stream *s)
{
	assert_int_equal(s->hdr_have, 0);
	assert_int_equal(s->body_left, 0);
}

static void query_response(struct pg_wire *b)
{
	static const char *const row[] = { "1" };
	uint8_t rowdesc[] = { 0, 1, '?', 'c', 'o', 'l', 'u', 'm', 'n', '?', 0,
			      0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0 };

	pgw_msg(b, 'T', rowdesc, sizeof(rowdesc));
	pgw_data_row(b, row, 1);
	pgw_command_complete(b, "SELECT 1");
	pgw_ready_for_query(b, 'I');
}

/* ---- whole sessions ------------------------------------------------------- */

static void session(struct wf_harness *h, int family)
{
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, family, 41000, 0xfffffff0u /* wraps during the session */, 77);
	tc_handshake(&c);
	f = tc_flow(&c);
	assert_int_equal(f.conn_id, 1);
	assert_int_equal(f.flags & (WF_FLOW_SYN | WF_FLOW_SYNACK), WF_FLOW_SYN | WF_FLOW_SYNACK);
	assert_int_equal(f.client_isn, 0xfffffff0u);
	assert_int_equal(f.dir[C2S].next_seq, 0xfffffff1u);
	assert_int_equal(f.dir[S2C].next_seq, 78);
	assert_stream(&f.dir[C2S], WF_STREAM_STARTUP, 0);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 0);

	pgw_startup(&b, "postgres", "regression");
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 1);
	assert_boundary(&f.dir[C2S]);
	assert_int_equal(f.dir[C2S].msg_len, b.len);

	pgw_reset(&b);
	pgw_login_burst(&b);
	tc_send_buf(&c, S2C, &b);	/* 16 messages, one segment */
	f = tc_flow(&c);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 16);
	assert_int_equal(f.dir[S2C].cur_type, 'Z');

	pgw_reset(&b);
	pgw_query(&b, "SELECT 1;");
	tc_send_buf(&c, C2S, &b);
	pgw_reset(&b);
	query_response(&b);
	tc_send_buf(&c, S2C, &b);
	pgw_reset(&b);
	pgw_terminate(&b);
	tc_send_buf(&c, C2S, &b);
	tc_fin(&c, C2S);
	tc_fin(&c, S2C);
	tc_seg(&c, C2S, c.next[C2S], PB_TCP_ACK, NULL, 0);

	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 20);
	assert_boundary(&f.dir[C2S]);
	assert_boundary(&f.dir[S2C]);
	assert_int_equal(f.dir[C2S].cur_type, 'X');
	assert_int_equal(f.dir[S2C].cur_type, 'Z');
	assert_int_equal(f.flags & (WF_FLOW_FIN_FRONTEND | WF_FLOW_FIN_BACKEND | WF_FLOW_CLOSE_REPORTED),
			 WF_FLOW_FIN_FRONTEND | WF_FLOW_FIN_BACKEND | WF_FLOW_CLOSE_REPORTED);

	assert_int_equal(h_counter(h, WF_CNT_PACKETS), 3 + 5 + 3);
	assert_int_equal(h_counter(h, WF_CNT_DATA_SEGMENTS), 5);
	assert_int_equal(h_counter(h, WF_CNT_PAYLOAD_BYTES), c.sent[C2S].len + c.sent[S2C].len);
	assert_int_equal(h_counter(h, WF_CNT_MESSAGES), 23);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_NEW), 1);
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 0);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_DESYNC), 0);
	assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), 0);
	assert_int_equal(h_counter(h, WF_CNT_REC_PIECES), 5);
	assert_int_equal(h_counter(h, WF_CNT_REC_BYTES), c.sent[C2S].len + c.sent[S2C].len);
	assert_int_equal(h_counter(h, WF_CNT_REC_CLOSES), 1);
	tc_check_recorded(&c, C2S);
	tc_check_recorded(&c, S2C);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 1);
	pgw_free(&b);
	tc_free(&c);
}

static void test_session_ipv4(void **state)
{
	session(*state, 4);
}

static void test_session_ipv6(void **state)
{
	session(*state, 6);
}

/* The loader started between SYN and SYN-ACK: the SYN-ACK alone syncs both. */
static void test_synack_without_syn(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pb_seg synack;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 4, 41001, 1000, 9000);
	synack = (struct pb_seg){ .flow = &c.flow, .from_server = true, .flags = PB_TCP_SYN | PB_TCP_ACK,
				  .seq = 9000, .ack = 1001 };
	h_run_seg(h, &synack);
	pgw_startup(&b, "u", "d");
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 1);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_NEW), 1);
	h_drain(h);
	assert_int_equal(h->nrecs, 1);
	assert_int_equal(h->recs[0].hdr.flags, WF_REC_F_INITIAL);
	pgw_free(&b);
	tc_free(&c);
}

/* Data on the SYN (TCP Fast Open) starts at isn + 1. */
static void test_syn_with_data(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 6, 41002, 5000, 9000);
	pgw_startup(&b, "u", "d");
	tc_seg(&c, C2S, 5000, PB_TCP_SYN, b.data, b.len);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 1);
	assert_int_equal(f.dir[C2S].next_seq, 5001 + b.len);
	pgw_free(&b);
	tc_free(&c);
}

/* ---- many messages per segment --------------------------------------------- */

static void test_many_tiny_messages(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	static const char *const row[] = { "x" };
	struct wf_flow f;
	uint64_t before;

	tc_init(&c, h, 4, 41003, 1, 2);
	tc_login(&c);
	before = h_counter(h, WF_CNT_MESSAGES);

	/* 680 Flush messages (5 bytes each): 3400 bytes, one segment */
	for (int i = 0; i < 680; i++)
		pgw_msg(&b, 'H', NULL, 0);
	assert_int_equal(b.len, PB_MSS);
	tc_send(&c, C2S, b.data, b.len, PB_MSS);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 1 + 680);
	assert_boundary(&f.dir[C2S]);

	/* 250 one-column DataRows + CommandComplete + ReadyForQuery */
	pgw_reset(&b);
	for (int i = 0; i < 250; i++)
		pgw_data_row(&b, row, 1);
	pgw_command_complete(&b, "SELECT 250");
	pgw_ready_for_query(&b, 'I');
	assert_true(b.len <= PB_MSS);
	tc_send(&c, S2C, b.data, b.len, PB_MSS);
	f = tc_flow(&c);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 16 + 252);
	assert_boundary(&f.dir[S2C]);
	assert_int_equal(h_counter(h, WF_CNT_MESSAGES) - before, 680 + 252);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_DESYNC), 0);
	tc_check_recorded(&c, C2S);
	tc_check_recorded(&c, S2C);
	pgw_free(&b);
	tc_free(&c);
}

/* ---- split headers ---------------------------------------------------------- */

/* Query 1 + Query 2 with Query 2's 5-byte header cut after k bytes. */
static void test_typed_header_split_each_offset(void **state)
{
	struct wf_harness *h = *state;

	for (uint32_t k = 0; k <= 5; k++) {
		struct tconn c;
		struct pg_wire b = { 0 };
		struct wf_flow f;
		size_t q1;

		tc_init(&c, h, k % 2 ? 6 : 4, (uint16_t)(42000 + k), 100 * k, 7);
		tc_login(&c);
		pgw_query(&b, "SELECT 1;");
		q1 = b.len;
		pgw_query(&b, "SELECT 'a second query';");
		tc_send(&c, C2S, b.data, q1 + k, PB_MSS);
		f = tc_flow(&c);
		assert_int_equal(f.dir[C2S].messages, k == 5 ? 3 : 2);
		assert_int_equal(f.dir[C2S].hdr_have, k == 5 ? 0 : k);
		if (k == 5) {
			assert_int_equal(f.dir[C2S].cur_type, 'Q');
			assert_int_equal(f.dir[C2S].body_left, b.len - q1 - 5);
		}
		tc_send(&c, C2S, b.data + q1 + k, b.len - q1 - k, PB_MSS);
		f = tc_flow(&c);
		assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
		assert_boundary(&f.dir[C2S]);
		assert_int_equal(f.dir[C2S].msg_len, b.len - q1 - 1);
		tc_check_recorded(&c, C2S);
		pgw_free(&b);
		tc_free(&c);
	}
}

/* The StartupMessage's (and SSLRequest's) 8-byte header cut after k bytes. */
static void test_startup_header_split_each_offset(void **state)
{
	struct wf_harness *h = *state;

	for (uint32_t k = 0; k <= 8; k++) {
		struct tconn c;
		struct pg_wire b = { 0 };
		struct wf_flow f;

		/* SSLRequest in two parts, then 'N' */
		tc_init(&c, h, 4, (uint16_t)(43000 + k), 5, 6);
		tc_handshake(&c);
		pgw_ssl_request(&b);
		tc_send(&c, C2S, b.data, k, PB_MSS);
		f = tc_flow(&c);
		assert_int_equal(f.dir[C2S].hdr_have, k == 8 ? 0 : k);
		assert_int_equal(f.dir[S2C].state, k == 8 ? WF_STREAM_ONE_BYTE : WF_STREAM_TYPED);
		tc_send(&c, C2S, b.data + k, b.len - k, PB_MSS);
		f = tc_flow(&c);
		assert_int_equal(f.dir[S2C].state, WF_STREAM_ONE_BYTE);
		assert_stream(&f.dir[C2S], WF_STREAM_STARTUP, 1);
		tc_send(&c, S2C, "N", 1, PB_MSS);

		/* StartupMessage in two parts */
		pgw_reset(&b);
		pgw_startup(&b, "postgres", "regression");
		tc_send(&c, C2S, b.data, k, PB_MSS);
		f = tc_flow(&c);
		assert_int_equal(f.dir[C2S].state, k == 8 ? WF_STREAM_TYPED : WF_STREAM_STARTUP);
		assert_int_equal(f.dir[C2S].hdr_have, k == 8 ? 0 : k);
		tc_send(&c, C2S, b.data + k, b.len - k, PB_MSS);
		f = tc_flow(&c);
		assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 2);
		assert_boundary(&f.dir[C2S]);
		assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 1);
		tc_check_recorded(&c, C2S);
		pgw_free(&b);
		tc_free(&c);
	}
}

/* One stream of mixed messages cut in two at every byte position, sent again
 * and again on one connection: every header and body offset is a boundary. */
static void test_cut_at_every_position(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;
	const uint32_t per_stream = 7;

	tc_init(&c, h, 6, 41004, 0x7ffffff0u, 0xfffffffeu);
	tc_login(&c);
	query_response(&b);			/* T D C Z */
	pgw_msg(&b, 'S', NULL, 0);		/* empty body */
	pgw_parameter_status(&b, "TimeZone", "UTC");
	pgw_msg(&b, 'N', "SNOTICE", 8);
	for (size_t p = 1; p < b.len; p++) {
		tc_send(&c, S2C, b.data, p, PB_MSS);
		tc_send(&c, S2C, b.data + p, b.len - p, PB_MSS);
		f = tc_flow(&c);
		assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 16 + (uint32_t)p * per_stream);
		assert_boundary(&f.dir[S2C]);
	}
	tc_check_recorded(&c, S2C);
	pgw_free(&b);
	tc_free(&c);
}

/* A whole session delivered one byte per segment. */
static void test_byte_by_byte(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 4, 41005, 3, 4);
	tc_handshake(&c);
	pgw_ssl_request(&b);
	tc_send(&c, C2S, b.data, b.len, 1);
	tc_send(&c, S2C, "N", 1, 1);
	pgw_reset(&b);
	pgw_startup(&b, "postgres", "regression");
	tc_send(&c, C2S, b.data, b.len, 1);
	pgw_reset(&b);
	pgw_login_burst(&b);
	tc_send(&c, S2C, b.data, b.len, 1);
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1;");
	tc_send(&c, C2S, b.data, b.len, 1);
	pgw_reset(&b);
	query_response(&b);
	tc_send(&c, S2C, b.data, b.len, 1);

	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 1 + 16 + 4);
	assert_boundary(&f.dir[C2S]);
	assert_boundary(&f.dir[S2C]);
	assert_int_equal(h_counter(h, WF_CNT_DATA_SEGMENTS), c.sent[C2S].len + c.sent[S2C].len);
	tc_check_recorded(&c, C2S);
	tc_check_recorded(&c, S2C);
	pgw_free(&b);
	tc_free(&c);
}

/* ---- long messages ------------------------------------------------------------ */

static void test_big_datarow_then_next_message(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;
	uint64_t segs;

	tc_init(&c, h, 4, 41006, 0xffff0000u, 0xffffff00u);
	tc_login(&c);
	pgw_query(&b, "SELECT repeat('x', 100000);");
	tc_send_buf(&c, C2S, &b);

	pgw_reset(&b);
	pgw_data_row_big(&b, 100000);		/* 'D' + 4 + 2 + 4 + 100000 */
	pgw_command_complete(&b, "SELECT 1");
	pgw_ready_for_query(&b, 'I');
	segs = h_counter(h, WF_CNT_DATA_SEGMENTS);
	tc_send(&c, S2C, b.data, PB_MSS, PB_MSS);
	f = tc_flow(&c);
	assert_int_equal(f.dir[S2C].cur_type, 'D');
	assert_int_equal(f.dir[S2C].msg_len, 100010);
	assert_int_equal(f.dir[S2C].body_left, 100010 - 4 - (PB_MSS - 5));
	tc_send(&c, S2C, b.data + PB_MSS, b.len - PB_MSS, PB_MSS);
	assert_int_equal(h_counter(h, WF_CNT_DATA_SEGMENTS) - segs, (b.len + PB_MSS - 1) / PB_MSS);
	assert_true((b.len + PB_MSS - 1) / PB_MSS >= 30);
	f = tc_flow(&c);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 16 + 3);
	assert_boundary(&f.dir[S2C]);
	assert_int_equal(f.dir[S2C].cur_type, 'Z');

	/* and the next exchange frames normally */
	pgw_reset(&b);
	pgw_query(&b, "SELECT 2;");
	tc_send_buf(&c, C2S, &b);
	pgw_reset(&b);
	query_response(&b);
	tc_send_buf(&c, S2C, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 16 + 3 + 4);
	tc_check_recorded(&c, S2C);
	pgw_free(&b);
	tc_free(&c);
}

/* ---- retransmissions, overlaps, gaps ---------------------------------------- */

static void test_retransmit_not_reframed(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;
	uint32_t seq;
	uint64_t msgs, segs;
	size_t recs;

	tc_init(&c, h, 4, 41007, 10, 20);
	tc_login(&c);
	pgw_query(&b, "SELECT 1;");
	pgw_query(&b, "SELECT 2;");
	seq = c.next[C2S];
	tc_send_buf(&c, C2S, &b);
	msgs = h_counter(h, WF_CNT_MESSAGES);
	segs = h_counter(h, WF_CNT_DATA_SEGMENTS);
	h_drain(h);
	recs = h->nrecs;

	tc_seg(&c, C2S, seq, PB_TCP_ACK | PB_TCP_PSH, b.data, b.len);	/* whole */
	tc_seg(&c, C2S, seq, PB_TCP_ACK | PB_TCP_PSH, b.data, 7);	/* a prefix */
	tc_seg(&c, C2S, seq + 3, PB_TCP_ACK | PB_TCP_PSH, b.data + 3, b.len - 3);	/* a suffix */
	tc_seg(&c, C2S, c.next[C2S] - 1, PB_TCP_ACK, b.data + b.len - 1, 1);	/* keepalive */
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 4);
	assert_int_equal(h_counter(h, WF_CNT_MESSAGES), msgs);
	assert_int_equal(h_counter(h, WF_CNT_DATA_SEGMENTS), segs);
	h_drain(h);
	assert_int_equal(h->nrecs, recs);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
	assert_int_equal(f.dir[C2S].next_seq, c.next[C2S]);

	/* the server's burst retransmitted too */
	pgw_reset(&b);
	pgw_login_burst(&b);
	tc_seg(&c, S2C, c.isn[S2C] + 1, PB_TCP_ACK | PB_TCP_PSH, b.data, b.len);
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 5);

	/* framing continues */
	pgw_reset(&b);
	pgw_query(&b, "SELECT 3;");
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 4);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 16);
	tc_check_recorded(&c, C2S);
	tc_check_recorded(&c, S2C);
	pgw_free(&b);
	tc_free(&c);
}

static void test_partial_overlap(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;
	uint32_t seq;
	size_t first;

	tc_init(&c, h, 6, 41008, 0xfffffff8u, 20);
	tc_login(&c);
	pgw_query(&b, "SELECT 1;");
	pgw_query(&b, "SELECT 2;");
	seq = c.next[C2S];
	tc_send(&c, C2S, b.data, 12, PB_MSS);	/* Q1 + 'Q' of Q2 */
	h_drain(h);
	first = h->nrecs;
	/* a resegmented retransmission: bytes 5.. of which 5..11 are old */
	tc_seg(&c, C2S, seq + 5, PB_TCP_ACK | PB_TCP_PSH, b.data + 5, b.len - 5);
	pgw_raw(&c.sent[C2S], b.data + 12, b.len - 12);
	c.next[C2S] = seq + (uint32_t)b.len;

	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
	assert_boundary(&f.dir[C2S]);
	assert_int_equal(f.dir[C2S].next_seq, c.next[C2S]);
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 0);
	h_drain(h);
	assert_int_equal(h->nrecs, first + 1);
	assert_int_equal(h->recs[first].hdr.seq, seq + 12);
	assert_int_equal(h->recs[first].hdr.chunk_len, b.len - 12);
	assert_int_equal(h->recs[first].hdr.flags, 0);
	tc_check_recorded(&c, C2S);
	pgw_free(&b);
	tc_free(&c);
}

static void test_out_of_order_desync(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;
	uint32_t seq;
	size_t q1, recs;

	tc_init(&c, h, 4, 41009, 10, 20);
	tc_login(&c);
	pgw_query(&b, "SELECT 1;");
	q1 = b.len;
	pgw_query(&b, "SELECT 2;");
	pgw_query(&b, "SELECT 3;");
	seq = c.next[C2S];
	h_drain(h);
	recs = h->nrecs;

	/* Q2 arrives before Q1 */
	tc_seg(&c, C2S, seq + (uint32_t)q1, PB_TCP_ACK | PB_TCP_PSH, b.data + q1, q1);
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].state, WF_STREAM_DESYNC);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_DESYNC), 1);
	/* another gap: counted once per direction */
	tc_seg(&c, C2S, seq + 3 * (uint32_t)q1 + 10, PB_TCP_ACK | PB_TCP_PSH, b.data, 4);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_DESYNC), 1);
	/* Q1 now: before next_seq, a retransmit for us */
	tc_seg(&c, C2S, seq, PB_TCP_ACK | PB_TCP_PSH, b.data, q1);
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 1);
	/* Q3 in order after the first gap's segment is also behind now */
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].state, WF_STREAM_DESYNC);
	assert_int_equal(f.dir[C2S].messages, 1);

	h_drain(h);
	assert_int_equal(h->nrecs, recs + 2);
	assert_int_equal(h->recs[recs].hdr.flags, WF_REC_F_UNFRAMED);
	assert_int_equal(h->recs[recs].hdr.seq, seq + q1);
	assert_int_equal(h->recs[recs + 1].hdr.flags, WF_REC_F_UNFRAMED);

	/* the other direction is unaffected */
	pgw_reset(&b);
	query_response(&b);
	tc_send_buf(&c, S2C, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 20);
	assert_int_equal(h_counter(h, WF_CNT_MESSAGES), 1 + 16 + 4);
	pgw_free(&b);
	tc_free(&c);
}

/* ---- the SSL / GSS / cancel dances ---------------------------------------------- */

static void test_ssl_refused(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 6, 41010, 1, 2);
	tc_handshake(&c);
	pgw_ssl_request(&b);
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_STARTUP, 1);
	assert_stream(&f.dir[S2C], WF_STREAM_ONE_BYTE, 0);
	tc_send(&c, S2C, "N", 1, PB_MSS);
	f = tc_flow(&c);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 1);
	assert_int_equal(f.dir[S2C].cur_type, 'N');
	pgw_reset(&b);
	pgw_startup(&b, "postgres", "regression");
	tc_send_buf(&c, C2S, &b);
	pgw_reset(&b);
	pgw_login_burst(&b);
	tc_send_buf(&c, S2C, &b);
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1;");
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 17);
	assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), 0);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_OPAQUE), 0);
	pgw_free(&b);
	tc_free(&c);
}

/* libpq's gssencmode=prefer + sslmode=prefer against a server with neither. */
static void test_gss_then_ssl_refused(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 4, 41011, 1, 2);
	tc_handshake(&c);
	pgw_gssenc_request(&b);
	tc_send_buf(&c, C2S, &b);
	tc_send(&c, S2C, "N", 1, PB_MSS);
	pgw_reset(&b);
	pgw_ssl_request(&b);
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_int_equal(f.dir[S2C].state, WF_STREAM_ONE_BYTE);
	tc_send(&c, S2C, "N", 1, PB_MSS);
	pgw_reset(&b);
	pgw_startup(&b, "postgres", "regression");
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 2);
	pgw_free(&b);
	tc_free(&c);
}

static void encrypted(struct wf_harness *h, char answer)
{
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;
	uint8_t tls[200];

	for (size_t i = 0; i < sizeof(tls); i++)
		tls[i] = (uint8_t)(i * 37 + 0x16);
	tc_init(&c, h, 4, 41012, 1, 2);
	tc_handshake(&c);
	if (answer == 'G')
		pgw_gssenc_request(&b);
	else
		pgw_ssl_request(&b);
	tc_send_buf(&c, C2S, &b);
	tc_send(&c, S2C, &answer, 1, PB_MSS);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_OPAQUE, 1);
	assert_stream(&f.dir[S2C], WF_STREAM_OPAQUE, 1);
	tc_send(&c, C2S, tls, sizeof(tls), PB_MSS);	/* ClientHello */
	tc_send(&c, S2C, tls, sizeof(tls), PB_MSS);
	tc_send(&c, C2S, tls, 50, PB_MSS);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_OPAQUE), 3);
	assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), 0);
	assert_int_equal(h_counter(h, WF_CNT_MESSAGES), 2);
	h_drain(h);
	assert_int_equal(h->nrecs, 5);
	assert_int_equal(h->recs[0].hdr.flags, WF_REC_F_INITIAL);	/* the request */
	assert_int_equal(h->recs[1].hdr.flags, 0);			/* the answer */
	for (int i = 2; i < 5; i++)
		assert_int_equal(h->recs[i].hdr.flags, WF_REC_F_UNFRAMED);
	tc_check_recorded(&c, C2S);
	tc_check_recorded(&c, S2C);
	pgw_free(&b);
	tc_free(&c);
}

static void test_ssl_accepted(void **state)
{
	encrypted(*state, 'S');
}

static void test_gss_accepted(void **state)
{
	encrypted(*state, 'G');
}

/* A server too old for the request answers with an ErrorResponse. */
static void test_ssl_answered_by_error(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 4, 41013, 1, 2);
	tc_handshake(&c);
	pgw_ssl_request(&b);
	tc_send_buf(&c, C2S, &b);
	pgw_reset(&b);
	pgw_msg(&b, 'E', "SFATAL\0Munsupported frontend protocol\0\0", 40);
	tc_send_buf(&c, S2C, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 1);
	assert_boundary(&f.dir[S2C]);
	assert_int_equal(f.dir[S2C].cur_type, 'E');
	assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), 0);
	pgw_free(&b);
	tc_free(&c);
}

static void test_cancel_request(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 6, 41014, 1, 2);
	tc_handshake(&c);
	pgw_cancel_request(&b, 12345, 0xdeadbeef);
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_OPAQUE, 1);
	assert_boundary(&f.dir[C2S]);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_OPAQUE), 0);
	assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), 0);
	h_drain(h);
	assert_int_equal(h->nrecs, 1);
	assert_int_equal(h->recs[0].hdr.flags, WF_REC_F_INITIAL);
	tc_fin(&c, C2S);
	tc_fin(&c, S2C);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 1);
	pgw_free(&b);
	tc_free(&c);
}

/* ---- not PostgreSQL ---------------------------------------------------------------- */

struct garbage_case {
	const char *name;
	int dir;		/* who sends it */
	bool after_login;	/* typed state instead of the startup phase */
	bool after_ssl;		/* the server's one-byte answer */
	const uint8_t *bytes;
	size_t len;
};

static const uint8_t http_get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
static const uint8_t startup_short[] = { 0, 0, 0, 7, 0, 3, 0, 0, 1, 2, 3 };
static const uint8_t startup_huge[] = { 0, 0, 0x27, 0x11, 0, 3, 0, 0, 'u', 0 };
static const uint8_t startup_v2[] = { 0, 0, 0, 9, 0, 2, 0, 0, 0 };
static const uint8_t ssl_long[] = { 0, 0, 0, 12, 0x04, 0xd2, 0x16, 0x2f, 0, 0, 0, 0 };
static const uint8_t cancel_short[] = { 0, 0, 0, 12, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1 };
static const uint8_t typed_len_3[] = { 'Q', 0, 0, 0, 3, 'x' };
static const uint8_t typed_len_huge[] = { 'D', 0x40, 0, 0, 5, 0 };
static const uint8_t typed_bad_type[] = { 0, 0, 0, 0, 4 };
static const uint8_t typed_after_good[] = { 'S', 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t answer_x[] = { 'X' };

static const struct garbage_case garbage[] = {
	{ "http on the port", C2S, false, false, http_get, sizeof(http_get) - 1 },
	{ "startup length 7", C2S, false, false, startup_short, sizeof(startup_short) },
	{ "startup length 10001", C2S, false, false, startup_huge, sizeof(startup_huge) },
	{ "protocol 2.0", C2S, false, false, startup_v2, sizeof(startup_v2) },
	{ "sslrequest of length 12", C2S, false, false, ssl_long, sizeof(ssl_long) },
	{ "cancelrequest of length 12", C2S, false, false, cancel_short, sizeof(cancel_short) },
	{ "typed length 3", C2S, true, false, typed_len_3, sizeof(typed_len_3) },
	{ "typed length 1 GiB + 5", S2C, true, false, typed_len_huge, sizeof(typed_len_huge) },
	{ "type byte 0", S2C, true, false, typed_bad_type, sizeof(typed_bad_type) },
	{ "garbage after a good message", C2S, true, false, typed_after_good, sizeof(typed_after_good) },
	{ "ssl answer 'X'", S2C, false, true, answer_x, sizeof(answer_x) },
};

static void test_garbage_not_postgres(void **state)
{
	struct wf_harness *h = *state;

	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		const struct garbage_case *g = &garbage[i];
		uint64_t notpg = h_counter(h, WF_CNT_NOT_POSTGRES);
		uint64_t opaque = h_counter(h, WF_CNT_FLOWS_OPAQUE);
		struct tconn c;
		struct pg_wire b = { 0 };
		struct wf_flow f;
		size_t first;

		print_message("case: %s\n", g->name);
		tc_init(&c, h, 4, (uint16_t)(44000 + i), (uint32_t)i * 1000, 5);
		if (g->after_login) {
			tc_login(&c);
		} else {
			tc_handshake(&c);
			if (g->after_ssl) {
				pgw_ssl_request(&b);
				tc_send_buf(&c, C2S, &b);
			}
		}
		h_drain(h);
		first = h->nrecs;
		tc_send(&c, g->dir, g->bytes, g->len, PB_MSS);
		f = tc_flow(&c);
		assert_int_equal(f.dir[g->dir].state, WF_STREAM_OPAQUE);
		assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), notpg + 1);
		h_drain(h);
		assert_int_equal(h->nrecs, first + 1);
		assert_true(h->recs[first].hdr.flags & WF_REC_F_UNFRAMED);

		/* later bytes on that direction: counted opaque, recorded */
		tc_send(&c, g->dir, "more", 4, PB_MSS);
		assert_int_equal(h_counter(h, WF_CNT_FLOWS_OPAQUE), opaque + 1);
		assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), notpg + 1);
		tc_check_recorded(&c, g->dir);
		pgw_free(&b);
		tc_free(&c);
	}
}

/* Random bytes, random segment boundaries, random seq jumps and flags: the
 * program must pass everything, never fail internally and stay consistent. */
static void test_random_traffic(void **state)
{
	struct wf_harness *h = *state;
	uint8_t buf[PB_MSS];

	srandom(20240611);
	for (int conn = 0; conn < 60; conn++) {
		struct tconn c;
		int mode = conn % 3;

		tc_init(&c, h, conn % 2 ? 6 : 4, (uint16_t)(45000 + conn), (uint32_t)random(),
			(uint32_t)random());
		if (mode == 0)
			tc_handshake(&c);
		else if (mode == 1)
			tc_login(&c);
		for (int i = 0; i < 40; i++) {
			int dir = random() % 2;
			size_t len = (size_t)(random() % 8 == 0 ? random() % PB_MSS : random() % 40);
			uint8_t flags = PB_TCP_ACK | (random() % 4 == 0 ? PB_TCP_PSH : 0);
			uint32_t seq = c.next[dir];

			for (size_t k = 0; k < len; k++)
				buf[k] = (uint8_t)random();
			/* plausible PostgreSQL-looking headers now and then */
			if (len >= 5 && random() % 3 == 0) {
				buf[0] = (uint8_t)("QDTCZSEXRK"[random() % 10]);
				buf[1] = 0, buf[2] = 0, buf[3] = 0;
			}
			switch (random() % 10) {
			case 0: seq -= (uint32_t)(random() % 64); break;	/* overlap/retransmit */
			case 1: seq += (uint32_t)(random() % 64); break;	/* gap */
			case 2: flags |= PB_TCP_FIN; break;
			case 3: if (random() % 4 == 0) flags = PB_TCP_RST; break;
			case 4: flags |= PB_TCP_SYN; break;
			default: break;
			}
			tc_seg(&c, dir, seq, flags, buf, len);
			if ((__s32)(seq + (uint32_t)len - c.next[dir]) > 0)
				c.next[dir] = seq + (uint32_t)len;
		}
		tc_free(&c);
	}
	assert_int_equal(h_counter(h, WF_CNT_ERRORS), 0);
	assert_true(h_counter(h, WF_CNT_NOT_POSTGRES) > 0);
	assert_true(h_counter(h, WF_CNT_FLOWS_DESYNC) > 0);
}

/* ---- connections older than the loader, resynchronisation ---------------- */

static void test_midstream_unframed_then_resync(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire q = { 0 }, r = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 4, 41015, 5000, 9000);
	tc_seg(&c, C2S, c.next[C2S], PB_TCP_ACK, NULL, 0);	/* bare ACK: no entry */
	assert_int_equal(h_flow_count(h), 0);
	pgw_query(&q, "SELECT 1;");
	query_response(&r);
	tc_send_buf(&c, C2S, &q);
	tc_seg(&c, C2S, c.next[C2S] - (uint32_t)q.len, PB_TCP_ACK | PB_TCP_PSH, q.data, q.len);
	/* the response without its last byte: no ReadyForQuery at the end */
	tc_send(&c, S2C, r.data, r.len - 1, PB_MSS);

	f = tc_flow(&c);
	assert_int_equal(f.conn_id, 1);
	assert_int_equal(f.flags & WF_FLOW_SYN, 0);
	assert_stream(&f.dir[C2S], WF_STREAM_UNSYNCED, 0);
	assert_stream(&f.dir[S2C], WF_STREAM_UNSYNCED, 0);
	assert_int_equal(f.dir[C2S].next_seq, c.next[C2S]);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_UNSYNCED), 2);
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 1);
	assert_int_equal(h_counter(h, WF_CNT_MESSAGES), 0);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_NEW), 0);

	/* the server's next segment ends with ReadyForQuery: both resync */
	tc_send(&c, S2C, r.data + r.len - 1, 1, PB_MSS);
	tc_send_buf(&c, S2C, &r);
	f = tc_flow(&c);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 0);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 0);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_RESYNC), 2);
	tc_send_buf(&c, C2S, &q);
	tc_send_buf(&c, S2C, &r);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 1);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 4);
	assert_boundary(&f.dir[S2C]);

	h_drain(h);
	assert_int_equal(h->nrecs, 6);
	for (size_t i = 0; i < 4; i++)	/* never INITIAL: the real first chunk went by */
		assert_int_equal(h->recs[i].hdr.flags, WF_REC_F_UNFRAMED);
	assert_int_equal(h->recs[4].hdr.flags, 0);	/* framed from a message boundary */
	assert_int_equal(h->recs[5].hdr.flags, 0);
	tc_check_recorded(&c, C2S);
	tc_check_recorded(&c, S2C);

	/* its end is still reported */
	tc_rst(&c, S2C);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 1);
	pgw_free(&q);
	pgw_free(&r);
	tc_free(&c);
}

/* A server direction that lost sync inside a long DataRow resumes at the
 * ReadyForQuery that ends the result, and takes the client with it. */
static void test_resync_after_gap(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;
	size_t first;

	tc_init(&c, h, 6, 41017, 1, 2);
	tc_login(&c);
	pgw_query(&b, "SELECT repeat('x', 20000);");
	tc_send_buf(&c, C2S, &b);
	pgw_reset(&b);
	pgw_data_row_big(&b, 20000);
	pgw_command_complete(&b, "SELECT 1");
	pgw_ready_for_query(&b, 'I');
	/* segment 2 of 7 overtakes segment 1 (reordered on lo between CPUs) */
	tc_seg(&c, S2C, c.next[S2C] + PB_MSS, PB_TCP_ACK, b.data + PB_MSS, PB_MSS);
	tc_seg(&c, S2C, c.next[S2C], PB_TCP_ACK, b.data, PB_MSS);
	f = tc_flow(&c);
	assert_int_equal(f.dir[S2C].state, WF_STREAM_DESYNC);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_DESYNC), 1);
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 1);
	pgw_raw(&c.sent[S2C], b.data + PB_MSS, PB_MSS);	/* what the ring got */
	c.next[S2C] += 2 * PB_MSS;
	tc_send(&c, S2C, b.data + 2 * PB_MSS, b.len - 2 * PB_MSS, PB_MSS);
	f = tc_flow(&c);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 16);
	assert_boundary(&f.dir[S2C]);
	assert_int_equal(f.dir[S2C].cur_type, 'Z');
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_RESYNC), 1);	/* the client never lost it */

	/* the next exchange is framed and recorded as framed */
	h_drain(h);
	first = h->nrecs;
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1;");
	tc_send_buf(&c, C2S, &b);
	pgw_reset(&b);
	query_response(&b);
	tc_send_buf(&c, S2C, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 3);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 20);
	h_drain(h);
	assert_int_equal(h->recs[first].hdr.flags, 0);
	assert_int_equal(h->recs[first + 1].hdr.flags, 0);
	tc_check_recorded(&c, S2C);
	pgw_free(&b);
	tc_free(&c);
}

/* A client direction that lost sync resumes when the server goes idle. */
static void test_client_resync(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 4, 41018, 1, 2);
	tc_login(&c);
	pgw_query(&b, "SELECT 1;");
	tc_seg(&c, C2S, c.next[C2S] + 1, PB_TCP_ACK | PB_TCP_PSH, b.data + 1, b.len - 1);
	tc_seg(&c, C2S, c.next[C2S], PB_TCP_ACK | PB_TCP_PSH, b.data, 1);
	c.next[C2S] += (uint32_t)b.len;
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].state, WF_STREAM_DESYNC);
	pgw_reset(&b);
	query_response(&b);
	tc_send_buf(&c, S2C, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 1);
	assert_boundary(&f.dir[C2S]);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_RESYNC), 1);
	pgw_reset(&b);
	pgw_query(&b, "SELECT 2;");
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 2);
	/* encrypted or not-PostgreSQL directions never resync */
	assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), 0);
	pgw_free(&b);
	tc_free(&c);
}

/* Another CPU holds the direction: the segment is not framed, is recorded
 * unframed, and the direction goes DESYNC.  (The other CPU is simulated by
 * setting the claim bits in the map.) */
static void set_busy(struct wf_harness *h, struct tconn *c, int dir, uint32_t busy)
{
	struct wf_flow f = tc_flow(c);
	struct wf_flow_key key;

	f.dir[dir].busy = busy;
	h_flow_key(&c->flow, &key);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(h->skel->maps.flows), &key, &f, BPF_EXIST), 0);
}

static void test_raced_direction(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 4, 41019, 1, 2);
	tc_login(&c);
	pgw_query(&b, "SELECT 1;");
	set_busy(h, &c, C2S, WF_STREAM_BUSY);
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].busy, WF_STREAM_BUSY | WF_STREAM_RACED);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 1);	/* untouched */
	assert_int_equal(h_counter(h, WF_CNT_RACED_SEGMENTS), 1);
	h_drain(h);
	assert_int_equal(h->recs[h->nrecs - 1].hdr.flags, WF_REC_F_UNFRAMED);

	/* the owner left without seeing the racer: the next owner notices */
	set_busy(h, &c, C2S, WF_STREAM_RACED);
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].busy, 0);
	assert_int_equal(f.dir[C2S].state, WF_STREAM_DESYNC);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_DESYNC), 1);
	tc_check_recorded(&c, C2S);	/* every byte reached the ring, in order here */
	pgw_free(&b);
	tc_free(&c);
}

/* Two threads on two CPUs push the same segments of one direction at once
 * (each one a duplicate of the other's): whatever the interleaving, nothing
 * fails, no message is framed twice, no claim is left behind, and framing
 * resumes at the next ReadyForQuery. */
struct racer {
	struct tconn *c;
	int cpu;
	const struct pg_wire *stream;
	uint32_t base;
};

static void *race_thread(void *arg)
{
	struct racer *r = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(r->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (size_t off = 0; off + 5 <= r->stream->len; off += 5) {
		struct pb_seg s = {
			.flow = &r->c->flow, .flags = PB_TCP_ACK, .seq = r->base + (uint32_t)off,
			.payload = r->stream->data + off, .len = 5,
		};
		uint8_t frame[128];
		size_t n = pb_build(&s, frame, sizeof(frame));
		struct __sk_buff ctx = { 0 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)n,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = 1);

		if (bpf_prog_test_run_opts(r->c->h->prog_fd, &o) || (int)o.retval != TCX_NEXT_RETVAL)
			return (void *)1;
	}
	return NULL;
}

static void test_two_cpus_one_direction(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct racer r[2];
	pthread_t t[2];
	struct wf_flow f;
	void *ret;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		print_message("one CPU only: nothing to race\n");
		skip();
	}
	tc_init(&c, h, 4, 41020, 1, 2);
	tc_login(&c);
	for (int i = 0; i < 4000; i++)
		pgw_msg(&b, 'H', NULL, 0);	/* Flush: 5 bytes, one per segment */
	for (int i = 0; i < 2; i++) {
		r[i] = (struct racer){ &c, i, &b, c.next[C2S] };
		assert_int_equal(pthread_create(&t[i], NULL, race_thread, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	c.h->runs += 2 * 4000;
	c.next[C2S] += (uint32_t)b.len;
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].busy, 0);
	assert_int_equal(f.dir[C2S].next_seq, c.next[C2S]);
	print_message("raced %llu, desync %llu, retransmits %llu, messages %u\n",
		      (unsigned long long)h_counter(h, WF_CNT_RACED_SEGMENTS),
		      (unsigned long long)h_counter(h, WF_CNT_FLOWS_DESYNC),
		      (unsigned long long)h_counter(h, WF_CNT_RETRANSMITS), f.dir[C2S].messages);
	/* in order -> all framed; otherwise DESYNC, never misframed */
	if (f.dir[C2S].state == WF_STREAM_TYPED)
		assert_int_equal(f.dir[C2S].messages, 1 + 4000);
	else
		assert_int_equal(f.dir[C2S].state, WF_STREAM_DESYNC);
	assert_int_equal(h_counter(h, WF_CNT_NOT_POSTGRES), 0);

	pgw_reset(&b);
	query_response(&b);
	tc_send_buf(&c, S2C, &b);
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1;");
	tc_send_buf(&c, C2S, &b);
	f = tc_flow(&c);
	assert_int_equal(f.dir[C2S].state, WF_STREAM_TYPED);
	assert_int_equal(f.dir[C2S].cur_type, 'Q');
	assert_boundary(&f.dir[C2S]);
	pgw_free(&b);
	tc_free(&c);
}

/* Recording off: everything is followed and counted, nothing is written. */
static void test_recording_off(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow f;

	tc_init(&c, h, 6, 41016, 1, 2);
	tc_login(&c);
	pgw_query(&b, "SELECT 1;");
	tc_send_buf(&c, C2S, &b);
	tc_fin(&c, C2S);
	tc_fin(&c, S2C);
	f = tc_flow(&c);
	assert_stream(&f.dir[C2S], WF_STREAM_TYPED, 2);
	assert_stream(&f.dir[S2C], WF_STREAM_TYPED, 16);
	assert_true(f.flags & WF_FLOW_INITIAL_SEEN);
	assert_int_equal(h_counter(h, WF_CNT_DATA_SEGMENTS), 3);
	assert_int_equal(h_counter(h, WF_CNT_REC_PIECES), 0);
	assert_int_equal(h_counter(h, WF_CNT_REC_CLOSES), 0);
	assert_int_equal(h_drain(h), 0);
	pgw_free(&b);
	tc_free(&c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup_record, h_teardown)
	const struct CMUnitTest tests[] = {
		T(test_session_ipv4),
		T(test_session_ipv6),
		T(test_synack_without_syn),
		T(test_syn_with_data),
		T(test_many_tiny_messages),
		T(test_typed_header_split_each_offset),
		T(test_startup_header_split_each_offset),
		T(test_cut_at_every_position),
		T(test_byte_by_byte),
		T(test_big_datarow_then_next_message),
		T(test_retransmit_not_reframed),
		T(test_partial_overlap),
		T(test_out_of_order_desync),
		T(test_ssl_refused),
		T(test_gss_then_ssl_refused),
		T(test_ssl_accepted),
		T(test_gss_accepted),
		T(test_ssl_answered_by_error),
		T(test_cancel_request),
		T(test_garbage_not_postgres),
		T(test_random_traffic),
		T(test_midstream_unframed_then_resync),
		T(test_resync_after_gap),
		T(test_client_resync),
		T(test_raced_direction),
		T(test_two_cpus_one_direction),
		cmocka_unit_test_setup_teardown(test_recording_off, h_setup_norecord, h_teardown),
	};
#undef T

	h_require_bpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
