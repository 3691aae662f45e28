// SPDX-License-Identifier: GPL-2.0
#include "command_exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command_parse.h"
#include "copy_text.h"
#include "loader.h"
#include "log.h"
#include "recorder.h"
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

static void note_kernel_losses(struct wf_exec_ctx *x)
{
	__u64 c[WF_CNT__COUNT];

	if (x->counters_fd < 0 || wf_counters_read(x->counters_fd, c))
		return;
	if (c[WF_CNT_REC_LOST_PIECES] > x->lost_pieces_seen) {
		wf_recorder_note_lost(x->rec, c[WF_CNT_REC_LOST_PIECES] - x->lost_pieces_seen,
				      c[WF_CNT_REC_LOST_BYTES] - x->lost_bytes_seen);
		x->lost_pieces_seen = c[WF_CNT_REC_LOST_PIECES];
		x->lost_bytes_seen = c[WF_CNT_REC_LOST_BYTES];
	}
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
		if (x->rr)
			wf_ring_reader_drain(x->rr);
		note_kernel_losses(x);
		answer = wf_recorder_dump(x->rec);
		if (answer)
			*answer_len = strlen(answer);
		break;
	case WF_CMD_RECORDER_RESET:
		if (x->rr)
			wf_ring_reader_drain(x->rr);
		note_kernel_losses(x);
		wf_recorder_reset(x->rec);
		answer = calloc(1, 1);
		break;
	default:
		/*
		 * allow() lets every chunk through whatever its filters say, and
		 * is what the kernel does with no pipeline.  Filters and the other
		 * actions need the in-kernel pipeline, which is not there yet:
		 * refusing them keeps the previous pipeline, as for any error.
		 */
		if (cmd.action.kind == WF_ACTION_ALLOW && cmd.nfilters == 0)
			answer = answer_text("", answer_len);
		else
			answer = answer_text("not supported yet: this version of wirefault applies only "
					     "conn.allow(); filters and other actions arrive with the kernel pipeline",
					     answer_len);
	}
	wf_command_free(&cmd);
	return answer;
}
