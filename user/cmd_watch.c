// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault watch`: the running loader's traffic as it is recorded, one
 * line per chunk (like tcpdump) or one JSON object per message, with what
 * the pipeline did.  Watching takes nothing away from dumps.
 */
#include <argp.h>
#include <stdbool.h>

#include "cli.h"
#include "control_client.h"

static const struct argp_option watch_options[] = {
	{ "json", 'j', NULL, 0, "one JSON object per message (docs/json.md) instead of one line per chunk", 0 },
	{ 0 },
};

static const struct argp watch_argp = {
	watch_options, wf_json_flag_parse, NULL,
	"Show the PostgreSQL traffic the running loader records, live, until interrupted.\n"
	"\n"
	"Each line: time, connection number (as in dumps), client > server or client < server, "
	"the messages the chunk completes (as dumps print them), and the pipeline's verdict "
	"when it acted (=> KILL, => RESET, => CANCEL, ...). Watching does not consume rows: "
	"recorder.dump() and wirefault dump still get them. A watcher that cannot keep up is "
	"told how many rows it missed.\n"
	"\n"
	"EXAMPLES:\n"
	"  wirefault watch\n"
	"  wirefault watch --json | jq -c 'select(.type == \"Query\") | .fields.query'\n"
	"\v"
	"Exit status: 0 when interrupted or the loader stops, 1 if no loader answers, 2 on usage errors.",
	NULL, NULL, NULL,
};

int wf_cmd_watch(int argc, char **argv)
{
	bool json = false;

	if (argp_parse(&watch_argp, argc, argv, 0, NULL, &json))
		return WF_EXIT_USAGE;
	return wf_control_print(json ? "watch json" : "watch text", 1, "watch ended");
}
