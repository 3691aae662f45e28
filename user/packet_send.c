// SPDX-License-Identifier: GPL-2.0
#include "packet_send.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "wf_config.h"
#include "wf_flow.h"

/* <linux/icmp.h> clashes with glibc's network headers: its one constant. */
#ifndef ICMP_FILTER
#define ICMP_FILTER 1
#endif

#define ETH_HLEN_BYTES 14

static const char *socket_hint(int err)
{
	return err == EPERM || err == EACCES ? " (need CAP_NET_RAW)" : "";
}

/* Opens one socket marked WF_OWN_MARK; -errno after wf_err. */
static int open_marked(int domain, int type, int protocol, const char *what)
{
	uint32_t mark = WF_OWN_MARK;
	int fd, err;

	fd = socket(domain, type | SOCK_CLOEXEC, protocol);
	if (fd < 0) {
		err = errno;
		if (domain == AF_INET6 && err == EAFNOSUPPORT)
			return -err;	/* the caller goes on without IPv6 */
		wf_err("failed to open %s socket: %s%s", what, strerror(err), socket_hint(err));
		return -err;
	}
	/* Since Linux 5.17 SO_MARK takes CAP_NET_RAW as well as CAP_NET_ADMIN. */
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
		err = errno;
		wf_err("failed to mark %s socket: %s%s", what, strerror(err),
		       err == EPERM ? " (need CAP_NET_RAW or CAP_NET_ADMIN)" : "");
		close(fd);
		return -err;
	}
	return fd;
}

/*
 * A raw ICMP socket receives a copy of every ICMP message of its family on
 * the machine (our own unreachables included).  Nobody reads ours, so
 * filter everything out instead of letting the queue fill up.
 */
static int block_icmp_input(int fd, int family)
{
	int one = 1;

	/* The smallest receive buffer too, in case a filter is refused. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	if (family == AF_INET) {
		uint32_t block_all = ~0u;	/* bit n set: type n filtered out */

		return setsockopt(fd, SOL_RAW, ICMP_FILTER, &block_all, sizeof(block_all));
	} else {
		struct icmp6_filter filter;

		ICMP6_FILTER_SETBLOCKALL(&filter);
		return setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter));
	}
}

int wf_packet_sender_open(struct wf_packet_sender *s)
{
	int fd;

	s->packet_fd = s->icmp4_fd = s->icmp6_fd = -1;

	/* Protocol 0: the socket only sends, it is never handed frames. */
	fd = open_marked(AF_PACKET, SOCK_RAW, 0, "packet");
	if (fd < 0)
		goto fail;
	s->packet_fd = fd;

	fd = open_marked(AF_INET, SOCK_RAW, IPPROTO_ICMP, "raw ICMP");
	if (fd < 0)
		goto fail;
	s->icmp4_fd = fd;
	if (block_icmp_input(fd, AF_INET) < 0)
		wf_debug("raw ICMP socket: cannot filter input: %s", strerror(errno));

	fd = open_marked(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6, "raw ICMPv6");
	if (fd == -EAFNOSUPPORT) {
		wf_debug("no IPv6 in this kernel: ICMPv6 release disabled");
		return 0;
	}
	if (fd < 0)
		goto fail;
	s->icmp6_fd = fd;
	if (block_icmp_input(fd, AF_INET6) < 0)
		wf_debug("raw ICMPv6 socket: cannot filter input: %s", strerror(errno));
	return 0;

fail:
	wf_packet_sender_close(s);
	return fd;
}

void wf_packet_sender_close(struct wf_packet_sender *s)
{
	if (s->icmp6_fd >= 0)
		close(s->icmp6_fd);
	if (s->icmp4_fd >= 0)
		close(s->icmp4_fd);
	if (s->packet_fd >= 0)
		close(s->packet_fd);
	s->packet_fd = s->icmp4_fd = s->icmp6_fd = -1;
}

/* sendto() of the whole message, retried on EINTR: 0 or -errno. */
static int send_all(int fd, const void *buf, size_t len, const struct sockaddr *to, socklen_t tolen)
{
	ssize_t n;

	if (fd < 0)
		return -EBADF;
	do
		n = sendto(fd, buf, len, 0, to, tolen);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* Raw and packet sockets send datagrams whole or not at all. */
	return (size_t)n == len ? 0 : -EIO;
}

int wf_packet_send_frame(struct wf_packet_sender *s, int ifindex, const uint8_t *frame, size_t len)
{
	struct sockaddr_ll to = {
		.sll_family = AF_PACKET,
		.sll_ifindex = ifindex,
	};

	if (len < ETH_HLEN_BYTES || ifindex <= 0)
		return -EINVAL;
	/* SOCK_RAW sends the frame as is; sll_protocol sets skb->protocol,
	 * which must match the ethertype for the IP layer to take it.  Both
	 * are in network order. */
	memcpy(&to.sll_protocol, frame + 12, sizeof(to.sll_protocol));
	return send_all(s->packet_fd, frame, len, (const struct sockaddr *)&to, sizeof(to));
}

int wf_packet_ifindex_is_loopback(struct wf_packet_sender *s, int ifindex)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname((unsigned int)ifindex, ifr.ifr_name))
		return -errno;
	if (ioctl(s->packet_fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	return !!(ifr.ifr_flags & IFF_LOOPBACK);
}

int wf_packet_send_icmp(struct wf_packet_sender *s, int family, const uint8_t dst[16],
			int ifindex, const uint8_t *msg, size_t len)
{
	if (family == WF_FAMILY_IPV4) {
		struct sockaddr_in to = { .sin_family = AF_INET };

		memcpy(&to.sin_addr, dst + 12, 4);
		return send_all(s->icmp4_fd, msg, len, (const struct sockaddr *)&to, sizeof(to));
	}
	if (family == WF_FAMILY_IPV6) {
		struct sockaddr_in6 to = { .sin6_family = AF_INET6 };

		if (s->icmp6_fd < 0)
			return -EAFNOSUPPORT;
		memcpy(&to.sin6_addr, dst, 16);
		if (IN6_IS_ADDR_LINKLOCAL(&to.sin6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&to.sin6_addr))
			to.sin6_scope_id = (uint32_t)ifindex;
		return send_all(s->icmp6_fd, msg, len, (const struct sockaddr *)&to, sizeof(to));
	}
	return -EINVAL;
}
