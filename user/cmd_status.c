// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault status`: is a loader running, and what is it doing?  Reads the
 * instance description, the pinned maps and the kernel's list of links, so it
 * works from any shell without talking to the loader.
 */
#include <argp.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "control_client.h"
#include "flow_key.h"
#include "instance_lock.h"
#include "leftovers.h"
#include "loader.h"
#include "log.h"
#include "mono_clock.h"
#include "command.h"
#include "pipeline_compile.h"
#include "pipeline_publish.h"
#include "wf_random.h"
#include "wf_config.h"
#include "wf_flow.h"
#include "wf_hold.h"

static const struct argp status_argp = {
	NULL, NULL, NULL,
	"Show the running loader: its ports, FIFO, the active pipeline (as the command that set it) "
	"and how far chunks get through its filters, verdicts, the recorder's bounds and losses, "
	"held chunks, attachments, flows and every counter.\n"
	"\v"
	"Exit status: 0 while a loader runs, 3 when none runs, 1 if that cannot be told.",
	NULL, NULL, NULL,
};

static void print_link(const struct wf_link_desc *link, void *ctx)
{
	wf_links_print(ctx, link);
}

/* Entries of a pinned map keyed by struct wf_flow_key (flows, vconns). */
static long count_keys(const char *pin)
{
	struct wf_flow_key key, next;
	int fd = bpf_obj_get(pin);
	long n = 0;

	if (fd < 0)
		return -errno;
	for (void *prev = NULL; bpf_map_get_next_key(fd, prev, &next) == 0; prev = &key) {
		key = next;
		n++;
	}
	close(fd);
	return n;
}

/* What only the loader knows (control socket "status"): key=value lines. */
struct loader_status {
	char *text;	/* the whole answer, NULL if the loader did not answer */
};

static const char *status_value(const struct loader_status *ls, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = ls->text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, key, klen) && p[klen] == '=')
			return p + klen + 1;
	return NULL;
}

static unsigned long long status_num(const struct loader_status *ls, const char *key)
{
	const char *v = status_value(ls, key);

	return v ? strtoull(v, NULL, 10) : 0;
}

static void fetch_loader_status(struct loader_status *ls)
{
	int fd;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	ls->text = NULL;
	wf_log_set_verbosity(-1);	/* a loader without a socket is reported below */
	fd = wf_control_request("status");
	wf_log_set_verbosity(0);
	if (fd < 0)
		return;
	mem = open_memstream(&buf, &len);
	if (mem && !wf_control_copy(fd, mem) && !fclose(mem)) {
		ls->text = buf;
	} else {
		if (mem)
			fclose(mem);
		free(buf);
	}
	close(fd);
}

/* How far chunks got through the current pipeline's filters (pinned filter_stats). */
static void print_filter_stats(const struct wf_pipeline *pipe, __u32 scope)
{
	int fd = bpf_obj_get(WF_PIN_DIR "/filter_stats");
	int ncpus = libbpf_num_possible_cpus();
	struct wf_filter_stats *per_cpu, sum = { 0 };

	if (fd < 0 || ncpus <= 0)
		return;
	per_cpu = calloc((size_t)ncpus, sizeof(*per_cpu));
	if (per_cpu && !bpf_map_lookup_elem(fd, &scope, per_cpu)) {
		for (int c = 0; c < ncpus; c++) {
			if (per_cpu[c].generation != pipe->generation)
				continue;	/* this CPU has not seen the pipeline yet */
			sum.evaluated += per_cpu[c].evaluated;
			for (int i = 0; i < WF_PIPE_MAX_FILTERS; i++)
				sum.passed[i] += per_cpu[c].passed[i];
			sum.acted += per_cpu[c].acted;
		}
		printf("  chunks evaluated: %llu\n", (unsigned long long)sum.evaluated);
		for (unsigned int i = 0; i < pipe->nfilters && i < WF_PIPE_MAX_FILTERS; i++) {
			const struct wf_pipe_filter *f = &pipe->filters[i];

			printf("  filter %u (%s): %llu passed", i + 1, wf_pipe_filter_name(f->kind),
			       (unsigned long long)sum.passed[i]);
			if (f->kind == WF_PIPE_F_TIMES)
				printf(" (%llu of %llu times used)",
				       (unsigned long long)(pipe->fired[i] < f->times ? pipe->fired[i] : f->times),
				       (unsigned long long)f->times);
			else if (f->kind == WF_PIPE_F_PROBABILITY)
				printf(" (p = %.6g, decisions in `wirefault decisions`)",
				       (double)f->threshold / (double)WF_PROBABILITY_ONE);
			printf("\n");
		}
		printf("  action %s taken: %llu\n", wf_pipe_action_name(pipe->action),
		       (unsigned long long)sum.acted);
	}
	free(per_cpu);
	close(fd);
}

/* "conn" or "conn(port=5433, client=\"::1\")" for a scope's selector. */
static void selector_text(const struct wf_pipe_current *cur, int s, char *buf, size_t size)
{
	struct wf_scope sc = { 0 };

	if (s > 0) {
		const struct wf_pipe_scope *p = &cur->scoped[s - 1];
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

		sc.has_port = p->port != 0;
		sc.port = p->port;
		if (p->has_client) {
			sc.client_family = memcmp(p->client_addr, mapped, sizeof(mapped)) ? 6 : 4;
			memcpy(sc.client_addr, p->client_addr, sizeof(sc.client_addr));
		}
	}
	wf_scope_format(&sc, buf, size);
}

/* One scope's pipeline, as the kernel sees it. */
static void print_scope(const struct loader_status *ls, const struct wf_pipe_current *cur, int s,
			int pipes_fd)
{
	char key[32], scope[WF_SCOPE_TEXT_MAX];
	const char *text;
	struct wf_pipe_compiled pc = { 0 };
	__u32 word = wf_pipe_scope_word(cur, s), slot;
	char desc[512];

	snprintf(key, sizeof(key), s ? "pipeline_%d" : "pipeline", s);
	text = ls->text ? status_value(ls, key) : NULL;
	snprintf(key, sizeof(key), s ? "pipeline_gen_%d" : "pipeline_gen", s);
	selector_text(cur, s, scope, sizeof(scope));
	if (s)
		printf("scope %d, %s:\n", s, scope);
	if (!word) {
		bool scoped = false;

		for (int i = 1; i < WF_PIPE_SCOPES; i++)
			scoped |= cur->scoped[i - 1].word != 0;
		printf("pipeline: none: every chunk %sis allowed (conn.allow())\n",
		       scoped ? "that no scope below takes " : "");
	} else if (slot = 2 * (__u32)s + (word & 1), bpf_map_lookup_elem(pipes_fd, &slot, &pc.pipe)) {
		printf("pipeline: unavailable (%s)\n", strerror(errno));
	} else {
		for (unsigned i = 0; i < pc.pipe.ndfas && i < WF_PIPE_MAX_DFAS; i++) {
			const struct wf_pipe_dfa *d = &pc.pipe.dfas[i];
			__u32 end = d->base + (__u32)d->n_states * d->n_classes;

			if (end > pc.pool_used)
				pc.pool_used = end;
		}
		wf_pipe_compiled_describe(&pc, desc, sizeof(desc));
		if (text && status_num(ls, key) == pc.pipe.generation)
			printf("pipeline: %.*s\n", (int)strcspn(text, "\n"), text);
		else
			printf("pipeline: (the command text is in the loader's log)\n");
		printf("  generation %u, slot %u, action %s: %s\n", pc.pipe.generation, slot,
		       wf_pipe_action_name(pc.pipe.action), desc);
		printf("  seed %llu: random decisions repeat with this seed (seed(n) or run --seed)\n",
		       (unsigned long long)pc.pipe.seed);
		if (ls->text)
			printf("  decisions logged: %llu (%llu passed), %llu kept, %llu pushed out\n",
			       status_num(ls, "decisions"), status_num(ls, "decisions_passed"),
			       status_num(ls, "decisions_kept"), status_num(ls, "decisions_dropped"));
		print_filter_stats(&pc.pipe, (__u32)s);
		if (cur->killall_gen == pc.pipe.generation)
			printf("killall: in force: every chunk of every connection%s is killed until "
			       "the next command%s\n", s ? " of this scope" : "", s ? " for it" : "");
	}
}

/* The active pipelines, as the kernel sees them (pinned pipe_current + pipelines):
 * the default scope's, then each other scope in force with its selector. */
static void print_pipeline(const struct loader_status *ls)
{
	int cur_fd = bpf_obj_get(WF_PIN_DIR "/pipe_current");
	int pipes_fd = bpf_obj_get(WF_PIN_DIR "/pipelines");
	struct wf_pipe_current cur;
	__u32 zero = 0;

	if (cur_fd < 0 || pipes_fd < 0 || bpf_map_lookup_elem(cur_fd, &zero, &cur)) {
		printf("pipeline: unavailable (%s)\n", strerror(errno));
	} else {
		print_scope(ls, &cur, 0, pipes_fd);
		for (int s = 1; s < WF_PIPE_SCOPES; s++)
			if (cur.scoped[s - 1].word)
				print_scope(ls, &cur, s, pipes_fd);
	}
	if (cur_fd >= 0)
		close(cur_fd);
	if (pipes_fd >= 0)
		close(pipes_fd);
}

/* Ports stalled right now by cancel() or connect_delay() (include/wf_hold.h): pinned config + port_stalls. */
static void print_stalls(uint64_t now)
{
	int cfg_fd = bpf_obj_get(WF_PIN_DIR "/config"), fd = bpf_obj_get(WF_PIN_DIR "/port_stalls");
	struct wf_config cfg;
	__u32 zero = 0;

	if (cfg_fd >= 0 && fd >= 0 && !bpf_map_lookup_elem(cfg_fd, &zero, &cfg)) {
		for (__u32 i = 0; i < WF_PORT_STALLS; i++) {
			struct wf_port_stall st;
			__u16 port = i ? cfg.ports[i] : cfg.port;

			if (port && !bpf_map_lookup_elem(fd, &i, &st) && st.until_ns > now)
				printf("stall: port %u, %.0f ms left (cancel, connect_delay: the port's other chunks "
				       "wait)\n", port, (double)(st.until_ns - now) / 1e6);
		}
	}
	if (cfg_fd >= 0)
		close(cfg_fd);
	if (fd >= 0)
		close(fd);
}

/* Chunks held right now (cancel, connect_delay, delay, a stall): pinned holds map. */
static void print_holds(void)
{
	int fd = bpf_obj_get(WF_PIN_DIR "/holds");
	struct wf_hold *h = malloc(sizeof(*h));
	uint64_t now = wf_now_ns();
	unsigned int n = 0;

	if (fd < 0 || !h) {
		printf("holds: unavailable (%s)\n", strerror(fd < 0 ? errno : ENOMEM));
		goto out;
	}
	for (__u32 i = 0; i < WF_HOLD_SLOTS; i++) {
		char conn[WF_FLOW_KEY_TEXT_MAX];

		if (bpf_map_lookup_elem(fd, &i, h) || h->state == WF_HOLD_FREE)
			continue;
		wf_flow_key_format(&h->key, conn, sizeof(conn));
		printf("%s  %s %s, %u bytes %s, held %.0f ms\n", n++ ? "      " : "holds:",
		       wf_pipe_action_name(h->action), conn, h->len,
		       h->dir == WF_DIR_FRONTEND ? "client->server" : "server->client",
		       (double)(now - h->held_ns) / 1e6);
	}
	if (!n)
		printf("holds: none\n");
	print_stalls(now);
out:
	free(h);
	if (fd >= 0)
		close(fd);
}

static void print_verdicts(const __u64 *c)
{
	printf("verdicts: %llu packets passed, %llu dropped; chunks killed %llu, reset %llu, held %llu "
	       "(cancel/connect_delay/delay/stall), blackholed %llu, unreachable %llu (%llu ICMPs sent), "
	       "truncated %llu (cut %llu), killed by killall %llu\n",
	       (unsigned long long)c[WF_CNT_VERDICT_PASS], (unsigned long long)c[WF_CNT_VERDICT_DROP],
	       (unsigned long long)c[WF_CNT_VERDICT_KILL], (unsigned long long)c[WF_CNT_VERDICT_RESET],
	       (unsigned long long)c[WF_CNT_VERDICT_HOLD], (unsigned long long)c[WF_CNT_VERDICT_BLACKHOLE],
	       (unsigned long long)c[WF_CNT_VERDICT_UNREACHABLE],
	       (unsigned long long)c[WF_CNT_UNREACHABLE_ICMPS],
	       (unsigned long long)c[WF_CNT_VERDICT_TRUNCATE], (unsigned long long)c[WF_CNT_TRUNCATE_CUTS],
	       (unsigned long long)c[WF_CNT_KILLALL_KILLS]);
}

static void print_recorder(const struct loader_status *ls, const __u64 *c, const char *pcap)
{
	if (!ls->text) {
		printf("recorder: the loader's control socket did not answer\n");
	} else {
		printf("recorder: %llu rows kept (%.1f of %.1f MiB, at most %llu rows), %llu dropped "
		       "since start (oldest first, announced in dumps), %llu connections followed, "
		       "%llu watchers\n",
		       status_num(ls, "rows"), status_num(ls, "row_bytes") / 1048576.0,
		       status_num(ls, "max_bytes") / 1048576.0, status_num(ls, "max_rows"),
		       status_num(ls, "rows_dropped"), status_num(ls, "connections"),
		       status_num(ls, "watchers"));
		printf("  loader memory (RSS): %.1f MiB\n", status_num(ls, "rss_kb") / 1024.0);
	}
	printf("  ring buffer: %llu pieces (%llu bytes) written, %llu pieces (%llu bytes) lost%s\n",
	       (unsigned long long)c[WF_CNT_REC_PIECES], (unsigned long long)c[WF_CNT_REC_BYTES],
	       (unsigned long long)c[WF_CNT_REC_LOST_PIECES], (unsigned long long)c[WF_CNT_REC_LOST_BYTES],
	       c[WF_CNT_REC_LOST_PIECES] ? " (ring full: raise --ring-size)" : "");
	if (c[WF_CNT_FLOW_TABLE_FULL])
		printf("  failures to track a connection (flow table full): %llu: their traffic is "
		       "neither faulted nor recorded\n", (unsigned long long)c[WF_CNT_FLOW_TABLE_FULL]);
	if (pcap && *pcap)
		printf("  live capture: %s\n", pcap);
}

static void print_counters(const __u64 *c)
{
	printf("counters:\n");
	for (int i = 0; i < WF_CNT__COUNT; i++)
		printf("  %-22s %12llu  %s\n", wf_counter_names[i], (unsigned long long)c[i],
		       wf_counter_docs[i]);
}

int wf_cmd_status(int argc, char **argv)
{
	struct wf_instance_info info;
	struct loader_status ls;
	__u64 c[WF_CNT__COUNT];
	int running, links, cfd;
	bool have_counters;
	long flows;

	if (argp_parse(&status_argp, argc, argv, 0, NULL, NULL))
		return WF_EXIT_USAGE;
	running = wf_instance_probe(&info);
	if (running < 0) {
		wf_err("cannot read %s: %s", wf_lock_path(), strerror(-running));
		return WF_EXIT_FAILURE;
	}
	if (!running) {
		printf("no wirefault loader is running\n");
		links = wf_links_foreach(NULL, NULL);
		if (links > 0 || access(WF_PIN_DIR, F_OK) == 0)
			printf("leftovers of a crashed loader are present: run 'wirefault cleanup'\n");
		return WF_EXIT_NOT_RUNNING;
	}
	if (!info.ports[0])
		snprintf(info.ports, sizeof(info.ports), "%u", info.port);
	printf("wirefault loader running: pid %d, port%s %s, fifo %s, interfaces %s, up %llds\n", (int)info.pid,
	       strchr(info.ports, ',') ? "s" : "", info.ports, info.fifo, info.ifaces, (long long)time(NULL) - info.started);
	if (info.proxy_port && strchr(info.proxy_ports, ','))
		printf("virtual proxy ports: %s, redirected to ports %s (in order) for the processes of "
		       "cgroup %s; only those connections are faulted\n", info.proxy_ports, info.ports,
		       info.cgroup[0] ? info.cgroup : "?");
	else if (info.proxy_port)
		printf("virtual proxy port: %u, redirected to port %u for the processes of cgroup %s; "
		       "only those connections are faulted\n", info.proxy_port, info.port,
		       info.cgroup[0] ? info.cgroup : "?");
	fetch_loader_status(&ls);
	cfd = bpf_obj_get(WF_PIN_DIR "/counters");
	have_counters = cfd >= 0 && wf_counters_read(cfd, c) == 0;
	if (cfd >= 0)
		close(cfd);
	print_pipeline(&ls);
	if (have_counters) {
		print_verdicts(c);
		print_recorder(&ls, c, info.pcap);
	}
	print_holds();
	printf("attachments:\n");
	links = wf_links_foreach(print_link, stdout);
	if (links < 0)
		printf("  unavailable (%s; run as root)\n", strerror(-links));
	flows = count_keys(WF_PIN_DIR "/flows");
	if (flows >= 0)
		printf("flows tracked: %ld (bpftool map dump pinned %s/flows)\n", flows, WF_PIN_DIR);
	if (info.proxy_port && (flows = count_keys(WF_PIN_DIR "/vconns")) >= 0)
		printf("open connections made through the virtual port: %ld (bpftool map dump pinned %s/vconns)\n",
		       flows, WF_PIN_DIR);
	if (have_counters)
		print_counters(c);
	else
		printf("counters: unavailable (%s)\n", strerror(errno));
	free(ls.text);
	return WF_EXIT_OK;
}
