// SPDX-License-Identifier: GPL-2.0
/*
 * Pipelines in the tc program (include/wf_pipeline.h, bpf/pipeline.h,
 * bpf/field_match.h, bpf/verdict.h): a command is parsed, compiled and
 * published into the freshly loaded skeleton (h_pipeline), then crafted
 * segments are run through BPF_PROG_TEST_RUN and each verdict is checked:
 *
 *   allowed   TCX_NEXT, the packet delivered unchanged;
 *   killed    TCX_NEXT, the packet delivered as a FIN|ACK toward its
 *             receiver: payload cut, seq = its first new byte, ack and
 *             timestamps kept, IP and TCP checksums right (checked here, not
 *             trusted); the reversed FIN cloned back to the sender is caught
 *             on lo with a packet socket and checked the same way;
 *   afterwards every packet of the connection is TCX_DROP, answered with a
 *             RST when it carries data or a FIN.
 *
 * And the counters of each (PIPE_*, VERDICT_KILL, KILLED_FLOW_*; the
 * harness checks INJECT_FAILED == 0 and VERDICT_PASS + VERDICT_DROP = runs
 * after every test).
 */
#include "harness.h"
#include <bpf/libbpf.h>
#include "wirefault.skel.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "byteorder.h"
#include "wf_random.h"

#define ETH_HLEN_ 14
#define TCP_HLEN_TS 32		/* 20 + NOP, NOP, timestamps (tc_seg's options) */
#define TSVAL 0x00001234u	/* tc_seg's timestamps */
#define TSECR 0x00005678u
#define FIN_ACK (PB_TCP_FIN | PB_TCP_ACK)
#define RST_ACK (PB_TCP_RST | PB_TCP_ACK)

/* ---- checking packets ------------------------------------------------------------------- */

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* One Ethernet + IPv4/IPv6 + TCP frame, taken apart (and its checksums verified). */
struct pkt {
	int family;
	const uint8_t *ip, *th, *payload;
	uint8_t src[16], dst[16];
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags, ttl;
	size_t thl, payload_len;
	bool has_ts;
	uint32_t tsval, tsecr;
};

static void parse_pkt(const uint8_t *f, size_t len, struct pkt *p)
{
	uint16_t et;
	size_t iphl, l4len;
	uint32_t sum;

	memset(p, 0, sizeof(*p));
	assert_true(len >= ETH_HLEN_ + 20);
	et = wf_be16(f + 12);
	p->ip = f + ETH_HLEN_;
	if (et == 0x0800) {
		p->family = 4;
		assert_int_equal(p->ip[0], 0x45);
		iphl = 20;
		/* the header checksum: the one's complement sum of the header is 0xffff */
		assert_int_equal(fold(sum16(0, p->ip, iphl)), 0xffff);
		assert_int_equal(wf_be16(p->ip + 2), len - ETH_HLEN_);
		assert_int_equal(p->ip[9], 6);
		p->ttl = p->ip[8];
		memcpy(p->src, p->ip + 12, 4);
		memcpy(p->dst, p->ip + 16, 4);
		l4len = len - ETH_HLEN_ - iphl;
		sum = sum16(0, p->ip + 12, 8) + 6 + (uint32_t)l4len;
	} else {
		assert_int_equal(et, 0x86dd);
		p->family = 6;
		assert_int_equal(p->ip[0] >> 4, 6);
		iphl = 40;
		assert_int_equal(wf_be16(p->ip + 4), len - ETH_HLEN_ - iphl);
		assert_int_equal(p->ip[6], 6);
		p->ttl = p->ip[7];
		memcpy(p->src, p->ip + 8, 16);
		memcpy(p->dst, p->ip + 24, 16);
		l4len = len - ETH_HLEN_ - iphl;
		sum = sum16(0, p->ip + 8, 32) + 6 + (uint32_t)l4len;
	}
	p->th = p->ip + iphl;
	assert_true(l4len >= 20);
	p->thl = (size_t)(p->th[12] >> 4) * 4;
	assert_true(p->thl >= 20 && p->thl <= l4len);
	/* the TCP checksum over pseudo-header, header and payload */
	assert_int_equal(fold(sum16(sum, p->th, l4len)), 0xffff);
	p->sport = wf_be16(p->th);
	p->dport = wf_be16(p->th + 2);
	p->seq = wf_be32(p->th + 4);
	p->ack = wf_be32(p->th + 8);
	p->flags = p->th[13];
	p->payload = p->th + p->thl;
	p->payload_len = l4len - p->thl;
	if (p->thl >= 32 && p->th[20] == 1 && p->th[21] == 1 && p->th[22] == 8 && p->th[23] == 10) {
		p->has_ts = true;
		p->tsval = wf_be32(p->th + 24);
		p->tsecr = wf_be32(p->th + 28);
	}
}

static size_t addr_len(int family)
{
	return family == 6 ? 16 : 4;
}

/* What tc_seg sends: the frame length of a segment with n payload bytes. */
static size_t frame_len(const struct tconn *c, size_t n)
{
	return ETH_HLEN_ + (c->flow.family == 6 ? 40 : 20) + TCP_HLEN_TS + n;
}

/* A segment that was allowed: delivered untouched. */
static void assert_delivered(const struct tconn *c, int rv, const uint8_t *out, size_t out_len,
			     const void *data, size_t n)
{
	struct pkt p;

	assert_int_equal(rv, TCX_NEXT_RETVAL);
	assert_int_equal(out_len, frame_len(c, n));
	parse_pkt(out, out_len, &p);
	assert_int_equal(p.payload_len, n);
	if (n)
		assert_memory_equal(p.payload, data, n);
	assert_int_equal(p.flags & (PB_TCP_FIN | PB_TCP_RST), 0);
}

/* The segment became the FIN toward its receiver (dir's direction). */
static void assert_fin_forward(const struct tconn *c, int dir, int rv, const uint8_t *out,
			       size_t out_len, uint32_t seq, uint32_t ack)
{
	const struct pb_flow *fl = &c->flow;
	struct pkt p;

	assert_int_equal(rv, TCX_NEXT_RETVAL);
	assert_int_equal(out_len, frame_len(c, 0));
	parse_pkt(out, out_len, &p);
	assert_int_equal(p.family, fl->family);
	assert_memory_equal(p.src, dir == C2S ? fl->client : fl->server, addr_len(fl->family));
	assert_memory_equal(p.dst, dir == C2S ? fl->server : fl->client, addr_len(fl->family));
	assert_int_equal(p.sport, dir == C2S ? fl->client_port : fl->server_port);
	assert_int_equal(p.dport, dir == C2S ? fl->server_port : fl->client_port);
	assert_int_equal(p.flags, FIN_ACK);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.seq, seq);
	assert_int_equal(p.ack, ack);
	assert_true(p.has_ts);
	assert_int_equal(p.tsval, TSVAL);
	assert_int_equal(p.tsecr, TSECR);
	assert_int_equal(p.ttl, 64);
}

/* ---- lo: the segments the program sends back to the sender -------------------------------- */

/*
 * bpf_clone_redirect(BPF_F_INGRESS) sends the reversed FIN (or RST) into lo's
 * receive path; a packet socket on lo sees it there.  If none can be opened,
 * that half of the checks is left out (said on stderr).
 */
static int tap_fd = -1;

static void tap_open(void)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	sll.sll_ifindex = (int)if_nametoindex("lo");
	tap_fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (tap_fd >= 0 &&
	    (!sll.sll_ifindex || bind(tap_fd, (struct sockaddr *)&sll, sizeof(sll)))) {
		close(tap_fd);
		tap_fd = -1;
	}
	if (tap_fd < 0)
		fprintf(stderr, "no packet socket on lo (%s): injected segments not checked\n",
			strerror(errno));
}

static void tap_drain(void)
{
	uint8_t buf[4096];

	if (tap_fd >= 0)
		while (recv(tap_fd, buf, sizeof(buf), 0) > 0)
			;
}

/*
 * The next segment of connection c seen on lo within limit_ms (since *t0),
 * into buf; its direction in *to (C2S: toward the server).  0 when the time
 * is up.  Packets of other connections and our own outgoing copies are
 * skipped.
 */
static size_t tap_next(const struct tconn *c, const struct timespec *t0, long limit_ms,
		       bool incoming_only, uint8_t *buf, size_t size, int *to)
{
	const struct pb_flow *fl = &c->flow;
	struct timespec now;

	for (;;) {
		struct sockaddr_ll from;
		socklen_t fromlen = sizeof(from);
		struct pollfd pfd = { .fd = tap_fd, .events = POLLIN };
		ssize_t n = recvfrom(tap_fd, buf, size, 0, (struct sockaddr *)&from, &fromlen);

		if (n > 0 && (!incoming_only || from.sll_pkttype != PACKET_OUTGOING) &&
		    n >= ETH_HLEN_ + 40 && wf_be16(buf + 12) == (fl->family == 6 ? 0x86dd : 0x0800)) {
			size_t l4 = ETH_HLEN_ + (fl->family == 6 ? 40 : 20);
			uint16_t sport = wf_be16(buf + l4), dport = wf_be16(buf + l4 + 2);

			if ((size_t)n < l4 + 20)
				continue;
			if (sport == fl->client_port && dport == fl->server_port)
				*to = C2S;
			else if (sport == fl->server_port && dport == fl->client_port)
				*to = S2C;
			else
				continue;
			return (size_t)n;
		}
		if (n > 0)
			continue;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000 > limit_ms)
			return 0;
		poll(&pfd, 1, 50);
	}
}

/* The TCP flags byte of a frame tap_next() returned. */
static uint8_t tap_flags(const struct tconn *c, const uint8_t *buf)
{
	return buf[ETH_HLEN_ + (c->flow.family == 6 ? 40 : 20) + 13];
}

/*
 * Waits (up to a second) for a segment of connection c sent toward `to`
 * (C2S: toward the server) with exactly `flags`; copies it to out.  False if
 * there is no tap.
 */
static bool tap_expect(const struct tconn *c, int to, uint8_t flags, uint8_t *out, size_t *out_len)
{
	struct timespec t0;
	uint8_t buf[4096];
	size_t n;
	int dir;

	if (tap_fd < 0)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((n = tap_next(c, &t0, 1000, true, buf, sizeof(buf), &dir))) {
		if (dir == to && tap_flags(c, buf) == flags) {
			memcpy(out, buf, n);
			*out_len = n;
			return true;
		}
	}
	fail_msg("no segment with flags %#x toward %s seen on lo", flags,
		 to == C2S ? "the server" : "the client");
	return false;
}

/* Asserts that for 200 ms nothing of connection c is sent on lo, either way. */
static void tap_expect_silence(const struct tconn *c)
{
	struct timespec t0;
	uint8_t buf[4096];
	int dir;

	if (tap_fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (tap_next(c, &t0, 200, false, buf, sizeof(buf), &dir))
		fail_msg("a segment (flags %#x) of the blackholed connection was sent toward %s",
			 tap_flags(c, buf), dir == C2S ? "the server" : "the client");
}

/*
 * The control segment cloned back to the sender of a segment that went in
 * direction dir: addresses, ports and timestamps swapped, seq = the
 * segment's ack, ack = the end of the segment (+1 for its FIN).
 */
static void check_sent_back(const struct tconn *c, int dir, uint8_t flags, uint32_t seq,
			    uint32_t ack)
{
	const struct pb_flow *fl = &c->flow;
	uint8_t buf[4096];
	size_t n;
	struct pkt p;

	if (!tap_expect(c, !dir, flags, buf, &n))
		return;
	parse_pkt(buf, n, &p);
	assert_memory_equal(p.src, dir == C2S ? fl->server : fl->client, addr_len(fl->family));
	assert_memory_equal(p.dst, dir == C2S ? fl->client : fl->server, addr_len(fl->family));
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.seq, seq);
	assert_int_equal(p.ack, ack);
	assert_true(p.has_ts);
	assert_int_equal(p.tsval, TSECR);
	assert_int_equal(p.tsecr, TSVAL);
}

/* ---- driving connections ------------------------------------------------------------------ */

/* A segment's verdict and the packet as the program left it. */
struct sent {
	int rv;
	uint8_t out[PB_FRAME_MAX];
	size_t len;
	uint32_t seq, ack;	/* of the segment sent */
	size_t n;		/* its payload length */
};

/* Sends data as one PSH|ACK segment at next[dir] (next[dir] moves on). */
static void send_raw(struct tconn *c, int dir, const void *data, size_t n, struct sent *s)
{
	s->seq = c->next[dir];
	s->ack = c->next[!dir];
	s->n = n;
	s->rv = tc_seg_ex(c, dir, s->seq, PB_TCP_PSH | PB_TCP_ACK, data, n, s->out, &s->len);
	pgw_raw(&c->sent[dir], data, n);
	c->next[dir] += (uint32_t)n;
}

static void send_buf(struct tconn *c, int dir, const struct pg_wire *b, struct sent *s)
{
	send_raw(c, dir, b->data, b->len, s);
}

/* Sends data; asserts that it was delivered untouched. */
static void pass_raw(struct tconn *c, int dir, const void *data, size_t n)
{
	struct sent s;

	send_raw(c, dir, data, n, &s);
	assert_delivered(c, s.rv, s.out, s.len, data, n);
}

static void pass_buf(struct tconn *c, int dir, const struct pg_wire *b)
{
	pass_raw(c, dir, b->data, b->len);
}

/* Sends data; asserts that it was killed (both FINs checked); the flow is killed. */
static void kill_raw(struct tconn *c, int dir, const void *data, size_t n)
{
	struct sent s;

	tap_drain();
	send_raw(c, dir, data, n, &s);
	assert_fin_forward(c, dir, s.rv, s.out, s.len, s.seq, s.ack);
	check_sent_back(c, dir, FIN_ACK, s.ack, s.seq + (uint32_t)n);
	assert_true(tc_flow(c).flags & WF_FLOW_KILLED);
}

static void kill_buf(struct tconn *c, int dir, const struct pg_wire *b)
{
	kill_raw(c, dir, b->data, b->len);
}

static void query(struct pg_wire *b, const char *sql)
{
	pgw_reset(b);
	pgw_query(b, sql);
}

static void pass_query(struct tconn *c, const char *sql)
{
	struct pg_wire b = { 0 };

	query(&b, sql);
	pass_buf(c, C2S, &b);
	pgw_free(&b);
}

static void kill_query(struct tconn *c, const char *sql)
{
	struct pg_wire b = { 0 };

	query(&b, sql);
	kill_buf(c, C2S, &b);
	pgw_free(&b);
}

/* RowDescription (one int4 column), DataRow "1", CommandComplete tag, ReadyForQuery. */
static void select_response(struct pg_wire *b, const char *tag, char status)
{
	static const char *const row[] = { "1" };
	static const uint8_t rowdesc[] = {
		0, 1, '?', 'c', 'o', 'l', 'u', 'm', 'n', '?', 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
	};

	pgw_msg(b, 'T', rowdesc, sizeof(rowdesc));
	pgw_data_row(b, row, 1);
	pgw_command_complete(b, tag);
	pgw_ready_for_query(b, status);
}

static struct tconn *conn_new(struct wf_harness *h, int family, uint16_t cport)
{
	struct tconn *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	tc_init(c, h, family, cport, 1000u * cport, 7000u * cport);
	return c;
}

static void conn_free(struct tconn *c)
{
	tc_free(c);
	free(c);
}

static struct tconn *conn_login(struct wf_harness *h, int family, uint16_t cport)
{
	struct tconn *c = conn_new(h, family, cport);

	tc_login(c);
	return c;
}

/* ---- onQuery().kill(): the whole life of a killed connection ------------------------------ */

static void onquery_kill(struct wf_harness *h, int family)
{
	struct tconn *c = conn_login(h, family, 42000);
	struct pg_wire b = { 0 };
	struct sent s;
	uint32_t cseq, sseq;

	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").kill()");
	pass_query(c, "SELECT 4");
	pass_query(c, "select 42");
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), 2);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 0);

	/* a server segment is a chunk too: no Query in it */
	pgw_reset(&b);
	select_response(&b, "SELECT 1", 'I');
	pass_buf(c, S2C, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), 3);

	kill_query(c, "SELECT 42, 'x'");
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), 4);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_DROP), 0);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 0);

	/* the next client data: dropped, and the client gets a RST */
	query(&b, "SELECT 2");
	tap_drain();
	cseq = c->next[C2S];
	sseq = c->next[S2C];
	send_buf(c, C2S, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_sent_back(c, C2S, RST_ACK, sseq, cseq + (uint32_t)b.len);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 1);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_DROP), 1);
	/* not evaluated any more */
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), 4);

	/* a bare ACK (the server acknowledging our FIN): dropped quietly */
	assert_int_equal(tc_seg_ex(c, S2C, c->next[S2C], PB_TCP_ACK, NULL, 0, NULL, NULL),
			 TCX_DROP_RETVAL);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 2);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 1);

	/* the server's own FIN: dropped and answered with a RST */
	tap_drain();
	sseq = c->next[S2C];
	assert_int_equal(tc_seg_ex(c, S2C, sseq, FIN_ACK, NULL, 0, NULL, NULL), TCX_DROP_RETVAL);
	check_sent_back(c, S2C, RST_ACK, c->next[C2S], sseq + 1);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 3);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 2);

	/* a server data segment: dropped, RST */
	pgw_reset(&b);
	pgw_ready_for_query(&b, 'I');
	send_buf(c, S2C, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 3);

	/* a RST from a peer: dropped, never answered */
	assert_int_equal(tc_seg_ex(c, C2S, c->next[C2S], RST_ACK, NULL, 0, NULL, NULL),
			 TCX_DROP_RETVAL);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 5);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 3);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_DROP), 5);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);

	/* a new connection on the same 4-tuple (new ISN) is followed afresh */
	c->isn[C2S] += 100000;
	c->isn[S2C] += 100000;
	c->next[C2S] = c->isn[C2S] + 1;
	c->next[S2C] = c->isn[S2C] + 1;
	tc_login(c);
	assert_false(tc_flow(c).flags & WF_FLOW_KILLED);
	pass_query(c, "SELECT 41");
	kill_query(c, "SELECT 42");
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 2);
	assert_int_equal(h_counter(h, WF_CNT_FLOWS_NEW), 2);
	pgw_free(&b);
	conn_free(c);
}

static void test_onquery_kill_ipv4(void **state)
{
	onquery_kill(*state, 4);
}

static void test_onquery_kill_ipv6(void **state)
{
	onquery_kill(*state, 6);
}

/* The FIN's seq is the first *new* byte: a segment overlapping bytes already seen. */
static void test_kill_overlapping_segment(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42001);
	struct pg_wire b = { 0 };
	struct sent s;
	uint32_t first_new, seg_seq;

	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").kill()");
	query(&b, "SELECT 1");
	pass_buf(c, C2S, &b);
	/* resend the last 6 bytes of that Query, followed by a matching one */
	first_new = c->next[C2S];
	seg_seq = first_new - 6;
	pgw_reset(&b);
	pgw_raw(&b, c->sent[C2S].data + c->sent[C2S].len - 6, 6);
	pgw_query(&b, "SELECT 42");
	tap_drain();
	s.rv = tc_seg_ex(c, C2S, seg_seq, PB_TCP_PSH | PB_TCP_ACK, b.data, b.len, s.out, &s.len);
	assert_fin_forward(c, C2S, s.rv, s.out, s.len, first_new, c->next[S2C]);
	/* the sender is acknowledged up to the end of its segment */
	check_sent_back(c, C2S, FIN_ACK, c->next[S2C], seg_seq + (uint32_t)b.len);
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 0);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	pgw_free(&b);
	conn_free(c);
}

/* ---- several messages in one segment ------------------------------------------------------ */

static void test_match_in_last_message(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *a = conn_login(h, 4, 42010), *b2 = conn_login(h, 4, 42011);
	struct tconn *c3 = conn_login(h, 4, 42012);
	struct pg_wire b = { 0 };

	/* not matching: every message of the segment framed, none satisfies */
	h_pipeline(h, "conn.onCommandComplete(command=\"INSERT\").kill()");
	pass_query(a, "SELECT 1");
	select_response(&b, "SELECT 1", 'I');
	pass_buf(a, S2C, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 0);

	/* RowDescription, DataRow, CommandComplete('SELECT 1'), ReadyForQuery */
	h_pipeline(h, "conn.onCommandComplete(command=\"SELECT\").kill()");
	pass_query(a, "SELECT 1");
	kill_buf(a, S2C, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 1);

	/* the same with the CommandComplete last in the segment (decided when
	 * the segment ends, not at a following header) */
	pass_query(b2, "SELECT 1");
	pgw_reset(&b);
	select_response(&b, "SELECT 1", 'I');
	b.len -= 6;	/* without the ReadyForQuery */
	kill_buf(b2, S2C, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 2);

	/* five pipelined Queries, the last one matches; then three that all match */
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42$\").kill()");
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1");
	pgw_query(&b, "SELECT 42 ");
	pgw_query(&b, "SELECT 421");
	pgw_query(&b, " SELECT 42");
	pass_buf(c3, C2S, &b);
	pgw_query(&b, "SELECT 42");
	kill_buf(c3, C2S, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 3);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 3);

	pgw_free(&b);
	conn_free(a);
	conn_free(b2);
	conn_free(c3);
}

static void test_several_matches_one_kill(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42020);
	struct pg_wire b = { 0 };

	h_pipeline(h, "conn.onQuery(query=\"42\").kill()");
	pgw_query(&b, "SELECT 42");
	pgw_query(&b, "SELECT 1");
	pgw_query(&b, "SELECT 420");
	pgw_query(&b, "SELECT 1420");
	kill_buf(c, C2S, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 3);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	pgw_free(&b);
	conn_free(c);
}

/* ---- a message split across segments ----------------------------------------------------- */

/* Sends a Query for sql in two segments, split after `at` bytes; the second is killed iff kill. */
static void split_query(struct tconn *c, const char *sql, size_t at, bool kill)
{
	struct pg_wire b = { 0 };

	query(&b, sql);
	assert_true(at > 0 && at < b.len);
	pass_raw(c, C2S, b.data, at);
	if (kill)
		kill_raw(c, C2S, b.data + at, b.len - at);
	else
		pass_raw(c, C2S, b.data + at, b.len - at);
	pgw_free(&b);
}

static void test_split_query(void **state)
{
	struct wf_harness *h = *state;
	static const char sql[] = "SELECT 42 FROM some_table WHERE true";
	struct tconn *c;

	/* decided by the first segment already: counted as an ordinary decision */
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").kill()");
	c = conn_login(h, 4, 42030);
	split_query(c, sql, 5 + 12, true);
	conn_free(c);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_SPLIT_DECIDED), 0);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 1);

	/* the regex needs bytes of the second segment */
	h_pipeline(h, "conn.onQuery(query=\"some_table WHERE true$\").kill()");
	c = conn_login(h, 4, 42031);
	split_query(c, sql, 5 + 20, true);
	conn_free(c);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_SPLIT_DECIDED), 1);

	/* split right before the NUL: only the NUL decides $ */
	c = conn_login(h, 4, 42032);
	split_query(c, sql, 5 + sizeof(sql) - 1, true);
	conn_free(c);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_SPLIT_DECIDED), 2);

	/* three segments, the middle one decides nothing */
	h_pipeline(h, "conn.onQuery(query=\"WHERE true$\").kill()");
	c = conn_login(h, 4, 42033);
	{
		struct pg_wire b = { 0 };

		query(&b, sql);
		pass_raw(c, C2S, b.data, 9);
		pass_raw(c, C2S, b.data + 9, 10);
		kill_raw(c, C2S, b.data + 19, b.len - 19);
		pgw_free(&b);
	}
	conn_free(c);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_SPLIT_DECIDED), 3);

	/* split and not matching: both pass (a decision all the same) */
	c = conn_login(h, 4, 42034);
	split_query(c, "SELECT 42 FROM some_table WHERE false", 5 + 20, false);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_SPLIT_DECIDED), 4);
	/* split inside the 5-byte header: the message is still decided when complete */
	split_query(c, sql, 3, true);
	conn_free(c);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 5);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 5);
}

/* ---- the connection's initial chunk --------------------------------------------------------- */

static void test_initial_chunk(void **state)
{
	struct wf_harness *h = *state;
	struct pg_wire st = { 0 }, burst = { 0 };
	struct tconn *c;

	pgw_startup(&st, "postgres", "regression");
	pgw_login_burst(&burst);

	/* onX never passes on it: here the server speaks first, an AuthenticationOk */
	h_pipeline(h, "conn.onAuthenticationOk().kill()");
	c = conn_new(h, 4, 42040);
	tc_handshake(c);
	pass_buf(c, S2C, &burst);
	kill_buf(c, S2C, &burst);	/* the same again is no longer the initial chunk */
	conn_free(c);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 2);

	/* contains() passes on it */
	h_pipeline(h, "conn.contains(b\"regression\").kill()");
	c = conn_new(h, 4, 42041);
	tc_handshake(c);
	kill_buf(c, C2S, &st);
	conn_free(c);

	/* matches() too: a StartupMessage of protocol 3.0 */
	h_pipeline(h, "conn.matches(b\"^\\\\x00\\\\x00\\\\x00.\\\\x00\\\\x03\\\\x00\\\\x00"
		      "user\\x00\").kill()");
	c = conn_new(h, 6, 42042);
	tc_handshake(c);
	kill_buf(c, C2S, &st);
	conn_free(c);

	/* after(): the initial chunk is counted, and passes once the count is reached */
	h_pipeline(h, "conn.after(1).kill()");
	c = conn_new(h, 4, 42043);
	tc_handshake(c);
	pass_buf(c, C2S, &st);
	assert_int_equal(tc_flow(c).after_count, 1);
	kill_buf(c, S2C, &burst);
	conn_free(c);
	h_pipeline(h, "conn.after(0).kill()");
	c = conn_new(h, 4, 42044);
	tc_handshake(c);
	kill_buf(c, C2S, &st);
	conn_free(c);

	/* conn.kill(): no filter, the first chunk dies */
	h_pipeline(h, "conn.kill()");
	c = conn_new(h, 4, 42045);
	tc_handshake(c);
	kill_buf(c, C2S, &st);
	conn_free(c);

	/* onX() with a StartupMessage: nothing */
	h_pipeline(h, "conn.onQuery().kill()");
	c = conn_new(h, 4, 42046);
	tc_handshake(c);
	pass_buf(c, C2S, &st);
	conn_free(c);

	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 6);
	pgw_free(&st);
	pgw_free(&burst);
}

/* ---- after(n) ---------------------------------------------------------------------------- */

static void test_after_kill(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42050);

	h_pipeline(h, "conn.onQuery(query=\"x\").after(2).kill()");
	pass_query(c, "SELECT 'x1'");
	assert_int_equal(tc_flow(c).after_count, 1);
	/* failing the onQuery filter: not counted */
	pass_query(c, "SELECT 'y'");
	assert_int_equal(tc_flow(c).after_count, 1);
	pass_query(c, "SELECT 'x2'");
	assert_int_equal(tc_flow(c).after_count, 2);
	/* a retransmission brings no new bytes: no chunk, not counted, not killed */
	{
		struct pg_wire b = { 0 };
		uint64_t chunks = h_counter(h, WF_CNT_PIPE_CHUNKS);
		uint8_t out[PB_FRAME_MAX];
		size_t got;
		int rv;

		query(&b, "SELECT 'x2'");
		rv = tc_seg_ex(c, C2S, c->next[C2S] - (uint32_t)b.len, PB_TCP_PSH | PB_TCP_ACK,
			       b.data, b.len, out, &got);
		assert_delivered(c, rv, out, got, b.data, b.len);
		assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 1);
		assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), chunks);
		assert_int_equal(tc_flow(c).after_count, 2);
		pgw_free(&b);
	}
	kill_query(c, "SELECT 'x3'");
	assert_int_equal(tc_flow(c).after_count, 2);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	conn_free(c);
}

/*
 * One counter per connection, shared by every after() of a pipeline and
 * kept when the command changes; only chunks that reach the after() count.
 */
static void test_after_counter_semantics(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *a = conn_login(h, 4, 42060), *b = conn_login(h, 4, 42061);
	struct tconn *c = conn_login(h, 4, 42062);
	struct pg_wire resp = { 0 };

	select_response(&resp, "SELECT 1", 'I');
	h_pipeline(h, "conn.onQuery(query=\"x\").after(5).allow()");
	pass_query(a, "SELECT 'x'");		/* a: 1 */
	pass_query(a, "SELECT 'y'");		/* not counted */
	pass_buf(a, S2C, &resp);		/* not a Query: not counted */
	pass_query(b, "SELECT 'x'");		/* b: 1 */
	pass_query(b, "SELECT 'x'");		/* b: 2 */
	pass_query(b, "SELECT 'x'");		/* b: 3 */
	assert_int_equal(tc_flow(a).after_count, 1);
	assert_int_equal(tc_flow(b).after_count, 3);
	assert_int_equal(tc_flow(c).after_count, 0);

	/* a new command: the counts stay; two after()s share each one */
	h_pipeline(h, "conn.onQuery(query=\"x\").after(3).after(4).kill()");
	assert_int_equal(tc_flow(a).after_count, 1);
	assert_int_equal(tc_flow(b).after_count, 3);

	pass_query(b, "SELECT 'x'");		/* after(3) passes, after(4) counts: 4 */
	assert_int_equal(tc_flow(b).after_count, 4);
	kill_query(b, "SELECT 'x'");		/* both pass */

	pass_query(a, "SELECT 'x'");		/* after(3): 2 */
	pass_query(a, "SELECT 'z'");		/* fails the onQuery filter: still 2 */
	pass_query(a, "SELECT 'x'");		/* after(3): 3 */
	pass_query(a, "SELECT 'x'");		/* after(3) passes, after(4): 4 */
	assert_int_equal(tc_flow(a).after_count, 4);
	kill_query(a, "SELECT 'x'");

	/* c never matched: it starts from 0 under the new command */
	for (int i = 1; i <= 4; i++) {
		pass_query(c, "SELECT 'x'");
		assert_int_equal(tc_flow(c).after_count, i);
	}
	kill_query(c, "SELECT 'x'");

	/* filters after the after() do not stop its counting (fluent's order) */
	{
		struct tconn *d = conn_login(h, 4, 42063);

		h_pipeline(h, "conn.after(1).onQuery(query=\"never\").kill()");
		pass_query(d, "SELECT 'x'");
		assert_int_equal(tc_flow(d).after_count, 1);
		pass_query(d, "SELECT 'x'");
		assert_int_equal(tc_flow(d).after_count, 1);
		conn_free(d);
	}
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 3);
	pgw_free(&resp);
	conn_free(a);
	conn_free(b);
	conn_free(c);
}

/* ---- contains() and matches() over raw bytes -------------------------------------------- */

static void test_contains_matches(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c;
	struct pg_wire b = { 0 };

	h_pipeline(h, "conn.contains(b\"needle\").kill()");
	c = conn_login(h, 4, 42070);
	pass_query(c, "SELECT 'needl'");
	pass_query(c, "SELECT 'eedle'");
	/* bytes of two segments are never searched together */
	query(&b, "SELECT 'needle'");
	pass_raw(c, C2S, b.data, 5 + 11);	/* ... SELECT 'nee | dle' */
	pass_raw(c, C2S, b.data + 16, b.len - 16);
	kill_query(c, "SELECT 'a needle in a haystack'");
	conn_free(c);

	/* across a message boundary inside one segment */
	h_pipeline(h, "conn.matches(b\"1\\\\x00Q\\\\x00\\\\x00\\\\x00\\\\x0dSELECT 2\").kill()");
	c = conn_login(h, 4, 42071);
	pass_query(c, "SELECT 1");
	pass_query(c, "SELECT 2");
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1");
	pgw_query(&b, "SELECT 3");
	pass_buf(c, C2S, &b);
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1");
	pgw_query(&b, "SELECT 2");
	kill_buf(c, C2S, &b);
	conn_free(c);

	/* ^ and $ are the chunk's ends; a class over the type byte */
	h_pipeline(h, "conn.matches(b\"^[QP].{4}SELECT [0-9]+\\x00$\").kill()");
	c = conn_login(h, 4, 42072);
	pass_query(c, "SELECT 1;");
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1");
	pgw_terminate(&b);
	pass_buf(c, C2S, &b);
	kill_query(c, "SELECT 12345");
	conn_free(c);

	/* a backend chunk */
	h_pipeline(h, "conn.matches(b\"C\\\\x00{3}.SELECT \\\\d+\").kill()");
	c = conn_login(h, 4, 42073);
	pass_query(c, "SELECT 1");
	pgw_reset(&b);
	select_response(&b, "SELECT 1", 'I');
	kill_buf(c, S2C, &b);
	conn_free(c);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 4);
	/* raw-byte filters never frame a match */
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 0);
	pgw_free(&b);
}

/* ---- other messages ----------------------------------------------------------------------- */

static void parse_msg(struct pg_wire *b, const char *name, const char *sql)
{
	pgw_begin(b, 'P');
	pgw_str(b, name);
	pgw_str(b, sql);
	pgw_u16(b, 0);
	pgw_end(b);
}

static void test_on_parse(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42080);
	struct pg_wire b = { 0 };

	h_pipeline(h, "conn.onParse(query=\"^WITH distributed_object_data\").kill()");
	/* the statement name is not the query */
	parse_msg(&b, "WITH distributed_object_data", "SELECT 1");
	pgw_msg(&b, 'S', NULL, 0);
	pass_buf(c, C2S, &b);
	/* a Query with that text is not a Parse */
	pass_query(c, "WITH distributed_object_data AS (SELECT 1) SELECT 2");
	/* Parse, Bind, Describe, Execute, Sync in one segment */
	pgw_reset(&b);
	parse_msg(&b, "", "WITH distributed_object_data (a) AS (VALUES (1)) SELECT a");
	pgw_begin(&b, 'B');
	pgw_str(&b, "");
	pgw_str(&b, "");
	pgw_u16(&b, 0);
	pgw_u16(&b, 0);
	pgw_u16(&b, 0);
	pgw_end(&b);
	pgw_begin(&b, 'D');
	pgw_u8(&b, 'P');
	pgw_str(&b, "");
	pgw_end(&b);
	pgw_begin(&b, 'E');
	pgw_str(&b, "");
	pgw_u32(&b, 0);
	pgw_end(&b);
	pgw_msg(&b, 'S', NULL, 0);
	kill_buf(c, C2S, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 1);
	pgw_free(&b);
	conn_free(c);
}

static void test_on_copy_data(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *in = conn_login(h, 4, 42090), *out = conn_login(h, 6, 42091);
	struct pg_wire b = { 0 };
	static const uint8_t copy_in[] = { 0, 0, 2, 0, 0, 0, 0 };
	static const uint8_t copy_out[] = { 0, 0, 2, 0, 0, 0, 0 };

	h_pipeline(h, "conn.onCopyData().kill()");
	/* frontend CopyData */
	pass_query(in, "COPY t FROM STDIN");
	pgw_msg(&b, 'G', copy_in, sizeof(copy_in));
	pass_buf(in, S2C, &b);
	pgw_reset(&b);
	pgw_msg(&b, 'd', "1\t2\n", 4);
	kill_buf(in, C2S, &b);

	/* backend CopyData, behind a CopyOutResponse in its segment */
	pass_query(out, "COPY t TO STDOUT");
	pgw_reset(&b);
	pgw_msg(&b, 'H', copy_out, sizeof(copy_out));
	pass_buf(out, S2C, &b);
	pgw_reset(&b);
	pgw_msg(&b, 'd', "1\t2\n", 4);
	pgw_msg(&b, 'c', NULL, 0);
	pgw_command_complete(&b, "COPY 1");
	pgw_ready_for_query(&b, 'I');
	kill_buf(out, S2C, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 2);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 2);
	pgw_free(&b);
	conn_free(in);
	conn_free(out);
}

static void test_on_ready_for_query(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42100), *d = conn_login(h, 4, 42101);
	struct pg_wire b = { 0 };

	h_pipeline(h, "conn.onReadyForQuery(state=\"idle\").kill()");
	pass_query(c, "BEGIN");
	pgw_command_complete(&b, "BEGIN");
	pgw_ready_for_query(&b, 'T');
	pass_buf(c, S2C, &b);
	pass_query(c, "SELECT 1/0");
	pgw_reset(&b);
	pgw_ready_for_query(&b, 'E');
	pass_buf(c, S2C, &b);
	pass_query(c, "ROLLBACK");
	pgw_reset(&b);
	pgw_command_complete(&b, "ROLLBACK");
	pgw_ready_for_query(&b, 'I');
	kill_buf(c, S2C, &b);

	h_pipeline(h, "conn.onReadyForQuery(state=\"in_transaction_block\").kill()");
	pass_query(d, "SELECT 1");
	pgw_reset(&b);
	select_response(&b, "SELECT 1", 'I');
	pass_buf(d, S2C, &b);
	/* in_failed_transaction_block: the regex is searched in the symbol's
	 * name, and "in_transaction_block" is not in it */
	pgw_reset(&b);
	pgw_ready_for_query(&b, 'E');
	pass_buf(d, S2C, &b);
	pass_query(d, "BEGIN");
	pgw_reset(&b);
	pgw_command_complete(&b, "BEGIN");
	pgw_ready_for_query(&b, 'T');
	kill_buf(d, S2C, &b);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 2);
	pgw_free(&b);
	conn_free(c);
	conn_free(d);
}

static void test_on_authentication_ok(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_new(h, 4, 42110);
	struct pg_wire b = { 0 };

	h_pipeline(h, "conn.onAuthenticationOk().kill()");
	tc_handshake(c);
	pgw_startup(&b, "postgres", "regression");
	pass_buf(c, C2S, &b);
	/* ParameterStatus alone: no */
	pgw_reset(&b);
	pgw_parameter_status(&b, "TimeZone", "UTC");
	pass_buf(c, S2C, &b);
	pgw_reset(&b);
	pgw_login_burst(&b);
	kill_buf(c, S2C, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 1);
	pgw_free(&b);
	conn_free(c);
}

/* ---- several conditions ------------------------------------------------------------------- */

/* Every condition of an onX() must hold for one and the same message. */
static void test_conditions_one_message(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42160), *d;
	struct pg_wire b = { 0 };

	h_pipeline(h, "conn.onParse(name=\"^s1$\", query=\"^WITH\").kill()");
	parse_msg(&b, "s2", "WITH x AS (SELECT 1) SELECT * FROM x");
	pass_buf(c, C2S, &b);
	pgw_reset(&b);
	parse_msg(&b, "s1", "SELECT 1");
	pass_buf(c, C2S, &b);
	/* each condition held, by two different messages of the segment */
	pgw_reset(&b);
	parse_msg(&b, "s1", "SELECT 1");
	parse_msg(&b, "s2", "WITH x AS (SELECT 1) SELECT * FROM x");
	pgw_msg(&b, 'S', NULL, 0);
	pass_buf(c, C2S, &b);
	pgw_reset(&b);
	parse_msg(&b, "s1", "WITH x AS (SELECT 1) SELECT * FROM x");
	kill_buf(c, C2S, &b);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 1);
	conn_free(c);

	/* ParameterStatus(name, value) in the login burst: TimeZone is Etc/UTC */
	h_pipeline(h, "conn.onParameterStatus(name=\"TimeZone\", value=\"^UTC\").kill()");
	c = conn_login(h, 4, 42161);
	conn_free(c);
	h_pipeline(h, "conn.onParameterStatus(name=\"client_encoding\", value=\"Etc\").kill()");
	c = conn_login(h, 4, 42162);
	conn_free(c);
	h_pipeline(h, "conn.onParameterStatus(name=\"TimeZone\", value=\"UTC\").kill()");
	c = conn_new(h, 4, 42163);
	tc_handshake(c);
	pgw_reset(&b);
	pgw_startup(&b, "postgres", "regression");
	pass_buf(c, C2S, &b);
	pgw_reset(&b);
	pgw_login_burst(&b);
	kill_buf(c, S2C, &b);
	conn_free(c);

	/* an enum and a text field after it: Describe(type, name) */
	h_pipeline(h, "conn.onDescribe(type=\"portal\", name=\"^p1$\").kill()");
	d = conn_login(h, 4, 42164);
	pgw_reset(&b);
	pgw_begin(&b, 'D');
	pgw_u8(&b, 'S');
	pgw_str(&b, "p1");
	pgw_end(&b);
	pgw_begin(&b, 'D');
	pgw_u8(&b, 'P');
	pgw_str(&b, "p12");
	pgw_end(&b);
	pgw_msg(&b, 'S', NULL, 0);
	pass_buf(d, C2S, &b);
	pgw_reset(&b);
	pgw_begin(&b, 'D');
	pgw_u8(&b, 'P');
	pgw_str(&b, "p1");
	pgw_end(&b);
	kill_buf(d, C2S, &b);
	conn_free(d);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 3);
	pgw_free(&b);
}

/* Filters are separate: two onX() may be satisfied by two messages of a chunk. */
static void test_filters_of_one_chunk(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42170);
	struct pg_wire b = { 0 };

	h_pipeline(h, "conn.onQuery(query=\"^BEGIN\").onQuery(query=\"^SAVEPOINT\").kill()");
	pass_query(c, "BEGIN");
	pass_query(c, "SAVEPOINT s");
	pgw_query(&b, "BEGIN");
	pgw_query(&b, "SAVEPOINT s");
	kill_buf(c, C2S, &b);
	conn_free(c);

	/* an onX() and a raw-byte filter */
	h_pipeline(h, "conn.onQuery(query=\"x\").contains(b\"RELEASE\").kill()");
	c = conn_login(h, 4, 42171);
	pass_query(c, "SELECT 'x'");
	pass_query(c, "RELEASE s");
	pgw_reset(&b);
	pgw_query(&b, "RELEASE s");
	pgw_query(&b, "SELECT 'x'");
	kill_buf(c, C2S, &b);
	conn_free(c);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 2);
	pgw_free(&b);
}

/* ---- the FIN built from other segments ------------------------------------------------------ */

static void test_kill_fin_and_options(void **state)
{
	struct wf_harness *h = *state;
	static const uint8_t sack_first[] = { 5, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1 };
	static const uint8_t ts_no_nops[] = { 8, 10, 0, 0, 0x12, 0x34, 0, 0, 0x56, 0x78 };
	struct tconn *c;
	struct pg_wire b = { 0 };
	uint8_t frame[PB_FRAME_MAX], out[PB_FRAME_MAX];
	size_t n, got;
	struct pkt p;
	int rv;

	h_pipeline(h, "conn.onTerminate().kill()");
	pgw_terminate(&b);

	/* Terminate and FIN in one segment: the sender's FIN is acknowledged too */
	c = conn_login(h, 4, 42180);
	tap_drain();
	rv = tc_seg_ex(c, C2S, c->next[C2S], PB_TCP_PSH | FIN_ACK, b.data, b.len, out, &got);
	assert_fin_forward(c, C2S, rv, out, got, c->next[C2S], c->next[S2C]);
	check_sent_back(c, C2S, FIN_ACK, c->next[S2C], c->next[C2S] + (uint32_t)b.len + 1);
	conn_free(c);

	/* without options, and with options not in Linux's order: a bare 20-byte header */
	for (int k = 0; k < 3; k++) {
		struct pb_seg s;

		c = conn_login(h, k == 2 ? 6 : 4, (uint16_t)(42181 + k));
		s = (struct pb_seg){ .flow = &c->flow, .flags = PB_TCP_PSH | PB_TCP_ACK,
				     .seq = c->next[C2S], .ack = c->next[S2C],
				     .payload = b.data, .len = b.len };
		if (k == 1) {
			s.options = sack_first;
			s.options_len = sizeof(sack_first);
		} else if (k == 2) {
			s.options = ts_no_nops;
			s.options_len = sizeof(ts_no_nops);
		}
		n = pb_build(&s, frame, sizeof(frame));
		assert_true(n > 0);
		rv = h_run_out(h, frame, n, out, sizeof(out), &got);
		assert_int_equal(rv, TCX_NEXT_RETVAL);
		parse_pkt(out, got, &p);
		assert_int_equal(got, ETH_HLEN_ + (k == 2 ? 40 : 20) + 20);
		assert_int_equal(p.thl, 20);
		assert_int_equal(p.flags, FIN_ACK);
		assert_int_equal(p.seq, c->next[C2S]);
		assert_int_equal(p.ack, c->next[S2C]);
		assert_int_equal(p.payload_len, 0);
		conn_free(c);
	}
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 4);
	pgw_free(&b);
}

/* ---- pipelines changing under a message --------------------------------------------------- */

static void test_message_across_generations(void **state)
{
	struct wf_harness *h = *state;
	static const char sql[] = "SELECT 42 FROM t";
	struct tconn *c = conn_login(h, 4, 42120), *d = conn_login(h, 4, 42121);
	struct pg_wire b = { 0 };

	query(&b, sql);
	/* begun under generation g, completed under g + 1 (the same command) */
	h_pipeline(h, "conn.onQuery(query=\"FROM t$\").kill()");
	pass_raw(c, C2S, b.data, 10);
	h_pipeline(h, "conn.onQuery(query=\"FROM t$\").kill()");
	pass_raw(c, C2S, b.data + 10, b.len - 10);
	/* a message begun under g + 1 is matched */
	split_query(c, sql, 10, true);

	/* begun with no pipeline at all, completed under one */
	h_pipeline_none(h);
	pass_raw(d, C2S, b.data, 10);
	h_pipeline(h, "conn.onQuery(query=\"FROM t$\").kill()");
	pass_raw(d, C2S, b.data + 10, b.len - 10);
	/* with the header only in the first segment */
	h_pipeline_none(h);
	pass_raw(d, C2S, b.data, 5);
	h_pipeline(h, "conn.onQuery(query=\"FROM t$\").kill()");
	pass_raw(d, C2S, b.data + 5, b.len - 5);
	kill_buf(d, C2S, &b);

	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 2);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 2);
	pgw_free(&b);
	conn_free(c);
	conn_free(d);
}

/* ---- not PostgreSQL ------------------------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void test_garbage(void **state)
{
	struct wf_harness *h = *state;
	uint8_t junk[PB_MSS];
	struct tconn *c;
	struct pg_wire b = { 0 };

	h_pipeline(h, "conn.onQuery(query=\"x\").kill()");
	/* instead of a StartupMessage */
	c = conn_new(h, 4, 42130);
	tc_handshake(c);
	for (size_t i = 0; i < 200; i++)
		junk[i] = (uint8_t)(0x80 | rnd());
	pass_raw(c, C2S, junk, 200);
	pass_raw(c, S2C, junk, 100);
	pass_query(c, "SELECT 'x'");	/* the direction is not framed any more */
	conn_free(c);

	/* after the login, random segments of every size */
	c = conn_login(h, 6, 42131);
	for (int k = 0; k < 40; k++) {
		size_t n = 1 + rnd() % (k < 20 ? 64 : PB_MSS);

		for (size_t i = 0; i < n; i++)
			junk[i] = (uint8_t)rnd();
		/* never an 'x', so even a chance Query cannot match */
		for (size_t i = 0; i < n; i++)
			if (junk[i] == 'x')
				junk[i] = 'y';
		pass_raw(c, k & 1 ? S2C : C2S, junk, n);
	}
	conn_free(c);

	/* a Query header announcing more than PostgreSQL allows */
	c = conn_login(h, 4, 42132);
	pgw_raw(&b, "Q\x7f\xff\xff\xffSELECT 'x'", 15);
	pass_buf(c, C2S, &b);
	conn_free(c);

	/* a Query whose body ends before its NUL: the field does not match */
	h_pipeline(h, "conn.onQuery(query=\"'x'$\").kill()");
	c = conn_login(h, 4, 42133);
	pgw_reset(&b);
	pgw_msg(&b, 'Q', "SELECT 'x'", 10);
	pass_buf(c, C2S, &b);
	kill_query(c, "SELECT 'x'");	/* still framed: the next one matches */
	conn_free(c);

	/* a connection first seen mid-stream: unframed, onX() cannot pass */
	c = conn_new(h, 4, 42134);
	pass_query(c, "SELECT 'x'");
	conn_free(c);

	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	assert_true(h_counter(h, WF_CNT_NOT_POSTGRES) >= 2);
	assert_int_equal(h_counter(h, WF_CNT_ERRORS), 0);
	pgw_free(&b);
}

/* ---- no pipeline, and unpublishing ------------------------------------------------------- */

static void test_unpublish(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42140);

	h_pipeline(h, "conn.kill()");
	h_pipeline_none(h);
	pass_query(c, "SELECT 1");
	h_pipeline(h, "conn.allow()");
	pass_query(c, "SELECT 1");
	h_pipeline(h, "conn.onQuery().allow()");
	pass_query(c, "SELECT 1");
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), 2);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_MESSAGES_MATCHED), 1);
	h_pipeline(h, "conn.kill()");
	kill_query(c, "SELECT 1");
	conn_free(c);
}

/* ---- scopes: several pipelines, each on its own connections ---------------------------------- */

/* A connection from client 127.0.0.<host> to server port sport, logged in. */
static struct tconn *conn_scoped(struct wf_harness *h, uint8_t host, uint16_t cport, uint16_t sport)
{
	struct tconn *c = conn_new(h, 4, cport);

	c->flow.client[3] = host;
	c->flow.server_port = sport;
	tc_login(c);
	return c;
}

/* Sends "SELECT 42" from the client; returns the verdict counter that moved (or -1: none). */
static int scoped_verdict(struct tconn *c)
{
	static const enum wf_counter verdicts[] = { WF_CNT_VERDICT_KILL, WF_CNT_VERDICT_RESET,
						    WF_CNT_VERDICT_BLACKHOLE };
	uint64_t before[3];
	struct pg_wire b = { 0 };
	struct sent s;
	int moved = -1;

	for (int i = 0; i < 3; i++)
		before[i] = h_counter(c->h, verdicts[i]);
	query(&b, "SELECT 42");
	tap_drain();
	send_buf(c, C2S, &b, &s);
	for (int i = 0; i < 3; i++)
		if (h_counter(c->h, verdicts[i]) != before[i]) {
			assert_int_equal(moved, -1);
			moved = (int)verdicts[i];
		}
	pgw_free(&b);
	return moved;
}

/*
 * conn(port=P), conn(client="A") and conn(port=P, client="A") in force
 * together with plain conn's pipeline: a chunk is evaluated with the most
 * specific scope that takes its connection, else the default; clearing a
 * scope sends its connections back to the default; a fourth selector is
 * refused; conn.allow() (h_pipeline_none) clears every scope.
 */
static void test_scopes(void **state)
{
	struct wf_harness *h = *state;
	const uint16_t p2 = TEST_PORT + 1, ports[] = { TEST_PORT, p2 };
	struct tconn *c[8];
	char err[512];
	int n = 0;

	h_set_config_ports(h, ports, 2, 0);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").kill()");
	h_pipeline(h, "conn(port=5433).onQuery(query=\"^SELECT 42\").reset()");
	h_pipeline(h, "conn(client=\"127.0.0.2\").onQuery(query=\"^SELECT 42\").blackhole()");
	h_pipeline(h, "conn(port=5433, client=\"127.0.0.2\").onQuery().allow()");
	assert_int_equal(p2, 5433);
	{
		const char *fourth = "conn(client=\"127.0.0.3\").kill()";

		assert_int_equal(h_pipeline_try(h, fourth, strlen(fourth), err, sizeof(err)), -ENOSPC);
	}
	assert_non_null(strstr(err, "at most 3 scoped pipelines"));

	c[n] = conn_scoped(h, 1, 43000, TEST_PORT);	/* default */
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_KILL);
	c[n] = conn_scoped(h, 1, 43001, p2);		/* port */
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_RESET);
	c[n] = conn_scoped(h, 2, 43002, TEST_PORT);	/* client */
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_BLACKHOLE);
	c[n] = conn_scoped(h, 2, 43003, p2);		/* port + client: allowed */
	assert_int_equal(scoped_verdict(c[n++]), -1);

	/* the port scope cleared: its connections fall back to plain conn's kill() */
	h_pipeline(h, "conn(port=5433).allow()");
	c[n] = conn_scoped(h, 1, 43004, p2);
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_KILL);
	/* the others stay */
	c[n] = conn_scoped(h, 2, 43005, TEST_PORT);
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_BLACKHOLE);
	/* a scope freed: a new selector is taken again */
	h_pipeline(h, "conn(client=\"127.0.0.3\").onQuery(query=\"^SELECT 42\").reset()");
	c[n] = conn_scoped(h, 3, 43006, p2);
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_RESET);

	/* conn.allow(): every scope cleared, nothing evaluated */
	h_pipeline_none(h);
	{
		uint64_t chunks = h_counter(h, WF_CNT_PIPE_CHUNKS);

		c[n] = conn_scoped(h, 2, 43007, TEST_PORT);
		assert_int_equal(scoped_verdict(c[n++]), -1);
		assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), chunks);
	}
	while (n)
		conn_free(c[--n]);
}

/*
 * killall() fired by a scope's pipeline kills within that scope: the
 * connections it takes are killed on their next packet, the default scope's
 * go on, until that scope's next command.
 */
static void test_scope_killall(void **state)
{
	struct wf_harness *h = *state;
	const uint16_t p2 = TEST_PORT + 1, ports[] = { TEST_PORT, p2 };
	struct tconn *a, *b, *d, *e;
	struct pg_wire q = { 0 };
	struct sent s;

	h_set_config_ports(h, ports, 2, 0);
	a = conn_scoped(h, 1, 43100, p2);
	b = conn_scoped(h, 1, 43101, p2);
	d = conn_scoped(h, 1, 43102, TEST_PORT);
	e = conn_scoped(h, 1, 43103, p2);	/* logged in before killall(): new ones die at login */
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").kill()");
	h_pipeline(h, "conn(port=5433).onQuery(query=\"^SELECT 1$\").killall()");
	pass_query(d, "SELECT 1");
	kill_query(a, "SELECT 1");		/* fires killall() in the port scope */
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 1);	/* the firing chunk */
	/* b, of the same scope, is killed on its next chunk, whatever it says */
	query(&q, "SELECT 2");
	tap_drain();
	send_buf(b, C2S, &q, &s);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 2);
	/* d, of the default scope, goes on: its own pipeline only */
	pass_query(d, "SELECT 2");
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 2);
	/* a command for another scope does not end it ... */
	h_pipeline(h, "conn(client=\"127.0.0.9\").kill()");
	query(&q, "SELECT 3");
	tap_drain();
	send_buf(e, C2S, &q, &s);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 3);
	/* ... the scope's next command does */
	h_pipeline(h, "conn(port=5433).onQuery(query=\"^SELECT 42\").reset()");
	conn_free(e);
	e = conn_scoped(h, 1, 43104, p2);
	pass_query(e, "SELECT 3");
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 3);
	pgw_free(&q);
	conn_free(a);
	conn_free(b);
	conn_free(d);
	conn_free(e);
}

/*
 * Fallback along the specificity order: port+client cleared -> client;
 * client cleared -> the default (none: allowed).  And an IPv6 client:
 * conn(client="::1") takes connections from ::1 only, not from 127.0.0.1.
 */
static void test_scope_fallback(void **state)
{
	struct wf_harness *h = *state;
	const uint16_t p2 = TEST_PORT + 1, ports[] = { TEST_PORT, p2 };
	struct tconn *c[6];
	int n = 0;

	h_set_config_ports(h, ports, 2, 0);
	h_pipeline(h, "conn(client=\"127.0.0.2\").onQuery(query=\"^SELECT 42\").reset()");
	h_pipeline(h, "conn(client=\"127.0.0.2\", port=5433).onQuery(query=\"^SELECT 42\").kill()");
	c[n] = conn_scoped(h, 2, 43200, p2);
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_KILL);
	h_pipeline(h, "conn(port=5433, client=\"127.0.0.2\").allow()");
	c[n] = conn_scoped(h, 2, 43201, p2);
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_RESET);
	h_pipeline(h, "conn(client=\"127.0.0.2\").allow()");
	c[n] = conn_scoped(h, 2, 43202, p2);
	assert_int_equal(scoped_verdict(c[n++]), -1);

	h_pipeline(h, "conn(client=\"::1\").onQuery(query=\"^SELECT 42\").blackhole()");
	c[n] = conn_new(h, 6, 43203);
	tc_login(c[n]);
	assert_int_equal(scoped_verdict(c[n++]), WF_CNT_VERDICT_BLACKHOLE);
	c[n] = conn_scoped(h, 1, 43204, TEST_PORT);
	assert_int_equal(scoped_verdict(c[n++]), -1);
	while (n)
		conn_free(c[--n]);
}

/* ---- cost of a scan (printed, not asserted) ------------------------------------------------ */

#define COST_PACKETS 10000

/*
 * Runs COST_PACKETS copies of a segment carrying msg, each as the next chunk
 * of c, and returns the mean of the program's run time as BPF_PROG_TEST_RUN
 * measures it (ns).  One run each: with repeat = N the kernel runs the same
 * frame N times, and from the second run on the flow table knows its bytes
 * (a retransmission: neither framed nor evaluated).
 */
static double cost(struct tconn *c, const struct pg_wire *msg)
{
	uint64_t total = 0;

	for (int i = 0; i < COST_PACKETS; i++) {
		struct pb_seg s = {
			.flow = &c->flow,
			.flags = PB_TCP_PSH | PB_TCP_ACK,
			.seq = c->next[C2S],
			.ack = c->next[S2C],
			.payload = msg->data,
			.len = msg->len,
		};
		uint8_t frame[PB_FRAME_MAX];
		size_t n = pb_build(&s, frame, sizeof(frame));
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)n,
			    .repeat = 1);

		assert_int_equal(bpf_prog_test_run_opts(c->h->prog_fd, &o), 0);
		c->h->runs++;
		assert_int_equal((int)o.retval, TCX_NEXT_RETVAL);
		total += o.duration;
		c->next[C2S] += (uint32_t)msg->len;
	}
	return (double)total / COST_PACKETS;
}

/* The same frame COST_PACKETS times in one BPF_PROG_TEST_RUN (repeat). */
static double cost_repeat(struct tconn *c, const struct pg_wire *msg)
{
	struct pb_seg s = {
		.flow = &c->flow,
		.flags = PB_TCP_PSH | PB_TCP_ACK,
		.seq = c->next[C2S],
		.ack = c->next[S2C],
		.payload = msg->data,
		.len = msg->len,
	};
	uint8_t frame[PB_FRAME_MAX];
	size_t n = pb_build(&s, frame, sizeof(frame));
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (uint32_t)n,
		    .repeat = COST_PACKETS);

	assert_int_equal(bpf_prog_test_run_opts(c->h->prog_fd, &o), 0);
	c->h->runs += COST_PACKETS;
	c->next[C2S] += (uint32_t)msg->len;
	return o.duration;
}

static void test_scan_cost(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42150);
	struct pg_wire q = { 0 };
	char sql[1019];
	size_t text;
	double none, rep_none, on_scan, on_prefix, raw_scan, rep_scan;

	/* a 1 KiB Query: 5-byte header, 1018 bytes of text, its NUL */
	memset(sql, 0, sizeof(sql));
	memcpy(sql, "SELECT '", 8);
	for (size_t i = 8; i < sizeof(sql) - 2; i++)
		sql[i] = "abcdefghij klmnopqrstuvwxy 0123456789,"[i % 38];
	sql[sizeof(sql) - 2] = '\'';
	text = strlen(sql);
	pgw_query(&q, sql);
	assert_int_equal(q.len, 1024);

	none = cost(c, &q);
	rep_none = cost_repeat(c, &q);
	h_pipeline(h, "conn.onQuery(query=\"zzz$\").kill()");
	on_scan = cost(c, &q);
	rep_scan = cost_repeat(c, &q);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 1$\").kill()");
	on_prefix = cost(c, &q);
	h_pipeline(h, "conn.matches(b\"zzz$\").kill()");
	raw_scan = cost(c, &q);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 0);
	assert_false(tc_flow(c).flags & WF_FLOW_KILLED);

	print_message("1 KiB Query segment (%zu bytes of text), mean of %d runs of "
		      "BPF_PROG_TEST_RUN:\n", text, COST_PACKETS);
	print_message("  %-30s %6.0f ns/packet\n", "no pipeline", none);
	print_message("  %-30s %6.0f ns/packet  %.2f ns/byte of text\n",
		      "onQuery(query=\"zzz$\")", on_scan, (on_scan - none) / (double)text);
	print_message("  %-30s %6.0f ns/packet  (decided after 8 bytes)\n",
		      "onQuery(query=\"^SELECT 1$\")", on_prefix);
	print_message("  %-30s %6.0f ns/packet  %.2f ns/byte of chunk\n",
		      "matches(b\"zzz$\")", raw_scan, (raw_scan - none) / (double)q.len);
	print_message("  repeat=%d of one frame (runs 2.. are retransmissions): %.0f ns without, "
		      "%.0f ns with onQuery(\"zzz$\")\n", COST_PACKETS, rep_none, rep_scan);
	pgw_free(&q);
	conn_free(c);
}

/*
 * What status and the recorder learn about a pipeline's work: a verdict
 * record right after the chunk it names (recording on), and per-filter
 * counts in filter_stats that start over with each generation.
 */
/*
 * blackhole(): the matching chunk and every later packet of its connection,
 * both ways (ACKs, FINs, RSTs too), are dropped, and nothing is sent to
 * either peer; other connections and a new connection on the same 4-tuple
 * are not affected.
 */
static void test_blackhole(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42200), *other = conn_login(h, 6, 42201);
	struct pg_wire b = { 0 };
	struct sent s;

	h_pipeline(h, "conn.onQuery(query=\"^SELECT 'hole'\").blackhole()");
	pass_query(c, "SELECT 1");
	tap_drain();
	query(&b, "SELECT 'hole'");
	send_buf(c, C2S, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	assert_true(tc_flow(c).flags & WF_FLOW_BLACKHOLED);
	assert_false(tc_flow(c).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_BLACKHOLE), 1);

	/* everything of it, both ways, silently */
	query(&b, "SELECT 2");
	send_buf(c, C2S, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	pgw_reset(&b);
	pgw_ready_for_query(&b, 'I');
	send_buf(c, S2C, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	assert_int_equal(tc_seg_ex(c, S2C, c->next[S2C], PB_TCP_ACK, NULL, 0, NULL, NULL),
			 TCX_DROP_RETVAL);
	assert_int_equal(tc_seg_ex(c, C2S, c->next[C2S], FIN_ACK, NULL, 0, NULL, NULL),
			 TCX_DROP_RETVAL);
	assert_int_equal(tc_seg_ex(c, S2C, c->next[S2C], RST_ACK, NULL, 0, NULL, NULL),
			 TCX_DROP_RETVAL);
	assert_int_equal(h_counter(h, WF_CNT_BLACKHOLE_DROPS), 5);
	tap_expect_silence(c);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL) + h_counter(h, WF_CNT_VERDICT_RESET) +
			 h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 0);

	/* another connection passes */
	pass_query(other, "SELECT 3");

	/* a new connection on the same 4-tuple is followed afresh */
	c->isn[C2S] += 100000;
	c->isn[S2C] += 100000;
	c->next[C2S] = c->isn[C2S] + 1;
	c->next[S2C] = c->isn[S2C] + 1;
	tc_login(c);
	assert_false(tc_flow(c).flags & WF_FLOW_BLACKHOLED);
	pass_query(c, "SELECT 4");
	pgw_free(&b);
	conn_free(c);
	conn_free(other);
}

/* ---- truncate(n) -------------------------------------------------------------------------- */

#define PSH_ACK (PB_TCP_PSH | PB_TCP_ACK)

/* One big row's answer: RowDescription, a DataRow of `size` bytes, CommandComplete, ReadyForQuery. */
static void big_response(struct pg_wire *b, size_t size)
{
	static const uint8_t rowdesc[] = {
		0, 1, 'b', 'i', 'g', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 25, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0, 0,
	};

	pgw_reset(b);
	pgw_msg(b, 'T', rowdesc, sizeof(rowdesc));
	pgw_data_row_big(b, size);
	pgw_command_complete(b, "SELECT 1");
	pgw_ready_for_query(b, 'I');
}

/*
 * The segment a cut sends toward dir's receiver (a clone on lo): exactly the
 * n bytes of data at seq, then its FIN; ack and timestamps kept, IP length
 * and both checksums right (parse_pkt recomputes them).
 */
static void check_cut_forward(const struct tconn *c, int dir, uint32_t seq, uint32_t ack,
			      const uint8_t *data, size_t n)
{
	uint8_t buf[4096];
	size_t len;
	struct pkt p;

	assert_true(tap_fd >= 0);	/* the cut segment is only seen there */
	if (!tap_expect(c, dir, PSH_ACK | PB_TCP_FIN, buf, &len))
		return;
	parse_pkt(buf, len, &p);
	assert_int_equal(len, frame_len(c, n));
	assert_int_equal(p.sport, dir == C2S ? c->flow.client_port : c->flow.server_port);
	assert_int_equal(p.seq, seq);
	assert_int_equal(p.ack, ack);
	assert_int_equal(p.payload_len, n);
	assert_memory_equal(p.payload, data, n);
	assert_true(p.has_ts);
	assert_int_equal(p.tsval, TSVAL);
	assert_int_equal(p.tsecr, TSECR);
}

/* The verdict records of the ring, in order, into v (at most max); how many. */
static size_t verdict_records(struct wf_harness *h, struct wf_record *v, size_t max)
{
	size_t n = 0;

	h_drain(h);
	for (size_t i = 0; i < h->nrecs; i++)
		if (h->recs[i].hdr.kind == WF_REC_VERDICT && n < max)
			v[n++] = h->recs[i].hdr;
	return n;
}

/*
 * The cut inside the matching chunk: its first n bytes and a FIN reach the
 * client, the server gets a FIN acknowledging the whole segment, and the
 * connection is killed; n odd, so the checksum pads the kept payload.
 */
static void truncate_in_chunk(struct wf_harness *h, int family)
{
	struct tconn *c = conn_login(h, family, family == 4 ? 42300 : 42301);
	struct pg_wire b = { 0 };
	struct wf_record v[4];
	struct wf_flow fl;
	struct sent s;
	uint32_t cseq;

	h_pipeline(h, "conn.onRowDescription().truncate(1001)");
	pass_query(c, "SELECT big");
	big_response(&b, 2000);
	tap_drain();
	send_buf(c, S2C, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_cut_forward(c, S2C, s.seq, s.ack, b.data, 1001);
	check_sent_back(c, S2C, FIN_ACK, c->next[C2S], s.seq + (uint32_t)b.len);
	fl = tc_flow(c);
	assert_true(fl.flags & WF_FLOW_KILLED);
	assert_true(fl.flags & WF_FLOW_TRUNCATE_BACKEND);
	assert_false(fl.flags & WF_FLOW_TRUNCATE_FRONTEND);
	assert_int_equal(fl.trunc_end[S2C], s.seq + 1001);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_TRUNCATE), 1);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_CUTS), 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 0);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_PARTIAL) + h_counter(h, WF_CNT_TRUNCATE_HELD_BACK), 0);
	/* one verdict record: the chunk, 1001 of its bytes delivered */
	assert_int_equal(verdict_records(h, v, 4), 1);
	assert_int_equal(v[0].action, WF_PIPE_A_TRUNCATE);
	assert_int_equal(v[0].dir, S2C);
	assert_int_equal(v[0].seq, s.seq);
	assert_int_equal(v[0].chunk_len, b.len);
	assert_int_equal(v[0].offset, 1001);

	/* from then on as after kill(): the client's next query is dropped, the client gets a RST */
	query(&b, "SELECT 2");
	tap_drain();
	cseq = c->next[C2S];
	send_buf(c, C2S, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_sent_back(c, C2S, RST_ACK, c->next[S2C], cseq + (uint32_t)b.len);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 1);
	pgw_free(&b);
	conn_free(c);
}

static void test_truncate_in_chunk_ipv4(void **state)
{
	truncate_in_chunk(*state, 4);
}

static void test_truncate_in_chunk_ipv6(void **state)
{
	truncate_in_chunk(*state, 6);
}

/*
 * A chunk of n bytes or fewer passes whole; the direction's later segments
 * pass up to the mark (retransmissions too), the one across it is cut; the
 * pipeline no longer evaluates the direction.  A mark at a segment's end:
 * the next segment becomes a bare FIN there.
 */
static void test_truncate_later_segment(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42302), *d = conn_login(h, 4, 42303);
	struct pg_wire b = { 0 };
	struct wf_record v[4];
	struct wf_flow fl;
	struct sent s;
	uint32_t start, chunks;
	uint8_t out[PB_FRAME_MAX];
	size_t got;

	h_pipeline(h, "conn.onRowDescription().truncate(2500)");
	pass_query(c, "SELECT big");
	big_response(&b, 3000);
	assert_true(b.len > 3000);
	start = c->next[S2C];
	pass_raw(c, S2C, b.data, 1000);
	chunks = (uint32_t)h_counter(h, WF_CNT_PIPE_CHUNKS);
	fl = tc_flow(c);
	assert_true(fl.flags & WF_FLOW_TRUNCATE_BACKEND);
	assert_false(fl.flags & WF_FLOW_KILLED);
	assert_int_equal(fl.trunc_end[S2C], start + 2500);
	assert_int_equal(fl.trunc_have[S2C], start + 1000);
	pass_raw(c, S2C, b.data + 1000, 1000);
	assert_int_equal(tc_flow(c).trunc_have[S2C], start + 2000);
	/* a retransmission before the mark passes */
	assert_int_equal(tc_seg_ex(c, S2C, start, PSH_ACK, b.data, 1000, out, &got), TCX_NEXT_RETVAL);
	assert_delivered(c, TCX_NEXT_RETVAL, out, got, b.data, 1000);
	/* the client's direction is not marked: its chunks are still evaluated */
	assert_int_equal(tc_seg_ex(c, C2S, c->next[C2S], PB_TCP_ACK, NULL, 0, NULL, NULL),
			 TCX_NEXT_RETVAL);
	tap_drain();
	send_raw(c, S2C, b.data + 2000, b.len - 2000, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_cut_forward(c, S2C, start + 2000, s.ack, b.data + 2000, 500);
	check_sent_back(c, S2C, FIN_ACK, c->next[C2S], start + (uint32_t)b.len);
	assert_true(tc_flow(c).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), chunks);	/* the marked direction: not evaluated */
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_TRUNCATE), 1);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_CUTS), 1);
	/* the chunk that set the mark (delivered whole) and the one the mark fell in */
	assert_int_equal(verdict_records(h, v, 4), 2);
	assert_int_equal(v[0].seq, start);
	assert_int_equal(v[0].chunk_len, 1000);
	assert_int_equal(v[0].offset, 1000);
	assert_int_equal(v[1].seq, start + 2000);
	assert_int_equal(v[1].chunk_len, b.len - 2000);
	assert_int_equal(v[1].offset, 500);

	/* the mark at a segment's end: the next segment is a bare FIN at the mark */
	pass_query(d, "SELECT big");
	start = d->next[S2C];
	h_pipeline(h, "conn.onRowDescription().truncate(1000)");
	pass_raw(d, S2C, b.data, 1000);
	tap_drain();
	send_raw(d, S2C, b.data + 1000, 300, &s);
	assert_fin_forward(d, S2C, s.rv, s.out, s.len, start + 1000, s.ack);
	check_sent_back(d, S2C, FIN_ACK, d->next[C2S], start + 1300);
	assert_true(tc_flow(d).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_CUTS), 2);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 0);
	assert_int_equal(verdict_records(h, v, 4), 4);
	assert_int_equal(v[3].seq, start + 1000);
	assert_int_equal(v[3].offset, 0);
	pgw_free(&b);
	conn_free(c);
	conn_free(d);
}

/*
 * truncate(0) is kill(); a retransmitted prefix the segment carries stays
 * in front of the cut.
 */
static void test_truncate_zero_and_prefix(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42304), *d = conn_login(h, 6, 42305);
	struct pg_wire b = { 0 };
	struct sent s;
	uint32_t first_new, seg_seq;
	uint8_t out[PB_FRAME_MAX];
	size_t got;
	int rv;

	h_pipeline(h, "conn.onQuery(query=\"^SELECT 'cut'\").truncate(0)");
	pass_query(c, "SELECT 1");
	query(&b, "SELECT 'cut'");
	tap_drain();
	send_buf(c, C2S, &b, &s);
	assert_fin_forward(c, C2S, s.rv, s.out, s.len, s.seq, s.ack);
	check_sent_back(c, C2S, FIN_ACK, s.ack, s.seq + (uint32_t)b.len);
	assert_true(tc_flow(c).flags & WF_FLOW_KILLED);
	assert_true(tc_flow(c).flags & WF_FLOW_TRUNCATE_FRONTEND);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_TRUNCATE), 1);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_CUTS), 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 0);

	/* 6 bytes already seen, then a matching Query: the 6 and the first 3 new bytes go on */
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 'cut'\").truncate(3)");
	pass_query(d, "SELECT 1");
	first_new = d->next[C2S];
	seg_seq = first_new - 6;
	pgw_reset(&b);
	pgw_raw(&b, d->sent[C2S].data + d->sent[C2S].len - 6, 6);
	pgw_query(&b, "SELECT 'cut'");
	tap_drain();
	rv = tc_seg_ex(d, C2S, seg_seq, PSH_ACK, b.data, b.len, out, &got);
	assert_int_equal(rv, TCX_DROP_RETVAL);
	check_cut_forward(d, C2S, seg_seq, d->next[S2C], b.data, 9);
	check_sent_back(d, C2S, FIN_ACK, d->next[S2C], seg_seq + (uint32_t)b.len);
	assert_int_equal(tc_flow(d).trunc_end[C2S], first_new + 3);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_CUTS), 2);
	pgw_free(&b);
	conn_free(c);
	conn_free(d);
}

/* A cut keeps at most 200 bytes of frame here (IPv4: 134 of payload). */
static int setup_small_trim(void **state)
{
	struct h_opts o = { .port = TEST_PORT, .record = true, .trim_frame_max = 200 };

	return h_setup_with(state, &o);
}

/*
 * More to keep than one cut can: the first part goes on without a FIN, the
 * rest waits for the sender's retransmission.  Segments across or after the
 * mark that start after what the client is sure to have are dropped; bytes
 * before the mark pass even out of order; the client's ACK moves what it
 * has.  In the end the client got exactly the first n bytes, then a FIN.
 */
static void test_truncate_in_parts(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42306);
	struct pg_wire b = { 0 }, got = { 0 };
	uint8_t out[PB_FRAME_MAX];
	struct sent s;
	uint32_t start, have, keep_max = 200 - (14 + 20 + 32), parts = 1;
	size_t len;
	int rv;

	h_pipeline(h, "conn.onRowDescription().truncate(1000)");
	pass_query(c, "SELECT big");
	big_response(&b, 1500);
	start = c->next[S2C];
	send_buf(c, S2C, &b, &s);
	assert_delivered(c, s.rv, s.out, s.len, b.data, keep_max);
	assert_int_equal(tc_flow(c).trunc_have[S2C], start + keep_max);
	assert_false(tc_flow(c).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_PARTIAL), 1);

	pgw_raw(&got, b.data, keep_max);

	/* the sender's next bytes, after the mark: held back */
	rv = tc_seg_ex(c, S2C, start + (uint32_t)b.len, PSH_ACK, b.data, 10, NULL, NULL);
	assert_int_equal(rv, TCX_DROP_RETVAL);
	/* across the mark, but bytes before it are missing at the client: held back */
	rv = tc_seg_ex(c, S2C, start + 500, PSH_ACK, b.data + 500, b.len - 500, NULL, NULL);
	assert_int_equal(rv, TCX_DROP_RETVAL);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_HELD_BACK), 2);
	/* before the mark, out of order: delivered, but not counted as the client's */
	rv = tc_seg_ex(c, S2C, start + 200, PSH_ACK, b.data + 200, 100, out, &len);
	assert_delivered(c, rv, out, len, b.data + 200, 100);
	assert_int_equal(tc_flow(c).trunc_have[S2C], start + keep_max);
	/* in order: counted */
	rv = tc_seg_ex(c, S2C, start + keep_max, PSH_ACK, b.data + keep_max, 200 - keep_max, out, &len);
	assert_delivered(c, rv, out, len, b.data + keep_max, 200 - keep_max);
	assert_int_equal(tc_flow(c).trunc_have[S2C], start + 200);
	pgw_raw(&got, b.data + keep_max, 300 - keep_max);	/* the client now has 300 */
	/* an ACK past the mark cannot be the client's: ignored */
	assert_int_equal(tc_seg_ex(c, C2S, c->next[C2S], PB_TCP_ACK, NULL, 0, NULL, NULL), TCX_NEXT_RETVAL);
	assert_int_equal(tc_flow(c).trunc_have[S2C], start + 200);
	/* the client says it has 300 */
	c->next[S2C] = start + 300;	/* tc_build acknowledges next[S2C] */
	assert_int_equal(tc_seg_ex(c, C2S, c->next[C2S], PB_TCP_ACK, NULL, 0, NULL, NULL), TCX_NEXT_RETVAL);
	assert_int_equal(tc_flow(c).trunc_have[S2C], start + 300);

	/* the sender retransmits from there until the cut */
	for (have = start + 300;; parts++) {
		uint32_t off = have - start;

		tap_drain();
		rv = tc_seg_ex(c, S2C, have, PSH_ACK, b.data + off, b.len - off, out, &len);
		if (rv == TCX_DROP_RETVAL) {
			check_cut_forward(c, S2C, have, c->next[C2S], b.data + off, 1000 - off);
			check_sent_back(c, S2C, FIN_ACK, c->next[C2S], start + (uint32_t)b.len);
			pgw_raw(&got, b.data + off, 1000 - off);
			break;
		}
		assert_true(parts < 20);
		assert_delivered(c, rv, out, len, b.data + off, keep_max);
		pgw_raw(&got, b.data + off, keep_max);
		have += keep_max;
		assert_int_equal(tc_flow(c).trunc_have[S2C], have);
	}
	/* 300 + 5 x 134 = 970: the 30 left are cut with the FIN */
	assert_int_equal(parts, 6);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_PARTIAL), 6);
	assert_int_equal(h_counter(h, WF_CNT_TRUNCATE_CUTS), 1);
	assert_int_equal(got.len, 1000);
	assert_memory_equal(got.data, b.data, 1000);
	assert_true(tc_flow(c).flags & WF_FLOW_KILLED);
	pgw_free(&b);
	pgw_free(&got);
	conn_free(c);
}

/* times(n): n chunks over all connections, then nothing; a new command starts over. */
static void test_times(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *a = conn_login(h, 4, 42600), *b = conn_login(h, 6, 42601);
	struct tconn *c = conn_login(h, 4, 42602), *d = conn_login(h, 4, 42603);

	h_pipeline(h, "conn.onQuery(query=\"^SELECT 't'\").times(2).kill()");
	pass_query(a, "SELECT 1");		/* stopped by onQuery: does not count */
	kill_query(a, "SELECT 't'");
	kill_query(b, "SELECT 't'");		/* the second, on another connection */
	pass_query(c, "SELECT 't'");		/* used up */
	pass_query(c, "SELECT 't'");
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 2);
	assert_int_equal(h_counter(h, WF_CNT_TIMES_EXHAUSTED), 2);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 't'\").times(1).kill()");
	kill_query(d, "SELECT 't'");
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 3);
	conn_free(a);
	conn_free(b);
	conn_free(c);
	conn_free(d);
}

/*
 * probability(p): every decision is a WF_REC_DECISION whose draw is
 * wf_draw(seed, the flow's ident, direction, message index, filter), the
 * filter passes exactly when the draw is below p * 2^32, and the ident
 * depends on the StartupMessage and its rank, not on ports.
 */
static void test_probability(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42400);
	size_t i, decisions = 0, passed = 0;
	uint64_t ident;
	char q[32];

	h_pipeline(h, "conn.seed(7).onQuery(query=\"^SELECT 'p'\").probability(0.5).kill()");
	/* named by its StartupMessage, before any command */
	ident = tc_flow(c).ident;
	assert_true(ident != 0);
	for (i = 0; i < 40 && !(tc_flow(c).flags & WF_FLOW_KILLED); i++) {
		struct pg_wire b = { 0 };
		struct sent s;

		snprintf(q, sizeof(q), "SELECT 'p', %zu", i);
		query(&b, q);
		send_buf(c, C2S, &b, &s);
		/* allowed, or killed: the segment becomes the FIN (passed either way) */
		assert_int_equal(s.rv, TCX_NEXT_RETVAL);
		pgw_free(&b);
	}
	h_drain(h);
	for (i = 0; i < h->nrecs; i++) {
		const struct wf_record *r = &h->recs[i].hdr;
		struct wf_decision dd;

		if (r->kind != WF_REC_DECISION)
			continue;
		memcpy(&dd, h->recs[i].data, sizeof(dd));
		assert_true(dd.seed == 7);
		assert_true(dd.ident == ident);
		assert_int_equal(dd.filter, 1);
		assert_true(dd.threshold == (1ULL << 31));
		assert_int_equal(dd.draw, wf_draw(7, ident, WF_DIR_FRONTEND, dd.message, 1));
		assert_int_equal(dd.passed, dd.draw < (1u << 31));
		assert_int_equal(r->dir, WF_DIR_FRONTEND);
		decisions++;
		passed += dd.passed;
	}
	/* evaluation stops at the first kill: every decision but the last allowed */
	assert_true(decisions >= 1);
	assert_int_equal(passed, tc_flow(c).flags & WF_FLOW_KILLED ? 1 : 0);
	assert_int_equal(h_counter(h, WF_CNT_DECISIONS), decisions);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), passed);
	conn_free(c);
}

/* The ident: the same StartupMessage gets a new rank each time; another one another hash. */
static void test_ident(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *a, *b, *c;

	h_pipeline(h, "conn.onQuery().probability(1).allow()");
	a = conn_login(h, 4, 42500);
	b = conn_login(h, 4, 42501);	/* same StartupMessage, other port */
	c = conn_login(h, 6, 42502);	/* same StartupMessage over IPv6 */
	assert_true(tc_flow(a).ident != 0);
	assert_true(tc_flow(a).ident != tc_flow(b).ident);
	assert_true(tc_flow(c).ident != tc_flow(a).ident && tc_flow(c).ident != tc_flow(b).ident);
	assert_true((tc_flow(a).ident & 1) && (tc_flow(b).ident & 1));
	/* the same command again: ranks start over, so the first connection's ident comes back */
	h_pipeline(h, "conn.onQuery().probability(1).allow()");
	conn_free(b);
	b = conn_login(h, 4, 42503);
	assert_true(tc_flow(b).ident == tc_flow(a).ident);
	conn_free(a);
	conn_free(b);
	conn_free(c);
}

static void filter_stats_sum(struct wf_harness *h, struct wf_filter_stats *sum, uint32_t gen)
{
	int ncpus = libbpf_num_possible_cpus();
	struct wf_filter_stats *v = calloc((size_t)ncpus, sizeof(*v));
	__u32 zero = 0;

	assert_non_null(v);
	memset(sum, 0, sizeof(*sum));
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.filter_stats), &zero, v), 0);
	for (int i = 0; i < ncpus; i++) {
		if (v[i].generation != gen)
			continue;
		sum->evaluated += v[i].evaluated;
		for (int f = 0; f < WF_PIPE_MAX_FILTERS; f++)
			sum->passed[f] += v[i].passed[f];
		sum->acted += v[i].acted;
	}
	free(v);
}

static uint32_t current_generation(struct wf_harness *h)
{
	struct wf_pipe_current cur;
	__u32 zero = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.pipe_current), &zero, &cur), 0);
	return cur.word >> 1;
}

static void test_verdict_records_and_filter_stats(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 42100);
	struct wf_filter_stats st;
	const struct wf_record *v = NULL;
	uint32_t gen, kill_seq, kill_len;
	size_t verdicts = 0, i;

	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").after(1).kill()");
	gen = current_generation(h);
	pass_query(c, "SELECT 1");		/* fails onQuery */
	pass_query(c, "SELECT 42");		/* passes onQuery, after(1) lets it through */
	kill_seq = c->next[C2S];
	kill_len = 5 + (uint32_t)strlen("SELECT 42") + 1;
	kill_query(c, "SELECT 42");		/* passes both: killed */

	filter_stats_sum(h, &st, gen);
	assert_int_equal(st.evaluated, 3);
	assert_int_equal(st.passed[0], 2);
	assert_int_equal(st.passed[1], 1);
	assert_int_equal(st.passed[2], 0);
	assert_int_equal(st.acted, 1);

	h_drain(h);
	for (i = 0; i < h->nrecs; i++) {
		const struct wf_record *r = &h->recs[i].hdr;

		if (r->kind == WF_REC_VERDICT) {
			verdicts++;
			v = r;
			/* right after the chunk it names */
			assert_true(i > 0);
			assert_int_equal(h->recs[i - 1].hdr.kind, WF_REC_CHUNK);
			assert_int_equal(h->recs[i - 1].hdr.seq, r->seq);
		} else {
			assert_int_equal(r->action, 0);
			assert_int_equal(r->pipe_gen, 0);
		}
	}
	assert_int_equal(verdicts, 1);
	assert_int_equal(v->action, WF_PIPE_A_KILL);
	assert_int_equal(v->pipe_gen, gen);
	assert_int_equal(v->dir, C2S);
	assert_int_equal(v->seq, kill_seq);
	assert_int_equal(v->chunk_len, kill_len);
	assert_int_equal(v->len, 0);
	assert_int_equal(h_counter(h, WF_CNT_REC_VERDICTS), 1);

	/* a new generation: every CPU starts its counts over */
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 7\").kill()");
	assert_true(current_generation(h) != gen);
	filter_stats_sum(h, &st, current_generation(h));
	assert_int_equal(st.evaluated, 0);
	conn_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup_norecord, h_teardown)
		T(test_onquery_kill_ipv4),
		T(test_onquery_kill_ipv6),
		T(test_kill_overlapping_segment),
		T(test_match_in_last_message),
		T(test_several_matches_one_kill),
		T(test_split_query),
		T(test_initial_chunk),
		T(test_after_kill),
		T(test_after_counter_semantics),
		T(test_contains_matches),
		T(test_on_parse),
		T(test_on_copy_data),
		T(test_on_ready_for_query),
		T(test_on_authentication_ok),
		T(test_message_across_generations),
		T(test_garbage),
		T(test_unpublish),
		T(test_scopes),
		T(test_scope_killall),
		T(test_scope_fallback),
		T(test_conditions_one_message),
		T(test_filters_of_one_chunk),
		T(test_kill_fin_and_options),
		T(test_scan_cost),
		T(test_blackhole),
		T(test_times),
		T(test_probability),
		T(test_ident),
#undef T
		cmocka_unit_test_setup_teardown(test_verdict_records_and_filter_stats,
						h_setup_record, h_teardown),
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup_record, h_teardown)
		T(test_truncate_in_chunk_ipv4),
		T(test_truncate_in_chunk_ipv6),
		T(test_truncate_later_segment),
		T(test_truncate_zero_and_prefix),
#undef T
		cmocka_unit_test_setup_teardown(test_truncate_in_parts, setup_small_trim, h_teardown),
	};
	int rc;

	h_require_bpf();
	tap_open();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (tap_fd >= 0)
		close(tap_fd);
	return rc;
}
