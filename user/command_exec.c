// SPDX-License-Identifier: GPL-2.0
#include "command_exec.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* Python's eval ignores surrounding whitespace, including the row's newline. */
static bool is_command(const char *cmd, size_t len, const char *want)
{
	size_t wl = strlen(want);

	while (len && strchr(" \t\n\r\f\v", cmd[0]))
		cmd++, len--;
	while (len && strchr(" \t\n\r\f\v", cmd[len - 1]))
		len--;
	return len == wl && !memcmp(cmd, want, wl);
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

	if (is_command(command, len, "recorder.dump()")) {
		char *rows;

		if (x->rr)
			wf_ring_reader_drain(x->rr);
		note_kernel_losses(x);
		rows = wf_recorder_dump(x->rec);
		if (rows)
			*answer_len = strlen(rows);
		return rows;
	}
	if (is_command(command, len, "recorder.reset()")) {
		if (x->rr)
			wf_ring_reader_drain(x->rr);
		note_kernel_losses(x);
		wf_recorder_reset(x->rec);
		return calloc(1, 1);
	}
	if (is_command(command, len, "conn.allow()")) {
		/* allow() is the pipeline the kernel applies when none is set. */
		return answer_text("", answer_len);
	}
	return answer_text("unsupported command: this version of wirefault understands only "
			   "conn.allow(), recorder.dump() and recorder.reset()", answer_len);
}
