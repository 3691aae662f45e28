// SPDX-License-Identifier: GPL-2.0
/*
 * The actions of the tc program on crafted IPv4 and IPv6 segments
 * (BPF_PROG_TEST_RUN): kill() and reset() (bpf/verdict.h, bpf/tcp_inject.h),
 * the fate of killed connections, the holds of cancel(pid) and
 * connect_delay(ms) (bpf/hold.h, include/wf_hold.h), killall()
 * (bpf/killall.h) and the program's own packets (skb->mark WF_OWN_MARK).
 *
 * Every packet the program puts out is taken apart here and checked field
 * by field: addresses, ports, seq/ack, flags, data offset, payload, IPv4
 * total length and header checksum, IPv6 payload length, TCP timestamps,
 * and the TCP checksum, recomputed with RFC 1071 over a pseudo-header built
 * by the test (never trusting a helper shared with the program's side).
 *
 * The segment the program sends back to a sender (bpf_clone_redirect out of
 * lo, which loops it back in) is caught by a packet socket on lo whose
 * classic BPF filter only takes packets with skb->mark == WF_OWN_MARK: a
 * reversed FIN/RST seen here was cloned, marked, and went through lo.  If no
 * packet socket can be opened, those checks are skipped (said on stderr).
 *
 * The `holds` map is read with bpf_map_lookup_elem() and written through
 * its mmap, the way the loader releases a slot; the `events` ring is
 * consumed with libbpf's ring_buffer.  The harness checks after every test
 * that INJECT_FAILED and ERRORS are 0 and that every run has one verdict.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "byteorder.h"
#include "wf_event.h"
#include "wf_hold.h"
#include "wf_pipeline.h"
#include "wirefault.skel.h"

#define ETH_HLEN_ 14
#define FIN_ACK (PB_TCP_FIN | PB_TCP_ACK)
#define RST_ACK (PB_TCP_RST | PB_TCP_ACK)
#define PSH_ACK (PB_TCP_PSH | PB_TCP_ACK)

/* Timestamps of the segments built here: every byte distinct, so that a
 * swap or a byte-order slip shows. */
#define TSV 0xa1b2c3d4u
#define TSE 0x0a0b0c0du
static const uint8_t ts_opts[12] = { 1, 1, 8, 10, 0xa1, 0xb2, 0xc3, 0xd4, 0x0a, 0x0b, 0x0c, 0x0d };

/* What a control segment's timestamp option must be. */
enum ts_want { TS_NONE, TS_FWD, TS_REV };

/* ---- checksums, computed here ------------------------------------------------------------ */

/* RFC 1071: the one's complement of the one's complement sum of 16-bit words. */
static uint16_t rfc1071(const uint8_t *p, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * The TCP checksum the segment th[0..l4len) must carry: pseudo-header
 * (RFC 793: src, dst, zero, protocol, TCP length; RFC 8200 §8.1: src, dst,
 * 32-bit length, three zero bytes, next header) followed by the segment with
 * its checksum field zeroed.
 */
static uint16_t tcp_checksum(int family, const uint8_t *src, const uint8_t *dst, const uint8_t *th,
			     size_t l4len)
{
	uint8_t *buf = calloc(1, 40 + l4len);
	size_t ph;
	uint16_t cs;

	assert_non_null(buf);
	if (family == 4) {
		memcpy(buf, src, 4);
		memcpy(buf + 4, dst, 4);
		buf[8] = 0;
		buf[9] = 6;
		wf_put_be16(buf + 10, (uint16_t)l4len);
		ph = 12;
	} else {
		memcpy(buf, src, 16);
		memcpy(buf + 16, dst, 16);
		wf_put_be32(buf + 32, (uint32_t)l4len);
		buf[36] = buf[37] = buf[38] = 0;
		buf[39] = 6;
		ph = 40;
	}
	memcpy(buf + ph, th, l4len);
	buf[ph + 16] = buf[ph + 17] = 0;
	cs = rfc1071(buf, ph + l4len);
	free(buf);
	return cs;
}

/* ---- packets taken apart ------------------------------------------------------------------ */

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

/* Parses an Ethernet + IPv4/IPv6 + TCP frame; asserts lengths and checksums. */
static void parse_pkt(const uint8_t *f, size_t len, struct pkt *p)
{
	size_t iphl, l4len;
	uint16_t et;

	memset(p, 0, sizeof(*p));
	assert_true(len >= ETH_HLEN_ + 20 + 20);
	et = wf_be16(f + 12);
	p->ip = f + ETH_HLEN_;
	if (et == 0x0800) {
		uint8_t hdr[20];

		p->family = 4;
		assert_int_equal(p->ip[0], 0x45);
		iphl = 20;
		assert_int_equal(wf_be16(p->ip + 2), len - ETH_HLEN_);	/* total length */
		assert_int_equal(wf_be16(p->ip + 6) & 0x3fff, 0);		/* not a fragment */
		assert_int_equal(p->ip[9], 6);
		memcpy(hdr, p->ip, 20);
		hdr[10] = hdr[11] = 0;
		assert_int_equal(wf_be16(p->ip + 10), rfc1071(hdr, 20));	/* header checksum */
		p->ttl = p->ip[8];
		memcpy(p->src, p->ip + 12, 4);
		memcpy(p->dst, p->ip + 16, 4);
	} else {
		assert_int_equal(et, 0x86dd);
		assert_true(len >= ETH_HLEN_ + 40 + 20);
		p->family = 6;
		assert_int_equal(p->ip[0] >> 4, 6);
		iphl = 40;
		assert_int_equal(wf_be16(p->ip + 4), len - ETH_HLEN_ - iphl);	/* payload length */
		assert_int_equal(p->ip[6], 6);
		p->ttl = p->ip[7];
		memcpy(p->src, p->ip + 8, 16);
		memcpy(p->dst, p->ip + 24, 16);
	}
	l4len = len - ETH_HLEN_ - iphl;
	p->th = p->ip + iphl;
	p->thl = (size_t)(p->th[12] >> 4) * 4;
	assert_true(p->thl >= 20 && p->thl <= l4len);
	assert_int_equal(wf_be16(p->th + 16), tcp_checksum(p->family, p->src, p->dst, p->th, l4len));
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

static size_t ip_hlen(const struct tconn *c)
{
	return c->flow.family == 6 ? 40 : 20;
}

/*
 * A control segment (FIN, RST or bare ACK: flags exactly `flags`) of c sent
 * by the side `from` (C2S: the client), with seq/ack, no payload, TTL/hop
 * limit 64 and the timestamp option `ts` (TS_NONE: a bare 20-byte header).
 */
static void check_ctl(const struct tconn *c, const uint8_t *f, size_t len, int from, uint8_t flags,
		      uint32_t seq, uint32_t ack, enum ts_want ts)
{
	const struct pb_flow *fl = &c->flow;
	size_t thl = ts == TS_NONE ? 20 : 32;
	struct pkt p;

	assert_int_equal(len, ETH_HLEN_ + ip_hlen(c) + thl);
	parse_pkt(f, len, &p);
	assert_int_equal(p.family, fl->family);
	assert_memory_equal(p.src, from == C2S ? fl->client : fl->server, addr_len(fl->family));
	assert_memory_equal(p.dst, from == C2S ? fl->server : fl->client, addr_len(fl->family));
	assert_int_equal(p.sport, from == C2S ? fl->client_port : fl->server_port);
	assert_int_equal(p.dport, from == C2S ? fl->server_port : fl->client_port);
	assert_int_equal(p.flags, flags);
	assert_int_equal(p.seq, seq);
	assert_int_equal(p.ack, ack);
	assert_int_equal(p.thl, thl);
	assert_int_equal(p.payload_len, 0);
	assert_int_equal(p.ttl, 64);
	assert_int_equal(wf_be16(p.th + 18), 0);	/* urgent pointer */
	if (ts == TS_NONE) {
		assert_false(p.has_ts);
	} else {
		assert_true(p.has_ts);
		assert_int_equal(p.tsval, ts == TS_FWD ? TSV : TSE);
		assert_int_equal(p.tsecr, ts == TS_FWD ? TSE : TSV);
	}
}

/* ---- segments ----------------------------------------------------------------------------- */

/* One segment: as built, and as the program left it. */
struct seg {
	uint8_t in[PB_FRAME_MAX];
	size_t in_len;
	uint8_t out[PB_FRAME_MAX];
	size_t out_len;
	int rv;
	uint32_t seq, ack;
	size_t n;
};

/* Runs a frame with skb->mark = mark; the packet as left by the program in out. */
static int run_frame(struct wf_harness *h, const uint8_t *frame, size_t len, uint32_t mark,
		     uint8_t *out, size_t *out_len)
{
	struct __sk_buff ctx = { .mark = mark };
	LIBBPF_OPTS(bpf_test_run_opts, opts,
		    .data_in = frame,
		    .data_size_in = (uint32_t)len,
		    .data_out = out,
		    .data_size_out = PB_FRAME_MAX,
		    .ctx_in = &ctx,
		    .ctx_size_in = sizeof(ctx),
		    .repeat = 1);
	int err = bpf_prog_test_run_opts(h->prog_fd, &opts);

	if (err)
		fprintf(stderr, "test_run: %s (frame of %zu bytes)\n", strerror(errno), len);
	assert_int_equal(err, 0);
	h->runs++;
	*out_len = opts.data_size_out;
	return (int)opts.retval;
}

/* Builds and runs a segment of c in direction dir (ack = the peer's next seq
 * when the ACK flag is set).  Does not move next[]. */
static void seg_opts(struct tconn *c, int dir, uint32_t seq, uint8_t flags, const uint8_t *opts,
		     size_t optlen, const void *data, size_t n, uint32_t mark, struct seg *s)
{
	struct pb_seg ps = {
		.flow = &c->flow,
		.from_server = dir == S2C,
		.flags = flags,
		.seq = seq,
		.ack = (flags & PB_TCP_ACK) ? c->next[!dir] : 0,
		.options = opts,
		.options_len = optlen,
		.payload = data,
		.len = n,
	};

	s->seq = seq;
	s->ack = ps.ack;
	s->n = n;
	s->in_len = pb_build(&ps, s->in, sizeof(s->in));
	assert_true(s->in_len > 0);
	s->rv = run_frame(c->h, s->in, s->in_len, mark, s->out, &s->out_len);
}

/* The same with Linux's NOP, NOP, timestamps. */
static void seg(struct tconn *c, int dir, uint32_t seq, uint8_t flags, const void *data, size_t n,
		struct seg *s)
{
	seg_opts(c, dir, seq, flags, ts_opts, sizeof(ts_opts), data, n, 0, s);
}

/* New data, one PSH|ACK segment at next[dir]; next[dir] moves on. */
static void send_data(struct tconn *c, int dir, const void *data, size_t n, struct seg *s)
{
	seg(c, dir, c->next[dir], PSH_ACK, data, n, s);
	c->next[dir] += (uint32_t)n;
}

static void send_wire(struct tconn *c, int dir, const struct pg_wire *b, struct seg *s)
{
	send_data(c, dir, b->data, b->len, s);
}

/* The segment went through untouched. */
static void assert_untouched(const struct seg *s)
{
	assert_int_equal(s->rv, TCX_NEXT_RETVAL);
	assert_int_equal(s->out_len, s->in_len);
	assert_memory_equal(s->out, s->in, s->in_len);
}

static void pass_wire(struct tconn *c, int dir, const struct pg_wire *b)
{
	struct seg s;

	send_wire(c, dir, b, &s);
	assert_untouched(&s);
}

static void pass_query(struct tconn *c, const char *sql)
{
	struct pg_wire b = { 0 };

	pgw_query(&b, sql);
	pass_wire(c, C2S, &b);
	pgw_free(&b);
}

/* RowDescription (one int4 column), DataRow "1", CommandComplete tag, ReadyForQuery 'I'. */
static void select_response(struct pg_wire *b, const char *tag)
{
	static const char *const row[] = { "1" };
	static const uint8_t rowdesc[] = {
		0, 1, '?', 'c', 'o', 'l', 'u', 'm', 'n', '?', 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 23, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0,
	};

	pgw_msg(b, 'T', rowdesc, sizeof(rowdesc));
	pgw_data_row(b, row, 1);
	pgw_command_complete(b, tag);
	pgw_ready_for_query(b, 'I');
}

static struct tconn *conn_new(struct wf_harness *h, int family, uint16_t cport)
{
	struct tconn *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	tc_init(c, h, family, cport, 1000u * cport + 17, 7000u * cport + 3);
	return c;
}

static struct tconn *conn_login(struct wf_harness *h, int family, uint16_t cport)
{
	struct tconn *c = conn_new(h, family, cport);

	tc_login(c);
	return c;
}

static void conn_free(struct tconn *c)
{
	tc_free(c);
	free(c);
}

/* ---- the segments sent back, caught on lo --------------------------------------------------- */

static int tap_fd = -1;

/* A packet socket on lo taking only packets marked WF_OWN_MARK (classic BPF
 * reading skb->mark): what it sees was injected by the program. */
static void tap_open(void)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(SKF_AD_OFF + SKF_AD_MARK)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, WF_OWN_MARK, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0xffff),
		BPF_STMT(BPF_RET | BPF_K, 0),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	uint8_t buf[256];

	sll.sll_ifindex = (int)if_nametoindex("lo");
	tap_fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (tap_fd >= 0 &&
	    (setsockopt(tap_fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ||
	     !sll.sll_ifindex || bind(tap_fd, (struct sockaddr *)&sll, sizeof(sll)))) {
		close(tap_fd);
		tap_fd = -1;
	}
	if (tap_fd < 0) {
		fprintf(stderr, "no packet socket on lo (%s): segments sent back not checked\n",
			strerror(errno));
		return;
	}
	/* what was queued before the filter was attached */
	while (recv(tap_fd, buf, sizeof(buf), 0) > 0)
		;
}

static void tap_drain(void)
{
	uint8_t buf[4096];

	if (tap_fd >= 0)
		while (recv(tap_fd, buf, sizeof(buf), 0) > 0)
			;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000 + (now.tv_nsec - t0->tv_nsec) / 1000000;
}

/*
 * Waits up to timeout_ms for a marked segment of c received on lo (not the
 * copy seen leaving) sent by the side `from`, with exactly `flags`.
 */
static bool tap_wait(const struct tconn *c, int from, uint8_t flags, uint8_t *out, size_t *out_len,
		     long timeout_ms)
{
	const struct pb_flow *fl = &c->flow;
	uint16_t want_s = from == C2S ? fl->client_port : fl->server_port;
	uint16_t want_d = from == C2S ? fl->server_port : fl->client_port;
	size_t l4 = ETH_HLEN_ + ip_hlen(c);
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct sockaddr_ll sfrom;
		socklen_t fromlen = sizeof(sfrom);
		struct pollfd pfd = { .fd = tap_fd, .events = POLLIN };
		uint8_t buf[4096];
		ssize_t n = recvfrom(tap_fd, buf, sizeof(buf), 0, (struct sockaddr *)&sfrom, &fromlen);

		if (n > 0) {
			if (sfrom.sll_pkttype != PACKET_OUTGOING && (size_t)n >= l4 + 20 &&
			    wf_be16(buf + 12) == (fl->family == 6 ? 0x86dd : 0x0800) &&
			    wf_be16(buf + l4) == want_s && wf_be16(buf + l4 + 2) == want_d &&
			    buf[l4 + 13] == flags) {
				memcpy(out, buf, (size_t)n);
				*out_len = (size_t)n;
				return true;
			}
			continue;
		}
		if (ms_since(&t0) > timeout_ms)
			return false;
		poll(&pfd, 1, 20);
	}
}

/* The segment sent back to the side `to`: checked like the forward one. */
static void check_sent_back(const struct tconn *c, int to, uint8_t flags, uint32_t seq,
			    uint32_t ack, enum ts_want ts)
{
	uint8_t buf[4096];
	size_t n;

	if (tap_fd < 0)
		return;
	if (!tap_wait(c, !to, flags, buf, &n, 1000))
		fail_msg("no segment marked WF_OWN_MARK with flags %#x toward the %s seen on lo",
			 flags, to == C2S ? "client" : "server");
	check_ctl(c, buf, n, !to, flags, seq, ack, ts);
}

/* Nothing was sent back for c, either way, within 100 ms. */
static void check_nothing_sent(const struct tconn *c)
{
	const struct pb_flow *fl = &c->flow;
	size_t l4 = ETH_HLEN_ + ip_hlen(c);
	struct timespec t0;

	if (tap_fd < 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (ms_since(&t0) <= 100) {
		struct pollfd pfd = { .fd = tap_fd, .events = POLLIN };
		uint8_t buf[4096];
		ssize_t n = recv(tap_fd, buf, sizeof(buf), 0);
		uint16_t sp, dp;

		if (n <= 0) {
			poll(&pfd, 1, 20);
			continue;
		}
		if ((size_t)n < l4 + 20 || wf_be16(buf + 12) != (fl->family == 6 ? 0x86dd : 0x0800))
			continue;
		sp = wf_be16(buf + l4);
		dp = wf_be16(buf + l4 + 2);
		if ((sp == fl->client_port && dp == fl->server_port) ||
		    (sp == fl->server_port && dp == fl->client_port))
			fail_msg("a segment with flags %#x was sent (%u -> %u)", buf[l4 + 13], sp, dp);
	}
}

/* ---- maps: events, holds, pipe_current ------------------------------------------------------ */

struct evs {
	struct ring_buffer *rb;
	struct wf_event ev[64];
	size_t n;
};

static int on_event(void *ctx, void *data, size_t size)
{
	struct evs *e = ctx;

	assert_int_equal(size, sizeof(struct wf_event));
	assert_true(e->n < sizeof(e->ev) / sizeof(e->ev[0]));
	memcpy(&e->ev[e->n++], data, sizeof(struct wf_event));
	return 0;
}

static void ev_open(struct evs *e, struct wf_harness *h)
{
	memset(e, 0, sizeof(*e));
	e->rb = ring_buffer__new(bpf_map__fd(h->skel->maps.events), on_event, e, NULL);
	assert_non_null(e->rb);
}

/* Consumes the ring; the number of events in e->ev so far. */
static size_t ev_count(struct evs *e)
{
	assert_true(ring_buffer__consume(e->rb) >= 0);
	return e->n;
}

static void ev_close(struct evs *e)
{
	ring_buffer__free(e->rb);
}

static void assert_key(const struct wf_flow_key *k, const struct tconn *c)
{
	struct wf_flow_key want;

	h_flow_key(&c->flow, &want);
	assert_memory_equal(k, &want, sizeof(want));
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static struct wf_pipe_current pipe_cur(struct wf_harness *h)
{
	struct wf_pipe_current cur;
	uint32_t zero = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.pipe_current), &zero, &cur), 0);
	return cur;
}

static uint32_t pipe_gen(struct wf_harness *h)
{
	return pipe_cur(h).word >> 1;
}

/* A copy of slot i of `holds` (free it). */
static struct wf_hold *hold_get(struct wf_harness *h, uint32_t i)
{
	struct wf_hold *hd = malloc(sizeof(*hd));

	assert_non_null(hd);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(h->skel->maps.holds), &i, hd), 0);
	return hd;
}

static uint32_t hold_state(struct wf_harness *h, uint32_t i)
{
	struct wf_hold *hd = hold_get(h, i);
	uint32_t st = hd->state;

	free(hd);
	return st;
}

/* The `holds` map as the loader sees it: its mmap. */
struct holds_map {
	struct wf_hold *slot;
	size_t size;
};

static void holds_mmap(struct wf_harness *h, struct holds_map *m)
{
	long page = sysconf(_SC_PAGESIZE);

	/* array elements are value_size rounded up to 8 bytes apart */
	_Static_assert(sizeof(struct wf_hold) % 8 == 0, "struct wf_hold is not 8-byte sized");
	m->size = (sizeof(struct wf_hold) * WF_HOLD_SLOTS + (size_t)page - 1) & ~((size_t)page - 1);
	m->slot = mmap(NULL, m->size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(h->skel->maps.holds), 0);
	assert_true(m->slot != MAP_FAILED);
}

static void holds_munmap(struct holds_map *m)
{
	munmap(m->slot, m->size);
}

/* The loader's release of a slot, minus the re-injection:
 * HELD -> RELEASING, gen + 1, FREE (include/wf_hold.h). */
static void hold_free(struct holds_map *m, uint32_t i)
{
	struct wf_hold *hd = &m->slot[i];
	uint32_t expected = WF_HOLD_HELD;

	assert_true(__atomic_compare_exchange_n(&hd->state, &expected, WF_HOLD_RELEASING, false,
						__ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	__atomic_store_n(&hd->gen, hd->gen + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&hd->state, WF_HOLD_FREE, __ATOMIC_RELEASE);
}

/* Slot i holds segment s of c (direction dir): every field. */
static void check_hold(struct wf_harness *h, uint32_t i, const struct tconn *c, int dir,
		       const struct seg *s, uint8_t action, int64_t arg, uint32_t gen,
		       uint32_t pgen, uint64_t t0, uint64_t t1)
{
	struct wf_hold *hd = hold_get(h, i);

	assert_int_equal(hd->state, WF_HOLD_HELD);
	assert_int_equal(hd->gen, gen);
	assert_key(&hd->key, c);
	assert_int_equal(hd->dir, dir);
	assert_int_equal(hd->action, action);
	assert_int_equal(hd->action_arg, arg);
	assert_int_equal(hd->copied_whole, 1);
	assert_int_equal(hd->seq, s->seq);
	assert_int_equal(hd->len, s->n);
	assert_int_equal(hd->ifindex, if_nametoindex("lo"));
	assert_int_equal(hd->l4_off, ETH_HLEN_ + ip_hlen(c));
	assert_int_equal(hd->pipe_gen, pgen);
	assert_true(hd->held_ns >= t0 && hd->held_ns <= t1);
	assert_int_equal(hd->frame_len, s->in_len);
	assert_memory_equal(hd->frame, s->in, s->in_len);	/* the frame as it arrived */
	free(hd);
}

static void check_hold_event(const struct wf_event *ev, const struct tconn *c, uint32_t slot,
			     uint32_t gen, uint8_t action, int64_t arg, uint32_t pgen)
{
	assert_int_equal(ev->kind, WF_EVENT_HOLD);
	assert_int_equal(ev->slot, slot);
	assert_int_equal(ev->gen, gen);
	assert_int_equal(ev->pipe_gen, pgen);
	assert_int_equal(ev->action, action);
	assert_int_equal(ev->action_arg, arg);
	assert_key(&ev->key, c);
}

/* ---- 1. kill() and reset(): the two control segments ---------------------------------------- */

/*
 * kill()/reset() of a client Query and of a server segment whose
 * CommandComplete matches.  The forward segment (the packet itself) goes
 * to the receiver: seq = first undelivered byte, ack and timestamps kept;
 * the reverse one, cloned back to the sender: seq = the segment's ack,
 * ack = its end, timestamps swapped.
 */
static void kill_reset(struct wf_harness *h, int family)
{
	static const char *const acts[2] = { "kill", "reset" };
	struct pg_wire b = { 0 };
	char cmd[160];
	uint16_t port = family == 6 ? 43100 : 43000;
	int k = 0;

	for (int a = 0; a < 2; a++) {
		uint8_t flag = a ? RST_ACK : FIN_ACK;

		for (int dir = C2S; dir <= S2C; dir++, k++) {
			struct tconn *c = conn_login(h, family, (uint16_t)(port + k));
			struct wf_flow f;
			struct seg s;

			if (dir == C2S)
				snprintf(cmd, sizeof(cmd), "conn.onQuery(query=\"^SELECT 42\").%s()", acts[a]);
			else
				snprintf(cmd, sizeof(cmd),
					 "conn.onCommandComplete(command=\"^SELECT 1$\").%s()", acts[a]);
			h_pipeline(h, cmd);
			pass_query(c, "SELECT 4");	/* not the one */
			pgw_reset(&b);
			select_response(&b, "SELECT 2");
			pass_wire(c, S2C, &b);

			pgw_reset(&b);
			if (dir == C2S)
				pgw_query(&b, "SELECT 42 FROM pg_class");
			else
				select_response(&b, "SELECT 1");
			if (dir == S2C)
				pass_query(c, "SELECT 1");
			tap_drain();
			send_wire(c, dir, &b, &s);
			assert_int_equal(s.rv, TCX_NEXT_RETVAL);
			/* forward: the packet, cut to its headers, from its sender */
			check_ctl(c, s.out, s.out_len, dir, flag, s.seq, s.ack, TS_FWD);
			/* reverse: to the sender, acknowledging the whole segment */
			check_sent_back(c, dir, flag, s.ack, s.seq + (uint32_t)s.n, TS_REV);

			assert_true(h_flow(h, &c->flow, &f));
			assert_true(f.flags & WF_FLOW_KILLED);
			conn_free(c);
		}
		assert_int_equal(h_counter(h, a ? WF_CNT_VERDICT_RESET : WF_CNT_VERDICT_KILL), 2);
	}
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_DROP), 0);
	assert_int_equal(h_counter(h, WF_CNT_INJECT_FAILED), 0);
	pgw_free(&b);
}

static void test_kill_reset_ipv4(void **state)
{
	kill_reset(*state, 4);
}

static void test_kill_reset_ipv6(void **state)
{
	kill_reset(*state, 6);
}

/* ---- TCP options other than Linux's NOP, NOP, timestamps ---------------------------------- */

static void options(struct wf_harness *h, int family)
{
	/* NOP, NOP, TS, NOP, NOP, SACK (one block): the TS is kept, the rest dropped */
	static const uint8_t ts_then_sack[24] = {
		1, 1, 8, 10, 0xa1, 0xb2, 0xc3, 0xd4, 0x0a, 0x0b, 0x0c, 0x0d,
		1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2,
	};
	/* NOP, NOP, SACK, NOP, NOP, TS: TS at offset 12, not found: no options */
	static const uint8_t sack_then_ts[24] = {
		1, 1, 5, 10, 0, 0, 0, 1, 0, 0, 0, 2,
		1, 1, 8, 10, 0xa1, 0xb2, 0xc3, 0xd4, 0x0a, 0x0b, 0x0c, 0x0d,
	};
	/* TS without the two NOPs first (then padded with NOPs): no options */
	static const uint8_t ts_no_nops[10] = { 8, 10, 0xa1, 0xb2, 0xc3, 0xd4, 0x0a, 0x0b, 0x0c, 0x0d };
	static const struct {
		const uint8_t *opt;
		size_t len;
		enum ts_want fwd, rev;
		bool reset;
	} cases[] = {
		{ NULL, 0, TS_NONE, TS_NONE, false },
		{ ts_then_sack, sizeof(ts_then_sack), TS_FWD, TS_REV, false },
		{ sack_then_ts, sizeof(sack_then_ts), TS_NONE, TS_NONE, false },
		{ ts_no_nops, sizeof(ts_no_nops), TS_NONE, TS_NONE, false },
		{ NULL, 0, TS_NONE, TS_NONE, true },
		{ ts_then_sack, sizeof(ts_then_sack), TS_FWD, TS_REV, true },
	};
	uint16_t port = family == 6 ? 43300 : 43200;
	struct pg_wire b = { 0 };
	size_t ncases = sizeof(cases) / sizeof(cases[0]);

	pgw_query(&b, "SELECT 42");
	for (size_t i = 0; i < ncases; i++) {
		struct tconn *c = conn_login(h, family, (uint16_t)(port + i));
		uint8_t flag = cases[i].reset ? RST_ACK : FIN_ACK;
		struct seg s;

		h_pipeline(h, cases[i].reset ? "conn.onQuery(query=\"42\").reset()"
					     : "conn.onQuery(query=\"42\").kill()");
		tap_drain();
		seg_opts(c, C2S, c->next[C2S], PSH_ACK, cases[i].opt, cases[i].len, b.data, b.len, 0,
			 &s);
		assert_int_equal(s.rv, TCX_NEXT_RETVAL);
		check_ctl(c, s.out, s.out_len, C2S, flag, s.seq, s.ack, cases[i].fwd);
		check_sent_back(c, C2S, flag, s.ack, s.seq + (uint32_t)s.n, cases[i].rev);
		conn_free(c);
	}

	/* data and FIN in one segment: the sender's FIN is acknowledged too */
	{
		struct tconn *c = conn_login(h, family, (uint16_t)(port + ncases));
		struct seg s;

		h_pipeline(h, "conn.onQuery(query=\"42\").kill()");
		tap_drain();
		seg(c, C2S, c->next[C2S], PSH_ACK | PB_TCP_FIN, b.data, b.len, &s);
		assert_int_equal(s.rv, TCX_NEXT_RETVAL);
		check_ctl(c, s.out, s.out_len, C2S, FIN_ACK, s.seq, s.ack, TS_FWD);
		check_sent_back(c, C2S, FIN_ACK, s.ack, s.seq + (uint32_t)s.n + 1, TS_REV);
		conn_free(c);
	}
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 5);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_RESET), 2);
	pgw_free(&b);
}

static void test_options_ipv4(void **state)
{
	options(*state, 4);
}

static void test_options_ipv6(void **state)
{
	options(*state, 6);
}

/*
 * A layout the control segments are not built for (IPv4 with options): the
 * chunk is dropped rather than delivered, the connection is killed, the
 * failure counted.
 */
static void test_kill_ipv4_options_fails_closed(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 4, 43400);
	struct pg_wire b = { 0 };
	struct pb_seg ps;
	uint8_t frame[PB_FRAME_MAX], ipo[PB_FRAME_MAX], out[PB_FRAME_MAX], hdr[24];
	size_t n, got;
	uint32_t zero_key = WF_CNT_INJECT_FAILED;
	int ncpus = libbpf_num_possible_cpus();
	uint64_t *zeros;

	h_pipeline(h, "conn.onQuery(query=\"42\").kill()");
	pgw_query(&b, "SELECT 42");
	ps = (struct pb_seg){ .flow = &c->flow, .flags = PSH_ACK, .seq = c->next[C2S],
			      .ack = c->next[S2C], .options = ts_opts,
			      .options_len = sizeof(ts_opts), .payload = b.data, .len = b.len };
	n = pb_build(&ps, frame, sizeof(frame));
	assert_true(n > 0);
	/* insert four NOP options after the IPv4 header: IHL 6 */
	memcpy(ipo, frame, ETH_HLEN_ + 20);
	memset(ipo + ETH_HLEN_ + 20, 1, 4);
	memcpy(ipo + ETH_HLEN_ + 24, frame + ETH_HLEN_ + 20, n - ETH_HLEN_ - 20);
	ipo[ETH_HLEN_] = 0x46;
	wf_put_be16(ipo + ETH_HLEN_ + 2, (uint16_t)(n + 4 - ETH_HLEN_));
	memcpy(hdr, ipo + ETH_HLEN_, 24);
	hdr[10] = hdr[11] = 0;
	wf_put_be16(ipo + ETH_HLEN_ + 10, rfc1071(hdr, 24));

	tap_drain();
	assert_int_equal(run_frame(h, ipo, n + 4, 0, out, &got), TCX_DROP_RETVAL);
	assert_int_equal(h_counter(h, WF_CNT_INJECT_FAILED), 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	assert_true(tc_flow(c).flags & WF_FLOW_KILLED);
	check_nothing_sent(c);

	/* the harness's invariant: INJECT_FAILED is 0 after a test */
	zeros = calloc((size_t)ncpus, sizeof(*zeros));
	assert_non_null(zeros);
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(h->skel->maps.counters), &zero_key, zeros,
					     BPF_ANY), 0);
	free(zeros);
	pgw_free(&b);
	conn_free(c);
}

/* ---- 2. a killed connection ------------------------------------------------------------------ */

static void killed_flow(struct wf_harness *h, int family)
{
	struct tconn *c = conn_login(h, family, family == 6 ? 43510 : 43500);
	struct pg_wire b = { 0 };
	uint64_t chunks;
	struct seg s;

	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").kill()");
	pgw_query(&b, "SELECT 42");
	tap_drain();
	send_wire(c, C2S, &b, &s);
	check_ctl(c, s.out, s.out_len, C2S, FIN_ACK, s.seq, s.ack, TS_FWD);
	check_sent_back(c, C2S, FIN_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	chunks = h_counter(h, WF_CNT_PIPE_CHUNKS);

	/* the client's next Query: dropped, answered with a RST to the client */
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1");
	tap_drain();
	send_wire(c, C2S, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_sent_back(c, C2S, RST_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 1);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_DROP), 1);

	/* bare ACKs, either way: dropped quietly */
	tap_drain();
	seg(c, C2S, c->next[C2S], PB_TCP_ACK, NULL, 0, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	seg(c, S2C, c->next[S2C], PB_TCP_ACK, NULL, 0, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_nothing_sent(c);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 3);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 1);

	/* server data: dropped, RST to the server */
	pgw_reset(&b);
	pgw_ready_for_query(&b, 'I');
	tap_drain();
	send_wire(c, S2C, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_sent_back(c, S2C, RST_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);

	/* a FIN without data: dropped, RST acknowledging the FIN */
	tap_drain();
	seg(c, C2S, c->next[C2S], FIN_ACK, NULL, 0, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_sent_back(c, C2S, RST_ACK, s.ack, s.seq + 1, TS_REV);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 3);

	/* a RST: dropped, never answered */
	tap_drain();
	seg(c, S2C, c->next[S2C], RST_ACK, NULL, 0, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_nothing_sent(c);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 6);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 3);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_DROP), 6);
	/* nothing of it reached the pipeline */
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), chunks);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	conn_free(c);

	/* a connection reset() is treated the same way */
	c = conn_login(h, family, family == 6 ? 43511 : 43501);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 42\").reset()");
	pgw_reset(&b);
	pgw_query(&b, "SELECT 42");
	tap_drain();
	send_wire(c, C2S, &b, &s);
	check_ctl(c, s.out, s.out_len, C2S, RST_ACK, s.seq, s.ack, TS_FWD);
	check_sent_back(c, C2S, RST_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	pgw_reset(&b);
	pgw_query(&b, "SELECT 1");
	send_wire(c, C2S, &b, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	check_sent_back(c, C2S, RST_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_RESETS), 4);
	pgw_free(&b);
	conn_free(c);
}

static void test_killed_flow_ipv4(void **state)
{
	killed_flow(*state, 4);
}

static void test_killed_flow_ipv6(void **state)
{
	killed_flow(*state, 6);
}

/* ---- 3. holds: cancel(pid) ------------------------------------------------------------------ */

static void cancel_hold(struct wf_harness *h, int family)
{
	struct tconn *c = conn_login(h, family, family == 6 ? 43610 : 43600);
	struct pg_wire q = { 0 }, q2 = { 0 }, q3 = { 0 }, b = { 0 };
	struct holds_map m;
	struct wf_flow f;
	struct evs e;
	struct seg s, held, s2;
	uint32_t g, q2_seq;
	uint64_t t0, t1, chunks, release;
	struct wf_hold *hd;

	holds_mmap(h, &m);
	ev_open(&e, h);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT pg_sleep\").cancel(4242)");
	g = pipe_gen(h);
	pass_query(c, "SELECT 1");
	assert_int_equal(ev_count(&e), 0);

	/* the Query: held, what goes on is a bare ACK at its seq */
	pgw_query(&q, "SELECT pg_sleep(10)");
	t0 = now_ns();
	send_wire(c, C2S, &q, &held);
	t1 = now_ns();
	assert_int_equal(held.rv, TCX_NEXT_RETVAL);
	check_ctl(c, held.out, held.out_len, C2S, PB_TCP_ACK, held.seq, held.ack, TS_FWD);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_HOLD), 1);
	assert_int_equal(h_counter(h, WF_CNT_HOLD_NO_SLOT), 0);
	assert_int_equal(h_counter(h, WF_CNT_HOLD_HEADERS_ONLY), 0);

	/* slot 0: the frame as it arrived, and what the loader needs */
	check_hold(h, 0, c, C2S, &held, WF_PIPE_A_CANCEL, 4242, 0, g, t0, t1);
	for (uint32_t i = 1; i < WF_HOLD_SLOTS; i++)
		assert_int_equal(hold_state(h, i), WF_HOLD_FREE);
	/* the mmap shows the same slot */
	assert_int_equal(__atomic_load_n(&m.slot[0].state, __ATOMIC_ACQUIRE), WF_HOLD_HELD);
	assert_int_equal(m.slot[0].seq, held.seq);
	f = tc_flow(c);
	assert_int_equal(f.hold_slot[C2S], 1);
	assert_int_equal(f.hold_gen[C2S], 0);
	assert_int_equal(f.hold_slot[S2C], 0);
	assert_false(f.flags & WF_FLOW_KILLED);

	/* one event for the loader */
	assert_int_equal(ev_count(&e), 1);
	check_hold_event(&e.ev[0], c, 0, 0, WF_PIPE_A_CANCEL, 4242, g);
	assert_true(e.ev[0].ns >= t0 && e.ev[0].ns <= t1);

	/* the client retransmits it: a bare ACK at the held seq again */
	seg(c, C2S, held.seq, PSH_ACK, q.data, q.len, &s);
	assert_int_equal(s.rv, TCX_NEXT_RETVAL);
	check_ctl(c, s.out, s.out_len, C2S, PB_TCP_ACK, held.seq, s.ack, TS_FWD);
	assert_int_equal(h_counter(h, WF_CNT_HOLD_SEGMENTS_CUT), 1);

	/* bytes behind it: cut the same way, at the held seq, not their own */
	pgw_query(&q2, "SELECT 2");
	q2_seq = c->next[C2S];
	send_wire(c, C2S, &q2, &s2);
	assert_int_equal(s2.rv, TCX_NEXT_RETVAL);
	check_ctl(c, s2.out, s2.out_len, C2S, PB_TCP_ACK, held.seq, s2.ack, TS_FWD);
	/* and a FIN: its FIN is cut off too */
	seg(c, C2S, c->next[C2S], FIN_ACK, NULL, 0, &s);
	assert_int_equal(s.rv, TCX_NEXT_RETVAL);
	check_ctl(c, s.out, s.out_len, C2S, PB_TCP_ACK, held.seq, s.ack, TS_FWD);
	assert_int_equal(h_counter(h, WF_CNT_HOLD_SEGMENTS_CUT), 3);

	/* a bare ACK of the held direction: untouched */
	seg(c, C2S, held.seq, PB_TCP_ACK, NULL, 0, &s);
	assert_untouched(&s);
	/* the server's segments: evaluated, then held behind the port's stall
	 * until the cancel's 100 ms are over (fluent.py sleeps them away) */
	chunks = h_counter(h, WF_CNT_PIPE_CHUNKS);
	pgw_parameter_status(&b, "application_name", "x");
	send_wire(c, S2C, &b, &s);
	check_ctl(c, s.out, s.out_len, S2C, PB_TCP_ACK, s.seq, s.ack, TS_FWD);
	check_hold(h, 1, c, S2C, &s, WF_PIPE_A_STALL, 0, 0, g, 0, UINT64_MAX);
	hd = hold_get(h, 0);
	release = hd->release_ns;
	assert_true(release == hd->held_ns + WF_CANCEL_HOLD_MS * 1000000ull);
	free(hd);
	hd = hold_get(h, 1);
	assert_true(hd->release_ns == release);
	free(hd);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), chunks + 1);
	assert_int_equal(h_counter(h, WF_CNT_STALL_HOLDS), 1);
	assert_int_equal(h_counter(h, WF_CNT_HOLD_SEGMENTS_CUT), 3);

	/* the loader's re-injected copy (marked): passes, the hold stands */
	hd = hold_get(h, 0);
	assert_int_equal(run_frame(h, hd->frame, hd->frame_len, WF_OWN_MARK, s.out, &s.out_len),
			 TCX_NEXT_RETVAL);
	assert_int_equal(s.out_len, hd->frame_len);
	assert_memory_equal(s.out, hd->frame, hd->frame_len);
	free(hd);
	assert_int_equal(h_counter(h, WF_CNT_OWN_PACKETS), 1);
	assert_int_equal(tc_flow(c).hold_slot[C2S], 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_HOLD), 2);
	assert_int_equal(ev_count(&e), 2);
	check_hold_event(&e.ev[1], c, 1, 0, WF_PIPE_A_STALL, 0, g);

	/* released (gen 1, FREE) when the stall is over: the retransmitted
	 * bytes behind it pass, framed */
	hold_free(&m, 0);
	hold_free(&m, 1);
	while (now_ns() <= release)
		usleep(5000);
	chunks = h_counter(h, WF_CNT_PIPE_CHUNKS);
	seg(c, C2S, q2_seq, PSH_ACK, q2.data, q2.len, &s);
	assert_untouched(&s);
	assert_int_equal(tc_flow(c).hold_slot[C2S], 0);
	assert_int_equal(h_counter(h, WF_CNT_PIPE_CHUNKS), chunks + 1);
	assert_int_equal(h_counter(h, WF_CNT_HOLD_SEGMENTS_CUT), 3);
	pass_query(c, "SELECT 3");

	/* the next matching Query is held again: slot 0, generation 1 */
	pgw_query(&q3, "SELECT pg_sleep(1)");
	t0 = now_ns();
	send_wire(c, C2S, &q3, &s);
	t1 = now_ns();
	check_ctl(c, s.out, s.out_len, C2S, PB_TCP_ACK, s.seq, s.ack, TS_FWD);
	check_hold(h, 0, c, C2S, &s, WF_PIPE_A_CANCEL, 4242, 1, g, t0, t1);
	f = tc_flow(c);
	assert_int_equal(f.hold_slot[C2S], 1);
	assert_int_equal(f.hold_gen[C2S], 1);
	assert_int_equal(ev_count(&e), 3);
	check_hold_event(&e.ev[2], c, 0, 1, WF_PIPE_A_CANCEL, 4242, g);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_HOLD), 3);
	hold_free(&m, 0);

	assert_int_equal(h_counter(h, WF_CNT_VERDICT_DROP), 0);
	ev_close(&e);
	holds_munmap(&m);
	pgw_free(&q);
	pgw_free(&q2);
	pgw_free(&q3);
	pgw_free(&b);
	conn_free(c);
}

static void test_cancel_hold_ipv4(void **state)
{
	cancel_hold(*state, 4);
}

static void test_cancel_hold_ipv6(void **state)
{
	cancel_hold(*state, 6);
}

/* A server chunk held: the server's direction is cut; the client's next Query waits for the
 * port's stall, in a hold of its own. */
static void test_cancel_hold_server_side(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c = conn_login(h, 6, 43620);
	struct pg_wire b = { 0 };
	struct holds_map m;
	struct seg held, s;
	struct evs e;
	uint64_t t0, t1;

	holds_mmap(h, &m);
	ev_open(&e, h);
	h_pipeline(h, "conn.onCommandComplete(command=\"^SELECT\").cancel(77)");
	pass_query(c, "SELECT 1");
	select_response(&b, "SELECT 1");
	t0 = now_ns();
	send_wire(c, S2C, &b, &held);
	t1 = now_ns();
	check_ctl(c, held.out, held.out_len, S2C, PB_TCP_ACK, held.seq, held.ack, TS_FWD);
	check_hold(h, 0, c, S2C, &held, WF_PIPE_A_CANCEL, 77, 0, pipe_gen(h), t0, t1);
	assert_int_equal(tc_flow(c).hold_slot[S2C], 1);
	assert_int_equal(tc_flow(c).hold_slot[C2S], 0);
	assert_int_equal(ev_count(&e), 1);
	check_hold_event(&e.ev[0], c, 0, 0, WF_PIPE_A_CANCEL, 77, pipe_gen(h));
	/* the client's next Query waits behind the port's stall */
	pgw_reset(&b);
	pgw_query(&b, "SELECT 2");
	send_wire(c, C2S, &b, &s);
	check_hold(h, 1, c, C2S, &s, WF_PIPE_A_STALL, 0, 0, pipe_gen(h), 0, UINT64_MAX);
	assert_int_equal(tc_flow(c).hold_slot[C2S], 2);
	pgw_reset(&b);
	pgw_ready_for_query(&b, 'I');
	send_wire(c, S2C, &b, &s);
	check_ctl(c, s.out, s.out_len, S2C, PB_TCP_ACK, held.seq, s.ack, TS_FWD);
	hold_free(&m, 0);
	hold_free(&m, 1);
	usleep((WF_CANCEL_HOLD_MS + 10) * 1000);
	seg(c, S2C, s.seq, PSH_ACK, b.data, b.len, &s);
	assert_untouched(&s);
	ev_close(&e);
	holds_munmap(&m);
	pgw_free(&b);
	conn_free(c);
}

/* ---- connect_delay(ms): the initial chunk, and its port's stall ----------------------------- */

#define CD_MS		300	/* as in the commands below */
#define CD_NS		(CD_MS * 1000000ull)
#define OTHER_PORT	5433

/*
 * connect_delay(300) holds a connection's initial chunk 300 ms, and stalls
 * the port as fluent.py's sleep stalls its proxy (include/wf_hold.h): a
 * second connection's initial chunk is released 300 ms after the first's,
 * and any chunk of the port that would pass meanwhile, of any connection,
 * either way, is held until the stall ends (action STALL), even under the
 * next pipeline.  Another followed port is not stalled; once the stall is
 * over, chunks pass again.
 */
static void connect_delay(struct wf_harness *h, int family)
{
	static const uint16_t ports[2] = { TEST_PORT, OTHER_PORT };
	uint16_t port = family == 6 ? 43710 : 43700;
	struct tconn *c = conn_new(h, family, port), *d = conn_new(h, family, (uint16_t)(port + 1));
	struct tconn *idle, *other, *late;
	struct pg_wire st = { 0 }, burst = { 0 }, q = { 0 };
	struct wf_hold *hd;
	struct holds_map m;
	struct evs e;
	struct seg held;
	uint64_t t0, t1, end_c, end_d;
	uint32_t g, g2;

	h_set_config_ports(h, ports, 2, 0);
	idle = conn_login(h, family, (uint16_t)(port + 2));
	other = conn_new(h, family, (uint16_t)(port + 3));
	other->flow.server_port = OTHER_PORT;
	tc_login(other);
	holds_mmap(h, &m);
	ev_open(&e, h);
	h_pipeline(h, "conn.connect_delay(300)");
	g = pipe_gen(h);
	pgw_startup(&st, "postgres", "regression");
	pgw_login_burst(&burst);
	pgw_query(&q, "SELECT 1");

	/* the handshake carries no chunk */
	tc_handshake(c);
	/* the StartupMessage, the connection's initial chunk: held 300 ms */
	t0 = now_ns();
	send_wire(c, C2S, &st, &held);
	t1 = now_ns();
	assert_int_equal(held.rv, TCX_NEXT_RETVAL);
	check_ctl(c, held.out, held.out_len, C2S, PB_TCP_ACK, held.seq, held.ack, TS_FWD);
	check_hold(h, 0, c, C2S, &held, WF_PIPE_A_CONNECT_DELAY, CD_MS, 0, g, t0, t1);
	hd = hold_get(h, 0);
	end_c = hd->release_ns;
	assert_true(end_c == hd->held_ns + CD_NS);
	free(hd);
	assert_int_equal(ev_count(&e), 1);
	check_hold_event(&e.ev[0], c, 0, 0, WF_PIPE_A_CONNECT_DELAY, CD_MS, g);

	/* a second connection's initial chunk: its 300 ms start when the first's end */
	tc_handshake(d);
	t0 = now_ns();
	send_wire(d, C2S, &st, &held);
	t1 = now_ns();
	check_ctl(d, held.out, held.out_len, C2S, PB_TCP_ACK, held.seq, held.ack, TS_FWD);
	check_hold(h, 1, d, C2S, &held, WF_PIPE_A_CONNECT_DELAY, CD_MS, 0, g, t0, t1);
	hd = hold_get(h, 1);
	end_d = hd->release_ns;
	assert_true(end_d == end_c + CD_NS);
	free(hd);
	assert_int_equal(ev_count(&e), 2);
	check_hold_event(&e.ev[1], d, 1, 0, WF_PIPE_A_CONNECT_DELAY, CD_MS, g);

	/* the next pipeline is in force, the stall still lasts: a logged-in
	 * connection's query waits for its end, and so does the server's
	 * answer of the first connection (its client side is held already) */
	h_pipeline(h, "conn.allow()");
	g2 = pipe_gen(h);
	t0 = now_ns();
	send_wire(idle, C2S, &q, &held);
	t1 = now_ns();
	check_ctl(idle, held.out, held.out_len, C2S, PB_TCP_ACK, held.seq, held.ack, TS_FWD);
	check_hold(h, 2, idle, C2S, &held, WF_PIPE_A_STALL, 0, 0, g2, t0, t1);
	hd = hold_get(h, 2);
	assert_true(hd->release_ns == end_d);
	free(hd);
	assert_int_equal(ev_count(&e), 3);
	check_hold_event(&e.ev[2], idle, 2, 0, WF_PIPE_A_STALL, 0, g2);
	send_wire(c, S2C, &burst, &held);
	check_hold(h, 3, c, S2C, &held, WF_PIPE_A_STALL, 0, 0, g2, 0, UINT64_MAX);
	assert_int_equal(h_counter(h, WF_CNT_STALL_HOLDS), 2);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_HOLD), 4);

	/* another followed port is not stalled */
	pass_query(other, "SELECT 2");

	/* the loader releases them at the stall's end; from then on chunks pass */
	for (uint32_t i = 0; i < 4; i++)
		hold_free(&m, i);
	while (now_ns() < end_d + 1000000)
		usleep(10000);
	pass_query(idle, "SELECT 3");
	pass_query(other, "SELECT 4");
	assert_int_equal(h_counter(h, WF_CNT_STALL_HOLDS), 2);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_HOLD), 4);
	assert_int_equal(ev_count(&e), 4);

	/* connect_delay() again after the stall: counted from the chunk's arrival */
	h_pipeline(h, "conn.connect_delay(300)");
	late = conn_new(h, family, (uint16_t)(port + 4));
	tc_handshake(late);
	send_wire(late, C2S, &st, &held);
	hd = hold_get(h, 0);
	assert_int_equal(hd->action, WF_PIPE_A_CONNECT_DELAY);
	assert_true(hd->release_ns == hd->held_ns + CD_NS);
	free(hd);
	hold_free(&m, 0);

	ev_close(&e);
	holds_munmap(&m);
	pgw_free(&st);
	pgw_free(&burst);
	pgw_free(&q);
	conn_free(c);
	conn_free(d);
	conn_free(idle);
	conn_free(other);
	conn_free(late);
}

static void test_connect_delay_ipv4(void **state)
{
	connect_delay(*state, 4);
}

static void test_connect_delay_ipv6(void **state)
{
	connect_delay(*state, 6);
}

/* ---- every slot busy, and a slot reused by another connection ------------------------------- */

#define NCONN (WF_HOLD_SLOTS + 1)

static void test_hold_slots(void **state)
{
	struct wf_harness *h = *state;
	struct tconn *c[NCONN];
	struct pg_wire q = { 0 };
	struct holds_map m;
	struct evs e;
	struct seg s;
	uint32_t g;

	holds_mmap(h, &m);
	ev_open(&e, h);
	for (int i = 0; i < NCONN; i++)
		c[i] = conn_login(h, i & 1 ? 6 : 4, (uint16_t)(43800 + i));
	h_pipeline(h, "conn.onQuery(query=\"pg_sleep\").cancel(4242)");
	g = pipe_gen(h);
	pgw_query(&q, "SELECT pg_sleep(5)");

	/* 16 holds at once, each in its own slot */
	for (int i = 0; i < WF_HOLD_SLOTS; i++) {
		struct wf_hold *hd;

		send_wire(c[i], C2S, &q, &s);
		check_ctl(c[i], s.out, s.out_len, C2S, PB_TCP_ACK, s.seq, s.ack, TS_FWD);
		hd = hold_get(h, (uint32_t)i);
		assert_int_equal(hd->state, WF_HOLD_HELD);
		assert_key(&hd->key, c[i]);
		free(hd);
		assert_int_equal(tc_flow(c[i]).hold_slot[C2S], i + 1);
	}
	/* the 17th: passed at once, counted; the loader still hears of it (to signal) */
	send_wire(c[WF_HOLD_SLOTS], C2S, &q, &s);
	assert_untouched(&s);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_HOLD), WF_HOLD_SLOTS);
	assert_int_equal(h_counter(h, WF_CNT_HOLD_NO_SLOT), 1);
	assert_int_equal(tc_flow(c[WF_HOLD_SLOTS]).hold_slot[C2S], 0);
	assert_int_equal(ev_count(&e), NCONN);
	for (int i = 0; i < WF_HOLD_SLOTS; i++)
		check_hold_event(&e.ev[i], c[i], (uint32_t)i, 0, WF_PIPE_A_CANCEL, 4242, g);
	check_hold_event(&e.ev[WF_HOLD_SLOTS], c[WF_HOLD_SLOTS], WF_HOLD_SLOTS, 0, WF_PIPE_A_CANCEL,
			 4242, g);
	/* its direction is not held: its next segment passes */
	pass_query(c[WF_HOLD_SLOTS], "SELECT 1");

	/*
	 * Slot 3 freed (generation 1) and taken by connection 16: connection
	 * 3's hold is over (its slot's generation moved on), 16's stands.
	 */
	hold_free(&m, 3);
	send_wire(c[WF_HOLD_SLOTS], C2S, &q, &s);
	check_ctl(c[WF_HOLD_SLOTS], s.out, s.out_len, C2S, PB_TCP_ACK, s.seq, s.ack, TS_FWD);
	{
		struct wf_hold *hd = hold_get(h, 3);

		assert_int_equal(hd->state, WF_HOLD_HELD);
		assert_int_equal(hd->gen, 1);
		assert_key(&hd->key, c[WF_HOLD_SLOTS]);
		free(hd);
	}
	assert_int_equal(tc_flow(c[WF_HOLD_SLOTS]).hold_slot[C2S], 4);
	assert_int_equal(tc_flow(c[WF_HOLD_SLOTS]).hold_gen[C2S], 1);
	pass_query(c[3], "SELECT 1");
	assert_int_equal(tc_flow(c[3]).hold_slot[C2S], 0);
	{
		struct pg_wire one = { 0 };

		pgw_query(&one, "SELECT 1");
		send_wire(c[WF_HOLD_SLOTS], C2S, &one, &s);
		check_ctl(c[WF_HOLD_SLOTS], s.out, s.out_len, C2S, PB_TCP_ACK,
			  s.seq - (uint32_t)q.len, s.ack, TS_FWD);
		pgw_free(&one);
	}
	/* connection 4 is still held by its own slot */
	send_wire(c[4], C2S, &q, &s);
	check_ctl(c[4], s.out, s.out_len, C2S, PB_TCP_ACK, s.seq - (uint32_t)q.len, s.ack, TS_FWD);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_HOLD), WF_HOLD_SLOTS + 1);
	assert_int_equal(ev_count(&e), NCONN + 1);

	ev_close(&e);
	holds_munmap(&m);
	pgw_free(&q);
	for (int i = 0; i < NCONN; i++)
		conn_free(c[i]);
}

/* ---- 4. killall() ----------------------------------------------------------------------------- */

static void killall(struct wf_harness *h, int family)
{
	uint16_t port = family == 6 ? 43910 : 43900;
	struct tconn *a = conn_login(h, family, port), *b = conn_login(h, family, (uint16_t)(port + 1));
	struct tconn *c = conn_login(h, family, (uint16_t)(port + 2));
	struct tconn *d = conn_login(h, family, (uint16_t)(port + 3));
	struct tconn *n = conn_new(h, family, (uint16_t)(port + 4));
	struct pg_wire q = { 0 }, st = { 0 };
	struct evs e;
	struct seg s;
	uint32_t g, g2;

	ev_open(&e, h);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 1$\").killall()");
	g = pipe_gen(h);
	assert_int_not_equal(pipe_cur(h).killall_gen, g);
	/* not in force before it fires */
	pass_query(b, "SELECT 2");
	pass_query(a, "SELECT 2");

	/* a: the matching chunk, killed (the FIN pair); killall is in force */
	pgw_query(&q, "SELECT 1");
	tap_drain();
	send_wire(a, C2S, &q, &s);
	check_ctl(a, s.out, s.out_len, C2S, FIN_ACK, s.seq, s.ack, TS_FWD);
	check_sent_back(a, C2S, FIN_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	assert_int_equal(pipe_cur(h).killall_gen, g);
	assert_int_equal(ev_count(&e), 1);
	assert_int_equal(e.ev[0].kind, WF_EVENT_KILLALL);
	assert_int_equal(e.ev[0].slot, 0);
	assert_int_equal(e.ev[0].gen, 0);
	assert_int_equal(e.ev[0].action_arg, 0);
	assert_int_equal(e.ev[0].pipe_gen, g);
	assert_int_equal(e.ev[0].action, WF_PIPE_A_KILLALL);
	assert_key(&e.ev[0].key, a);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 1);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);

	/* b: any data now, even a chunk the pipeline would not match */
	pgw_reset(&q);
	pgw_query(&q, "SELECT 2");
	tap_drain();
	send_wire(b, C2S, &q, &s);
	check_ctl(b, s.out, s.out_len, C2S, FIN_ACK, s.seq, s.ack, TS_FWD);
	check_sent_back(b, C2S, FIN_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	assert_true(tc_flow(b).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 2);

	/* c: a bare ACK from the server (the answer to the loader's probe):
	 * the FIN pair, at the sequence numbers it carries */
	tap_drain();
	seg(c, S2C, c->next[S2C], PB_TCP_ACK, NULL, 0, &s);
	check_ctl(c, s.out, s.out_len, S2C, FIN_ACK, s.seq, s.ack, TS_FWD);
	check_sent_back(c, S2C, FIN_ACK, s.ack, s.seq, TS_REV);
	assert_true(tc_flow(c).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 3);

	/* d: the client's bare ACK passes; so does a new connection's handshake */
	seg(d, C2S, d->next[C2S], PB_TCP_ACK, NULL, 0, &s);
	assert_untouched(&s);
	assert_false(tc_flow(d).flags & WF_FLOW_KILLED);
	seg_opts(n, C2S, n->isn[C2S], PB_TCP_SYN, NULL, 0, NULL, 0, 0, &s);
	assert_untouched(&s);
	seg_opts(n, S2C, n->isn[S2C], PB_TCP_SYN | PB_TCP_ACK, NULL, 0, NULL, 0, 0, &s);
	assert_untouched(&s);
	seg(n, C2S, n->next[C2S], PB_TCP_ACK, NULL, 0, &s);
	assert_untouched(&s);
	assert_false(tc_flow(n).flags & WF_FLOW_KILLED);
	/* ... and its first chunk is killed */
	pgw_startup(&st, "postgres", "regression");
	tap_drain();
	send_wire(n, C2S, &st, &s);
	check_ctl(n, s.out, s.out_len, C2S, FIN_ACK, s.seq, s.ack, TS_FWD);
	check_sent_back(n, C2S, FIN_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 4);
	/* one event only */
	assert_int_equal(ev_count(&e), 1);

	/* 5. the program's own packets pass untouched, even now */
	{
		uint64_t own = h_counter(h, WF_CNT_OWN_PACKETS);

		pgw_reset(&q);
		pgw_query(&q, "SELECT 3");
		seg_opts(d, C2S, d->next[C2S], PSH_ACK, ts_opts, sizeof(ts_opts), q.data, q.len,
			 WF_OWN_MARK, &s);
		assert_untouched(&s);
		seg_opts(d, S2C, d->next[S2C], PB_TCP_ACK, ts_opts, sizeof(ts_opts), NULL, 0,
			 WF_OWN_MARK, &s);
		assert_untouched(&s);
		seg_opts(d, S2C, d->next[S2C], FIN_ACK, ts_opts, sizeof(ts_opts), NULL, 0,
			 WF_OWN_MARK, &s);
		assert_untouched(&s);
		/* of a killed connection too: not dropped */
		seg_opts(a, C2S, a->next[C2S], PSH_ACK, ts_opts, sizeof(ts_opts), q.data, q.len,
			 WF_OWN_MARK, &s);
		assert_untouched(&s);
		assert_int_equal(h_counter(h, WF_CNT_OWN_PACKETS), own + 4);
		assert_false(tc_flow(d).flags & WF_FLOW_KILLED);
		assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 4);
		assert_int_equal(h_counter(h, WF_CNT_KILLED_FLOW_DROPS), 0);
		/* nothing about it was even looked at */
		assert_int_equal(tc_flow(d).dir[C2S].next_seq, d->next[C2S]);
	}

	/* a new command (a new generation) ends it */
	h_pipeline(h, "conn.allow()");
	assert_int_equal(pipe_cur(h).killall_gen, g);	/* left as it was, no longer current */
	pass_query(d, "SELECT 1");
	seg(d, S2C, d->next[S2C], PB_TCP_ACK, NULL, 0, &s);
	assert_untouched(&s);
	pgw_reset(&q);
	select_response(&q, "SELECT 1");
	pass_wire(d, S2C, &q);
	assert_false(tc_flow(d).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 4);

	/* the same killall() again: a new generation, in force once it fires again */
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 1$\").killall()");
	g2 = pipe_gen(h);
	assert_int_not_equal(g2, g);
	seg(d, S2C, d->next[S2C], PB_TCP_ACK, NULL, 0, &s);
	assert_untouched(&s);
	pass_query(d, "SELECT 2");
	pgw_reset(&q);
	pgw_query(&q, "SELECT 1");
	tap_drain();
	send_wire(d, C2S, &q, &s);
	check_ctl(d, s.out, s.out_len, C2S, FIN_ACK, s.seq, s.ack, TS_FWD);
	check_sent_back(d, C2S, FIN_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	assert_int_equal(pipe_cur(h).killall_gen, g2);
	assert_int_equal(ev_count(&e), 2);
	assert_int_equal(e.ev[1].kind, WF_EVENT_KILLALL);
	assert_int_equal(e.ev[1].pipe_gen, g2);
	assert_key(&e.ev[1].key, d);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 5);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 5);

	ev_close(&e);
	pgw_free(&q);
	pgw_free(&st);
	conn_free(a);
	conn_free(b);
	conn_free(c);
	conn_free(d);
	conn_free(n);
}

static void test_killall_ipv4(void **state)
{
	killall(*state, 4);
}

static void test_killall_ipv6(void **state)
{
	killall(*state, 6);
}

/*
 * killall() and a segment that brings no new byte (a spurious retransmission
 * of a segment that is not the sender's last): the FIN toward the receiver
 * goes at the end of what the sender has sent (the receiver has all of it),
 * not at the end of the retransmitted bytes, which the receiver would take
 * for an old duplicate and ignore.  The same for a server keepalive.
 */
static void killall_retransmission(struct wf_harness *h, int family)
{
	uint16_t port = family == 6 ? 43960 : 43950;
	struct tconn *a = conn_login(h, family, port), *d = conn_login(h, family, (uint16_t)(port + 1));
	struct tconn *e = conn_login(h, family, (uint16_t)(port + 2));
	struct pg_wire x = { 0 }, y = { 0 }, q = { 0 };
	struct seg sx, sy, s;

	h_pipeline(h, "conn.onQuery(query=\"^SELECT 1$\").killall()");
	pgw_query(&x, "SELECT 'x'");
	pgw_query(&y, "SELECT 'y'");
	send_wire(d, C2S, &x, &sx);
	assert_untouched(&sx);
	send_wire(d, C2S, &y, &sy);
	assert_untouched(&sy);
	pgw_query(&q, "SELECT 1");
	send_wire(a, C2S, &q, &s);
	check_ctl(a, s.out, s.out_len, C2S, FIN_ACK, s.seq, s.ack, TS_FWD);
	assert_int_equal(pipe_cur(h).killall_gen, pipe_gen(h));

	/* d retransmits x: killed, the FIN at the end of y; back to d, the ack is
	 * the end of x (older than d's snd_una: an old ACK, accepted) */
	tap_drain();
	seg(d, C2S, sx.seq, PSH_ACK, x.data, x.len, &s);
	assert_int_equal(h_counter(h, WF_CNT_RETRANSMITS), 1);
	check_ctl(d, s.out, s.out_len, C2S, FIN_ACK, d->next[C2S], s.ack, TS_FWD);
	check_sent_back(d, C2S, FIN_ACK, s.ack, sx.seq + (uint32_t)x.len, TS_REV);
	assert_true(tc_flow(d).flags & WF_FLOW_KILLED);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 2);

	/* a keepalive from the server (a bare ACK at snd_nxt - 1): the FIN at snd_nxt */
	tap_drain();
	seg(e, S2C, e->next[S2C] - 1, PB_TCP_ACK, NULL, 0, &s);
	check_ctl(e, s.out, s.out_len, S2C, FIN_ACK, e->next[S2C], s.ack, TS_FWD);
	/* back to the server: ack = the end of its segment (an old ACK, which is
	 * accepted; the FIN at its rcv_nxt is what matters) */
	check_sent_back(e, S2C, FIN_ACK, s.ack, s.seq, TS_REV);
	assert_int_equal(h_counter(h, WF_CNT_KILLALL_KILLS), 3);
	pgw_free(&x);
	pgw_free(&y);
	pgw_free(&q);
	conn_free(a);
	conn_free(d);
	conn_free(e);
}

static void test_killall_retransmission_ipv4(void **state)
{
	killall_retransmission(*state, 4);
}

static void test_killall_retransmission_ipv6(void **state)
{
	killall_retransmission(*state, 6);
}

/* ---- 5. own packets under a kill() pipeline, and with no flow entry yet ---------------------- */

static void own_packets(struct wf_harness *h, int family)
{
	struct tconn *c = conn_login(h, family, family == 6 ? 44010 : 44000);
	struct tconn *n = conn_new(h, family, family == 6 ? 44011 : 44001);
	struct pg_wire q = { 0 };
	uint64_t packets = h_counter(h, WF_CNT_PACKETS);
	size_t flows = h_flow_count(h);
	struct seg s;

	h_pipeline(h, "conn.kill()");
	pgw_query(&q, "SELECT 1");
	seg_opts(c, C2S, c->next[C2S], PSH_ACK, ts_opts, sizeof(ts_opts), q.data, q.len,
		 WF_OWN_MARK, &s);
	assert_untouched(&s);
	/* a SYN of ours (the killall probe) creates no entry */
	seg_opts(n, C2S, n->isn[C2S], PB_TCP_SYN, NULL, 0, NULL, 0, WF_OWN_MARK, &s);
	assert_untouched(&s);
	assert_int_equal(h_flow_count(h), flows);
	assert_int_equal(h_counter(h, WF_CNT_OWN_PACKETS), 2);
	assert_int_equal(h_counter(h, WF_CNT_PACKETS), packets);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 0);
	assert_false(tc_flow(c).flags & WF_FLOW_KILLED);
	/* the same unmarked: killed */
	tap_drain();
	seg(c, C2S, c->next[C2S], PSH_ACK, q.data, q.len, &s);
	check_ctl(c, s.out, s.out_len, C2S, FIN_ACK, s.seq, s.ack, TS_FWD);
	check_sent_back(c, C2S, FIN_ACK, s.ack, s.seq + (uint32_t)s.n, TS_REV);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL), 1);
	pgw_free(&q);
	conn_free(c);
	conn_free(n);
}

static void test_own_packets_ipv4(void **state)
{
	own_packets(*state, 4);
}

static void test_own_packets_ipv6(void **state)
{
	own_packets(*state, 6);
}

/* ---- 6. unreachable(): dropped both ways, each data segment reported for its ICMP ---------- */

static void unreachable(struct wf_harness *h, int family)
{
	struct tconn *c = conn_login(h, family, family == 6 ? 44110 : 44100);
	struct pg_wire q = { 0 }, r = { 0 };
	struct seg s;
	struct evs e;
	uint32_t qseq, rseq;

	ev_open(&e, h);
	h_pipeline(h, "conn.onQuery(query=\"^SELECT 'gone'\").unreachable()");
	pgw_query(&q, "SELECT 'gone'");
	qseq = c->next[C2S];
	seg(c, C2S, qseq, PSH_ACK, q.data, q.len, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	assert_true(tc_flow(c).flags & WF_FLOW_BLACKHOLED);
	assert_true(tc_flow(c).flags & WF_FLOW_UNREACHABLE);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_UNREACHABLE), 1);
	assert_int_equal(ev_count(&e), 1);
	assert_int_equal(e.ev[0].kind, WF_EVENT_UNREACHABLE);
	assert_int_equal(e.ev[0].seq, qseq);
	assert_int_equal(e.ev[0].dir, WF_DIR_FRONTEND);
	assert_key(&e.ev[0].key, c);

	/* its retransmission and the server's data: dropped, each reported */
	seg(c, C2S, qseq, PSH_ACK, q.data, q.len, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	pgw_ready_for_query(&r, 'I');
	rseq = c->next[S2C];
	seg(c, S2C, rseq, PSH_ACK, r.data, r.len, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	assert_int_equal(ev_count(&e), 3);
	assert_int_equal(e.ev[1].seq, qseq);
	assert_int_equal(e.ev[2].seq, rseq);
	assert_int_equal(e.ev[2].dir, WF_DIR_BACKEND);
	/* bare ACKs and FINs go silently, as blackhole()'s */
	seg(c, C2S, qseq + (uint32_t)q.len, PB_TCP_ACK, NULL, 0, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	seg(c, S2C, rseq + (uint32_t)r.len, FIN_ACK, NULL, 0, &s);
	assert_int_equal(s.rv, TCX_DROP_RETVAL);
	assert_int_equal(ev_count(&e), 3);
	assert_int_equal(h_counter(h, WF_CNT_BLACKHOLE_DROPS), 4);
	assert_int_equal(h_counter(h, WF_CNT_VERDICT_KILL) + h_counter(h, WF_CNT_VERDICT_RESET), 0);
	ev_close(&e);
	pgw_free(&q);
	pgw_free(&r);
	conn_free(c);
}

static void test_unreachable_ipv4(void **state)
{
	unreachable(*state, 4);
}

static void test_unreachable_ipv6(void **state)
{
	unreachable(*state, 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, h_setup_norecord, h_teardown)
		T(test_kill_reset_ipv4),
		T(test_kill_reset_ipv6),
		T(test_options_ipv4),
		T(test_options_ipv6),
		T(test_kill_ipv4_options_fails_closed),
		T(test_killed_flow_ipv4),
		T(test_killed_flow_ipv6),
		T(test_cancel_hold_ipv4),
		T(test_cancel_hold_ipv6),
		T(test_cancel_hold_server_side),
		T(test_connect_delay_ipv4),
		T(test_connect_delay_ipv6),
		T(test_hold_slots),
		T(test_killall_ipv4),
		T(test_killall_ipv6),
		T(test_killall_retransmission_ipv4),
		T(test_killall_retransmission_ipv6),
		T(test_own_packets_ipv4),
		T(test_own_packets_ipv6),
		T(test_unreachable_ipv4),
		T(test_unreachable_ipv6),
#undef T
	};
	int rc;

	h_require_bpf();
	tap_open();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (tap_fd >= 0)
		close(tap_fd);
	return rc;
}
