// SPDX-License-Identifier: GPL-2.0
#include "loader.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "leftovers.h"
#include "log.h"
#include "wf_config.h"
#include "wf_record.h"
#include "wirefault.skel.h"

/* libbpf 1.1 predates tcx: its headers have neither the attach type nor a helper. */
#define WF_BPF_TCX_INGRESS 46

const char *const wf_counter_names[WF_CNT__COUNT] = {
#define WF_COUNTER_NAME(name, doc) #name,
	WF_COUNTER_LIST(WF_COUNTER_NAME)
#undef WF_COUNTER_NAME
};

const char *const wf_counter_docs[WF_CNT__COUNT] = {
#define WF_COUNTER_DOC(name, doc) doc,
	WF_COUNTER_LIST(WF_COUNTER_DOC)
#undef WF_COUNTER_DOC
};

static const char *privilege_hint(int err)
{
	return err == -EPERM || err == -EACCES ? " (need root, or CAP_BPF + CAP_PERFMON + CAP_NET_ADMIN)" : "";
}

/* The maps a user may inspect with bpftool; the ring and scratch are not readable that way. */
static struct bpf_map *pinned_map(struct wirefault_bpf *skel, int i)
{
	struct bpf_map *maps[] = { skel->maps.config, skel->maps.flows, skel->maps.counters,
				   skel->maps.pipelines, skel->maps.pipe_current, skel->maps.holds,
				   skel->maps.vconns, skel->maps.filter_stats, skel->maps.port_stalls };

	return i < (int)(sizeof(maps) / sizeof(maps[0])) ? maps[i] : NULL;
}

static int pin_maps(struct wf_loader *ld)
{
	struct bpf_map *map;
	char path[256];
	int err;

	if (mkdir(WF_PIN_DIR, 0700) < 0 && errno != EEXIST) {
		err = -errno;
		wf_err("failed to create %s: %s", WF_PIN_DIR, strerror(-err));
		return err;
	}
	ld->pinned = true;
	for (int i = 0; (map = pinned_map(ld->skel, i)); i++) {
		snprintf(path, sizeof(path), "%s/%s", WF_PIN_DIR, bpf_map__name(map));
		err = bpf_map__pin(map, path);
		if (err) {
			wf_err("failed to pin map %s at %s: %s", bpf_map__name(map), path, strerror(-err));
			return err;
		}
	}
	return 0;
}

static int attach_tcx(struct wf_loader *ld, const char *ifname)
{
	unsigned int ifindex = if_nametoindex(ifname);
	int fd;

	if (!ifindex) {
		wf_err("no interface named %s", ifname);
		return -ENODEV;
	}
	fd = bpf_link_create(bpf_program__fd(ld->skel->progs.wf_tc_ingress), (int)ifindex,
			     WF_BPF_TCX_INGRESS, NULL);
	if (fd < 0) {
		int err = -errno;

		if (err == -EINVAL || err == -EOPNOTSUPP)
			wf_err("failed to attach tcx ingress link on %s: %s (this kernel lacks tcx links: Linux >= 6.6 needed)",
			       ifname, strerror(-err));
		else
			wf_err("failed to attach tcx ingress link on %s: %s%s", ifname, strerror(-err),
			       err == -EPERM ? " (need CAP_NET_ADMIN)" : "");
		return err;
	}
	ld->link_fds[ld->n_links] = fd;
	ld->ifindexes[ld->n_links] = ifindex;
	ld->n_links++;
	wf_debug("attached tcx ingress link on %s (ifindex %u)", ifname, ifindex);
	return 0;
}

static int attach_to_cgroup(struct wf_loader *ld, int cg_fd, struct bpf_program *prog,
			    enum bpf_attach_type type, const char *what)
{
	int fd = bpf_link_create(bpf_program__fd(prog), cg_fd, type, NULL);

	if (fd < 0) {
		int err = -errno;

		wf_err("failed to attach the %s program to cgroup %s: %s%s", what, ld->cgroup,
		       strerror(-err), err == -EPERM ? " (need CAP_NET_ADMIN)" : "");
		return err;
	}
	ld->cgroup_link_fds[ld->n_cgroup_links++] = fd;
	return 0;
}

/* Is dir the root of its cgroup2 hierarchy? */
static bool cgroup_is_root(const char *dir)
{
	char mnt[4096];
	char real_dir[4096], real_mnt[4096];

	if (wf_cgroup2_mount(mnt, sizeof(mnt)) || !realpath(mnt, real_mnt) || !realpath(dir, real_dir))
		return false;
	return !strcmp(real_mnt, real_dir);
}

/*
 * The cgroup programs, all on one cgroup (the loader's own by default: the
 * harness that starts wirefault and the servers and clients it starts live
 * there; DESIGN.md §7):
 *  - sock_ops lowers the minimum RTO of the port's connections (a safety
 *    net for holds: bytes cut away behind a held chunk come back by
 *    retransmission) and, in proxy mode, records tagged connections;
 *  - in proxy mode, connect4/6 and getpeername4/6 make the virtual port.
 * Without a virtual port, sock_ops is optional: no cgroup v2 means a warning.
 */
static int attach_cgroup_programs(struct wf_loader *ld, const struct wf_loader_opts *opts)
{
	struct wirefault_bpf *skel = ld->skel;
	int cg_fd, err;

	if (opts->cgroup) {
		if ((size_t)snprintf(ld->cgroup, sizeof(ld->cgroup), "%s", opts->cgroup) >= sizeof(ld->cgroup))
			return -ENAMETOOLONG;
	} else {
		err = wf_cgroup_own_dir(ld->cgroup, sizeof(ld->cgroup));
		if (err == -ENOENT && !opts->proxy_port) {
			/* A safety net only: holds still end on time without it. */
			wf_warn("no cgroup v2 hierarchy is mounted: the sock_ops program is not attached, "
				"so bytes behind a held chunk come back after the kernel's usual RTO "
				"(200 ms) instead of ~20 ms");
			ld->cgroup[0] = '\0';
			return 0;
		}
		if (err) {
			wf_err("cannot find this process's cgroup v2 (for the %s): %s%s",
			       opts->proxy_port ? "virtual proxy port's connect hooks" : "sock_ops program",
			       strerror(-err), err == -ENOENT ? " (no cgroup2 hierarchy is mounted)" : "");
			return err;
		}
	}
	cg_fd = open(ld->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg_fd < 0) {
		err = -errno;
		wf_err("cannot open cgroup %s: %s", ld->cgroup, strerror(-err));
		return err;
	}
	err = attach_to_cgroup(ld, cg_fd, skel->progs.wf_sockops, BPF_CGROUP_SOCK_OPS, "sock_ops");
	if (!err && opts->proxy_port) {
		err = attach_to_cgroup(ld, cg_fd, skel->progs.wf_connect4, BPF_CGROUP_INET4_CONNECT, "connect4");
		if (!err)
			err = attach_to_cgroup(ld, cg_fd, skel->progs.wf_connect6, BPF_CGROUP_INET6_CONNECT,
					       "connect6");
		if (!err)
			err = attach_to_cgroup(ld, cg_fd, skel->progs.wf_getpeername4,
					       BPF_CGROUP_INET4_GETPEERNAME, "getpeername4");
		if (!err)
			err = attach_to_cgroup(ld, cg_fd, skel->progs.wf_getpeername6,
					       BPF_CGROUP_INET6_GETPEERNAME, "getpeername6");
	}
	close(cg_fd);
	if (err)
		return err;
	if (opts->proxy_port && cgroup_is_root(ld->cgroup))
		wf_info("connect hooks on the root cgroup %s: every process's connections to loopback "
			"port %u go to port %u%s (the placeholder owns port %u; --cgroup DIR narrows this)",
			ld->cgroup, opts->proxy_port, opts->port,
			opts->n_proxy_ports > 1 ? ", and so on for each --proxy-port" : "", opts->proxy_port);
	wf_debug("attached %d cgroup link(s) on %s (minimum RTO %u us for port %u%s)", ld->n_cgroup_links,
		 ld->cgroup, opts->rto_min_us, opts->port, opts->proxy_port ? ", virtual port hooks" : "");
	return 0;
}

int wf_loader_start(struct wf_loader *ld, const struct wf_loader_opts *opts)
{
	struct wf_config cfg = { 0 };
	__u32 zero = 0;
	int ncpus, err;

	memset(ld, 0, sizeof(*ld));
	ld->skel = wirefault_bpf__open();
	if (!ld->skel) {
		err = -errno;
		wf_err("failed to open the BPF object: %s", strerror(-err));
		return err;
	}
	ncpus = libbpf_num_possible_cpus();
	if (ncpus <= 0) {
		err = ncpus < 0 ? ncpus : -EINVAL;
		wf_err("failed to count CPUs: %s", strerror(-err));
		goto fail;
	}
	bpf_map__set_max_entries(ld->skel->maps.rec_scratch, (__u32)ncpus);
	bpf_map__set_max_entries(ld->skel->maps.records, opts->ring_size ? opts->ring_size : WF_REC_RING_DEFAULT);

	err = wirefault_bpf__load(ld->skel);
	if (err) {
		wf_err("failed to load the BPF programs: %s%s%s", strerror(-err), privilege_hint(err),
		       wf_log_verbosity() < 2 ? "; run with -vv for the verifier log" : "");
		goto fail;
	}
	err = pin_maps(ld);
	if (err)
		goto fail;

	cfg.port = (__u16)opts->port;
	cfg.ports[0] = cfg.port;
	cfg.nports = 1;
	for (int i = 1; i < opts->n_ports && i < WF_MAX_PORTS; i++)
		cfg.ports[cfg.nports++] = (__u16)opts->ports[i];
	cfg.proxy_port = (__u16)opts->proxy_port;
	cfg.proxy_ports[0] = cfg.proxy_port;
	for (int i = 1; i < opts->n_proxy_ports && i < WF_MAX_PORTS; i++)
		cfg.proxy_ports[i] = (__u16)opts->proxy_ports[i];
	cfg.flags = opts->record ? WF_CFG_RECORD : 0;
	cfg.loader_pid = (__u32)getpid();
	cfg.rto_min_us = opts->rto_min_us;
	if (bpf_map_update_elem(bpf_map__fd(ld->skel->maps.config), &zero, &cfg, BPF_ANY)) {
		err = -errno;
		wf_err("failed to write the configuration map: %s", strerror(-err));
		goto fail;
	}
	for (int i = 0; i < opts->n_ifaces; i++) {
		err = attach_tcx(ld, opts->ifaces[i]);
		if (err)
			goto fail;
	}
	if (opts->rto_min_us || opts->proxy_port) {
		err = attach_cgroup_programs(ld, opts);
		if (err)
			goto fail;
	}
	return 0;
fail:
	wf_loader_stop(ld);
	return err;
}

void wf_loader_stop(struct wf_loader *ld)
{
	/* Detach first so no packet meets a half-torn-down program, then unpin. */
	for (int i = ld->n_cgroup_links - 1; i >= 0; i--)
		close(ld->cgroup_link_fds[i]);
	ld->n_cgroup_links = 0;
	for (int i = ld->n_links - 1; i >= 0; i--)
		close(ld->link_fds[i]);
	ld->n_links = 0;
	if (ld->pinned) {
		int err = wf_pins_remove();

		if (err < 0)
			wf_warn("failed to remove %s: %s", WF_PIN_DIR, strerror(-err));
		ld->pinned = false;
	}
	wirefault_bpf__destroy(ld->skel);
	ld->skel = NULL;
}

int wf_loader_records_fd(const struct wf_loader *ld)
{
	return bpf_map__fd(ld->skel->maps.records);
}

int wf_loader_counters_fd(const struct wf_loader *ld)
{
	return bpf_map__fd(ld->skel->maps.counters);
}

int wf_loader_events_fd(const struct wf_loader *ld)
{
	return bpf_map__fd(ld->skel->maps.events);
}

int wf_loader_vconns_fd(const struct wf_loader *ld)
{
	return bpf_map__fd(ld->skel->maps.vconns);
}

int wf_loader_holds_fd(const struct wf_loader *ld)
{
	return bpf_map__fd(ld->skel->maps.holds);
}

int wf_loader_port_stalls_fd(const struct wf_loader *ld)
{
	return bpf_map__fd(ld->skel->maps.port_stalls);
}

void wf_loader_pipeline_fds(const struct wf_loader *ld, int *pipelines_fd, int *pool_fd,
			    int *current_fd)
{
	*pipelines_fd = bpf_map__fd(ld->skel->maps.pipelines);
	*pool_fd = bpf_map__fd(ld->skel->maps.dfa_pool);
	*current_fd = bpf_map__fd(ld->skel->maps.pipe_current);
}

int wf_counters_read(int counters_fd, __u64 out[WF_CNT__COUNT])
{
	int ncpus = libbpf_num_possible_cpus();
	__u64 *percpu;

	if (ncpus <= 0)
		return -EINVAL;
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	if (!percpu)
		return -ENOMEM;
	for (__u32 k = 0; k < WF_CNT__COUNT; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(counters_fd, &k, percpu) == 0)
			for (int c = 0; c < ncpus; c++)
				out[k] += percpu[c];
	}
	free(percpu);
	return 0;
}
