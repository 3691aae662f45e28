/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Harness for BPF_PROG_TEST_RUN tests of the tc program (Cilium style: build
 * a packet, set up the maps, run, check verdict, maps, counters and ring
 * records).  Every helper asserts with cmocka, so a test reads as a script.
 *
 * Each test gets a freshly loaded skeleton (h_open in its setup), so flows,
 * counters, connection ids and the ring start empty.
 */
#ifndef WF_TEST_HARNESS_H
#define WF_TEST_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/bpf.h>

#include "packet_builder.h"
#include "pg_wire_builder.h"
#include "pipeline_publish.h"
#include "wf_config.h"
#include "wf_counters.h"
#include "wf_flow.h"
#include "wf_record.h"

#define TEST_PORT 5432
#define TCX_NEXT_RETVAL (-1)	/* test_run reports it as (__u32)-1 */
#define TCX_DROP_RETVAL 2

struct h_record {
	struct wf_record hdr;
	uint8_t *data;		/* hdr.len bytes */
};

struct wf_harness {
	struct wirefault_bpf *skel;
	int prog_fd;
	struct ring_buffer *rb;
	struct h_record *recs;	/* every record drained so far */
	size_t nrecs, cap;
	uint64_t runs;		/* program runs (packets) so far */
	bool allow_errors;	/* the test provokes WF_CNT_ERRORS */
	struct wf_pipe_publisher pub;	/* set up by the first h_pipeline() */
	bool pub_ready;
};

struct h_opts {
	uint16_t port;		/* 0 = leave the config map empty */
	bool record;
	uint32_t ring_size;	/* 0 = 1 MiB */
	uint32_t scratch_slots;	/* 0 = one per possible CPU */
	uint32_t piece_max;	/* 0 = WF_REC_PIECE_MAX (rodata knob) */
	uint32_t trim_frame_max;	/* 0 = WF_TRIM_FRAME_MAX (rodata knob, bpf/tcp_trim.h) */
};

/* Exits 77 (skipped, with the reason) when BPF cannot be used at all. */
void h_require_bpf(void);

int h_open(struct wf_harness *h, const struct h_opts *o);
void h_close(struct wf_harness *h);
void h_set_config(struct wf_harness *h, uint16_t port, uint32_t flags);
/* Several followed ports (`run --port A --port B ...`), ports[0] the first. */
void h_set_config_ports(struct wf_harness *h, const uint16_t *ports, int n, uint32_t flags);

/* cmocka fixtures: *state = a harness opened with these options, or with the
 * options in the name. */
int h_setup_with(void **state, const struct h_opts *o);
int h_setup_record(void **state);	/* port TEST_PORT, recording on */
int h_setup_norecord(void **state);	/* port TEST_PORT, recording off */
int h_setup_noconfig(void **state);	/* config map left empty */
int h_teardown(void **state);		/* checks the invariants, closes */

/* Runs one frame; returns the program's return value as an int. */
int h_run(struct wf_harness *h, const uint8_t *frame, size_t len, uint32_t mark,
	  uint32_t gso_size, uint32_t gso_segs);
/* As h_run, and the packet as the program left it in out (cap bytes), its
 * length in *out_len. */
int h_run_out(struct wf_harness *h, const uint8_t *frame, size_t len, uint8_t *out, size_t cap,
	      size_t *out_len);
/* Builds and runs a segment; asserts the verdict is TCX_NEXT. */
void h_run_seg(struct wf_harness *h, const struct pb_seg *s);

/*
 * Parses (wf_command_parse: Python source, not the FIFO's COPY encoding),
 * compiles and publishes a pipeline command into the loaded skeleton, as the
 * loader does.  h_pipeline asserts that it worked; h_pipeline_try returns 0,
 * or the parser's / compiler's / publisher's error (err says why).
 * h_pipeline_none unpublishes (no pipeline: everything is allowed).
 */
void h_pipeline(struct wf_harness *h, const char *cmd);
int h_pipeline_try(struct wf_harness *h, const char *cmd, size_t len, char *err, size_t errsz);
void h_pipeline_none(struct wf_harness *h);

uint64_t h_counter(struct wf_harness *h, enum wf_counter c);
void h_flow_key(const struct pb_flow *f, struct wf_flow_key *key);
bool h_flow(struct wf_harness *h, const struct pb_flow *f, struct wf_flow *out);
size_t h_flow_count(struct wf_harness *h);

/* Consumes the ring; returns the number of records added to h->recs. */
size_t h_drain(struct wf_harness *h);
/* Payload of every chunk record of (conn_id, dir) in ring order, checking
 * that pieces are contiguous; returns the number of chunks. */
size_t h_stream(struct wf_harness *h, uint64_t conn_id, int dir, struct pg_wire *out);
size_t h_count_records(struct wf_harness *h, uint8_t kind);

/* ---- a TCP connection driven by the test ---------------------------------- */

enum { C2S = 0, S2C = 1 };

struct tconn {
	struct wf_harness *h;
	struct pb_flow flow;
	uint32_t isn[2];	/* [C2S] client ISN, [S2C] server ISN */
	uint32_t next[2];	/* next seq each side sends */
	struct pg_wire sent[2];	/* new payload bytes each side sent, in order */
};

void tc_init(struct tconn *c, struct wf_harness *h, int family, uint16_t cport,
	     uint32_t client_isn, uint32_t server_isn);
void tc_free(struct tconn *c);
void tc_handshake(struct tconn *c);
/* Handshake, StartupMessage, the server's 16-message login burst. */
void tc_login(struct tconn *c);
/* One segment at an explicit seq (does not move next[] nor sent[]). */
void tc_seg(struct tconn *c, int dir, uint32_t seq, uint8_t flags, const void *data, size_t len);
/* The same, any verdict: returns it; the packet as delivered in out (PB_FRAME_MAX
 * bytes) when out is not NULL. */
int tc_seg_ex(struct tconn *c, int dir, uint32_t seq, uint8_t flags, const void *data, size_t len,
	      uint8_t *out, size_t *out_len);
/* Sends data as segments of at most mss bytes (PSH|ACK), in order. */
void tc_send(struct tconn *c, int dir, const void *data, size_t len, size_t mss);
void tc_send_buf(struct tconn *c, int dir, const struct pg_wire *b);
void tc_fin(struct tconn *c, int dir);
void tc_rst(struct tconn *c, int dir);
/* The connection's flow entry (asserts it exists). */
struct wf_flow tc_flow(struct tconn *c);
/* Asserts that the recorded chunks of this connection and direction are
 * exactly the bytes sent. */
void tc_check_recorded(struct tconn *c, int dir);

#endif /* WF_TEST_HARNESS_H */
