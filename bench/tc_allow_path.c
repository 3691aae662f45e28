// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of the tc program on the allow path, measured with BPF_PROG_TEST_RUN
 * (katran style): ns per packet as the kernel times the program runs.
 *
 *   build/bench/tc_allow_path [RUNS]     (root; RUNS defaults to 100000)
 *
 * Two ways of timing:
 *  - `repeat = RUNS` on one frame: the kernel runs the program RUNS times
 *    back to back.  After the first run, the flow table has seen the
 *    segment, so a data segment measures the *duplicate* path (parse, flow
 *    lookup, sequence check); other-port packets and bare ACKs measure their
 *    own path exactly.
 *  - RUNS single runs with the sequence number advancing: every run carries
 *    new bytes, so it is the full path (claim, framing, recording).  Each
 *    single run also includes the kernel's two clock reads; the "timer"
 *    line measures that floor the same way, so the difference is the
 *    program.
 * Numbers are for this machine only; compare them with each other.
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
#include "wf_config.h"
#include "wf_record.h"
#include "wirefault.skel.h"

#define PORT 5432

static struct wirefault_bpf *skel;
static int prog_fd;
static struct ring_buffer *rb;
static unsigned long records;

static int on_record(void *ctx, void *data, size_t size)
{
	records++;
	return 0;
}

static int run(const struct pb_seg *s, unsigned int repeat, unsigned int *ns)
{
	uint8_t frame[PB_FRAME_MAX];
	size_t n = pb_build(s, frame, sizeof(frame));
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = (unsigned int)n,
		    .repeat = repeat);

	if (!n || bpf_prog_test_run_opts(prog_fd, &o)) {
		fprintf(stderr, "test_run failed: %s\n", strerror(errno));
		exit(1);
	}
	if ((int)o.retval != -1) {
		fprintf(stderr, "verdict %d, expected TCX_NEXT\n", (int)o.retval);
		exit(1);
	}
	if (ns)
		*ns = o.duration;
	return 0;
}

static void set_config(uint32_t flags)
{
	struct wf_config cfg = { .port = PORT, .flags = flags };
	uint32_t zero = 0;

	if (bpf_map_update_elem(bpf_map__fd(skel->maps.config), &zero, &cfg, BPF_ANY)) {
		perror("config");
		exit(1);
	}
}

/* An established connection: handshake, startup, login burst. */
static void establish(const struct pb_flow *flow, uint32_t *cseq, uint32_t *sseq)
{
	struct pg_wire b = { 0 };
	struct pb_seg s = { .flow = flow, .flags = PB_TCP_SYN, .seq = *cseq - 1 };

	run(&s, 1, NULL);
	s = (struct pb_seg){ .flow = flow, .from_server = true, .flags = PB_TCP_SYN | PB_TCP_ACK,
			     .seq = *sseq - 1, .ack = *cseq };
	run(&s, 1, NULL);
	pgw_startup(&b, "postgres", "regression");
	s = (struct pb_seg){ .flow = flow, .flags = PB_TCP_ACK | PB_TCP_PSH, .seq = *cseq,
			     .ack = *sseq, .payload = b.data, .len = b.len };
	run(&s, 1, NULL);
	*cseq += (uint32_t)b.len;
	pgw_reset(&b);
	pgw_login_burst(&b);
	s = (struct pb_seg){ .flow = flow, .from_server = true, .flags = PB_TCP_ACK | PB_TCP_PSH,
			     .seq = *sseq, .ack = *cseq, .payload = b.data, .len = b.len };
	run(&s, 1, NULL);
	*sseq += (uint32_t)b.len;
	pgw_free(&b);
}

/* RUNS single runs of a data segment, each one new bytes; mean ns. */
static double fresh(const struct pb_flow *flow, bool from_server, uint32_t *seq,
		    const struct pg_wire *payload, unsigned int runs)
{
	struct pb_seg s = { .flow = flow, .from_server = from_server, .flags = PB_TCP_ACK | PB_TCP_PSH,
			    .payload = payload->data, .len = payload->len };
	unsigned long long total = 0;
	unsigned int ns;

	for (unsigned int i = 0; i < runs; i++) {
		s.seq = *seq;
		run(&s, 1, &ns);
		total += ns;
		*seq += (uint32_t)payload->len;
		if (i % 1024 == 1023)
			ring_buffer__consume(rb);	/* outside the timed runs */
	}
	ring_buffer__consume(rb);
	return (double)total / runs;
}

/* The same frame RUNS times as single runs (for the timer floor). */
static double singles(const struct pb_seg *s, unsigned int runs)
{
	unsigned long long total = 0;
	unsigned int ns;

	for (unsigned int i = 0; i < runs; i++) {
		run(s, 1, &ns);
		total += ns;
	}
	return (double)total / runs;
}

int main(int argc, char **argv)
{
	unsigned int runs = argc > 1 ? (unsigned int)strtoul(argv[1], NULL, 10) : 100000;
	struct pb_flow flow, other;
	struct pg_wire query = { 0 }, result = { 0 };
	static const char *const row[] = { "1" };
	uint32_t cseq = 1000001, sseq = 5000001;
	unsigned int ns;
	double timer, t;
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "tc_allow_path: needs root (BPF_PROG_TEST_RUN)\n");
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
	rb = ring_buffer__new(bpf_map__fd(skel->maps.records), on_record, NULL, NULL);
	if (!rb)
		return 1;

	pb_flow_v4(&flow, 40000, PORT);
	pb_flow_v4(&other, 40000, 6379);
	pgw_query(&query, "SELECT abalance FROM pgbench_accounts WHERE aid = 12345;");
	pgw_msg(&result, 'T', "\0\1abalance\0\0\0@\4\0\3\0\0\0\27\0\4\377\377\377\377\0\0", 29);
	pgw_data_row(&result, row, 1);
	pgw_command_complete(&result, "SELECT 1");
	pgw_ready_for_query(&result, 'I');

	set_config(WF_CFG_RECORD);
	establish(&flow, &cseq, &sseq);

	printf("tc_allow_path: %u runs per line, Query segment %zu B payload, "
	       "result segment %zu B (4 messages)\n", runs, query.len, result.len);
	printf("%-58s %8s\n", "path", "ns/pkt");

	{
		struct pb_seg s = { .flow = &other, .flags = PB_TCP_ACK | PB_TCP_PSH, .seq = 1,
				    .payload = query.data, .len = query.len };

		run(&s, runs, &ns);
		printf("%-58s %8u\n", "other port (repeat)", ns);
		timer = singles(&s, runs);
		printf("%-58s %8.1f\n", "other port (single runs: program + timer floor)", timer);
		timer -= ns;
		printf("%-58s %8.1f\n", "  => timer floor of a single run", timer);
	}
	{
		struct pb_seg s = { .flow = &flow, .flags = PB_TCP_ACK, .seq = cseq, .ack = sseq };

		run(&s, runs, &ns);
		printf("%-58s %8u\n", "bare ACK of an established flow (repeat)", ns);
	}
	for (int rec = 0; rec < 2; rec++) {
		struct pb_seg s = { .flow = &flow, .flags = PB_TCP_ACK | PB_TCP_PSH, .seq = cseq,
				    .payload = query.data, .len = query.len };
		char what[80];

		set_config(rec ? WF_CFG_RECORD : 0);
		run(&s, 1, NULL);	/* new once, then a duplicate */
		cseq += (uint32_t)query.len;
		run(&s, runs, &ns);
		snprintf(what, sizeof(what), "Query segment, repeat (duplicate after run 1), rec %s",
			 rec ? "on" : "off");
		printf("%-58s %8u\n", what, ns);

		t = fresh(&flow, false, &cseq, &query, runs);
		snprintf(what, sizeof(what), "Query segment, new bytes each run, recording %s",
			 rec ? "on" : "off");
		printf("%-58s %8.1f  (program ~%.0f)\n", what, t, t - timer);

		t = fresh(&flow, true, &sseq, &result, runs);
		snprintf(what, sizeof(what), "result segment (T D C Z), new each run, recording %s",
			 rec ? "on" : "off");
		printf("%-58s %8.1f  (program ~%.0f)\n", what, t, t - timer);
	}
	printf("records consumed: %lu\n", records);

	pgw_free(&query);
	pgw_free(&result);
	ring_buffer__free(rb);
	wirefault_bpf__destroy(skel);
	return 0;
}
