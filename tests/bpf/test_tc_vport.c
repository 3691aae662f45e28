// SPDX-License-Identifier: GPL-2.0
/*
 * The tc program with a virtual proxy port (include/wf_vport.h,
 * bpf/virtual_port.h): only connections found in the vconns map — put there
 * by sock_ops for sockets that connect()ed to the virtual port; here by the
 * test, since BPF_PROG_TEST_RUN cannot run cgroup programs — are followed,
 * recorded and faulted.  Every other connection to the port passes untouched
 * and leaves no trace in the flow table or the ring (VPORT_DIRECT counts its
 * packets).  Checked over IPv4 and IPv6, for kill(), killall() (including
 * the bare ACK a killall probe provokes) and for 4-tuples reused between a
 * followed and a direct connection.
 */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "wf_vport.h"
#include "wirefault.skel.h"

#define VPORT 9060

static void set_proxy_config(struct wf_harness *h)
{
	struct wf_config cfg = { .port = TEST_PORT, .proxy_port = VPORT, .flags = WF_CFG_RECORD };
	uint32_t zero = 0;

	assert_int_equal(bpf_map_update_elem(bpf_map__fd(h->skel->maps.config), &zero, &cfg, BPF_ANY), 0);
}

/* What sock_ops does for a socket connect4/6 tagged. */
static void tag(struct tconn *c)
{
	struct wf_vconn vc = { .cookie = 1234, .proxy_port = VPORT };
	struct wf_flow_key key;

	h_flow_key(&c->flow, &key);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(c->h->skel->maps.vconns), &key, &vc, BPF_ANY), 0);
}

/* What sock_ops does when the tagged socket closes. */
static void untag(struct tconn *c)
{
	struct wf_flow_key key;

	h_flow_key(&c->flow, &key);
	assert_int_equal(bpf_map_delete_elem(bpf_map__fd(c->h->skel->maps.vconns), &key), 0);
}

/* A segment that must come out exactly as it went in. */
static void untouched(struct tconn *c, int dir, uint32_t seq, uint8_t flags, const void *data, size_t len)
{
	uint8_t out[PB_FRAME_MAX];
	size_t out_len = 0;
	int rv = tc_seg_ex(c, dir, seq, flags, data, len, out, &out_len);

	assert_int_equal(rv, TCX_NEXT_RETVAL);
	if (data && len) {
		assert_true(out_len >= len);
		assert_memory_equal(out + out_len - len, data, len);
	}
}

static uint64_t records_of_other_conns(struct wf_harness *h, uint64_t conn_id)
{
	uint64_t n = 0;

	h_drain(h);
	for (size_t i = 0; i < h->nrecs; i++)
		n += h->recs[i].hdr.conn_id != conn_id;
	return n;
}

static void follows_only_tagged(struct wf_harness *h, int family)
{
	struct tconn a, b;
	struct pg_wire q = { 0 };
	struct wf_flow f;
	uint64_t direct0, runs0;

	set_proxy_config(h);
	tc_init(&a, h, family, 40001, 1000, 5000);
	tc_init(&b, h, family, 40002, 2000, 6000);
	tag(&a);

	tc_login(&a);
	pgw_query(&q, "SELECT 1");
	tc_send_buf(&a, C2S, &q);
	assert_true(h_flow(h, &a.flow, &f));
	tc_check_recorded(&a, C2S);
	tc_check_recorded(&a, S2C);

	direct0 = h_counter(h, WF_CNT_VPORT_DIRECT);
	runs0 = h->runs;
	tc_login(&b);
	tc_send_buf(&b, C2S, &q);
	tc_fin(&b, C2S);
	assert_false(h_flow(h, &b.flow, &f));
	assert_int_equal(h_counter(h, WF_CNT_VPORT_DIRECT) - direct0, h->runs - runs0);
	assert_int_equal(h_flow_count(h), 1);
	assert_int_equal(records_of_other_conns(h, tc_flow(&a).conn_id), 0);

	pgw_free(&q);
	tc_free(&a);
	tc_free(&b);
}

static void test_follows_only_tagged_ipv4(void **state)
{
	follows_only_tagged(*state, 4);
}

static void test_follows_only_tagged_ipv6(void **state)
{
	follows_only_tagged(*state, 6);
}

static void kill_only_tagged(struct wf_harness *h, int family)
{
	struct tconn a, b;
	struct pg_wire q = { 0 };

	set_proxy_config(h);
	tc_init(&a, h, family, 40011, 1000, 5000);
	tc_init(&b, h, family, 40012, 2000, 6000);
	tag(&a);
	tc_login(&a);
	tc_login(&b);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").kill()");

	pgw_query(&q, "SELECT 42");
	untouched(&b, C2S, b.next[C2S], PB_TCP_PSH | PB_TCP_ACK, q.data, q.len);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 0);

	tc_seg_ex(&a, C2S, a.next[C2S], PB_TCP_PSH | PB_TCP_ACK, q.data, q.len, NULL, NULL);
	assert_true(tc_flow(&a).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS) > 0, 1);

	pgw_free(&q);
	tc_free(&a);
	tc_free(&b);
}

static void test_kill_only_tagged_ipv4(void **state)
{
	kill_only_tagged(*state, 4);
}

static void test_kill_only_tagged_ipv6(void **state)
{
	kill_only_tagged(*state, 6);
}

/* killall(): neither data nor the probe's challenge ACK of a direct connection is touched. */
static void test_killall_spares_direct(void **state)
{
	struct wf_harness *h = *state;
	struct tconn a, b, n;
	struct pg_wire q = { 0 };

	set_proxy_config(h);
	tc_init(&a, h, 4, 40021, 1000, 5000);
	tc_init(&b, h, 4, 40022, 2000, 6000);
	tc_init(&n, h, 4, 40023, 3000, 7000);
	tag(&a);
	tc_login(&a);
	tc_login(&b);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 1$\").killall()");
	pgw_query(&q, "SELECT 1");
	tc_seg_ex(&a, C2S, a.next[C2S], PB_TCP_PSH | PB_TCP_ACK, q.data, q.len, NULL, NULL);
	assert_true(tc_flow(&a).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 1);

	/* killall() is in force: a direct connection's bare ACK and data pass */
	untouched(&b, S2C, b.next[S2C], PB_TCP_ACK, NULL, 0);
	untouched(&b, C2S, b.next[C2S], PB_TCP_PSH | PB_TCP_ACK, q.data, q.len);
	/* and so does a direct connection that starts now */
	tc_login(&n);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 1);
	assert_int_equal(h_flow_count(h), 1);

	pgw_free(&q);
	tc_free(&a);
	tc_free(&b);
	tc_free(&n);
}

/* A 4-tuple goes from a followed connection to a direct one and back. */
static void test_reused_tuple(void **state)
{
	struct wf_harness *h = *state;
	struct tconn a1, b, a2;
	struct wf_flow f;
	uint64_t closes;

	set_proxy_config(h);
	tc_init(&a1, h, 4, 40031, 1000, 5000);
	tag(&a1);
	tc_login(&a1);
	assert_true(h_flow(h, &a1.flow, &f));
	h_drain(h);
	closes = h_count_records(h, WF_REC_CLOSE);

	/* the tagged socket closed without a FIN we saw; a direct one takes its 4-tuple */
	untag(&a1);
	tc_init(&b, h, 4, 40031, 900000, 905000);
	tc_login(&b);
	assert_false(h_flow(h, &b.flow, &f));
	h_drain(h);
	assert_int_equal(h_count_records(h, WF_REC_CLOSE), closes + 1);	/* the old connection ended */

	/* and a tagged one after it again */
	tc_init(&a2, h, 4, 40031, 1800000, 1805000);
	tag(&a2);
	tc_login(&a2);
	assert_true(h_flow(h, &a2.flow, &f));
	assert_int_equal(f.client_isn, 1800000);
	tc_check_recorded(&a2, S2C);

	tc_free(&a1);
	tc_free(&b);
	tc_free(&a2);
}

/* Without a virtual port (proxy_port 0) vconns is not consulted: everything is followed. */
static void test_no_proxy_port_follows_all(void **state)
{
	struct wf_harness *h = *state;
	struct tconn a;
	struct wf_flow f;

	tc_init(&a, h, 6, 40041, 1000, 5000);
	tc_login(&a);
	assert_true(h_flow(h, &a.flow, &f));
	assert_int_equal(h_counter(h, WF_CNT_VPORT_DIRECT), 0);
	tc_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_follows_only_tagged_ipv4, h_setup_record, h_teardown),
		cmocka_unit_test_setup_teardown(test_follows_only_tagged_ipv6, h_setup_record, h_teardown),
		cmocka_unit_test_setup_teardown(test_kill_only_tagged_ipv4, h_setup_record, h_teardown),
		cmocka_unit_test_setup_teardown(test_kill_only_tagged_ipv6, h_setup_record, h_teardown),
		cmocka_unit_test_setup_teardown(test_killall_spares_direct, h_setup_record, h_teardown),
		cmocka_unit_test_setup_teardown(test_reused_tuple, h_setup_record, h_teardown),
		cmocka_unit_test_setup_teardown(test_no_proxy_port_follows_all, h_setup_record, h_teardown),
	};

	h_require_bpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
