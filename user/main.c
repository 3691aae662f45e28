// SPDX-License-Identifier: GPL-2.0
/*
 * wirefault: in-kernel fault injection for PostgreSQL wire traffic.
 * This file only dispatches to the subcommands (user/cmd_*.c).
 */
#include <argp.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *argp_program_version = "wirefault 0.1";
const char *argp_program_bug_address = "https://github.com/wirefault/wirefault/issues";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *doc;
} commands[] = {
	{ "run", wf_cmd_run, "attach to a PostgreSQL port and serve commands on a FIFO (foreground)" },
	{ "send", wf_cmd_send, "send one command to a running loader, print its answer" },
	{ "status", wf_cmd_status, "show the running loader: port, counters, attachments" },
	{ "cleanup", wf_cmd_cleanup, "remove everything a crashed loader left behind" },
	{ "dump", wf_cmd_dump, "print the recorded traffic: dump rows, JSON lines, or a pcap file" },
	{ "watch", wf_cmd_watch, "show the recorded traffic live, with the pipeline's verdicts" },
	{ "decisions", wf_cmd_decisions, "print the random decisions (probability) made so far, to compare runs" },
	{ "decode", wf_cmd_decode, "print the PostgreSQL messages of a capture file (no loader needed)" },
	{ "check", wf_cmd_check, "parse and compile commands as the loader would (no loader needed)" },
};

static void usage(FILE *out)
{
	fprintf(out, "Usage: wirefault COMMAND [OPTION...]\n\n"
		     "In-kernel (eBPF) fault injection for PostgreSQL wire traffic: a drop-in for\n"
		     "the mitmproxy-based proxy of Citus' failure tests.\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].doc);
	fprintf(out, "\nRun 'wirefault COMMAND --help' for the options of a command.\n"
		     "\nEXAMPLES:\n"
		     "  wirefault run --port 5432                 # as root, in the foreground\n"
		     "  wirefault send 'recorder.dump()'          # from another shell\n"
		     "  wirefault status\n"
		     "  wirefault watch                           # live, like tcpdump\n"
		     "  wirefault dump --pcap /tmp/pg.pcap\n"
		     "  wirefault check 'conn.onQuery(query=\"^COMMIT\").kill()'\n");
}

int main(int argc, char **argv)
{
	argp_err_exit_status = WF_EXIT_USAGE;
	if (argc < 2) {
		usage(stderr);
		return WF_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return WF_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("%s\n", argp_program_version);
		return WF_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "wirefault: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return WF_EXIT_USAGE;
}
