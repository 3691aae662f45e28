// SPDX-License-Identifier: GPL-2.0
#include "command_exec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command_parse.h"
#include "copy_text.h"
#include "decision_log.h"
#include "loader.h"
#include "log.h"
#include "recorder.h"
#include "pipeline_compile.h"
#include "pipeline_publish.h"
#include "ring_reader.h"
#include "utf8.h"

static char *answer_text(const char *text, size_t *answer_len)
{
	/* The answer is read back with COPY FROM: one line, escaped. */
	char *escaped = wf_copy_text_escape(text, strlen(text));
	char *out;

	if (!escaped)
		return NULL;
	if (asprintf(&out, "%s\n", escaped) < 0)
		out = NULL;
	free(escaped);
	if (out)
		*answer_len = strlen(out);
	return out;
}

/*
 * A pipeline command: compiled completely, then published atomically; any
 * error leaves the previous pipeline active.  Returns the answer text.
 */
/* What `wirefault status` shows as the active pipeline of a scope (text is taken over). */
static void set_pipeline_text(struct wf_exec_ctx *x, int scope, uint32_t generation, char *text)
{
	free(x->pipeline_text[scope]);
	x->pipeline_text[scope] = text;
	x->pipeline_gen[scope] = generation;
}

/*
 * The server port a conn(port=P) selects: P, or, if P is a virtual port,
 * the port behind it (the kernel keys connections by their real server
 * port, and behind each virtual port is a port of its own).
 */
static unsigned int scope_server_port(const struct wf_exec_ctx *x, unsigned int port)
{
	for (int i = 0; i < x->n_proxy_ports && i < x->n_ports; i++)
		if (x->proxy_ports[i] == port)
			return x->ports[i];
	return port;
}

static void scope_selector(const struct wf_exec_ctx *x, const struct wf_scope *sc,
			   struct wf_pipe_scope *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->port = sc->has_port ? (__u16)scope_server_port(x, sc->port) : 0;
	sel->has_client = sc->client_family != 0;
	if (sel->has_client)
		memcpy(sel->client_addr, sc->client_addr, sizeof(sel->client_addr));
}

/* conn(port=P) must name a followed or virtual port; false if it does, else the refusal. */
static bool scope_port_refused(const struct wf_exec_ctx *x, const struct wf_scope *sc, char *err,
			       size_t errsz)
{
	int n;

	if (!sc->has_port || !x->n_ports)
		return false;
	for (int i = 0; i < x->n_ports; i++)
		if (x->ports[i] == sc->port || (i < x->n_proxy_ports && x->proxy_ports[i] == sc->port))
			return false;
	n = snprintf(err, errsz, "conn(port=%u): port %u is not followed; this loader follows %s",
		     sc->port, sc->port, x->n_ports > 1 ? "ports " : "port ");
	for (int i = 0; i < x->n_ports && n >= 0 && (size_t)n < errsz; i++)
		n += snprintf(err + n, errsz - (size_t)n, "%s%u", i ? ", " : "", x->ports[i]);
	for (int i = 0; i < x->n_proxy_ports && n >= 0 && (size_t)n < errsz; i++)
		n += snprintf(err + n, errsz - (size_t)n, "%s%u",
			      i ? ", " : x->n_proxy_ports > 1 ? " through virtual ports " : " through virtual port ",
			      x->proxy_ports[i]);
	if (n >= 0 && (size_t)n < errsz && x->n_proxy_ports > 1)
		n += snprintf(err + n, errsz - (size_t)n, " (in that order)");
	if (n >= 0 && (size_t)n < errsz)
		snprintf(err + n, errsz - (size_t)n, " (run --port P, repeatable)");
	return true;
}

static char *apply_pipeline(struct wf_exec_ctx *x, struct wf_command *cmd, size_t *answer_len)
{
	struct wf_pipe_compiled pc;
	char err[512];
	char *answer;
	int rc;

	struct wf_pipe_scope sel;
	char scope_text[WF_SCOPE_TEXT_MAX];
	int scope;

	scope_selector(x, &cmd->scope, &sel);
	wf_scope_format(&cmd->scope, scope_text, sizeof(scope_text));
	if (scope_port_refused(x, &cmd->scope, err, sizeof(err))) {
		memset(&pc, 0, sizeof(pc));
		rc = -EINVAL;
	} else {
		rc = wf_pipeline_compile(cmd, &pc, err, sizeof(err));
	}
	if (!rc && !cmd->has_seed)
		pc.pipe.seed = x->seed;	/* the loader's: `run --seed` or drawn at start */
	if (rc) {
		wf_info("refused: %s", err);
		answer = answer_text(err, answer_len);
	} else if (!x->pub) {
		answer = answer_text("no kernel pipeline to publish to", answer_len);
	} else if (cmd->action.kind == WF_ACTION_ALLOW && cmd->nfilters == 0 &&
		   wf_scope_is_default(&cmd->scope)) {
		wf_pipe_unpublish(x->pub);	/* no pipeline in any scope: everything is allowed */
		wf_info("active pipeline: none (conn.allow()): every chunk is allowed");
		for (int s = 0; s < WF_PIPE_SCOPES; s++)
			set_pipeline_text(x, s, 0, NULL);
		answer = answer_text("", answer_len);
	} else if (cmd->action.kind == WF_ACTION_ALLOW && cmd->nfilters == 0) {
		/* the scope is cleared: its connections fall back to the default pipeline */
		scope = wf_pipe_unpublish_scope(x->pub, &sel);
		if (scope > 0)
			set_pipeline_text(x, scope, 0, NULL);
		wf_info("%s: no pipeline of its own (%s): its connections follow plain conn's", scope_text,
			scope > 0 ? "cleared" : "it had none");
		answer = answer_text("", answer_len);
	} else if ((scope = wf_pipe_publish_scope(x->pub, &sel, &pc, err, sizeof(err))) < 0) {
		wf_err("%s", err);
		answer = answer_text(err, answer_len);
	} else {
		char *text = wf_command_format(cmd);

		wf_info("active pipeline of %s (scope %d, generation %u, seed %llu): %s", scope_text,
			scope, pc.pipe.generation, (unsigned long long)pc.pipe.seed, text ? text : "?");
		set_pipeline_text(x, scope, pc.pipe.generation, text);
		x->pipeline_seed = pc.pipe.seed;
		answer = answer_text("", answer_len);
	}
	wf_pipe_compiled_free(&pc);
	return answer;
}

void wf_exec_catch_up(struct wf_exec_ctx *x)
{
	__u64 c[WF_CNT__COUNT];

	if (x->rr)
		wf_ring_reader_drain(x->rr);
	if (x->counters_fd >= 0 && !wf_counters_read(x->counters_fd, c)) {
		if (c[WF_CNT_REC_LOST_PIECES] > x->lost_pieces_seen) {
			wf_recorder_note_lost(x->rec, c[WF_CNT_REC_LOST_PIECES] - x->lost_pieces_seen,
					      c[WF_CNT_REC_LOST_BYTES] - x->lost_bytes_seen);
			x->lost_pieces_seen = c[WF_CNT_REC_LOST_PIECES];
			x->lost_bytes_seen = c[WF_CNT_REC_LOST_BYTES];
		}
		if (c[WF_CNT_FLOW_TABLE_FULL] > x->untracked_seen) {
			wf_recorder_note_untracked(x->rec, c[WF_CNT_FLOW_TABLE_FULL] - x->untracked_seen);
			x->untracked_seen = c[WF_CNT_FLOW_TABLE_FULL];
		}
	}
	if (x->on_rows)
		x->on_rows(x->on_rows_ctx);
}

char *wf_command_exec(void *ctx, const char *command, size_t len, size_t *answer_len)
{
	struct wf_exec_ctx *x = ctx;

	*answer_len = 0;
	if (!wf_utf8_valid(command, len)) {
		wf_info("refused a command that is not valid UTF-8");
		return answer_text("command is not valid UTF-8", answer_len);
	}
	if (memchr(command, '\0', len))
		return answer_text("command contains a NUL byte", answer_len);
	wf_info("command: %.*s", (int)(len && command[len - 1] == '\n' ? len - 1 : len), command);

	struct wf_parse_error perr;
	struct wf_command cmd;
	char *answer;

	if (wf_command_parse(command, len, &cmd, &perr)) {
		wf_info("refused: %s", perr.msg);
		return answer_text(perr.msg, answer_len);
	}
	switch (cmd.kind) {
	case WF_CMD_RECORDER_DUMP:
		wf_exec_catch_up(x);
		answer = wf_recorder_dump(x->rec);
		if (answer)
			*answer_len = strlen(answer);
		break;
	case WF_CMD_RECORDER_RESET:
		wf_exec_catch_up(x);
		wf_recorder_reset(x->rec);
		answer = calloc(1, 1);
		break;
	default:
		answer = apply_pipeline(x, &cmd, answer_len);
	}
	wf_command_free(&cmd);
	return answer;
}

void wf_exec_fini(struct wf_exec_ctx *x)
{
	for (int s = 0; s < WF_PIPE_SCOPES; s++) {
		free(x->pipeline_text[s]);
		x->pipeline_text[s] = NULL;
	}
	wf_decision_log_free(x->decisions);
	x->decisions = NULL;
}
