// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault run`: the loader.  Takes the instance lock, sweeps what a
 * crashed run left, loads and attaches the BPF side, then serves the FIFO and
 * drains the recorder until SIGINT/SIGTERM, and removes everything of its own
 * on the way out.
 */
#include <argp.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/signalfd.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <sys/random.h>

#include "actions.h"
#include "cli.h"
#include "command_exec.h"
#include "control_server.h"
#include "decision_log.h"
#include "pipeline_publish.h"
#include "fifo_server.h"
#include "instance_lock.h"
#include "leftovers.h"
#include "loader.h"
#include "log.h"
#include "mono_clock.h"
#include "pcap_writer.h"
#include "privileges.h"
#include "proxy_placeholder.h"
#include "recorder.h"
#include "ring_reader.h"

/* The kernel writes records without waking us; this bounds their wait. */
#define RING_DRAIN_INTERVAL_MS 20

/* serve()'s poll set: signals, recorder ring, events, FIFO; then each placeholder's watch
 * pipe (WF_MAX_PORTS), then the control socket's. */
#define PFD_FIXED 4

struct run_opts {
	struct wf_loader_opts ld;
	const char *fifo;
	const char *ready_file;
	unsigned long max_rows;
	unsigned long max_bytes;
	const char *pcap;	/* live capture, or NULL */
	unsigned long answer_timeout_ms;
	int verbosity;
	bool port_set;
	int lock_fd;		/* held instance lock, where we publish ourselves */
	bool inherit_fifo;	/* a dead loader created our FIFO: remove it on exit */
	unsigned long seed;	/* of random decisions without seed(n) */
	bool seed_set;
};

enum { OPT_MAX_ROWS = 1000, OPT_RING_SIZE, OPT_NO_RECORD, OPT_ANSWER_TIMEOUT, OPT_READY_FILE,
       OPT_CGROUP, OPT_RTO_MIN, OPT_PROXY_PORT, OPT_MAX_BYTES, OPT_PCAP, OPT_SEED };

/* Minimum RTO of the port's connections: retransmissions of bytes cut away
 * behind a held chunk after ~20 ms (DESIGN.md §7; the kernel takes 8000..200000). */
#define RTO_MIN_US_DEFAULT 10000

static const struct argp_option run_options[] = {
	{ "port", 'p', "PORT", 0, "PostgreSQL server port whose traffic is faulted (required; repeatable, at most 8: conn(port=P) scopes a command to one)", 0 },
	{ "proxy-port", OPT_PROXY_PORT, "VPORT", 0, "virtual proxy port: connections made to loopback VPORT go to PORT and only those are faulted (like a proxy on VPORT in front of PORT); repeatable, one per --port, in the same order", 0 },
	{ "fifo", 'f', "PATH", 0, "command FIFO (created if missing, removed on exit if created); default " WF_FIFO_DEFAULT, 0 },
	{ "iface", 'i', "IF", 0, "interface to attach to (repeatable; default lo)", 0 },
	{ "max-rows", OPT_MAX_ROWS, "N", 0, "recorder rows kept between dumps (default 100000; oldest dropped first, noted in the dump)", 0 },
	{ "max-bytes", OPT_MAX_BYTES, "BYTES", 0, "recorder memory for kept rows: their text, JSON and bytes (default 8 MiB; oldest dropped first, noted in the dump)", 0 },
	{ "pcap", OPT_PCAP, "FILE", 0, "also write every recorded chunk to FILE as it happens (pcap; what wirefault did is noted in FILE" WF_PCAP_NOTES_SUFFIX ")", 0 },
	{ "ring-size", OPT_RING_SIZE, "BYTES", 0, "kernel ring buffer size, a power of two >= 4096 (default 4 MiB)", 0 },
	{ "seed", OPT_SEED, "N", 0, "seed of the random decisions of pipelines without seed(n): probability(p), delay(ms, jitter) (default: drawn at start and logged; the same seed and workload make the same decisions)", 0 },
	{ "no-record", OPT_NO_RECORD, NULL, 0, "do not copy traffic to userspace (recorder.dump() stays empty)", 0 },
	{ "answer-timeout", OPT_ANSWER_TIMEOUT, "MS", 0, "drop an answer nobody reads within MS (default 10000)", 0 },
	{ "ready-file", OPT_READY_FILE, "PATH", 0, "write PATH once attached and listening (for scripts)", 0 },
	{ "cgroup", OPT_CGROUP, "DIR", 0, "cgroup v2 directory whose processes' connect()s the virtual port applies to, also used by the sock_ops program (default: wirefault's own cgroup)", 0 },
	{ "rto-min-us", OPT_RTO_MIN, "US", 0, "minimum TCP RTO set on the port's connections, 8000..200000, 0 = leave alone (default 10000)", 0 },
	{ "verbose", 'v', NULL, 0, "more output (-vv: libbpf and verifier logs)", 0 },
	{ 0 },
};

/* --port and --proxy-port: another entry of the list, at most WF_MAX_PORTS, each once. */
static void add_port(struct argp_state *state, const char *arg, const char *opt, unsigned int *list,
		     int *n)
{
	unsigned long v;

	if (wf_parse_uint(arg, 1, 65535, &v))
		argp_error(state, "invalid %s '%s': expected 1..65535", opt, arg);
	if (*n == WF_MAX_PORTS)
		argp_error(state, "at most %d %s options", WF_MAX_PORTS, opt);
	for (int i = 0; i < *n; i++)
		if (list[i] == v)
			argp_error(state, "%s %lu given twice", opt, v);
	list[(*n)++] = (unsigned int)v;
}

static error_t run_parse(int key, char *arg, struct argp_state *state)
{
	struct run_opts *o = state->input;
	unsigned long v;

	switch (key) {
	case 'p':
		add_port(state, arg, "--port", o->ld.ports, &o->ld.n_ports);
		if (!o->port_set)
			o->ld.port = o->ld.ports[0];
		o->port_set = true;
		break;
	case OPT_PROXY_PORT:
		add_port(state, arg, "--proxy-port", o->ld.proxy_ports, &o->ld.n_proxy_ports);
		o->ld.proxy_port = o->ld.proxy_ports[0];
		break;
	case 'f':
		o->fifo = arg;
		break;
	case 'i':
		if (o->ld.n_ifaces == WF_MAX_IFACES)
			argp_error(state, "at most %d interfaces", WF_MAX_IFACES);
		o->ld.ifaces[o->ld.n_ifaces++] = arg;
		break;
	case OPT_MAX_ROWS:
		if (wf_parse_uint(arg, 1, 100000000, &o->max_rows))
			argp_error(state, "invalid --max-rows '%s': expected 1..100000000", arg);
		break;
	case OPT_MAX_BYTES:
		if (wf_parse_uint(arg, 4096, 1UL << 40, &o->max_bytes))
			argp_error(state, "invalid --max-bytes '%s': expected 4096..1099511627776", arg);
		break;
	case OPT_PCAP:
		o->pcap = arg;
		break;
	case OPT_RING_SIZE:
		if (wf_parse_uint(arg, 4096, 1UL << 30, &v) || (v & (v - 1)))
			argp_error(state, "invalid --ring-size '%s': expected a power of two from 4096 to 1073741824", arg);
		o->ld.ring_size = (unsigned int)v;
		break;
	case OPT_NO_RECORD:
		o->ld.record = false;
		break;
	case OPT_SEED:
		if (wf_parse_uint(arg, 0, INT64_MAX, &o->seed))
			argp_error(state, "invalid --seed '%s': expected 0..9223372036854775807", arg);
		o->seed_set = true;
		break;
	case OPT_ANSWER_TIMEOUT:
		if (wf_parse_uint(arg, 1, 3600000, &o->answer_timeout_ms))
			argp_error(state, "invalid --answer-timeout '%s': expected 1..3600000 ms", arg);
		break;
	case OPT_READY_FILE:
		o->ready_file = arg;
		break;
	case OPT_CGROUP:
		o->ld.cgroup = arg;
		break;
	case OPT_RTO_MIN:
		if (wf_parse_uint(arg, 0, 200000, &v) || (v && v < 8000))
			argp_error(state, "invalid --rto-min-us '%s': expected 0 or 8000..200000", arg);
		o->ld.rto_min_us = (unsigned int)v;
		break;
	case 'v':
		o->verbosity++;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!o->port_set)
			argp_error(state, "--port is required");
		if (o->ld.n_proxy_ports && o->ld.n_proxy_ports != o->ld.n_ports)
			argp_error(state, "each --proxy-port stands in front of the --port given in the same "
				   "place: %d --port, %d --proxy-port", o->ld.n_ports, o->ld.n_proxy_ports);
		for (int i = 0; i < o->ld.n_proxy_ports; i++)
			for (int j = 0; j < o->ld.n_ports; j++)
				if (o->ld.proxy_ports[i] == o->ld.ports[j])
					argp_error(state, "--proxy-port %u is also a --port: a virtual port "
						   "must differ from every followed port", o->ld.proxy_ports[i]);
		if (o->pcap && !o->ld.record)
			argp_error(state, "--pcap needs the recorder: drop --no-record");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp run_argp = {
	run_options, run_parse, NULL,
	"Attach to the traffic of a PostgreSQL port and serve fault-injection commands.\n"
	"\n"
	"Runs in the foreground until SIGINT or SIGTERM, then detaches and removes everything it "
	"created. Needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_DAC_OVERRIDE, CAP_NET_RAW, "
	"CAP_KILL; CAP_SYS_ADMIN to mount bpffs).\n"
	"\n"
	"With --proxy-port, wirefault stands in for a proxy on VPORT in front of PORT (as Citus' "
	"harness uses mitmdump): it listens on VPORT (and refuses to start if another program has "
	"it), redirects connect()s to loopback VPORT made in its cgroup (--cgroup) to PORT, and "
	"faults and records only those connections; connections made straight to PORT pass "
	"untouched.\n"
	"\n"
	"With several --port, give none or one --proxy-port per --port, in the same order: the "
	"first --proxy-port stands in front of the first --port, and so on.\n"
	"\n"
	"USAGE: wirefault run --port PORT [--proxy-port VPORT] [--port PORT2 [--proxy-port VPORT2]]... "
	"[--fifo PATH] [--iface IF]...\n"
	"\n"
	"EXAMPLES:\n"
	"  wirefault run --port 5432\n"
	"  wirefault run --port 57638 --proxy-port 9060 --fifo /tmp/mitm.fifo\n"
	"  wirefault run --port 57638 --fifo /tmp/citus.fifo -v\n"
	"  wirefault run --port 9700 --port 9701   # then: conn(port=9700).blackhole()\n"
	"  wirefault run --port 57637 --proxy-port 9061 --port 57638 --proxy-port 9060   # conn(port=9060)\n"
	"  wirefault run --port 5432 --pcap /tmp/pg.pcap   # then: tshark -r /tmp/pg.pcap -d tcp.port==5432,pgsql\n"
	"  WIREFAULT_PIPELINE='conn.onQuery(query=\"^COMMIT\").kill()' wirefault run --port 5432\n"
	"\v"
	"Environment: WIREFAULT_PIPELINE, a command applied before the loader is ready (a refused one "
	"stops the start).\n"
	"Exit status: 0 after a clean stop, 1 if it could not start, 2 on usage errors.",
	NULL, NULL, NULL,
};

static int sweep_leftovers(void)
{
	int links = wf_links_detach_all();
	int pins = wf_pins_remove();

	if (links < 0 && links != -EPERM)
		wf_warn("could not list BPF links: %s", strerror(-links));
	if (pins < 0) {
		wf_err("failed to remove leftovers in %s: %s", WF_PIN_DIR, strerror(-pins));
		return pins;
	}
	if (links > 0 || pins > 0)
		wf_info("removed leftovers of an earlier run: %d link(s), %s", links > 0 ? links : 0,
			pins > 0 ? WF_PIN_DIR : "no pins");
	return 0;
}

static int write_ready_file(const char *path)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f) ? -errno : 0;
}

/* Where new rows go as soon as they are recorded. */
struct row_sinks {
	struct wf_recorder *rec;
	struct wf_control_server *control;	/* watchers */
	struct wf_pcap_writer *pcap;		/* --pcap */
	uint64_t pcap_fed;			/* last row written to it */
	const char *pcap_path;
};

static void pcap_row(void *ctx, const struct wf_row *r)
{
	struct row_sinks *k = ctx;
	int err;

	if (!k->pcap)
		return;
	err = wf_pcap_writer_row(k->pcap, r);
	if (err) {
		wf_err("writing %s failed: %s; the capture stops here", k->pcap_path, strerror(-err));
		wf_pcap_writer_close(k->pcap);
		k->pcap = NULL;
	}
}

static void feed_sinks(void *ctx)
{
	struct row_sinks *k = ctx;
	uint64_t last = wf_recorder_last_serial(k->rec);

	if (k->control)
		wf_control_server_feed(k->control);
	if (k->pcap && last > k->pcap_fed) {
		wf_recorder_for_each_raw(k->rec, k->pcap_fed, pcap_row, k);
		if (k->pcap)
			wf_pcap_writer_flush(k->pcap);
	}
	k->pcap_fed = last;
}

static int open_pcap(struct row_sinks *k, const char *path)
{
	char notes_path[PATH_MAX];
	FILE *pf, *nf;

	if (snprintf(notes_path, sizeof(notes_path), "%s%s", path, WF_PCAP_NOTES_SUFFIX) >=
	    (int)sizeof(notes_path))
		return -ENAMETOOLONG;
	pf = fopen(path, "wbe");
	if (!pf)
		return -errno;
	nf = fopen(notes_path, "we");
	if (!nf) {
		int err = -errno;

		fclose(pf);
		return err;
	}
	k->pcap = wf_pcap_writer_new(pf, nf);
	if (!k->pcap)
		return -errno;
	k->pcap_path = path;
	/* readable at once, even before the first packet */
	return wf_pcap_writer_flush(k->pcap);
}

/*
 * WIREFAULT_PIPELINE='conn.onQuery(query="^COMMIT").kill()' wirefault run ...:
 * a command applied before the loader says it is ready (like FAILPOINTS),
 * so that the first connection already meets it.  A command the FIFO would
 * refuse stops the start, with the same error text.
 */
static int apply_startup_pipeline(struct wf_exec_ctx *exec)
{
	const char *text = getenv("WIREFAULT_PIPELINE");
	size_t len = 0;
	char *answer;

	if (!text || !*text)
		return 0;
	answer = wf_command_exec(exec, text, strlen(text), &len);
	if (!answer)
		return -ENOMEM;
	if (len && answer[0] != '\n' && strncmp(text, "recorder.", 9)) {
		wf_err("WIREFAULT_PIPELINE refused: %.*s", (int)(answer[len - 1] == '\n' ? len - 1 : len),
		       answer);
		free(answer);
		return -EINVAL;
	}
	wf_info("WIREFAULT_PIPELINE applied before the first connection: %s", text);
	free(answer);
	return 0;
}

/* A seed short enough to type back in (--seed, seed(n)). */
static uint64_t random_seed(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof(v), 0) != sizeof(v))
		v = (uint32_t)(wf_now_ns() ^ (uint64_t)getpid() << 16);
	return v;
}

/* "5432,5433": a port list as the lock file and the log print it. */
static void join_ports(char *buf, size_t size, const unsigned int *ports, int n)
{
	size_t l = 0;

	buf[0] = '\0';
	for (int i = 0; i < n && l < size; i++)
		l += (size_t)snprintf(buf + l, size - l, "%s%u", i ? "," : "", ports[i]);
}

static int serve(struct run_opts *o, struct wf_loader *ld, struct wf_recorder *rec, int sfd,
		 struct wf_placeholder *ph)	/* ph[o->ld.n_proxy_ports] */
{
	struct row_sinks sinks = { .rec = rec };
	struct wf_exec_ctx exec = { .rec = rec, .counters_fd = wf_loader_counters_fd(ld) };
	int pipelines_fd, pool_fd, current_fd;
	struct wf_pipe_publisher pub;
	struct wf_fifo_server fifo;
	struct wf_actions *actions;
	long long next_drain = 0;
	int err;

	wf_loader_pipeline_fds(ld, &pipelines_fd, &pool_fd, &current_fd);
	err = wf_pipe_publisher_init(&pub, pipelines_fd, pool_fd, current_fd);
	if (err) {
		wf_err("failed to map the pipeline switch (pipe_current): %s", strerror(-err));
		return err;
	}
	exec.pub = &pub;
	exec.n_ports = o->ld.n_ports;
	memcpy(exec.ports, o->ld.ports, sizeof(exec.ports));
	exec.n_proxy_ports = o->ld.n_proxy_ports;
	memcpy(exec.proxy_ports, o->ld.proxy_ports, sizeof(exec.proxy_ports));
	exec.on_rows = feed_sinks;
	exec.on_rows_ctx = &sinks;

	exec.rr = wf_ring_reader_new(wf_loader_records_fd(ld), rec);
	if (!exec.rr) {
		err = -errno;
		wf_err("failed to open the ring buffer: %s", strerror(-err));
		wf_pipe_publisher_fini(&pub);
		return err;
	}
	exec.decisions = wf_decision_log_new(WF_DECISION_LOG_DEFAULT);
	if (!exec.decisions) {
		err = -ENOMEM;
		wf_err("out of memory");
		goto free_ring_reader;
	}
	wf_ring_reader_set_decisions(exec.rr, exec.decisions);
	exec.seed = o->seed_set ? o->seed : random_seed();
	wf_info("random decisions: seed %llu%s", (unsigned long long)exec.seed,
		o->seed_set ? "" : " (drawn; run with --seed to make the same decisions again)");
	actions = wf_actions_new(&(struct wf_actions_opts){
		.events_fd = wf_loader_events_fd(ld),
		.holds_fd = wf_loader_holds_fd(ld),
		.port_stalls_fd = wf_loader_port_stalls_fd(ld),
		.counters_fd = exec.counters_fd,
		.ports = o->ld.ports,
		.n_ports = o->ld.n_ports,
		.probe_ifindex = ld->ifindexes[0],
		.vconns_fd = o->ld.proxy_port ? wf_loader_vconns_fd(ld) : -1,
		.pipe_current_fd = current_fd,
	});
	if (!actions) {
		err = -errno;
		goto free_ring_reader;
	}
	err = wf_fifo_server_open(&fifo, o->fifo, (int)o->answer_timeout_ms, wf_command_exec, &exec);
	if (err) {
		wf_err("failed to open FIFO %s: %s%s", o->fifo, strerror(-err),
		       err == -EEXIST ? " (the path exists and is not a FIFO)" : "");
		goto free_actions;
	}
	fifo.created |= o->inherit_fifo;

	if (o->pcap && (err = open_pcap(&sinks, o->pcap))) {
		wf_err("cannot write the capture %s: %s", o->pcap, strerror(-err));
		goto close_fifo;
	}
	sinks.control = wf_control_server_open(wf_control_path(), &exec);
	if (!sinks.control)
		wf_warn("no control socket at %s (%s): wirefault dump --json/--pcap and watch will not "
			"reach this loader; the FIFO works", wf_control_path(), strerror(errno));

	struct wf_instance_info info = { .pid = getpid(), .port = o->ld.port, .proxy_port = o->ld.proxy_port,
					 .fifo_created = fifo.created, .started = (long long)time(NULL) };
	snprintf(info.fifo, sizeof(info.fifo), "%s", o->fifo);
	join_ports(info.ports, sizeof(info.ports), o->ld.ports, o->ld.n_ports);
	join_ports(info.proxy_ports, sizeof(info.proxy_ports), o->ld.proxy_ports, o->ld.n_proxy_ports);
	snprintf(info.cgroup, sizeof(info.cgroup), "%.511s", ld->cgroup);
	if (sinks.control)
		snprintf(info.control, sizeof(info.control), "%s", wf_control_path());
	if (o->pcap)
		snprintf(info.pcap, sizeof(info.pcap), "%s", o->pcap);
	for (int i = 0; i < o->ld.n_ifaces; i++) {
		size_t l = strlen(info.ifaces);

		snprintf(info.ifaces + l, sizeof(info.ifaces) - l, "%s%s", i ? "," : "", o->ld.ifaces[i]);
	}
	err = wf_instance_publish(o->lock_fd, &info);
	if (err)
		wf_warn("failed to describe this loader in %s: %s", wf_lock_path(), strerror(-err));

	err = apply_startup_pipeline(&exec);
	for (int i = 0; !err && i < o->ld.n_proxy_ports; i++)
		err = wf_placeholder_listen(&ph[i]);
	if (err) {
		wf_control_server_close(sinks.control);
		wf_pcap_writer_close(sinks.pcap);
		goto close_fifo;
	}
	if (o->ready_file && (err = write_ready_file(o->ready_file)))
		wf_warn("failed to write ready file %s: %s", o->ready_file, strerror(-err));
	if (o->ld.proxy_port)
		wf_info("ready: faulting connections made to port%s %s (redirected to port%s %s) by "
			"processes of cgroup %s, on %s; commands on %s", o->ld.n_proxy_ports > 1 ? "s" : "",
			info.proxy_ports, o->ld.n_proxy_ports > 1 ? "s" : "", info.ports, ld->cgroup,
			info.ifaces, o->fifo);
	else
		wf_info("ready: following port%s %s on %s; commands on %s", o->ld.n_ports > 1 ? "s" : "",
			info.ports, info.ifaces, o->fifo);

	for (;;) {
		struct pollfd pfd[PFD_FIXED + WF_MAX_PORTS + WF_CONTROL_POLLFDS] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = wf_ring_reader_fd(exec.rr), .events = POLLIN },
			{ .fd = wf_actions_fd(actions), .events = POLLIN },
			{ .fd = -1 },
		};
		struct pollfd *control_pfd = &pfd[PFD_FIXED + WF_MAX_PORTS];
		int timeout = (int)(next_drain - wf_now_ms());
		int hold_timeout = wf_actions_timeout_ms(actions);

		if (timeout < 0)
			timeout = 0;
		if (hold_timeout >= 0 && hold_timeout < timeout)
			timeout = hold_timeout;
		wf_fifo_server_prepare(&fifo, &pfd[3], &timeout);
		for (int i = 0; i < WF_MAX_PORTS; i++) {
			pfd[PFD_FIXED + i].fd = i < o->ld.n_proxy_ports ? ph[i].watch_fd : -1;
			pfd[PFD_FIXED + i].events = POLLIN;
		}
		if (sinks.control)
			wf_control_server_prepare(sinks.control, control_pfd);
		else
			for (int i = 0; i < WF_CONTROL_POLLFDS; i++)
				control_pfd[i].fd = -1;
		if (poll(pfd, PFD_FIXED + WF_MAX_PORTS + WF_CONTROL_POLLFDS, timeout) < 0 && errno != EINTR) {
			err = -errno;
			wf_err("poll failed: %s", strerror(-err));
			break;
		}
		if (pfd[0].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
				wf_info("received %s, stopping", strsignal((int)si.ssi_signo));
			err = 0;
			break;
		}
		for (int i = 0; i < o->ld.n_proxy_ports && !err; i++)
			if (pfd[PFD_FIXED + i].revents) {
				/* Its port is free now: another program could take it
				 * while our hooks redirect connections to it.  Stop. */
				wf_err("the placeholder process holding proxy port %u died; stopping",
				       o->ld.proxy_ports[i]);
				err = -EPIPE;
			}
		if (err)
			break;
		/* events first: a held chunk's release is the most urgent */
		wf_actions_service(actions);
		if ((pfd[1].revents & POLLIN) || wf_now_ms() >= next_drain) {
			wf_exec_catch_up(&exec);
			next_drain = wf_now_ms() + RING_DRAIN_INTERVAL_MS;
		}
		wf_fifo_server_service(&fifo, pfd[3].revents);
		if (sinks.control)
			wf_control_server_service(sinks.control, control_pfd);
	}
	wf_actions_free(actions);	/* held chunks are delivered before we detach */
	wf_exec_catch_up(&exec);
	if (o->ready_file)
		unlink(o->ready_file);
	wf_control_server_close(sinks.control);
	if (sinks.pcap) {
		uint64_t frames = wf_pcap_writer_frames(sinks.pcap);
		int perr = wf_pcap_writer_close(sinks.pcap);

		if (perr)
			wf_err("writing %s failed: %s", o->pcap, strerror(-perr));
		else
			wf_info("capture %s: %llu frames (notes in %s%s)", o->pcap,
				(unsigned long long)frames, o->pcap, WF_PCAP_NOTES_SUFFIX);
	}
	wf_fifo_server_close(&fifo);
	wf_ring_reader_free(exec.rr);
	wf_pipe_publisher_fini(&pub);
	wf_exec_fini(&exec);
	return err;

	/* a start that failed half way: undo in reverse order */
close_fifo:
	wf_fifo_server_close(&fifo);
free_actions:
	wf_actions_free(actions);
free_ring_reader:
	wf_ring_reader_free(exec.rr);
	wf_pipe_publisher_fini(&pub);
	wf_exec_fini(&exec);
	return err;
}

int wf_cmd_run(int argc, char **argv)
{
	struct run_opts o = {
		.fifo = WF_FIFO_DEFAULT,
		.max_rows = WF_RECORDER_DEFAULT_MAX_ROWS,
		.answer_timeout_ms = WF_FIFO_ANSWER_TIMEOUT_MS_DEFAULT,
		.ld = { .record = true, .rto_min_us = RTO_MIN_US_DEFAULT },
		.lock_fd = -1,
	};
	struct wf_instance_info holder;
	struct wf_placeholder ph[WF_MAX_PORTS];
	int n_ph = 0;
	struct wf_loader ld;
	struct wf_recorder *rec;
	sigset_t mask;
	int sfd, err;

	if (argp_parse(&run_argp, argc, argv, 0, NULL, &o))
		return WF_EXIT_USAGE;
	if (o.ld.n_ifaces == 0)
		o.ld.ifaces[o.ld.n_ifaces++] = "lo";
	wf_log_set_verbosity(o.verbosity);
	wf_log_setup_libbpf();

	char missing[128];
	struct statfs fs;
	bool need_mount = statfs(WF_BPFFS_ROOT, &fs) < 0 || fs.f_type != BPF_FS_MAGIC;

	if (wf_missing_capabilities(need_mount, missing, sizeof(missing)) > 0) {
		wf_err("wirefault run needs root or these capabilities, which this process lacks: %s", missing);
		return WF_EXIT_FAILURE;
	}

	o.lock_fd = wf_instance_lock(&holder);
	if (o.lock_fd == -EBUSY) {
		if (holder.pid)
			wf_err("another wirefault loader is running (pid %d, port %u, fifo %s); stop it first",
			       (int)holder.pid, holder.port, holder.fifo);
		else
			wf_err("another wirefault loader is starting; stop it first");
		return WF_EXIT_FAILURE;
	}
	if (o.lock_fd < 0) {
		wf_err("failed to take the instance lock %s: %s%s", wf_lock_path(), strerror(-o.lock_fd),
		       o.lock_fd == -EACCES || o.lock_fd == -EPERM ? " (wirefault run needs root)" : "");
		return WF_EXIT_FAILURE;
	}
	/* A dead loader's FIFO, if it created one, goes with its other leftovers
	 * (or becomes ours to remove, when we use the same path). */
	if (holder.pid && holder.fifo_created && holder.fifo[0] && strcmp(holder.fifo, o.fifo))
		unlink(holder.fifo);
	o.inherit_fifo = holder.pid && holder.fifo_created && !strcmp(holder.fifo, o.fifo);
	if (holder.pid && holder.control[0])
		wf_control_remove_stale(holder.control);

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	err = sfd < 0 ? -errno : 0;
	if (err) {
		wf_err("signalfd failed: %s", strerror(-err));
		goto unlock;
	}
	err = wf_bpffs_ensure();
	if (err) {
		wf_err("bpffs is not mounted at %s and mounting it failed: %s%s", WF_BPFFS_ROOT, strerror(-err),
		       err == -EPERM ? " (need CAP_SYS_ADMIN)" : "");
		goto close_sfd;
	}
	err = sweep_leftovers();
	if (err)
		goto close_sfd;
	/* The virtual ports are ours before any hook can redirect them. */
	for (; n_ph < o.ld.n_proxy_ports; n_ph++) {
		ph[n_ph] = (struct wf_placeholder){ .watch_fd = -1, .listen_fd = -1, .go_fd = -1 };
		err = wf_placeholder_start(&ph[n_ph], o.ld.proxy_ports[n_ph]);
		if (err)
			goto stop_placeholder;
	}
	err = wf_loader_start(&ld, &o.ld);
	if (err)
		goto stop_placeholder;
	rec = wf_recorder_new(&(struct wf_recorder_opts){ .max_rows = o.max_rows,
							 .max_bytes = o.max_bytes });
	if (!rec) {
		err = -ENOMEM;
		wf_err("out of memory");
	} else {
		err = serve(&o, &ld, rec, sfd, ph);
		wf_recorder_free(rec);
	}
	wf_loader_stop(&ld);
stop_placeholder:
	/* after the hooks are gone: nothing redirects to a port once it is free */
	while (n_ph > 0)
		wf_placeholder_stop(&ph[--n_ph]);
close_sfd:
	if (sfd >= 0)
		close(sfd);
unlock:
	wf_instance_unlock(o.lock_fd);
	return err ? WF_EXIT_FAILURE : WF_EXIT_OK;
}
