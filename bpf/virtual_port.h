/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtual proxy port (include/wf_vport.h): what the cgroup programs do
 * to a connect() or getpeername(), how sock_ops turns a tagged socket into a
 * vconns entry, and the tc program's question "is this connection ours?".
 *
 * Only loopback destinations are redirected (127.0.0.0/8, ::1 and
 * ::ffff:127.0.0.0/104): wirefault attaches to lo, and a connection to
 * another host's VPORT is none of its business.  The loader binds a
 * placeholder listener on VPORT before attaching these programs, so the
 * connections they redirect could only ever have reached wirefault.
 */
#ifndef WF_BPF_VIRTUAL_PORT_H
#define WF_BPF_VIRTUAL_PORT_H

#include "wf_vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "counters.h"
#include "maps.h"
#include "packet.h"

#define WF_AF_INET	2
#define WF_AF_INET6	10
#define WF_SOCK_STREAM	1

static __always_inline bool wf_vport_loopback4(__u32 addr_be)
{
	return (bpf_ntohl(addr_be) >> 24) == 127;
}

/* ::1, or an IPv4 loopback address in its v4-mapped form. */
static __always_inline bool wf_vport_loopback6(const __u32 a[4])
{
	if (a[0] || a[1])
		return false;
	if (!a[2])
		return a[3] == bpf_htonl(1);
	return a[2] == bpf_htonl(0xffff) && wf_vport_loopback4(a[3]);
}

/*
 * connect4/connect6: a TCP connect() to a loopback VPORT goes to the PORT
 * behind it (wf_config.proxy_ports[]), and the socket remembers both.  A socket that cannot be tagged is not redirected
 * (it reaches the placeholder, which closes it): a connection that reached
 * the server untagged would silently escape the faults it was made for.
 */
static __always_inline void wf_vport_connect(struct bpf_sock_addr *ctx, bool loopback)
{
	struct wf_vport_tag *tag;
	struct wf_config *cfg;
	__u32 zero = 0;

	if (!loopback || ctx->protocol != WF_IPPROTO_TCP || ctx->type != WF_SOCK_STREAM)
		return;
	__u16 vport = bpf_ntohs((__u16)ctx->user_port), port;
	int i;

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || !cfg->port || !cfg->proxy_port)
		return;
	i = wf_config_proxy_index(cfg, vport);
	if (i < 0 || i >= WF_MAX_PORTS)
		return;
	port = i ? cfg->ports[i] : cfg->port;
	if (!port)
		return;
	tag = bpf_sk_storage_get(&vport_tags, ctx->sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!tag) {
		wf_count(WF_CNT_VPORT_TAG_FAILED);
		return;
	}
	tag->proxy_port = vport;
	tag->server_port = port;
	ctx->user_port = bpf_htons(port);
	wf_count(WF_CNT_VPORT_REDIRECTS);
}

/* getpeername4/6: a redirected socket still sees the port it asked for. */
static __always_inline void wf_vport_peername(struct bpf_sock_addr *ctx)
{
	struct wf_vport_tag *tag = bpf_sk_storage_get(&vport_tags, ctx->sk, 0, 0);

	if (tag && bpf_ntohs((__u16)ctx->user_port) == tag->server_port) {
		ctx->user_port = bpf_htons(tag->proxy_port);
		wf_count(WF_CNT_VPORT_PEERNAMES);
	}
}

/*
 * The flow key (include/wf_flow.h) of a sock_ops socket; local_is_client
 * says which end the socket is.  An AF_INET6 socket talking to a v4-mapped
 * address sends IPv4 packets: it is keyed as IPv4, from the IPv4 fields
 * (its v6 source address is only filled in after the SYN has left).
 *
 * Written for the verifier: every ctx field is read once at its constant
 * offset, and the key is filled local -> remote and then swapped, never
 * through a pointer chosen at run time (clang turns such choices into
 * pointer arithmetic the verifier refuses).
 */
static __always_inline void
wf_sockops_key(const struct bpf_sock_ops *skops, bool local_is_client, struct wf_flow_key *key)
{
	__u32 l[4] = { skops->local_ip6[0], skops->local_ip6[1], skops->local_ip6[2],
		       skops->local_ip6[3] };
	__u32 r[4] = { skops->remote_ip6[0], skops->remote_ip6[1], skops->remote_ip6[2],
		       skops->remote_ip6[3] };
	__u32 l4 = skops->local_ip4, r4 = skops->remote_ip4;
	__u16 lport = (__u16)skops->local_port;
	__u16 rport = (__u16)bpf_ntohl(skops->remote_port);
	bool v4 = skops->family == WF_AF_INET || (!r[0] && !r[1] && r[2] == bpf_htonl(0xffff));
	__u32 *c = (__u32 *)key->client_addr, *s = (__u32 *)key->server_addr;

	__builtin_memset(key, 0, sizeof(*key));
	if (v4) {
		key->family = WF_FAMILY_IPV4;
		wf_addr_v4(key->client_addr, l4);
		wf_addr_v4(key->server_addr, r4);
	} else {
		key->family = WF_FAMILY_IPV6;
		__builtin_memcpy(key->client_addr, l, 16);
		__builtin_memcpy(key->server_addr, r, 16);
	}
	key->client_port = lport;
	key->server_port = rport;
	if (!local_is_client) {
		for (int i = 0; i < 4; i++) {
			__u32 t = c[i];

			c[i] = s[i];
			s[i] = t;
		}
		key->client_port = rport;
		key->server_port = lport;
	}
}

/*
 * TCP_CONNECT_CB (the client's SYN is about to leave, its 4-tuple is
 * final): a tagged socket's connection enters vconns before the tc program
 * sees any of its packets; any other socket's 4-tuple leaves it, so that a
 * reused 4-tuple never inherits an old tag.  Tagged sockets also report
 * their state changes, to leave vconns when they close.
 */
static __always_inline void wf_vport_sockops_connect(struct bpf_sock_ops *skops)
{
	struct wf_flow_key key;
	struct wf_vport_tag *tag;
	struct bpf_sock *sk = skops->sk;
	struct wf_vconn vc = {};

	if (!sk)
		return;
	wf_sockops_key(skops, true, &key);
	tag = bpf_sk_storage_get(&vport_tags, sk, 0, 0);
	if (!tag) {
		bpf_map_delete_elem(&vconns, &key);
		return;
	}
	vc.cookie = bpf_get_socket_cookie(skops);
	vc.proxy_port = tag->proxy_port;
	if (bpf_map_update_elem(&vconns, &key, &vc, BPF_ANY))
		wf_count(WF_CNT_ERRORS);
	bpf_sock_ops_cb_flags_set(skops, skops->bpf_sock_ops_cb_flags | BPF_SOCK_OPS_STATE_CB_FLAG);
}

/* STATE_CB of a tagged client socket: gone once it is closed. */
static __always_inline void wf_vport_sockops_state(struct bpf_sock_ops *skops)
{
	struct wf_flow_key key;

	if (skops->args[1] != BPF_TCP_CLOSE)
		return;
	wf_sockops_key(skops, true, &key);
	bpf_map_delete_elem(&vconns, &key);
}

/* Whether a connection is faulted: in proxy mode, only those made through the virtual port. */
static __always_inline bool wf_vport_follows(const struct wf_config *cfg, const struct wf_flow_key *key)
{
	return !cfg->proxy_port || bpf_map_lookup_elem(&vconns, key);
}

#endif /* WF_BPF_VIRTUAL_PORT_H */
