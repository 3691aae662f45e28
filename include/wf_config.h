/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Run-time configuration of the tc program, a one-entry array map written by
 * the loader (pinned as /sys/fs/bpf/wirefault/config).  Until the loader has
 * written it, port is 0 and the program passes everything (fail open).
 */
#ifndef WF_CONFIG_H
#define WF_CONFIG_H

#include "wf_types.h"

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
};

/* skb->mark of packets wirefault injects; the program lets them through. */
#define WF_OWN_MARK	0x77660001u

#endif /* WF_CONFIG_H */
