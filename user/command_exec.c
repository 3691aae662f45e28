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
#include "regex.h"
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
 * Every pattern of a pipeline must compile, or the command is refused with
 * the compiler's message (Python's re.error text for what Python rejects).
 * Returns 0 or writes the message into err.
 */
static int check_patterns(const struct wf_command *cmd, char *err, size_t errsz)
{
	for (size_t i = 0; i < cmd->nfilters; i++) {
		const struct wf_filter *f = &cmd->filters[i];
		const struct wf_bytes *pat[WF_COMMAND_MAX_FIELDS];
		enum wf_regex_kind kind = WF_REGEX_STR;
		size_t n = 0;

		if (f->kind == WF_FILTER_ON) {
			for (size_t k = 0; k < f->on.nfields && n < WF_COMMAND_MAX_FIELDS; k++)
				pat[n++] = &f->on.fields[k].regex;
		} else if (f->kind == WF_FILTER_MATCHES) {
			pat[n++] = &f->matches;
			kind = WF_REGEX_BYTES;
		}
		for (size_t k = 0; k < n; k++) {
			struct wf_dfa dfa;
			enum wf_regex_status st = wf_regex_compile(pat[k]->data, pat[k]->len, kind, NULL, &dfa,
								   err, errsz);

			wf_dfa_free(&dfa);
			if (st != WF_REGEX_OK)
				return -1;
		}
	}
	return 0;
}

/*
 * Bring the recorder up to date before a recorder command acts on it: take
 * what the kernel wrote so far and note what it could not write.
 */
static void recorder_catch_up(struct wf_exec_ctx *x)
{
	__u64 c[WF_CNT__COUNT];

	if (x->rr)
		wf_ring_reader_drain(x->rr);
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

	char regex_err[WF_REGEX_ERR_MAX];
	struct wf_parse_error perr;
	struct wf_command cmd;
	char *answer;

	if (wf_command_parse(command, len, &cmd, &perr)) {
		wf_info("refused: %s", perr.msg);
		return answer_text(perr.msg, answer_len);
	}
	switch (cmd.kind) {
	case WF_CMD_RECORDER_DUMP:
		recorder_catch_up(x);
		answer = wf_recorder_dump(x->rec);
		if (answer)
			*answer_len = strlen(answer);
		break;
	case WF_CMD_RECORDER_RESET:
		recorder_catch_up(x);
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
		if (check_patterns(&cmd, regex_err, sizeof(regex_err))) {
			wf_info("refused: %s", regex_err);
			answer = answer_text(regex_err, answer_len);
		} else if (cmd.action.kind == WF_ACTION_ALLOW && cmd.nfilters == 0)
			answer = answer_text("", answer_len);
		else
			answer = answer_text("not supported yet: this version of wirefault applies only "
					     "conn.allow(); filters and other actions arrive with the kernel pipeline",
					     answer_len);
	}
	wf_command_free(&cmd);
	return answer;
}
