// SPDX-License-Identifier: GPL-2.0
/*
 * The listing of a port's established connections (user/sock_diag.c) against
 * real sockets on lo: listeners on ephemeral ports (127.0.0.1, ::1, and a
 * dual-stack [::] reached over both), clients connected and accepted.  The
 * expected keys are built from the client sockets' own addresses, which is
 * how the tc program sees the packets.  No privilege needed.  Also the text
 * form of a key (user/flow_key.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "flow_key.h"
#include "sock_diag.h"

/* One accepted connection and the key the listing must give for it. */
struct conn {
	int client_fd, server_fd;
	struct wf_flow_key key;
};

static void sockaddr_to_key_end(const struct sockaddr_storage *ss, __u8 addr[16], __u16 *port)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;

		memset(addr, 0, 10);
		addr[10] = addr[11] = 0xff;
		memcpy(addr + 12, &sin->sin_addr, 4);
		*port = ntohs(sin->sin_port);
	} else {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;

		memcpy(addr, &sin6->sin6_addr, 16);
		*port = ntohs(sin6->sin6_port);
	}
}

static void fill_sockaddr(int family, const char *addr, uint16_t port,
			  struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		*len = sizeof(*sin6);
	}
}

/*
 * A listener on addr, port chosen by the kernel.  Returns its fd, or -1 when
 * the machine has no IPv6 (the caller skips).  dual_stack clears IPV6_V6ONLY.
 */
static int listen_on(int family, const char *addr, bool dual_stack, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 && family == AF_INET6 && errno == EAFNOSUPPORT)
		return -1;
	assert_true(fd >= 0);
	if (family == AF_INET6) {
		int v6only = !dual_stack;

		assert_int_equal(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)), 0);
	}
	fill_sockaddr(family, addr, 0, &ss, &len);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0) {
		/* ::1 missing (IPv6 disabled on lo) */
		assert_true(family == AF_INET6 && errno == EADDRNOTAVAIL);
		close(fd);
		return -1;
	}
	assert_int_equal(listen(fd, 4096), 0);
	len = sizeof(ss);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					: ((struct sockaddr_in6 *)&ss)->sin6_port);
	return fd;
}

/*
 * Connects a client of the given family to addr:port and accepts it on
 * listen_fd.  The expected key: the client socket's own address -> its peer,
 * family 4 for an IPv4 client even when a dual-stack IPv6 socket accepts it.
 */
static void connect_one(int listen_fd, int family, const char *addr, uint16_t port, struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t len;

	c->client_fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->client_fd >= 0);
	fill_sockaddr(family, addr, port, &ss, &len);
	assert_int_equal(connect(c->client_fd, (struct sockaddr *)&ss, len), 0);
	c->server_fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c->server_fd >= 0);

	memset(&c->key, 0, sizeof(c->key));
	c->key.family = family == AF_INET ? WF_FAMILY_IPV4 : WF_FAMILY_IPV6;
	len = sizeof(ss);
	assert_int_equal(getsockname(c->client_fd, (struct sockaddr *)&ss, &len), 0);
	sockaddr_to_key_end(&ss, c->key.client_addr, &c->key.client_port);
	len = sizeof(ss);
	assert_int_equal(getpeername(c->client_fd, (struct sockaddr *)&ss, &len), 0);
	sockaddr_to_key_end(&ss, c->key.server_addr, &c->key.server_port);
	assert_int_equal(c->key.server_port, port);
}

static void close_conn(struct conn *c)
{
	if (c->server_fd >= 0)
		close(c->server_fd);
	if (c->client_fd >= 0)
		close(c->client_fd);
	c->server_fd = c->client_fd = -1;
}

/*
 * The listing of port holds exactly the keys of the given connections (any
 * order), every key for that port and with its pad zeroed.
 */
static void assert_listing(uint16_t port, const struct conn *conns, size_t n)
{
	struct wf_flow_key *keys = (void *)1;
	size_t count = 12345;
	bool *seen = calloc(n ? n : 1, sizeof(*seen));

	assert_non_null(seen);
	assert_int_equal(wf_sock_diag_established(port, &keys, &count), 0);
	for (size_t i = 0; i < count; i++) {
		char text[WF_FLOW_KEY_TEXT_MAX];
		size_t j;

		assert_int_equal(keys[i].server_port, port);
		assert_int_equal(keys[i].pad[0] | keys[i].pad[1] | keys[i].pad[2], 0);
		for (j = 0; j < n; j++)
			if (!seen[j] && !memcmp(&keys[i], &conns[j].key, sizeof(keys[i])))
				break;
		if (j == n)
			fail_msg("unexpected connection in the listing of port %u: %s", port,
				 wf_flow_key_format(&keys[i], text, sizeof(text)));
		seen[j] = true;
	}
	for (size_t j = 0; j < n; j++) {
		char text[WF_FLOW_KEY_TEXT_MAX];

		if (!seen[j])
			fail_msg("connection missing from the listing of port %u: %s", port,
				 wf_flow_key_format(&conns[j].key, text, sizeof(text)));
	}
	assert_int_equal(count, n);
	if (!count)
		assert_null(keys);
	free(keys);
	free(seen);
}

static void test_ipv4(void **state)
{
	struct conn c[3];
	uint16_t port;
	int lfd = listen_on(AF_INET, "127.0.0.1", false, &port);

	for (int i = 0; i < 3; i++) {
		connect_one(lfd, AF_INET, "127.0.0.1", port, &c[i]);
		assert_int_equal(c[i].key.family, WF_FAMILY_IPV4);
	}
	assert_listing(port, c, 3);
	for (int i = 0; i < 3; i++)
		close_conn(&c[i]);
	close(lfd);
}

static void test_ipv6(void **state)
{
	struct conn c[3];
	uint16_t port;
	int lfd = listen_on(AF_INET6, "::1", false, &port);

	if (lfd < 0)
		skip();
	for (int i = 0; i < 3; i++) {
		connect_one(lfd, AF_INET6, "::1", port, &c[i]);
		assert_int_equal(c[i].key.family, WF_FAMILY_IPV6);
	}
	assert_listing(port, c, 3);
	for (int i = 0; i < 3; i++)
		close_conn(&c[i]);
	close(lfd);
}

/* A [::] listener: IPv4 clients are v4-mapped AF_INET6 sockets, listed as family 4. */
static void test_dual_stack(void **state)
{
	struct conn c[3];
	uint16_t port;
	int lfd = listen_on(AF_INET6, "::", true, &port);

	if (lfd < 0)
		skip();
	connect_one(lfd, AF_INET, "127.0.0.1", port, &c[0]);
	connect_one(lfd, AF_INET, "127.0.0.1", port, &c[1]);
	connect_one(lfd, AF_INET6, "::1", port, &c[2]);
	assert_int_equal(c[0].key.family, WF_FAMILY_IPV4);
	assert_int_equal(c[2].key.family, WF_FAMILY_IPV6);
	assert_listing(port, c, 3);
	for (int i = 0; i < 3; i++)
		close_conn(&c[i]);
	close(lfd);
}

/* Listings of two ports with connections at the same time do not mix. */
static void test_ports_are_separate(void **state)
{
	struct conn a[2], b[1];
	uint16_t port_a, port_b;
	int lfd_a = listen_on(AF_INET, "127.0.0.1", false, &port_a);
	int lfd_b = listen_on(AF_INET, "127.0.0.1", false, &port_b);

	connect_one(lfd_a, AF_INET, "127.0.0.1", port_a, &a[0]);
	connect_one(lfd_b, AF_INET, "127.0.0.1", port_b, &b[0]);
	connect_one(lfd_a, AF_INET, "127.0.0.1", port_a, &a[1]);
	assert_listing(port_a, a, 2);
	assert_listing(port_b, b, 1);
	for (int i = 0; i < 2; i++)
		close_conn(&a[i]);
	close_conn(&b[0]);
	close(lfd_a);
	close(lfd_b);
}

/*
 * A connection leaves the listing once its server socket is no longer
 * ESTABLISHED: closed by the server (FIN_WAIT1 at once), or by the client
 * (CLOSE_WAIT once the server has the FIN, i.e. reads EOF).
 */
static void test_closed_connections_disappear(void **state)
{
	struct conn c[3];
	struct pollfd pfd;
	char byte;
	uint16_t port;
	int lfd = listen_on(AF_INET, "127.0.0.1", false, &port);

	for (int i = 0; i < 3; i++)
		connect_one(lfd, AF_INET, "127.0.0.1", port, &c[i]);
	assert_listing(port, c, 3);

	close(c[0].server_fd);
	c[0].server_fd = -1;
	assert_listing(port, c + 1, 2);

	close(c[1].client_fd);
	c[1].client_fd = -1;
	pfd = (struct pollfd){ .fd = c[1].server_fd, .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(c[1].server_fd, &byte, 1), 0);
	assert_listing(port, c + 2, 1);

	for (int i = 0; i < 3; i++)
		close_conn(&c[i]);
	assert_listing(port, NULL, 0);
	close(lfd);
}

static void test_no_connections(void **state)
{
	uint16_t port;
	int lfd = listen_on(AF_INET, "127.0.0.1", false, &port);

	assert_listing(port, NULL, 0);	/* listening, nobody connected */
	close(lfd);
	assert_listing(port, NULL, 0);	/* no socket at all */
}

static void test_port_zero_is_refused(void **state)
{
	struct wf_flow_key *keys = (void *)1;
	size_t count = 1;

	assert_int_equal(wf_sock_diag_established(0, &keys, &count), -EINVAL);
	assert_null(keys);
	assert_int_equal(count, 0);
}

/*
 * Enough connections that the kernel's answer spans many datagrams (one
 * holds some hundreds of sockets), within the file descriptor limit.
 */
static void test_many_connections(void **state)
{
	struct rlimit lim;
	struct conn *c;
	size_t n = 2000;
	uint16_t port;
	int lfd;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	lim.rlim_cur = lim.rlim_max;
	setrlimit(RLIMIT_NOFILE, &lim);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &lim), 0);
	if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < 2 * n + 64)
		n = (lim.rlim_cur - 64) / 2;
	if (n < 700)
		skip();	/* too few descriptors to need several datagrams */

	c = calloc(n, sizeof(*c));
	assert_non_null(c);
	lfd = listen_on(AF_INET, "127.0.0.1", false, &port);
	for (size_t i = 0; i < n; i++)
		connect_one(lfd, AF_INET, "127.0.0.1", port, &c[i]);
	assert_listing(port, c, n);
	for (size_t i = 0; i < n; i++)
		close_conn(&c[i]);
	close(lfd);
	free(c);
}

static void key_v4(struct wf_flow_key *k, const char *client, uint16_t cport, const char *server,
		   uint16_t sport)
{
	memset(k, 0, sizeof(*k));
	k->family = WF_FAMILY_IPV4;
	k->client_addr[10] = k->client_addr[11] = 0xff;
	k->server_addr[10] = k->server_addr[11] = 0xff;
	assert_int_equal(inet_pton(AF_INET, client, k->client_addr + 12), 1);
	assert_int_equal(inet_pton(AF_INET, server, k->server_addr + 12), 1);
	k->client_port = cport;
	k->server_port = sport;
}

static void test_format(void **state)
{
	struct wf_flow_key k;
	char buf[WF_FLOW_KEY_TEXT_MAX], small[8];

	key_v4(&k, "127.0.0.1", 51234, "127.0.0.1", 5432);
	assert_ptr_equal(wf_flow_key_format(&k, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "127.0.0.1:51234 -> 127.0.0.1:5432");

	assert_string_equal(wf_flow_key_format(&k, small, sizeof(small)), "127.0.0");

	memset(&k, 0, sizeof(k));
	k.family = WF_FAMILY_IPV6;
	k.client_addr[15] = k.server_addr[15] = 1;
	k.client_port = 51234;
	k.server_port = 5432;
	assert_string_equal(wf_flow_key_format(&k, buf, sizeof(buf)), "[::1]:51234 -> [::1]:5432");

	/* The longest text fits. */
	memset(k.client_addr, 0xab, 16);
	memset(k.server_addr, 0xcd, 16);
	k.client_port = k.server_port = 65535;
	wf_flow_key_format(&k, buf, sizeof(buf));
	assert_string_equal(buf, "[abab:abab:abab:abab:abab:abab:abab:abab]:65535 -> "
				 "[cdcd:cdcd:cdcd:cdcd:cdcd:cdcd:cdcd:cdcd]:65535");

	/* Malformed keys still show what they hold. */
	k.family = 4;
	assert_string_equal(wf_flow_key_format(&k, buf, sizeof(buf)),
			    "[abab:abab:abab:abab:abab:abab:abab:abab]:65535 -> "
			    "[cdcd:cdcd:cdcd:cdcd:cdcd:cdcd:cdcd:cdcd]:65535");
	key_v4(&k, "10.0.0.1", 1, "10.0.0.2", 2);
	k.family = 0;
	assert_string_equal(wf_flow_key_format(&k, buf, sizeof(buf)),
			    "family 0 [::ffff:10.0.0.1]:1 -> [::ffff:10.0.0.2]:2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_dual_stack),
		cmocka_unit_test(test_ports_are_separate),
		cmocka_unit_test(test_closed_connections_disappear),
		cmocka_unit_test(test_no_connections),
		cmocka_unit_test(test_port_zero_is_refused),
		cmocka_unit_test(test_many_connections),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
