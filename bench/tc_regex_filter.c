// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of in-kernel matching, measured with BPF_PROG_TEST_RUN: a Query
 * segment whose query text is N bytes, new bytes on every run (the full
 * path: framing, field scan, pipeline, recording off), under
 *   - no pipeline,
 *   - conn.onQuery(query="zzz$").kill()    (never matches: the DFA reads every byte),
 *   - conn.onQuery(query="^zzz").kill()    (decided after 1 byte: the prefix fast path),
 *   - conn.matches(b"zzz$").kill()         (the chunk's raw bytes),
 * for N = 64, 1024, 3000 (BPF_PROG_TEST_RUN takes frames up to about a page).  ns/byte is (pipeline - none) / N.
 *
 *   build/bench/tc_regex_filter [RUNS]     (root; RUNS defaults to 20000)
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "packet_builder.h"
#include "pg_wire_builder.h"
#include "pipeline_compile.h"
#include "pipeline_publish.h"
#include "wf_config.h"
#include "wirefault.skel.h"

#define PORT 5432

static struct wirefault_bpf *skel;
static int prog_fd;
static struct wf_pipe_publisher pub;

static unsigned int run(const struct pb_seg *s)
{
	uint8_t frame[PB_FRAME_MAX];
	size_t n = pb_build(s, frame, sizeof(frame));
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (unsigned int)n,
		    .repeat = 1);

	if (!n || bpf_prog_test_run_opts(prog_fd, &o)) {
		fprintf(stderr, "test_run failed: %s\n", strerror(errno));
		exit(1);
	}
	if ((int)o.retval != -1) {
		fprintf(stderr, "verdict %d, expected TCX_NEXT (no match)\n", (int)o.retval);
		exit(1);
	}
	return o.duration;
}

static void publish(const char *text)
{
	struct wf_pipe_compiled pc;
	char err[512];

	if (!text) {
		wf_pipe_unpublish(&pub);
		return;
	}
	if (wf_pipeline_compile_text(text, strlen(text), &pc, err, sizeof(err)) ||
	    wf_pipe_publish(&pub, &pc, err, sizeof(err))) {
		fprintf(stderr, "cannot publish %s: %s\n", text, err);
		exit(1);
	}
	wf_pipe_compiled_free(&pc);
}

/* Mean ns of RUNS single runs, each new bytes on one established flow. */
static double measure(const struct pb_flow *flow, uint32_t *seq, const struct pg_wire *q,
		      unsigned int runs)
{
	struct pb_seg s = { .flow = flow, .flags = PB_TCP_ACK | PB_TCP_PSH, .payload = q->data,
			    .len = q->len };
	unsigned long long total = 0;

	for (unsigned int i = 0; i < runs; i++) {
		s.seq = *seq;
		total += run(&s);
		*seq += (uint32_t)q->len;
	}
	return (double)total / runs;
}

int main(int argc, char **argv)
{
	static const char *const pipelines[] = {
		NULL,
		"conn.onQuery(query=\"zzz$\").kill()",
		"conn.onQuery(query=\"^zzz\").kill()",
		"conn.matches(b\"zzz$\").kill()",
	};
	static const size_t sizes[] = { 64, 1024, 3000 };
	unsigned int runs = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10) : 20000;
	struct wf_config cfg = { .port = PORT };
	uint32_t zero = 0, cseq = 1000001;
	struct pb_flow flow;
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "tc_regex_filter: needs root (BPF_PROG_TEST_RUN)\n");
		return 77;
	}
	skel = wirefault_bpf__open();
	if (!skel)
		return 1;
	bpf_map__set_max_entries(skel->maps.rec_scratch, (uint32_t)libbpf_num_possible_cpus());
	err = wirefault_bpf__load(skel);
	if (err) {
		fprintf(stderr, "load: %s\n", strerror(-err));
		return 1;
	}
	prog_fd = bpf_program__fd(skel->progs.wf_tc_ingress);
	if (bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, BPF_ANY) ||
	    wf_pipe_publisher_init(&pub, bpf_map__fd(skel->maps.pipelines),
				   bpf_map__fd(skel->maps.dfa_pool), bpf_map__fd(skel->maps.pipe_current))) {
		perror("setup");
		return 1;
	}

	/* A connection first seen mid-stream, resynchronised by a ReadyForQuery. */
	pb_flow_v4(&flow, 40001, PORT);
	{
		struct pg_wire z = { 0 };
		struct pb_seg s = { .flow = &flow, .from_server = true, .flags = PB_TCP_ACK | PB_TCP_PSH,
				    .seq = 7000001, .ack = cseq };

		pgw_ready_for_query(&z, 'I');
		s.payload = z.data;
		s.len = z.len;
		run(&s);
		pgw_free(&z);
	}

	printf("tc_regex_filter: %u single runs per cell, mean ns per packet (timer floor included)\n",
	       runs);
	printf("%-40s", "pipeline \\ query text bytes");
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
		printf(" %9zu", sizes[k]);
	printf("   ns/byte at %zu\n", sizes[1]);
	double base[3] = { 0 };

	for (size_t p = 0; p < sizeof(pipelines) / sizeof(pipelines[0]); p++) {
		double at[3];

		publish(pipelines[p]);
		printf("%-40s", pipelines[p] ? pipelines[p] : "(none)");
		for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			struct pg_wire q = { 0 };
			char *text = malloc(sizes[k] + 1);

			memset(text, 'a', sizes[k]);
			memcpy(text, "SELECT '", 8);
			text[sizes[k] - 1] = '\'';
			text[sizes[k]] = 0;
			pgw_query(&q, text);
			at[k] = measure(&flow, &cseq, &q, runs);
			if (!p)
				base[k] = at[k];
			printf(" %9.0f", at[k]);
			pgw_free(&q);
			free(text);
		}
		if (p)
			printf("   %.2f", (at[1] - base[1]) / (double)sizes[1]);
		printf("\n");
	}
	wf_pipe_publisher_fini(&pub);
	wirefault_bpf__destroy(skel);
	return 0;
}
