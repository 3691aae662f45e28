// SPDX-License-Identifier: GPL-2.0
/*
 * packet_send, tcp_frame and hold_release against the real kernel, on lo
 * in a network namespace of the test's own (root only; exit 77 otherwise):
 *
 *  - the killall probe: a bare SYN for an established connection's 4-tuple,
 *    sent through the packet socket, makes the server answer with an
 *    RFC 5961 challenge ACK carrying the client's next sequence number;
 *  - re-injection: a client segment as the tc hook would have copied it
 *    (CHECKSUM_PARTIAL pseudo-sum in the TCP checksum field), released
 *    with wf_hold_release(), is delivered to the server application with
 *    its TSval advanced by the time held, which the server then echoes;
 *  - the ICMP burst: wf_hold_release() of a headers-only copy reaches the
 *    segment sender's tcp_v4_err()/tcp_v6_err() (seen as the socket error
 *    on a socket with IP_RECVERR/IPV6_RECVERR), WF_RELEASE_ICMP_BURST
 *    times, addressed to the sender, and the raw sockets queue nothing;
 *  - the sockets carry WF_OWN_MARK, and a frame held on a device other
 *    than loopback is released by ICMP, never sent out of that device.
 *
 * Observations are made with libpcap on "lo" and parsed here with code of
 * the test's own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pcap/pcap.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "byteorder.h"
#include "hold_release.h"
#include "packet_send.h"
#include "tcp_frame.h"
#include "wf_config.h"

#define CAP_MAX		256
#define SNAP		512
#define WAIT_MS		2000

/* ---- capture ------------------------------------------------------------------------------- */

/* One captured packet, parsed with the test's own offsets. */
struct pkt {
	uint8_t data[SNAP];
	size_t caplen, len;
	uint16_t ethertype;
	size_t l4;		/* TCP or ICMP header offset */
	uint8_t proto;		/* 6 TCP, 1 ICMP, 58 ICMPv6 */
	uint16_t sport, dport;	/* TCP */
	uint32_t seq, ack;
	uint8_t flags;
	size_t payload_len;
	bool has_ts;
	uint32_t tsval, tsecr;
};

static pcap_t *cap;
static struct pkt pkts[CAP_MAX];
static size_t npkts;
static bool own_netns;
static int lo_ifindex;
static struct wf_packet_sender sender;

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void parse_pkt(struct pkt *p)
{
	const uint8_t *ip = p->data + 14, *th;
	size_t ip_len, l3, doff;

	p->ethertype = wf_be16(p->data + 12);
	if (p->ethertype == 0x0800) {
		l3 = (ip[0] & 0xf) * 4u;
		p->proto = ip[9];
		ip_len = wf_be16(ip + 2);
	} else if (p->ethertype == 0x86dd) {
		l3 = 40;
		p->proto = ip[6];
		ip_len = 40u + wf_be16(ip + 4);
	} else {
		return;
	}
	p->l4 = 14 + l3;
	if (p->proto != 6 || p->caplen < p->l4 + 20)
		return;
	th = p->data + p->l4;
	p->sport = wf_be16(th);
	p->dport = wf_be16(th + 2);
	p->seq = wf_be32(th + 4);
	p->ack = wf_be32(th + 8);
	p->flags = th[13];
	doff = (th[12] >> 4) * 4u;
	p->payload_len = ip_len - l3 - doff;
	for (size_t i = 20; i + 1 < doff && p->caplen >= p->l4 + doff;) {
		if (th[i] == 0)
			break;
		if (th[i] == 1) {
			i++;
			continue;
		}
		if (th[i] == 8 && th[i + 1] == 10) {
			p->has_ts = true;
			p->tsval = wf_be32(th + i + 2);
			p->tsecr = wf_be32(th + i + 6);
		}
		if (th[i + 1] < 2)
			break;
		i += th[i + 1];
	}
}

/* Reads what the capture has until `ms` pass without the predicate
 * matching a packet at index >= from; returns that packet or NULL. */
static const struct pkt *cap_wait(size_t from, bool (*match)(const struct pkt *, const void *),
				  const void *arg, int ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)ms * 1000000u;

	for (;;) {
		struct pcap_pkthdr *h;
		const u_char *data;
		int r;

		for (size_t i = from; i < npkts; i++)
			if (match(&pkts[i], arg))
				return &pkts[i];
		from = npkts;
		if (mono_ns() > deadline)
			return NULL;
		r = pcap_next_ex(cap, &h, &data);
		assert_true(r >= 0);
		if (r == 0) {
			usleep(1000);
			continue;
		}
		assert_true(npkts < CAP_MAX);
		memset(&pkts[npkts], 0, sizeof(pkts[0]));
		pkts[npkts].caplen = h->caplen < SNAP ? h->caplen : SNAP;
		pkts[npkts].len = h->len;
		memcpy(pkts[npkts].data, data, pkts[npkts].caplen);
		parse_pkt(&pkts[npkts]);
		npkts++;
	}
}

static bool match_none(const struct pkt *p, const void *arg)
{
	return false;
}

/* Reads whatever arrives for ms milliseconds. */
static void cap_drain(int ms)
{
	cap_wait(npkts, match_none, NULL, ms);
}

static void cap_open(uint16_t port)
{
	char err[PCAP_ERRBUF_SIZE], filter[128];
	struct bpf_program prog;

	cap = pcap_create("lo", err);
	assert_non_null(cap);
	assert_int_equal(pcap_set_snaplen(cap, SNAP), 0);
	assert_int_equal(pcap_set_immediate_mode(cap, 1), 0);
	assert_int_equal(pcap_activate(cap), 0);
	assert_int_equal(pcap_datalink(cap), DLT_EN10MB);
	snprintf(filter, sizeof(filter), "(tcp port %u) or icmp or icmp6", port);
	assert_int_equal(pcap_compile(cap, &prog, filter, 1, PCAP_NETMASK_UNKNOWN), 0);
	assert_int_equal(pcap_setfilter(cap, &prog), 0);
	pcap_freecode(&prog);
	assert_int_equal(pcap_setnonblock(cap, 1, err), 0);
	npkts = 0;
}

static void cap_close(void)
{
	pcap_close(cap);
	cap = NULL;
}

/* ---- a connection -------------------------------------------------------------------------- */

struct conn {
	int family;
	int client, server;
	struct wf_flow_key key;
	uint32_t client_isn, server_isn;
	struct pkt hs_ack;		/* the client's handshake ACK, as captured */
	uint64_t connected_ns;
};

struct tcp_match {
	uint16_t sport, dport;
	uint8_t flags, flags_mask;
	bool check_seq, check_ack;
	uint32_t seq, ack;
	int payload;		/* -1: any */
};

static bool match_tcp(const struct pkt *p, const void *arg)
{
	const struct tcp_match *m = arg;

	return p->proto == 6 && p->sport == m->sport && p->dport == m->dport &&
	       (p->flags & m->flags_mask) == m->flags && (!m->check_seq || p->seq == m->seq) &&
	       (!m->check_ack || p->ack == m->ack) &&
	       (m->payload < 0 || p->payload_len == (size_t)m->payload);
}

static void sockaddr_lo(int family, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a->sin_port = htons(port);
		*len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_addr = in6addr_loopback;
		a->sin6_port = htons(port);
		*len = sizeof(*a);
	}
}

static uint16_t port_of(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
					: ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* Opens a connection on loopback with the capture running; 0, or -1 when
 * the family is not available (IPv6 disabled). */
static int conn_open(struct conn *c, int family, bool recverr)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct timeval timeout = { .tv_sec = WAIT_MS / 1000 };
	int lfd, one = 1;
	uint16_t server_port, client_port;
	struct tcp_match m = { .flags_mask = 0x3f, .payload = -1 };
	const struct pkt *p;

	memset(c, 0, sizeof(*c));
	c->family = family;
	lfd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 && family == AF_INET6)
		return -1;
	assert_true(lfd >= 0);
	sockaddr_lo(family, 0, &ss, &len);
	if (bind(lfd, (struct sockaddr *)&ss, len) < 0 && family == AF_INET6) {
		close(lfd);
		return -1;
	}
	assert_int_equal(listen(lfd, 4), 0);
	len = sizeof(ss);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
	server_port = port_of(&ss);
	cap_open(server_port);

	c->client = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->client >= 0);
	if (recverr) {
		if (family == AF_INET)
			assert_int_equal(setsockopt(c->client, IPPROTO_IP, IP_RECVERR, &one,
						    sizeof(one)), 0);
		else
			assert_int_equal(setsockopt(c->client, IPPROTO_IPV6, IPV6_RECVERR, &one,
						    sizeof(one)), 0);
	}
	if (family == AF_INET) {
		/* A client address other than the server's, so that
		 * swapped addresses show. */
		sockaddr_lo(family, 0, &ss, &len);
		((struct sockaddr_in *)&ss)->sin_addr.s_addr = htonl(INADDR_LOOPBACK + 1);
		assert_int_equal(bind(c->client, (struct sockaddr *)&ss, len), 0);
	}
	sockaddr_lo(family, server_port, &ss, &len);
	assert_int_equal(connect(c->client, (struct sockaddr *)&ss, len), 0);
	c->connected_ns = mono_ns();
	c->server = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c->server >= 0);
	close(lfd);
	/* A segment the kernel refused must fail the test, not hang it. */
	assert_int_equal(setsockopt(c->server, SOL_SOCKET, SO_RCVTIMEO, &timeout,
				    sizeof(timeout)), 0);
	assert_int_equal(setsockopt(c->client, SOL_SOCKET, SO_RCVTIMEO, &timeout,
				    sizeof(timeout)), 0);
	len = sizeof(ss);
	assert_int_equal(getsockname(c->client, (struct sockaddr *)&ss, &len), 0);
	client_port = port_of(&ss);

	/* The handshake, from the capture. */
	m.sport = client_port;
	m.dport = server_port;
	m.flags = WF_TCP_SYN;
	p = cap_wait(0, match_tcp, &m, WAIT_MS);
	assert_non_null(p);
	c->client_isn = p->seq;
	m.sport = server_port;
	m.dport = client_port;
	m.flags = WF_TCP_SYN | WF_TCP_ACK;
	p = cap_wait(0, match_tcp, &m, WAIT_MS);
	assert_non_null(p);
	c->server_isn = p->seq;
	m.sport = client_port;
	m.dport = server_port;
	m.flags = WF_TCP_ACK;
	m.payload = 0;
	p = cap_wait(0, match_tcp, &m, WAIT_MS);
	assert_non_null(p);
	assert_int_equal(p->seq, c->client_isn + 1);
	assert_true(p->has_ts);		/* tcp_timestamps=1: the patch has work to do */
	c->hs_ack = *p;

	c->key.family = family == AF_INET ? WF_FAMILY_IPV4 : WF_FAMILY_IPV6;
	c->key.client_port = client_port;
	c->key.server_port = server_port;
	if (family == AF_INET) {
		c->key.client_addr[10] = c->key.client_addr[11] = 0xff;
		c->key.server_addr[10] = c->key.server_addr[11] = 0xff;
		memcpy(c->key.client_addr + 12, p->data + 14 + 12, 4);
		memcpy(c->key.server_addr + 12, p->data + 14 + 16, 4);
	} else {
		memcpy(c->key.client_addr, p->data + 14 + 8, 16);
		memcpy(c->key.server_addr, p->data + 14 + 24, 16);
	}
	return 0;
}

static void conn_close(struct conn *c)
{
	close(c->client);
	close(c->server);
	cap_close();
}

static void exchange(struct conn *c, int from, int to, const char *data)
{
	char buf[64];
	size_t n = strlen(data);

	assert_int_equal(send(from, data, n, 0), (ssize_t)n);
	assert_int_equal(recv(to, buf, sizeof(buf), 0), (ssize_t)n);
	assert_memory_equal(buf, data, n);
}

static long netstat_counter(const char *name)
{
	char hdr[4096], val[4096];
	FILE *f = fopen("/proc/net/netstat", "r");
	long v = -1;

	assert_non_null(f);
	while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
		char *hs, *vs, *h = strtok_r(hdr, " \n", &hs), *x = strtok_r(val, " \n", &vs);

		if (!h || !x || strcmp(h, "TcpExt:"))
			continue;
		while ((h = strtok_r(NULL, " \n", &hs)) && (x = strtok_r(NULL, " \n", &vs)))
			if (!strcmp(h, name))
				v = atol(x);
	}
	fclose(f);
	return v;
}

/* ---- the tests ----------------------------------------------------------------------------- */

static void probe(int family)
{
	uint8_t syn[WF_TCP_SYN_FRAME_MAX];
	struct conn c;
	struct tcp_match m = { .flags_mask = 0x3f, .flags = WF_TCP_ACK, .check_seq = true,
			       .check_ack = true, .payload = 0 };
	const struct pkt *p;
	size_t mark;
	long challenges;
	int len;

	if (conn_open(&c, family, false) < 0)
		skip();
	/* Both sides have sent: the challenge ACK's seq and ack are not the
	 * initial ones. */
	exchange(&c, c.client, c.server, "hello");
	exchange(&c, c.server, c.client, "abc");
	/* Let the last ACKs go by: nothing of this connection is in flight. */
	cap_drain(100);
	mark = npkts;
	challenges = netstat_counter("TCPChallengeACK");
	assert_true(challenges >= 0);

	len = wf_tcp_frame_build_syn(syn, sizeof(syn), &c.key, 0x5eed1234);
	assert_true(len > 0);
	assert_int_equal(wf_packet_send_frame(&sender, lo_ifindex, syn, (size_t)len), 0);

	/* The server's answer: seq = its snd_nxt, ack = its rcv_nxt, which
	 * is the client's snd_nxt (ISN + 1 + 5 bytes sent). */
	m.sport = c.key.server_port;
	m.dport = c.key.client_port;
	m.seq = c.server_isn + 1 + 3;
	m.ack = c.client_isn + 1 + 5;
	p = cap_wait(mark, match_tcp, &m, WAIT_MS);
	if (!p)
		fail_msg("no challenge ACK from the server (IPv%d)", family == AF_INET ? 4 : 6);
	if (own_netns)
		assert_int_equal(netstat_counter("TCPChallengeACK"), challenges + 1);
	else
		assert_true(netstat_counter("TCPChallengeACK") > challenges);
	conn_close(&c);
}

static void test_syn_probe_ipv4(void **state)
{
	probe(AF_INET);
}

static void test_syn_probe_ipv6(void **state)
{
	probe(AF_INET6);
}

/* The client's handshake ACK grown into a data segment, as a hold copy. */
static struct wf_hold *hold_from(const struct conn *c, const char *payload, bool whole)
{
	struct wf_hold *h = calloc(1, sizeof(*h));
	const struct pkt *a = &c->hs_ack;
	size_t n = strlen(payload), l4 = a->l4;

	assert_non_null(h);
	assert_int_equal(a->caplen, a->len);
	memcpy(h->frame, a->data, a->caplen);
	memcpy(h->frame + a->caplen, payload, n);
	if (c->family == AF_INET)
		wf_put_be16(h->frame + 14 + 2, (uint16_t)(wf_be16(h->frame + 14 + 2) + n));
	else
		wf_put_be16(h->frame + 14 + 4, (uint16_t)(wf_be16(h->frame + 14 + 4) + n));
	h->frame[l4 + 13] |= WF_TCP_PSH;
	/* What the tc hook copies of locally generated traffic: the TCP
	 * checksum field holds a partial sum, not the checksum. */
	wf_put_be16(h->frame + l4 + 16, 0x1234);
	h->frame_len = (uint32_t)(a->caplen + n);
	h->copied_whole = whole;
	h->ifindex = (uint32_t)lo_ifindex;
	h->key = c->key;
	h->seq = a->seq;
	h->len = (uint32_t)n;
	h->state = WF_HOLD_RELEASING;
	h->gen = 7;
	return h;
}

static void reinject(int family)
{
	struct conn c;
	struct wf_hold *h;
	struct tcp_match m = { .flags_mask = 0x3f, .check_seq = true, .payload = 5 };
	const struct pkt *inj, *ack;
	char buf[16];
	uint64_t now;
	uint32_t held_ms;
	size_t mark;

	if (conn_open(&c, family, false) < 0)
		skip();
	h = hold_from(&c, "held!", true);
	h->held_ns = c.connected_ns;
	usleep(120 * 1000);
	mark = npkts;
	now = mono_ns();
	held_ms = (uint32_t)((now - h->held_ns) / 1000000);
	assert_true(held_ms >= 120);
	assert_int_equal(wf_hold_release(&sender, h, now), WF_RELEASE_REINJECT);
	/* The caller's slot protocol is left alone. */
	assert_int_equal(h->state, WF_HOLD_RELEASING);
	assert_int_equal(h->gen, 7);

	/* Delivered: the checksums were right and PAWS took the TSval. */
	assert_int_equal(recv(c.server, buf, sizeof(buf), 0), 5);
	assert_memory_equal(buf, "held!", 5);

	/* On the wire: the copy with its TSval advanced by the time held ... */
	m.sport = c.key.client_port;
	m.dport = c.key.server_port;
	m.flags = WF_TCP_ACK | WF_TCP_PSH;
	m.seq = c.client_isn + 1;
	inj = cap_wait(mark, match_tcp, &m, WAIT_MS);
	assert_non_null(inj);
	assert_true(inj->has_ts);
	assert_int_equal(inj->tsval, c.hs_ack.tsval + held_ms);
	assert_int_equal(inj->tsecr, c.hs_ack.tsecr);
	/* ... which the server echoes in its ACK. */
	m.sport = c.key.server_port;
	m.dport = c.key.client_port;
	m.flags = WF_TCP_ACK;
	m.seq = c.server_isn + 1;
	m.check_ack = true;
	m.ack = c.client_isn + 1 + 5;
	m.payload = 0;
	ack = cap_wait(mark, match_tcp, &m, WAIT_MS);
	assert_non_null(ack);
	assert_true(ack->has_ts);
	assert_int_equal(ack->tsecr, c.hs_ack.tsval + held_ms);
	free(h);
	conn_close(&c);
}

static void test_reinject_ipv4(void **state)
{
	reinject(AF_INET);
}

static void test_reinject_ipv6(void **state)
{
	reinject(AF_INET6);
}

static bool match_unreach(const struct pkt *p, const void *arg)
{
	const struct conn *c = arg;
	const uint8_t *icmp = p->data + p->l4, *ip = p->data + 14, *quote_tcp;

	/* To the held segment's sender, quoting it. */
	if (c->family == AF_INET) {
		if (p->proto != 1 || p->caplen < p->l4 + 8 + 20 + 8 || icmp[0] != 3 || icmp[1] != 1 ||
		    memcmp(ip + 16, c->key.client_addr + 12, 4))
			return false;
		quote_tcp = icmp + 8 + (icmp[8] & 0xf) * 4;
	} else {
		if (p->proto != 58 || p->caplen < p->l4 + 8 + 40 + 8 || icmp[0] != 1 || icmp[1] != 0 ||
		    memcmp(ip + 24, c->key.client_addr, 16))
			return false;
		quote_tcp = icmp + 8 + 40;
	}
	return wf_be16(quote_tcp) == c->key.client_port &&
	       wf_be16(quote_tcp + 2) == c->key.server_port &&
	       wf_be32(quote_tcp + 4) == c->client_isn + 1;
}

static void icmp_release(int family)
{
	struct conn c;
	struct wf_hold *h;
	int err = -1, queued;
	socklen_t len = sizeof(err);
	size_t seen = 0, mark;

	if (conn_open(&c, family, true) < 0)
		skip();
	h = hold_from(&c, "too big to copy", false);
	h->frame_len = (uint32_t)c.hs_ack.caplen;	/* only the headers */
	h->held_ns = c.connected_ns;
	assert_int_equal(getsockopt(c.client, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);

	mark = npkts;
	assert_int_equal(wf_hold_release(&sender, h, mono_ns()), WF_RELEASE_ICMP);

	/* The sender's TCP took them as its own (tcp_v4_err/tcp_v6_err):
	 * with RECVERR the error becomes the socket's. */
	len = sizeof(err);
	assert_int_equal(getsockopt(c.client, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, family == AF_INET ? EHOSTUNREACH : ENETUNREACH);

	/* The whole burst went out (captured once each on lo). */
	cap_drain(200);
	for (size_t i = mark; i < npkts; i++)
		seen += match_unreach(&pkts[i], &c);
	assert_int_equal(seen, WF_RELEASE_ICMP_BURST);
	/* The sender's raw sockets do not queue up what they hear. */
	queued = -1;
	assert_int_equal(ioctl(family == AF_INET ? sender.icmp4_fd : sender.icmp6_fd, FIONREAD,
			       &queued), 0);
	assert_int_equal(queued, 0);
	free(h);
	conn_close(&c);
}

static void test_icmp_release_ipv4(void **state)
{
	icmp_release(AF_INET);
}

static void test_icmp_release_ipv6(void **state)
{
	icmp_release(AF_INET6);
}

/* Everything the sender sends carries the mark the tc program passes. */
static void test_sockets_are_marked(void **state)
{
	int fds[] = { sender.packet_fd, sender.icmp4_fd, sender.icmp6_fd };

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		uint32_t mark = 0;
		socklen_t len = sizeof(mark);

		assert_true(fds[i] >= 0);
		assert_int_equal(getsockopt(fds[i], SOL_SOCKET, SO_MARK, &mark, &len), 0);
		assert_int_equal(mark, WF_OWN_MARK);
	}
}

/*
 * Re-injection only where a sent frame turns round into the device's
 * ingress: on any other device the release falls back to ICMP.
 */
static void test_reinject_only_on_loopback(void **state)
{
	struct conn c;
	struct wf_hold *h;
	int other;

	assert_int_equal(wf_packet_ifindex_is_loopback(&sender, lo_ifindex), 1);
	assert_int_equal(wf_packet_ifindex_is_loopback(&sender, 999999), -ENXIO);
	/* Only in a namespace of our own: no interface is added to the machine. */
	if (!own_netns || system("ip link add wftest0 type veth peer name wftest1 2>/dev/null") != 0)
		skip();
	/* Up, so that a frame sent there would go out (and come in on the peer). */
	assert_int_equal(system("ip link set wftest0 up && ip link set wftest1 up"), 0);
	other = (int)if_nametoindex("wftest0");
	assert_true(other > 0);
	assert_int_equal(wf_packet_ifindex_is_loopback(&sender, other), 0);

	assert_int_equal(conn_open(&c, AF_INET, false), 0);
	h = hold_from(&c, "held!", true);
	h->ifindex = (uint32_t)other;
	h->held_ns = c.connected_ns;
	assert_int_equal(wf_hold_release(&sender, h, mono_ns()), WF_RELEASE_ICMP);
	free(h);
	conn_close(&c);
	assert_int_equal(system("ip link del wftest0"), 0);
}

/* ---- setup --------------------------------------------------------------------------------- */

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -1;
	strcpy(ifr.ifr_name, "lo");
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (!r && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return r;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sockets_are_marked),
		cmocka_unit_test(test_syn_probe_ipv4),
		cmocka_unit_test(test_syn_probe_ipv6),
		cmocka_unit_test(test_reinject_ipv4),
		cmocka_unit_test(test_reinject_ipv6),
		cmocka_unit_test(test_icmp_release_ipv4),
		cmocka_unit_test(test_icmp_release_ipv6),
		cmocka_unit_test(test_reinject_only_on_loopback),
	};
	int r;

	if (geteuid() != 0) {
		printf("skipped: needs root (raw and packet sockets, a network namespace)\n");
		return 77;
	}
	/* A namespace of our own: no other traffic on its lo, and no tc
	 * program some other test attached to the machine's lo. */
	own_netns = unshare(CLONE_NEWNET) == 0;
	if (!own_netns)
		printf("note: no network namespace (%s): using the machine's lo\n", strerror(errno));
	if (lo_up() < 0) {
		printf("skipped: cannot bring lo up: %s\n", strerror(errno));
		return 77;
	}
	lo_ifindex = (int)if_nametoindex("lo");
	if (lo_ifindex <= 0) {
		printf("skipped: no lo\n");
		return 77;
	}
	if (wf_packet_sender_open(&sender) < 0)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	wf_packet_sender_close(&sender);
	return r;
}
