// SPDX-License-Identifier: GPL-2.0
/*
 * One SOCK_DIAG_BY_FAMILY dump per address family over a NETLINK_SOCK_DIAG
 * socket, asking for TCP sockets in state ESTABLISHED whose source port is
 * the server port.  The kernel answers with any number of datagrams, each
 * holding one inet_diag_msg per socket, and ends with NLMSG_DONE (or with
 * NLMSG_ERROR if it refused the request).
 */
#include "sock_diag.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>	/* TCP_ESTABLISHED */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"

/*
 * The kernel answers a dump at once; a receive that waits this long means
 * something is wrong, and the loader's poll loop must not hang on it.
 */
#define RECV_TIMEOUT_S	5

/* First receive buffer; grown to whatever a datagram needs (see recv_datagram). */
#define RECV_BUF_INITIAL	(32 * 1024)

/*
 * The dump request.  The port filter travels as an INET_DIAG_REQ_BYTECODE
 * attribute after the request, so that the kernel sends only the sockets
 * of the port instead of every established socket of the machine.
 */
struct dump_request {
	struct nlmsghdr nlh;
	struct inet_diag_req_v2 req;
	struct nlattr filter_attr;
	struct inet_diag_bc_op filter[2];
};

/* Netlink wants the attribute right after the (4-byte aligned) request, no padding anywhere. */
_Static_assert(offsetof(struct dump_request, filter_attr) ==
	       NLMSG_LENGTH(sizeof(struct inet_diag_req_v2)), "attribute must follow the request");
_Static_assert(sizeof(struct dump_request) ==
	       NLMSG_LENGTH(sizeof(struct inet_diag_req_v2)) +
	       NLA_HDRLEN + 2 * sizeof(struct inet_diag_bc_op), "request must have no padding");

/* Keys collected so far, grown by doubling. */
struct key_list {
	struct wf_flow_key *keys;
	size_t count, capacity;
};

/* A netlink socket and the buffer its datagrams are read into. */
struct diag_conn {
	int fd;
	__u8 *buf;
	size_t size;
	__u32 seq;		/* of the dump under way: answers carry it */
};

static const char *family_name(int family)
{
	return family == AF_INET ? "IPv4" : "IPv6";
}

static int key_list_push(struct key_list *list, const struct wf_flow_key *key)
{
	if (list->count == list->capacity) {
		size_t capacity = list->capacity ? list->capacity * 2 : 64;
		struct wf_flow_key *keys;

		if (capacity > SIZE_MAX / sizeof(*keys))
			return -ENOMEM;
		keys = realloc(list->keys, capacity * sizeof(*keys));
		if (!keys)
			return -ENOMEM;
		list->keys = keys;
		list->capacity = capacity;
	}
	list->keys[list->count++] = *key;
	return 0;
}

static bool is_v4_mapped(const __u8 addr[16])
{
	static const __u8 prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(addr, prefix, sizeof(prefix)) == 0;
}

/* An IPv4 address as inet_diag gives it (network order, in word 0) into ::ffff:a.b.c.d. */
static void map_v4(__u8 out[16], const __be32 addr[4])
{
	memset(out, 0, 10);
	out[10] = 0xff;
	out[11] = 0xff;
	memcpy(out + 12, &addr[0], 4);
}

/*
 * The flow key of a server socket: its remote end is the client.  False for
 * a family the kernel should never have sent for this dump.
 */
static bool key_from_diag(const struct inet_diag_msg *m, struct wf_flow_key *key)
{
	memset(key, 0, sizeof(*key));
	key->client_port = ntohs(m->id.idiag_dport);
	key->server_port = ntohs(m->id.idiag_sport);
	switch (m->idiag_family) {
	case AF_INET:
		map_v4(key->client_addr, m->id.idiag_dst);
		map_v4(key->server_addr, m->id.idiag_src);
		key->family = WF_FAMILY_IPV4;
		return true;
	case AF_INET6:
		memcpy(key->client_addr, m->id.idiag_dst, sizeof(key->client_addr));
		memcpy(key->server_addr, m->id.idiag_src, sizeof(key->server_addr));
		/* A dual-stack socket that accepted an IPv4 client is an AF_INET6
		 * socket with v4-mapped addresses, but its packets are IPv4: the
		 * tc program keys them as family 4, and so must we. */
		key->family = is_v4_mapped(key->client_addr) && is_v4_mapped(key->server_addr)
			      ? WF_FAMILY_IPV4 : WF_FAMILY_IPV6;
		return true;
	default:
		return false;
	}
}

static int open_diag_socket(struct diag_conn *c)
{
	struct timeval timeout = { .tv_sec = RECV_TIMEOUT_S };
	int err;

	c->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (c->fd < 0) {
		err = -errno;
		wf_err("cannot list connections: socket(NETLINK_SOCK_DIAG): %s", strerror(-err));
		return err;
	}
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)) < 0)
		wf_warn("sock_diag: cannot set a receive timeout: %s", strerror(errno));
	c->size = RECV_BUF_INITIAL;
	c->buf = malloc(c->size);
	if (!c->buf) {
		wf_err("cannot list connections: out of memory");
		return -ENOMEM;
	}
	return 0;
}

static void close_diag_socket(struct diag_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
}

static int send_dump_request(struct diag_conn *c, int family, uint16_t port)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	struct dump_request r;
	ssize_t n;

	memset(&r, 0, sizeof(r));
	r.nlh.nlmsg_len = sizeof(r);
	r.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	r.nlh.nlmsg_seq = ++c->seq;
	r.req.sdiag_family = family;
	r.req.sdiag_protocol = IPPROTO_TCP;
	r.req.idiag_states = 1u << TCP_ESTABLISHED;
	r.filter_attr.nla_type = INET_DIAG_REQ_BYTECODE;
	r.filter_attr.nla_len = NLA_HDRLEN + sizeof(r.filter);
	/*
	 * "sport == port" as inet_diag bytecode.  Op 0 compares and says how
	 * far to jump: `yes` bytes on a match, `no` bytes otherwise; op 1 only
	 * carries the port (host order) in its `no` field.  A socket is
	 * accepted when the program ends exactly at its last byte, so a match
	 * jumps 8 bytes (to the end) and a mismatch 12 (past it: rejected).
	 * INET_DIAG_BC_S_EQ exists since Linux 4.16; tcx needs 6.6 anyway.
	 */
	r.filter[0] = (struct inet_diag_bc_op){
		.code = INET_DIAG_BC_S_EQ,
		.yes = sizeof(r.filter),
		.no = sizeof(r.filter) + 4,
	};
	r.filter[1] = (struct inet_diag_bc_op){ .no = port };

	do
		n = sendto(c->fd, &r, sizeof(r), 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if ((size_t)n != sizeof(r))
		return -EIO;
	return 0;
}

/*
 * Reads the next datagram from the kernel into c->buf, growing the buffer
 * first if the datagram would not fit (a netlink datagram cut to the buffer
 * loses the rest of its messages).  Returns its length or -errno.
 */
static ssize_t recv_datagram(struct diag_conn *c)
{
	for (;;) {
		struct sockaddr_nl from;
		struct iovec iov = { .iov_base = c->buf, .iov_len = c->size };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		ssize_t need, n;

		/* MSG_TRUNC makes a peek return the datagram's full length. */
		need = recv(c->fd, NULL, 0, MSG_PEEK | MSG_TRUNC);
		if (need < 0 && errno == EINTR)
			continue;
		if (need < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if ((size_t)need > c->size) {
			__u8 *buf = realloc(c->buf, need);

			if (!buf)
				return -ENOMEM;
			c->buf = buf;
			c->size = need;
			continue;
		}
		n = recvmsg(c->fd, &msg, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;	/* cannot happen after the peek */
		/* Any local process may write to our port id: listen to the kernel only. */
		if (msg.msg_namelen != sizeof(from) || from.nl_pid != 0)
			continue;
		if (n == 0)
			return -EBADMSG;
		return n;
	}
}

/*
 * Handles one datagram of the answer.  Returns 1 once the dump's end is
 * seen, 0 if more datagrams follow, -errno for the kernel's refusal (error
 * passed on) or -EBADMSG for a malformed answer.
 */
static int parse_datagram(const struct diag_conn *c, size_t len, uint16_t port,
			  struct key_list *out)
{
	int left = (int)len;	/* NLMSG_OK/NEXT count in int */

	for (const struct nlmsghdr *h = (const void *)c->buf; NLMSG_OK(h, left);
	     h = NLMSG_NEXT(h, left)) {
		if (h->nlmsg_seq != c->seq)
			continue;	/* not an answer to this dump */
		switch (h->nlmsg_type) {
		case NLMSG_DONE:
			/* A dump that failed part way says so in DONE's payload. */
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int))) {
				int err;

				memcpy(&err, NLMSG_DATA(h), sizeof(err));
				if (err < 0)
					return err;
			}
			return 1;
		case NLMSG_ERROR: {
			const struct nlmsgerr *e = NLMSG_DATA(h);

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			/* error 0 is an acknowledgement, which a dump does not end with */
			if (e->error < 0)
				return e->error;
			continue;
		}
		case SOCK_DIAG_BY_FAMILY: {
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			struct wf_flow_key key;
			int err;

			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
				return -EBADMSG;
			if (!key_from_diag(m, &key)) {
				wf_warn("sock_diag: skipping a socket of unexpected family %u",
					m->idiag_family);
				continue;
			}
			/* The kernel filtered on the port already; this only guards the
			 * contract in case a kernel ever ignored the filter. */
			if (key.server_port != port)
				continue;
			err = key_list_push(out, &key);
			if (err)
				return err;
			continue;
		}
		default:
			continue;	/* nothing else is part of a dump answer */
		}
	}
	if (left != 0)
		return -EBADMSG;	/* a message ran past the end of the datagram */
	return 0;
}

/*
 * Adds the connections of one family to out.  A kernel without that family
 * (no IPv6) has nothing to list: 0.  Reports any failure.
 */
static int dump_family(struct diag_conn *c, int family, uint16_t port, struct key_list *out)
{
	int err = send_dump_request(c, family, port);

	if (err) {
		wf_err("cannot list the %s connections of port %u: sending the sock_diag request: %s",
		       family_name(family), port, strerror(-err));
		return err;
	}
	for (;;) {
		ssize_t len = recv_datagram(c);

		if (len < 0) {
			err = (int)len;
			wf_err("cannot list the %s connections of port %u: reading the sock_diag answer: %s",
			       family_name(family), port, strerror(-err));
			return err;
		}
		err = parse_datagram(c, (size_t)len, port, out);
		if (err == 1)
			return 0;
		if (err == 0)
			continue;
		if (family == AF_INET6 && (err == -ENOENT || err == -EAFNOSUPPORT)) {
			wf_debug("sock_diag: no IPv6 in this kernel (%s): no IPv6 connections",
				 strerror(-err));
			return 0;
		}
		wf_err("cannot list the %s connections of port %u: %s%s", family_name(family), port,
		       err == -EBADMSG ? "malformed sock_diag answer" : strerror(-err),
		       err == -ENOENT ? " (no inet_diag/tcp_diag in this kernel?)" : "");
		return err;
	}
}

int wf_sock_diag_established(uint16_t port, struct wf_flow_key **keys, size_t *count)
{
	struct diag_conn c = { .fd = -1 };
	struct key_list list = { 0 };
	int err;

	*keys = NULL;
	*count = 0;
	if (port == 0) {
		wf_err("cannot list the connections of port 0");
		return -EINVAL;
	}
	err = open_diag_socket(&c);
	if (!err)
		err = dump_family(&c, AF_INET, port, &list);
	if (!err)
		err = dump_family(&c, AF_INET6, port, &list);
	close_diag_socket(&c);
	if (err) {
		free(list.keys);
		return err;
	}
	*keys = list.keys;
	*count = list.count;
	return 0;
}
