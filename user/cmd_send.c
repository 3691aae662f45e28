// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault send COMMAND`: one round trip on the FIFO, byte for byte what
 * citus.mitmproxy() does, for shells and scripts.
 */
#include <argp.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "copy_text.h"
#include "fifo_client.h"
#include "log.h"

struct send_opts {
	const char *fifo;
	const char *command;
	unsigned long timeout_ms;
};

static const struct argp_option send_options[] = {
	{ "fifo", 'f', "PATH", 0, "command FIFO of the loader (default " WF_FIFO_DEFAULT ")", 0 },
	{ "timeout", 't', "MS", 0, "give up after MS milliseconds (default 10000)", 0 },
	{ 0 },
};

static error_t send_parse(int key, char *arg, struct argp_state *state)
{
	struct send_opts *o = state->input;

	switch (key) {
	case 'f':
		o->fifo = arg;
		break;
	case 't':
		if (wf_parse_uint(arg, 1, 3600000, &o->timeout_ms))
			argp_error(state, "invalid --timeout '%s': expected 1..3600000 ms", arg);
		break;
	case ARGP_KEY_ARG:
		if (o->command)
			argp_error(state, "one COMMAND only (quote it)");
		o->command = arg;
		break;
	case ARGP_KEY_END:
		if (!o->command)
			argp_error(state, "COMMAND is missing");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp send_argp = {
	send_options, send_parse, "COMMAND",
	"Send one command to the running loader and print its answer.\n"
	"\n"
	"The command is written exactly as Citus' citus.mitmproxy() SQL function writes it "
	"(COPY text format), so the answer is the one a regression test would see.\n"
	"\n"
	"EXAMPLES:\n"
	"  wirefault send 'conn.allow()'\n"
	"  wirefault send 'recorder.dump()'\n"
	"\v"
	"Exit status: 0 if the command was accepted (its output, if any, on stdout), 1 if the "
	"loader refused it (its answer on stderr) or could not be reached, 2 on usage errors.",
	NULL, NULL, NULL,
};

/* A dump row: "<int>\t<source>\t<message>". */
static bool is_dump_row(const char *line)
{
	const char *p = line;

	if (*p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	return *p == '\t' && strchr(p + 1, '\t');
}

int wf_cmd_send(int argc, char **argv)
{
	struct send_opts o = { .fifo = WF_FIFO_DEFAULT, .timeout_ms = 10000 };
	bool refused = false;
	char *answer, *line, *save = NULL;
	size_t len;
	int err;

	if (argp_parse(&send_argp, argc, argv, 0, NULL, &o))
		return WF_EXIT_USAGE;
	err = wf_fifo_send(o.fifo, o.command, (int)o.timeout_ms, &answer, &len);
	if (err) {
		if (err == -ETIMEDOUT)
			wf_err("no answer on %s within %lu ms: is 'wirefault run' running with this FIFO?", o.fifo,
			       o.timeout_ms);
		else if (err == -ENOENT)
			wf_err("FIFO %s does not exist: start 'wirefault run' first (or pass --fifo)", o.fifo);
		else if (err == -EINVAL)
			wf_err("%s is not a FIFO", o.fifo);
		else
			wf_err("failed to send the command on %s: %s", o.fifo, strerror(-err));
		return WF_EXIT_FAILURE;
	}
	/*
	 * Accepted pipeline commands answer an empty line, recorder commands
	 * answer rows (or nothing), anything else is an error text.
	 */
	for (line = strtok_r(answer, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		bool row = is_dump_row(line);

		len = wf_copy_text_unescape(line, strlen(line));
		line[len] = '\0';
		if (row) {
			printf("%s\n", line);
		} else {
			fprintf(stderr, "%s\n", line);
			refused = true;
		}
	}
	free(answer);
	return refused ? WF_EXIT_FAILURE : WF_EXIT_OK;
}
