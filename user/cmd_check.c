// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault check COMMAND...`: parse and compile commands exactly as the
 * loader would (user/command_parse.c, then user/pipeline_compile.c), without
 * a loader, the kernel or privileges.  For test authors and CI: is this
 * command accepted, and what does it cost the kernel?
 */
#include <argp.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "command_parse.h"
#include "copy_text.h"
#include "log.h"
#include "pipeline_compile.h"

struct check_opts {
	bool quiet;
	const char **files;	/* -f, in order */
	size_t nfiles;
	const char **commands;	/* arguments, in order */
	size_t ncommands;
};

struct check_stats {
	size_t ok, refused;
};

static const struct argp_option check_options[] = {
	{ "file", 'f', "FILE", 0, "read commands from FILE, one per line ('-': standard input); "
	  "empty lines and lines starting with # are skipped; may be repeated", 0 },
	{ "quiet", 'q', NULL, 0, "print only the refused commands", 0 },
	{ 0 },
};

static bool push(const char ***arr, size_t *n, const char *s)
{
	const char **na = realloc(*arr, (*n + 1) * sizeof(**arr));

	if (!na)
		return false;
	na[(*n)++] = s;
	*arr = na;
	return true;
}

static error_t check_parse(int key, char *arg, struct argp_state *state)
{
	struct check_opts *o = state->input;

	switch (key) {
	case 'f':
		if (!push(&o->files, &o->nfiles, arg))
			argp_failure(state, WF_EXIT_FAILURE, ENOMEM, "out of memory");
		break;
	case 'q':
		o->quiet = true;
		break;
	case ARGP_KEY_ARG:
		if (!push(&o->commands, &o->ncommands, arg))
			argp_failure(state, WF_EXIT_FAILURE, ENOMEM, "out of memory");
		break;
	case ARGP_KEY_END:
		if (!o->ncommands && !o->nfiles)
			argp_error(state, "COMMAND is missing (or give -f FILE)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp check_argp = {
	check_options, check_parse, "COMMAND...",
	"Check commands without a loader: parse and compile each one exactly as 'wirefault run' "
	"would, and print what the loader would answer.\n"
	"\n"
	"A COMMAND is the text a test passes to citus.mitmproxy() (or to 'wirefault send'): it is "
	"COPY-encoded as that function sends it before parsing, so the answer is the loader's. "
	"For each command the output is 'ok: ' and the command's canonical text (Python source "
	"as the FIFO carries it, backslashes doubled), then an indented summary of the compiled "
	"pipeline (filters, field conditions, DFAs as states x classes, transition pool cells); "
	"or 'error: ' and the loader's answer, then the command.\n"
	"\n"
	"EXAMPLES:\n"
	"  wirefault check 'conn.onQuery(query=\"^COMMIT\").after(2).kill()'\n"
	"  wirefault check -q -f commands.txt\n"
	"  echo 'conn.onCopyData().kill()' | wirefault check -f -\n"
	"\v"
	"Exit status: 0 if every command is accepted, 1 if any is refused, 2 on usage errors "
	"(including a FILE that cannot be read).",
	NULL, NULL, NULL,
};

/* Checks one command; where: NULL for an argument, else "FILE:LINE". */
static void check_one(const char *text, size_t len, const char *where, const struct check_opts *o,
		      struct check_stats *st)
{
	char err[512], summary[512];
	struct wf_pipe_compiled pc;
	struct wf_parse_error perr;
	struct wf_command cmd;
	char *slug = NULL, *canon = NULL;
	bool ok = false;
	int rc;

	if (memchr(text, '\0', len)) {
		snprintf(err, sizeof(err), "command contains a NUL byte");
		goto report;
	}
	/* the FIFO payload: COPY text encoding and the row terminator, as citus.mitmproxy() sends */
	slug = wf_copy_text_escape(text, len);
	if (slug) {
		char *grown = realloc(slug, strlen(slug) + 2);

		if (!grown)
			free(slug);
		slug = grown;
	}
	if (!slug) {
		snprintf(err, sizeof(err), "out of memory");
		goto report;
	}
	strcat(slug, "\n");
	if (wf_command_parse(slug, strlen(slug), &cmd, &perr)) {
		snprintf(err, sizeof(err), "%s", perr.msg);
		goto report;
	}
	canon = wf_command_format(&cmd);
	if (cmd.kind != WF_CMD_PIPELINE) {
		snprintf(summary, sizeof(summary), "recorder command (no pipeline)");
		ok = canon != NULL;
	} else if ((rc = wf_pipeline_compile(&cmd, &pc, err, sizeof(err))) == 0) {
		wf_pipe_compiled_describe(&pc, summary, sizeof(summary));
		wf_pipe_compiled_free(&pc);
		ok = canon != NULL;
	}
	if (!canon)
		snprintf(err, sizeof(err), "out of memory");
	wf_command_free(&cmd);
report:
	if (ok) {
		st->ok++;
		if (!o->quiet)
			printf("ok: %s\n    %s\n", canon, summary);
	} else {
		st->refused++;
		printf("error: %s\n", err);
		if (where)
			printf("    %s: %.*s\n", where, (int)(len > 300 ? 300 : len), text);
		else
			printf("    command: %.*s\n", (int)(len > 300 ? 300 : len), text);
	}
	free(canon);
	free(slug);
}

/* Every line of a file; false if it cannot be read (reported). */
static bool check_file(const char *path, const struct check_opts *o, struct check_stats *st)
{
	bool std = !strcmp(path, "-");
	const char *name = std ? "<stdin>" : path;
	FILE *f = std ? stdin : fopen(path, "r");
	char *line = NULL, where[4200];
	size_t cap = 0, lineno = 0;
	ssize_t n;
	bool good = true;

	if (!f) {
		wf_err("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)n, i = 0;

		lineno++;
		if (len && line[len - 1] == '\n')
			len--;
		if (len && line[len - 1] == '\r')
			len--;
		while (i < len && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i == len || line[i] == '#')
			continue;
		snprintf(where, sizeof(where), "%s:%zu", name, lineno);
		check_one(line, len, where, o, st);
	}
	if (ferror(f)) {
		wf_err("cannot read %s: %s", path, strerror(errno));
		good = false;
	}
	free(line);
	if (!std)
		fclose(f);
	return good;
}

int wf_cmd_check(int argc, char **argv)
{
	struct check_opts o = { 0 };
	struct check_stats st = { 0 };
	int rc = WF_EXIT_OK;

	if (argp_parse(&check_argp, argc, argv, 0, NULL, &o)) {
		rc = WF_EXIT_USAGE;
		goto out;
	}
	for (size_t i = 0; i < o.ncommands; i++)
		check_one(o.commands[i], strlen(o.commands[i]), NULL, &o, &st);
	for (size_t i = 0; i < o.nfiles; i++) {
		if (!check_file(o.files[i], &o, &st)) {
			rc = WF_EXIT_USAGE;
			goto out;
		}
	}
	if (!o.quiet && st.ok + st.refused > 1)
		printf("%zu command%s: %zu accepted, %zu refused\n", st.ok + st.refused,
		       st.ok + st.refused == 1 ? "" : "s", st.ok, st.refused);
	if (st.refused)
		rc = WF_EXIT_FAILURE;
out:
	fflush(stdout);
	free(o.files);
	free(o.commands);
	return rc;
}
