/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run-time configuration of the tc program, a one-entry array map written by
 * the loader (pinned as /sys/fs/bpf/wirefault/config).  Until the loader has
 * written it, port is 0 and the program passes everything (fail open).
 *
 * Followed ports (`run --port P [--port P2 ...]`): `port` is the first, the
 * one the code that needs a single port uses (the virtual proxy port
 * redirects to it); ports[0..nports) are all of them, ports[0] == port,
 * unused entries 0.  A writer that sets `port` alone (nports 0) follows
 * that one port.
 *
 * Virtual proxy ports (`run --port P --proxy-port V [--port P2 --proxy-port
 * V2 ...]`): proxy_ports[i] stands in front of ports[i], proxy_ports[0] ==
 * proxy_port; with any of them only connections made through one are
 * followed.  A writer that sets proxy_port alone has one, in front of port.
 */
#ifndef WF_CONFIG_H
#define WF_CONFIG_H

#include "wf_types.h"

/* Server ports one loader follows at most. */
#define WF_MAX_PORTS	8

enum wf_config_flags {
	WF_CFG_RECORD = 1u << 0,	/* copy payload into the ring buffer */
};

struct wf_config {
	__u16 port;		/* PostgreSQL server port to follow, host order; 0 = off */
	__u16 proxy_port;	/* virtual proxy port (include/wf_vport.h), host order;
				 * 0 = follow every connection to port */
	__u32 flags;		/* enum wf_config_flags */
	__u32 loader_pid;	/* for `wirefault status` and bpftool readers */
	__u32 rto_min_us;	/* sock_ops: TCP_BPF_RTO_MIN for connections of the
				 * port, so that segments dropped during a hold come
				 * back fast (DESIGN.md §7); 0 = leave RTOs alone */
	__u32 nports;		/* entries of ports[] in use (0: port alone) */
	__u16 ports[WF_MAX_PORTS];	/* every followed port, host order; ports[0] == port */
	__u16 proxy_ports[WF_MAX_PORTS];	/* virtual port in front of ports[i], 0: none */
};

/* The index of port in a port list whose entry 0 is `first` (0 never is one), or -1. */
static inline int wf_port_list_index(__u16 first, const __u16 *list, __u16 port)
{
	if (!port)
		return -1;
	if (port == first)
		return 0;
	for (int i = 1; i < WF_MAX_PORTS; i++)
		if (list[i] == port)
			return i;
	return -1;
}

/* The index of port in cfg->ports[] (0: cfg->port), or -1 if not followed. */
static inline int wf_config_port_index(const struct wf_config *cfg, __u16 port)
{
	return wf_port_list_index(cfg->port, cfg->ports, port);
}

/* Is `port` (host order) a followed server port?  Port 0 never is. */
static inline int wf_config_follows(const struct wf_config *cfg, __u16 port)
{
	return wf_config_port_index(cfg, port) >= 0;
}

/* The index i of the virtual port vport (proxy_ports[i], in front of
 * ports[i]; 0: proxy_port, in front of port), or -1 if it is none. */
static inline int wf_config_proxy_index(const struct wf_config *cfg, __u16 vport)
{
	return wf_port_list_index(cfg->proxy_port, cfg->proxy_ports, vport);
}

#define WF_OWN_MARK	0x77660001u

#endif /* WF_CONFIG_H */
