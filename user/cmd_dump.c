// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault dump`: the running loader's recorded traffic, as fluent.py's
 * rows (what recorder.dump() answers on the FIFO), as JSON lines, or as a
 * pcap file for Wireshark.  Over the control socket (user/control_server.h).
 */
#include <argp.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "control_client.h"
#include "log.h"
#include "pcap_writer.h"

struct dump_opts {
	bool json;
	const char *pcap;
	bool keep;
};

enum { OPT_JSON = 1000, OPT_PCAP, OPT_KEEP };

static const struct argp_option dump_options[] = {
	{ "json", OPT_JSON, NULL, 0, "one JSON object per message (docs/json.md)", 0 },
	{ "pcap", OPT_PCAP, "FILE", 0, "write the rows as a pcap capture to FILE, and what wirefault did to FILE" WF_PCAP_NOTES_SUFFIX, 0 },
	{ "keep", OPT_KEEP, NULL, 0, "leave the rows in the loader (by default a dump forgets them, like recorder.dump())", 0 },
	{ 0 },
};

static error_t dump_parse(int key, char *arg, struct argp_state *state)
{
	struct dump_opts *o = state->input;

	switch (key) {
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_PCAP:
		o->pcap = arg;
		break;
	case OPT_KEEP:
		o->keep = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (o->json && o->pcap)
			argp_error(state, "--json and --pcap exclude each other");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp dump_argp = {
	dump_options, dump_parse, NULL,
	"Print what the running loader recorded since the last dump, and forget it.\n"
	"\n"
	"Without options the rows are those recorder.dump() answers on the FIFO "
	"(fluent.py's format: connection, coordinator|worker, the messages), one per line; "
	"--json prints one JSON object per message with its time, connection, addresses, "
	"direction and the pipeline's verdict; --pcap writes a capture that Wireshark and "
	"tshark decode as PostgreSQL. Rows lost to the recorder's bounds are announced, "
	"never silently missing.\n"
	"\n"
	"EXAMPLES:\n"
	"  wirefault dump\n"
	"  wirefault dump --json | jq -c 'select(.verdict != \"allow\")'\n"
	"  wirefault dump --pcap /tmp/run.pcap && tshark -r /tmp/run.pcap -d tcp.port==5432,pgsql\n"
	"\v"
	"Exit status: 0 on success, 1 on failure (no loader, I/O), 2 on usage errors.",
	NULL, NULL, NULL,
};

static int write_pcap(int fd, const char *path)
{
	char notes_path[PATH_MAX];
	FILE *in = fdopen(fd, "r"), *pf = NULL, *nf = NULL;
	int err = -ENOMEM;

	if (!in) {
		close(fd);
		return -errno;
	}
	if (snprintf(notes_path, sizeof(notes_path), "%s%s", path, WF_PCAP_NOTES_SUFFIX) >=
	    (int)sizeof(notes_path)) {
		err = -ENAMETOOLONG;
		goto out;
	}
	pf = fopen(path, "wbe");
	if (!pf) {
		err = -errno;
		wf_err("cannot write %s: %s", path, strerror(-err));
		goto out;
	}
	nf = fopen(notes_path, "we");
	if (!nf) {
		err = -errno;
		wf_err("cannot write %s: %s", notes_path, strerror(-err));
		goto out;
	}
	err = wf_control_read_section(in, "pcap", pf);
	if (!err)
		err = wf_control_read_section(in, "notes", nf);
	if (err)
		wf_err("the loader's answer was cut short: %s", strerror(-err));
out:
	if (pf && fclose(pf) && !err)
		err = -errno;
	if (nf && fclose(nf) && !err)
		err = -errno;
	fclose(in);
	if (!err)
		fprintf(stderr, "wrote %s and %s\n", path, notes_path);
	return err;
}

int wf_cmd_dump(int argc, char **argv)
{
	struct dump_opts o = { 0 };
	char request[64];
	int fd, err;

	if (argp_parse(&dump_argp, argc, argv, 0, NULL, &o))
		return WF_EXIT_USAGE;
	snprintf(request, sizeof(request), "dump %s%s", o.pcap ? "pcap" : o.json ? "json" : "text",
		 o.keep ? " keep" : "");
	fd = wf_control_request(request);
	if (fd < 0)
		return WF_EXIT_FAILURE;
	if (o.pcap)
		return write_pcap(fd, o.pcap) ? WF_EXIT_FAILURE : WF_EXIT_OK;
	err = wf_control_copy(fd, stdout);
	close(fd);
	if (err) {
		wf_err("dump failed: %s", strerror(-err));
		return WF_EXIT_FAILURE;
	}
	return WF_EXIT_OK;
}
