/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtual proxy port (DESIGN.md §2): with `wirefault run --port PORT
 * --proxy-port VPORT`, cgroup connect4/connect6 programs send connections
 * made to the loopback VPORT to PORT instead and tag their sockets; the
 * sock_ops program turns a tagged socket's 4-tuple into an entry of the
 * `vconns` map before its SYN leaves; the tc program follows only
 * connections found there.  Direct connections to PORT pass untouched.
 *
 * Read it with:  bpftool map dump pinned /sys/fs/bpf/wirefault/vconns
 */
#ifndef WF_VPORT_H
#define WF_VPORT_H

#include "wf_types.h"

/* Per-socket tag (sk_storage of the client socket), set by connect4/6. */
struct wf_vport_tag {
	__u16 proxy_port;	/* the port the application connected to, host order */
	__u16 server_port;	/* where the connection really goes, host order */
	__u32 pad;
};

/*
 * A connection made through the virtual port, keyed by its struct
 * wf_flow_key (client -> server, as the tc program keys flows).  Written
 * when the client's SYN is about to be sent, deleted when its socket closes.
 */
struct wf_vconn {
	__u64 cookie;		/* socket cookie of the client socket */
	__u16 proxy_port;	/* host order */
	__u8 pad[6];
};

/* Entries of the LRU vconns table (the flow table's size: one per flow). */
#define WF_VCONN_TABLE_SIZE	16384

#endif /* WF_VPORT_H */
