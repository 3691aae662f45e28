/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running one FIFO command against the live loader and producing the exact
 * answer bytes of the protocol: "\n" for an accepted pipeline command, the
 * error text + "\n" for a refused one (the previous pipeline stays active),
 * the dump rows without a trailing newline for recorder.dump(), nothing for
 * recorder.reset().
 */
#ifndef WF_COMMAND_EXEC_H
#define WF_COMMAND_EXEC_H

#include <stddef.h>
#include <stdint.h>

#include "wf_config.h"
#include "wf_pipeline.h"

struct wf_decision_log;
struct wf_pipe_publisher;
struct wf_recorder;
struct wf_ring_reader;

struct wf_exec_ctx {
	struct wf_recorder *rec;
	struct wf_ring_reader *rr;	/* drained before a dump so it includes everything */
	struct wf_pipe_publisher *pub;	/* where pipelines go */
	int counters_fd;		/* kernel counters, for recorder losses; -1 if none */
	uint64_t lost_pieces_seen;	/* losses already reported to the recorder */
	uint64_t lost_bytes_seen;
	uint64_t untracked_seen;	/* flow table failures already reported */
	/* Called after every catch-up, to hand new rows on (watchers, the
	 * live capture) before a dump can forget them; optional. */
	void (*on_rows)(void *ctx);
	void *on_rows_ctx;
	/* The active pipeline of each scope (0: the default, plain conn) as a
	 * command (wf_command_format), NULL for none. */
	char *pipeline_text[WF_PIPE_SCOPES];
	uint32_t pipeline_gen[WF_PIPE_SCOPES];
	/* The followed ports, which conn(port=P) may name (n_ports 0: not checked). */
	unsigned int ports[WF_MAX_PORTS];
	int n_ports;
	/* The virtual port in front of ports[i] (run --proxy-port), or none
	 * (n_proxy_ports 0): conn(port=V) names the connections made through V. */
	unsigned int proxy_ports[WF_MAX_PORTS];
	int n_proxy_ports;
	/* Random decisions: the seed of pipelines without seed(n) (`run --seed`
	 * or drawn), the active pipeline's, and their log (owned). */
	uint64_t seed;
	uint64_t pipeline_seed;
	struct wf_decision_log *decisions;
};

/* Frees what the context owns. */
void wf_exec_fini(struct wf_exec_ctx *x);

/*
 * Bring the recorder up to date: take what the kernel wrote so far, note
 * what it could not write, and hand the new rows on (on_rows).
 */
void wf_exec_catch_up(struct wf_exec_ctx *x);

/* A wf_fifo_handler: ctx is a struct wf_exec_ctx. */
char *wf_command_exec(void *ctx, const char *command, size_t len, size_t *answer_len);

#endif /* WF_COMMAND_EXEC_H */
