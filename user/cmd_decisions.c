// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault decisions`: the running loader's log of random decisions
 * (probability(p)), oldest first, as lines or JSON objects
 * (user/decision_log.h has the format).  Comparing two runs' logs on their
 * seed, ident, direction, message and filter shows whether a replay made
 * the same decisions.
 */
#include <argp.h>
#include <stdbool.h>

#include "cli.h"
#include "control_client.h"

static const struct argp_option decisions_options[] = {
	{ "json", 'j', NULL, 0, "one JSON object per decision instead of one line", 0 },
	{ 0 },
};

static const struct argp decisions_argp = {
	decisions_options, wf_json_flag_parse, NULL,
	"Print the random decisions the running loader's pipelines made (probability(p)), "
	"oldest first (the last 100000 are kept).\n"
	"\n"
	"Each line: time, pipeline generation, connection number, client > server (or <, "
	"server to client), then what names the decision in any run of the same workload: "
	"the seed, the connection's ident (its StartupMessage and rank), the number of "
	"messages its direction carried before the chunk, the filter's index, p, the draw "
	"and the outcome (pass: the filter passed; allow: it did not). A run with the same "
	"seed and workload makes the same decisions: compare the fields from seed on.\n"
	"\n"
	"EXAMPLES:\n"
	"  wirefault decisions\n"
	"  wirefault decisions | cut -d' ' -f9- | sort > run1.txt   # to compare with a replay\n"
	"  wirefault decisions --json | jq -c 'select(.passed)'\n"
	"\v"
	"Exit status: 0, 1 if no loader answers, 2 on usage errors.",
	NULL, NULL, NULL,
};

int wf_cmd_decisions(int argc, char **argv)
{
	bool json = false;

	if (argp_parse(&decisions_argp, argc, argv, 0, NULL, &json))
		return WF_EXIT_USAGE;
	return wf_control_print(json ? "decisions json" : "decisions text", 0,
				"reading the decisions failed");
}
