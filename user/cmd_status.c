// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault status`: is a loader running, and what is it doing?  Reads the
 * instance description, the pinned maps and the kernel's list of links, so it
 * works from any shell without talking to the loader.
 */
#include <argp.h>
#include <bpf/bpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "flow_key.h"
#include "instance_lock.h"
#include "leftovers.h"
#include "loader.h"
#include "log.h"
#include "mono_clock.h"
#include "pipeline_compile.h"
#include "wf_config.h"
#include "wf_flow.h"
#include "wf_hold.h"

static const struct argp status_argp = {
	NULL, NULL, NULL,
	"Show the running loader: its port, FIFO, attachments, flows and counters.\n"
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

/* The active pipeline, as the kernel sees it (pinned pipe_current + pipelines). */
static void print_pipeline(void)
{
	static const char *const actions[] = {
		[WF_PIPE_A_ALLOW] = "allow", [WF_PIPE_A_KILL] = "kill", [WF_PIPE_A_RESET] = "reset",
		[WF_PIPE_A_CANCEL] = "cancel", [WF_PIPE_A_KILLALL] = "killall",
		[WF_PIPE_A_CONNECT_DELAY] = "connect_delay",
	};
	int cur_fd = bpf_obj_get(WF_PIN_DIR "/pipe_current");
	int pipes_fd = bpf_obj_get(WF_PIN_DIR "/pipelines");
	struct wf_pipe_compiled pc = { 0 };
	struct wf_pipe_current cur;
	__u32 zero = 0, slot;
	char desc[512];

	if (cur_fd < 0 || pipes_fd < 0 || bpf_map_lookup_elem(cur_fd, &zero, &cur)) {
		printf("pipeline: unavailable (%s)\n", strerror(errno));
	} else if (!cur.word) {
		printf("pipeline: none: every chunk is allowed (conn.allow())\n");
	} else if (slot = cur.word & 1, bpf_map_lookup_elem(pipes_fd, &slot, &pc.pipe)) {
		printf("pipeline: unavailable (%s)\n", strerror(errno));
	} else {
		for (unsigned i = 0; i < pc.pipe.ndfas && i < WF_PIPE_MAX_DFAS; i++) {
			const struct wf_pipe_dfa *d = &pc.pipe.dfas[i];
			__u32 end = d->base + (__u32)d->n_states * d->n_classes;

			if (end > pc.pool_used)
				pc.pool_used = end;
		}
		wf_pipe_compiled_describe(&pc, desc, sizeof(desc));
		printf("pipeline: generation %u, slot %u, action %s: %s (the command text is in the "
		       "loader's log)\n", pc.pipe.generation, slot,
		       pc.pipe.action < sizeof(actions) / sizeof(actions[0]) ? actions[pc.pipe.action] : "?",
		       desc);
		if (cur.killall_gen == pc.pipe.generation)
			printf("killall: in force: every chunk of every connection is killed until the next "
			       "command\n");
	}
	if (cur_fd >= 0)
		close(cur_fd);
	if (pipes_fd >= 0)
		close(pipes_fd);
}

/* Chunks held right now (cancel, connect_delay): pinned holds map. */
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
		       h->action == WF_PIPE_A_CANCEL ? "cancel" : "connect_delay", conn, h->len,
		       h->dir == WF_DIR_FRONTEND ? "client->server" : "server->client",
		       (double)(now - h->held_ns) / 1e6);
	}
	if (!n)
		printf("holds: none\n");
out:
	free(h);
	if (fd >= 0)
		close(fd);
}

static void print_counters(void)
{
	__u64 c[WF_CNT__COUNT];
	int fd = bpf_obj_get(WF_PIN_DIR "/counters");

	if (fd < 0) {
		printf("counters: unavailable (%s)\n", strerror(errno));
		return;
	}
	if (wf_counters_read(fd, c) == 0) {
		printf("counters:\n");
		for (int i = 0; i < WF_CNT__COUNT; i++)
			printf("  %-22s %12llu  %s\n", wf_counter_names[i], (unsigned long long)c[i],
			       wf_counter_docs[i]);
	}
	close(fd);
}

int wf_cmd_status(int argc, char **argv)
{
	struct wf_instance_info info;
	int running, links;
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
	printf("wirefault loader running: pid %d, port %u, fifo %s, interfaces %s, up %llds\n", (int)info.pid,
	       info.port, info.fifo, info.ifaces, (long long)time(NULL) - info.started);
	if (info.proxy_port)
		printf("virtual proxy port: %u, redirected to port %u for the processes of cgroup %s; "
		       "only those connections are faulted\n", info.proxy_port, info.port,
		       info.cgroup[0] ? info.cgroup : "?");
	print_pipeline();
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
	print_counters();
	return WF_EXIT_OK;
}
