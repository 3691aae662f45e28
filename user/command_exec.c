// SPDX-License-Identifier: GPL-2.0
#include "command_exec.h"

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
/* What `wirefault status` shows as the active pipeline (text is taken over). */
static void set_pipeline_text(struct wf_exec_ctx *x, uint32_t generation, char *text)
{
	free(x->pipeline_text);
	x->pipeline_text = text;
	x->pipeline_gen = generation;
}

static char *apply_pipeline(struct wf_exec_ctx *x, struct wf_command *cmd, size_t *answer_len)
{
	struct wf_pipe_compiled pc;
	char err[512];
	char *answer;
	int rc;

	rc = wf_pipeline_compile(cmd, &pc, err, sizeof(err));
	if (!rc && !cmd->has_seed)
		pc.pipe.seed = x->seed;	/* the loader's: `run --seed` or drawn at start */
	if (rc) {
		wf_info("refused: %s", err);
		answer = answer_text(err, answer_len);
	} else if (!x->pub) {
		answer = answer_text("no kernel pipeline to publish to", answer_len);
	} else if (cmd->action.kind == WF_ACTION_ALLOW && cmd->nfilters == 0) {
		wf_pipe_unpublish(x->pub);	/* no pipeline: everything is allowed */
		wf_info("active pipeline: none (conn.allow()): every chunk is allowed");
		set_pipeline_text(x, 0, NULL);
		answer = answer_text("", answer_len);
	} else if (wf_pipe_publish(x->pub, &pc, err, sizeof(err))) {
		wf_err("%s", err);
		answer = answer_text(err, answer_len);
	} else {
		char *text = wf_command_format(cmd);

		wf_info("active pipeline (generation %u, seed %llu): %s", pc.pipe.generation,
			(unsigned long long)pc.pipe.seed, text ? text : "?");
		set_pipeline_text(x, pc.pipe.generation, text);
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
	free(x->pipeline_text);
	x->pipeline_text = NULL;
	wf_decision_log_free(x->decisions);
	x->decisions = NULL;
}
