/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading the BPF side: open the skeleton, size its maps, load, pin the maps
 * (BTF-typed, for `bpftool map dump pinned /sys/fs/bpf/wirefault/NAME`),
 * write the configuration, attach the tc program as a tcx ingress *link* on
 * each interface and the cgroup programs (sock_ops; connect and getpeername for
 * a virtual proxy port) as cgroup links.  Links belong to this process's fds, so the kernel detaches
 * everything if the loader dies (fail open); the pins are removed on stop.
 */
#ifndef WF_LOADER_H
#define WF_LOADER_H

#include <stdbool.h>

#include "wf_config.h"
#include "wf_counters.h"

#define WF_MAX_IFACES 8

struct wirefault_bpf;

struct wf_loader_opts {
	unsigned int port;			/* PostgreSQL server port to follow (the
						 * first of ports[]) */
	unsigned int ports[WF_MAX_PORTS];	/* every followed port, ports[0] == port */
	int n_ports;				/* 0: port alone */
	unsigned int proxy_port;		/* virtual proxy port (0: follow every
						 * connection to port), proxy_ports[0] */
	unsigned int proxy_ports[WF_MAX_PORTS];	/* the virtual port in front of ports[i] */
	int n_proxy_ports;			/* 0, or n_ports */
	const char *ifaces[WF_MAX_IFACES];
	int n_ifaces;
	unsigned int ring_size;			/* bytes, a power of two (0 = default) */
	bool record;				/* copy payload into the ring buffer */
	const char *cgroup;			/* cgroup v2 directory for the cgroup
						 * programs (NULL: ours) */
	unsigned int rto_min_us;		/* TCP_BPF_RTO_MIN for the port (0: no sock_ops) */
};

struct wf_loader {
	struct wirefault_bpf *skel;
	int link_fds[WF_MAX_IFACES];
	unsigned int ifindexes[WF_MAX_IFACES];
	int n_links;
	int cgroup_link_fds[5];			/* sock_ops, connect4/6, getpeername4/6 */
	int n_cgroup_links;
	char cgroup[4096];			/* where they are attached ("" if not) */
	bool pinned;
};

/* Everything or nothing: on failure, what was done is undone.  Prints its
 * own error (naming the missing privilege or kernel feature). */
int wf_loader_start(struct wf_loader *ld, const struct wf_loader_opts *opts);
void wf_loader_stop(struct wf_loader *ld);

int wf_loader_records_fd(const struct wf_loader *ld);
int wf_loader_counters_fd(const struct wf_loader *ld);
int wf_loader_events_fd(const struct wf_loader *ld);
int wf_loader_holds_fd(const struct wf_loader *ld);
int wf_loader_port_stalls_fd(const struct wf_loader *ld);
int wf_loader_vconns_fd(const struct wf_loader *ld);

/* The maps a pipeline is published into (user/pipeline_publish.h). */
void wf_loader_pipeline_fds(const struct wf_loader *ld, int *pipelines_fd, int *pool_fd,
			    int *current_fd);

/* Sum a per-CPU counters map (ours or a pinned one) into out[]. */
int wf_counters_read(int counters_fd, __u64 out[WF_CNT__COUNT]);

/* Names and descriptions, in enum wf_counter order. */
extern const char *const wf_counter_names[WF_CNT__COUNT];
extern const char *const wf_counter_docs[WF_CNT__COUNT];

#endif /* WF_LOADER_H */
