// SPDX-License-Identifier: GPL-2.0
/*
 * The recorder's side of the tc program: record fields, INITIAL, pieces,
 * close records, losses and wake-ups.
 */
#include "harness.h"

#include <bpf/libbpf.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

/* Every field of every record of a short session. */
static void test_record_fields(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	struct wf_flow_key key;
	struct wf_flow f;
	struct {
		int dir;
		uint32_t seq;
		size_t len;
		uint8_t flags;
	} want[4];
	int n = 0;

	tc_init(&c, h, 6, 46000, 0xfffffff0u, 0x10);
	tc_handshake(&c);
	pgw_startup(&b, "postgres", "regression");
	want[n++] = (typeof(want[0])){ C2S, c.next[C2S], b.len, WF_REC_F_INITIAL };
	tc_send_buf(&c, C2S, &b);
	pgw_reset(&b);
	pgw_login_burst(&b);
	want[n++] = (typeof(want[0])){ S2C, c.next[S2C], b.len, 0 };
	tc_send_buf(&c, S2C, &b);
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1;");
	want[n++] = (typeof(want[0])){ C2S, c.next[C2S], b.len, 0 };
	tc_send_buf(&c, C2S, &b);
	want[n++] = (typeof(want[0])){ C2S, c.next[C2S], b.len, 0 };
	tc_send_buf(&c, C2S, &b);

	f = tc_flow(&c);
	h_flow_key(&c.flow, &key);
	h_drain(h);
	assert_int_equal(h->nrecs, n);
	for (int i = 0; i < n; i++) {
		const struct wf_record *r = &h->recs[i].hdr;

		assert_int_equal(r->kind, WF_REC_CHUNK);
		assert_int_equal(r->conn_id, f.conn_id);
		assert_memory_equal(&r->flow, &key, sizeof(key));
		assert_int_equal(r->dir, want[i].dir);
		assert_int_equal(r->seq, want[i].seq);
		assert_int_equal(r->chunk_len, want[i].len);
		assert_int_equal(r->offset, 0);
		assert_int_equal(r->len, want[i].len);
		assert_int_equal(r->flags, want[i].flags);
		assert_true(r->ts_ns >= f.first_ns);
		assert_int_equal(r->action, 0);
		assert_int_equal(r->pipe_gen, 0);
		if (i)
			assert_true(r->ts_ns >= h->recs[i - 1].hdr.ts_ns);
	}
	assert_int_equal(h->recs[0].hdr.seq, 0xfffffff1u);
	tc_check_recorded(&c, C2S);
	tc_check_recorded(&c, S2C);
	pgw_free(&b);
	tc_free(&c);
}

/* Two connections: ids in order of first sight, INITIAL once each. */
static void test_conn_ids_and_initial(void **state)
{
	struct wf_harness *h = *state;
	struct tconn a, b;
	struct pg_wire q = { 0 };
	size_t initial = 0;

	tc_init(&a, h, 4, 46001, 1, 2);
	tc_init(&b, h, 4, 46002, 3, 4);
	tc_login(&a);
	tc_login(&b);
	pgw_query(&q, "SELECT 1;");
	tc_send_buf(&a, C2S, &q);
	tc_send_buf(&b, C2S, &q);
	assert_int_equal(tc_flow(&a).conn_id, 1);
	assert_int_equal(tc_flow(&b).conn_id, 2);
	h_drain(h);
	for (size_t i = 0; i < h->nrecs; i++) {
		if (h->recs[i].hdr.flags & WF_REC_F_INITIAL) {
			initial++;
			assert_int_equal(h->recs[i].hdr.dir, C2S);
			assert_int_equal(h->recs[i].hdr.seq, h->recs[i].hdr.conn_id == 1 ? 2 : 4);
		}
	}
	assert_int_equal(initial, 2);
	pgw_free(&q);
	tc_free(&a);
	tc_free(&b);
}

static void test_close_fin_both_ways(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct wf_flow f;

	tc_init(&c, h, 4, 46003, 1, 2);
	tc_login(&c);
	tc_fin(&c, C2S);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 0);
	tc_seg(&c, C2S, c.next[C2S] - 1, PB_TCP_FIN | PB_TCP_ACK, NULL, 0);	/* FIN again */
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 0);
	tc_fin(&c, S2C);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 1);
	tc_seg(&c, S2C, c.next[S2C] - 1, PB_TCP_FIN | PB_TCP_ACK, NULL, 0);
	tc_rst(&c, C2S);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 1);
	assert_int_equal(h_counter(h, WF_CNT_REC_CLOSES), 1);

	for (size_t i = 0; i < h->nrecs; i++) {
		const struct wf_record *r = &h->recs[i].hdr;

		if (r->kind != WF_REC_CLOSE)
			continue;
		assert_int_equal(r->conn_id, 1);
		assert_int_equal(r->len, 0);
		assert_int_equal(r->chunk_len, 0);
		assert_int_equal(i, h->nrecs - 1);	/* after every chunk */
	}
	f = tc_flow(&c);
	assert_true(f.flags & WF_FLOW_CLOSE_REPORTED);
	assert_true(f.flags & WF_FLOW_RST);
	tc_free(&c);
}

static void test_close_rst(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c, refused;

	tc_init(&c, h, 6, 46004, 1, 2);
	tc_login(&c);
	tc_rst(&c, S2C);
	tc_rst(&c, S2C);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 1);

	/* A refused connection never had a chunk: the recorder never knew it. */
	tc_init(&refused, h, 6, 46005, 1, 2);
	tc_seg(&refused, C2S, 1, PB_TCP_SYN, NULL, 0);
	tc_seg(&refused, S2C, 0, PB_TCP_RST | PB_TCP_ACK, NULL, 0);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 1);
	tc_free(&c);
	tc_free(&refused);
}

/* A new SYN on a reused 4-tuple is a new connection; a repeated SYN is not. */
static void test_syn_reuse_and_retransmit(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c, again;
	struct wf_flow f;

	tc_init(&c, h, 4, 46006, 1000, 2000);
	tc_handshake(&c);
	tc_seg(&c, C2S, 1000, PB_TCP_SYN, NULL, 0);	/* SYN retransmitted */
	f = tc_flow(&c);
	assert_int_equal(f.conn_id, 1);
	assert_int_equal(f.dir[S2C].state, WF_STREAM_TYPED);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_NEW), 1);

	tc_login(&c);	/* (handshake again: same ISNs, ignored) */
	assert_int_equal(tc_flow(&c).conn_id, 1);

	tc_init(&again, h, 4, 46006, 500000, 7000);
	tc_login(&again);
	f = tc_flow(&again);
	assert_int_equal(f.conn_id, 2);
	assert_int_equal(f.dir[C2S].messages, 1);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_NEW), 2);
	/* connection 1 was never closed: its end is reported at the reuse */
	h_drain(h);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), 1);
	for (size_t i = 0; i < h->nrecs; i++)
		if (h->recs[i].hdr.kind == WF_REC_CLOSE)
			assert_int_equal(h->recs[i].hdr.conn_id, 1);
	tc_check_recorded(&again, C2S);
	tc_free(&c);
	tc_free(&again);
}

/* Chunks larger than a piece are split; more than WF_REC_PIECES_MAX pieces
 * are cut (and counted).  The piece size is lowered through the rodata knob
 * because test_run frames are one page. */
static int setup_small_pieces(void **state)
{
	struct h_opts o = { .port = TEST_PORT, .record = true, .piece_max = 300 };

	return h_setup_with(state, &o);
}

static void test_pieces(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	uint32_t seq;
	size_t first;

	tc_init(&c, h, 4, 46007, 1, 2);
	tc_login(&c);	/* startup (<300) and burst (>300) */
	h_drain(h);
	first = h->nrecs;

	pgw_data_row_big(&b, 1000);	/* 1011 bytes: 4 pieces */
	seq = c.next[S2C];
	tc_send(&c, S2C, b.data, b.len, PB_MSS);
	h_drain(h);
	assert_int_equal(h->nrecs - first, 4);
	for (size_t i = 0; i < 4; i++) {
		const struct wf_record *r = &h->recs[first + i].hdr;

		assert_int_equal(r->seq, seq);
		assert_int_equal(r->chunk_len, b.len);
		assert_int_equal(r->offset, 300 * i);
		assert_int_equal(r->len, i < 3 ? 300 : b.len - 900);
		assert_int_equal(r->flags, 0);
	}
	tc_check_recorded(&c, S2C);

	/* 3000 bytes: 10 pieces of 300, 8 kept */
	pgw_reset(&b);
	pgw_data_row_big(&b, 3000 - 11);
	first = h->nrecs;
	tc_send(&c, S2C, b.data, b.len, PB_MSS);
	h_drain(h);
	assert_int_equal(h->nrecs - first, WF_REC_PIECES_MAX);
	for (size_t i = 0; i < WF_REC_PIECES_MAX; i++)
		assert_int_equal(h->recs[first + i].hdr.flags, WF_REC_F_TRUNCATED);
	assert_int_equal(h_counter(h, WF_CNT_REC_LOST_PIECES), 2);
	assert_int_equal(h_counter(h, WF_CNT_REC_LOST_BYTES), 600);
	assert_int_equal(h_counter(h, WF_CNT_REC_BYTES) + 600, h_counter(h, WF_CNT_PAYLOAD_BYTES));
	/* framing is unaffected by the recorder */
	assert_int_equal(tc_flow(&c).dir[S2C].messages, 16 + 2);
	pgw_free(&b);
	tc_free(&c);
}

/* A full ring loses pieces, counted; later pieces still go through. */
static int setup_tiny_ring(void **state)
{
	struct h_opts o = { .port = TEST_PORT, .record = true, .ring_size = 4096 };

	return h_setup_with(state, &o);
}

static void test_ring_full(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	uint8_t data[3000];
	uint64_t lost;
	size_t before;

	memset(data, 'x', sizeof(data));
	tc_init(&c, h, 4, 46008, 1, 2);
	tc_login(&c);
	h_drain(h);
	before = h->nrecs;
	/* (garbage for the framer: recorded all the same) */
	for (int i = 0; i < 3; i++)
		tc_seg(&c, S2C, c.next[S2C] + 3000u * (uint32_t)i, PB_TCP_ACK, data, sizeof(data));
	lost = h_counter(h, WF_CNT_REC_LOST_PIECES);
	assert_int_equal(lost, 2);
	assert_int_equal(h_counter(h, WF_CNT_REC_LOST_BYTES), 6000);
	assert_int_equal(h_drain(h), 1);
	assert_int_equal(h->recs[before].hdr.len, 3000);
	/* room again */
	tc_seg(&c, S2C, c.next[S2C] + 9000, PB_TCP_ACK, data, 100);
	assert_int_equal(h_drain(h), 1);
	assert_int_equal(h_counter(h, WF_CNT_REC_LOST_PIECES), 2);
	tc_free(&c);
}

/* Wake-ups: none while the ring is at most a quarter full, then forced. */
static int setup_64k_ring(void **state)
{
	struct h_opts o = { .port = TEST_PORT, .record = true, .ring_size = 65536 };

	return h_setup_with(state, &o);
}

static void test_wakeup_policy(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	uint8_t data[3000];
	size_t before;
	int n;

	memset(data, 'y', sizeof(data));
	tc_init(&c, h, 4, 46009, 1, 2);
	tc_login(&c);
	h_drain(h);
	before = h->nrecs;
	/* 5 x ~3 KiB = 15 KiB < 16 KiB: no wake-up, poll sees nothing */
	for (int i = 0; i < 5; i++)
		tc_send(&c, S2C, data, sizeof(data), PB_MSS);
	n = ring_buffer__poll(h->rb, 100);
	assert_int_equal(n, 0);
	assert_int_equal(h->nrecs, before);
	/* past a quarter: the next piece forces a wake-up */
	tc_send(&c, S2C, data, sizeof(data), PB_MSS);
	tc_send(&c, S2C, data, sizeof(data), PB_MSS);
	n = ring_buffer__poll(h->rb, 1000);
	assert_true(n > 0);
	h_drain(h);
	assert_int_equal(h->nrecs, before + 7);
	tc_free(&c);
}

/* A CPU without a scratch slot (loader sized rec_scratch too small): the
 * pieces are lost and counted, framing goes on. */
static int setup_one_slot(void **state)
{
	struct h_opts o = { .port = TEST_PORT, .record = true, .scratch_slots = 1 };

	return h_setup_with(state, &o);
}

static void test_missing_scratch_slot(void **state)
{
	struct wf_harness *h = *state;
	struct tconn c;
	struct pg_wire b = { 0 };
	cpu_set_t set, old;

	if (libbpf_num_possible_cpus() < 2 || sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		print_message("one CPU only: nothing to test\n");
		skip();
	}
	assert_int_equal(sched_getaffinity(0, sizeof(old), &old), 0);
	CPU_ZERO(&set);
	CPU_SET(1, &set);
	assert_int_equal(sched_setaffinity(0, sizeof(set), &set), 0);
	h->allow_errors = true;
	tc_init(&c, h, 4, 46010, 1, 2);
	tc_login(&c);
	pgw_query(&b, "SELECT 1;");
	tc_send_buf(&c, C2S, &b);
	assert_int_equal(sched_setaffinity(0, sizeof(old), &old), 0);

	assert_int_equal(h_drain(h), 0);
	assert_int_equal(h_counter(h, WF_CNT_REC_LOST_PIECES), 3);
	assert_int_equal(h_counter(h, WF_CNT_REC_LOST_BYTES), c.sent[C2S].len + c.sent[S2C].len);
	assert_int_equal(h_counter(h, WF_CNT_ERRORS), 3);
	assert_int_equal(tc_flow(&c).dir[C2S].messages, 2);
	pgw_free(&b);
	tc_free(&c);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup_record, h_teardown)
	const struct CMUnitTest tests[] = {
		T(test_record_fields),
		T(test_conn_ids_and_initial),
		T(test_close_fin_both_ways),
		T(test_close_rst),
		T(test_syn_reuse_and_retransmit),
		cmocka_unit_test_setup_teardown(test_pieces, setup_small_pieces, h_teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup_tiny_ring, h_teardown),
		cmocka_unit_test_setup_teardown(test_wakeup_policy, setup_64k_ring, h_teardown),
		cmocka_unit_test_setup_teardown(test_missing_scratch_slot, setup_one_slot, h_teardown),
	};
#undef T

	h_require_bpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
