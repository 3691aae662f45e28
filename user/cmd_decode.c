// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault decode FILE --port PORT`: a capture of PostgreSQL traffic
 * (tcpdump's, tshark's, wirefault's own) printed with the recorder's
 * decoder and printers, as the loader would have recorded it: the rows of
 * recorder.dump(), JSON lines, or watch lines.  Reading a CI failure's
 * capture needs no Wireshark.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "pcap_source.h"
#include "recorder.h"
#include "row_format.h"
#include "strbuf.h"

enum decode_format { DECODE_ROWS, DECODE_JSON, DECODE_LINES };

struct decode_opts {
	const char *file;
	unsigned int port;
	enum decode_format format;
	unsigned long reset_before;
	int verbosity;
};

enum { OPT_JSON = 1000, OPT_LINES, OPT_RESET_BEFORE };

static const struct argp_option decode_options[] = {
	{ "port", 'p', "PORT", 0, "the PostgreSQL server port of the connections to decode (required)", 0 },
	{ "json", OPT_JSON, NULL, 0, "one JSON object per message (docs/json.md)", 0 },
	{ "lines", OPT_LINES, NULL, 0, "one line per chunk with time and addresses, as wirefault watch prints", 0 },
	{ "reset-before", OPT_RESET_BEFORE, "N", 0, "number connections as if recorder.reset() had been sent just before the N-th connection's first chunk (replaying a recorded session)", 0 },
	{ "verbose", 'v', NULL, 0, "print what the capture held (packets, connections, gaps) on stderr", 0 },
	{ 0 },
};

static error_t decode_parse(int key, char *arg, struct argp_state *state)
{
	struct decode_opts *o = state->input;
	unsigned long v;

	switch (key) {
	case 'p':
		if (wf_parse_uint(arg, 1, 65535, &v))
			argp_error(state, "invalid port '%s': expected 1..65535", arg);
		o->port = (unsigned int)v;
		break;
	case OPT_JSON:
		o->format = DECODE_JSON;
		break;
	case OPT_LINES:
		o->format = DECODE_LINES;
		break;
	case OPT_RESET_BEFORE:
		if (wf_parse_uint(arg, 1, 1UL << 40, &o->reset_before))
			argp_error(state, "invalid --reset-before '%s': expected a connection number from 1", arg);
		break;
	case 'v':
		o->verbosity++;
		break;
	case ARGP_KEY_ARG:
		if (o->file)
			argp_error(state, "one FILE only");
		o->file = arg;
		break;
	case ARGP_KEY_END:
		if (!o->file)
			argp_error(state, "FILE is missing");
		if (!o->port)
			argp_error(state, "--port is required");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp decode_argp = {
	decode_options, decode_parse, "FILE",
	"Print the PostgreSQL messages of a capture file as wirefault records them.\n"
	"\n"
	"FILE is a pcap or pcapng capture (tcpdump -w, tshark -w, wirefault --pcap) with "
	"Ethernet, Linux cooked, loopback or raw IP framing. The connections to PORT are "
	"followed like the kernel follows them (retransmissions skipped, gaps noticed) and "
	"printed as the rows recorder.dump() returns, or as JSON lines, or as watch lines.\n"
	"\n"
	"EXAMPLES:\n"
	"  tcpdump -i lo -w /tmp/pg.pcap port 5432 &  ...  wirefault decode /tmp/pg.pcap --port 5432\n"
	"  wirefault decode ci-failure.pcap --port 9060 --json | jq -c '.fields.query // empty'\n"
	"\v"
	"Exit status: 0 on success, 1 if the file cannot be read, 2 on usage errors.",
	NULL, NULL, NULL,
};

struct decode_ctx {
	const struct decode_opts *o;
	struct wf_recorder *rec;
	uint64_t connections;
	struct strbuf out;
	int err;
};

static void print_row(void *arg, const struct wf_row *r)
{
	struct decode_ctx *d = arg;

	switch (d->o->format) {
	case DECODE_ROWS:
		if (!r->list)
			return;
		wf_row_format_fluent(&d->out, r);
		strbuf_addc(&d->out, '\n');
		break;
	case DECODE_JSON:
		wf_row_format_json(&d->out, r);
		break;
	case DECODE_LINES:
		wf_row_format_watch(&d->out, r);
		break;
	}
}

/* Prints the rows the chunk made and forgets them: memory stays flat. */
static int flush_rows(struct decode_ctx *d)
{
	strbuf_reset(&d->out);
	/* rows before the reset would have been discarded by it */
	if (d->connections >= d->o->reset_before)
		wf_recorder_for_each(d->rec, 0, print_row, d);
	wf_recorder_forget(d->rec);
	if (strbuf_failed(&d->out))
		return -ENOMEM;
	if (d->out.len && fwrite(d->out.buf, 1, d->out.len, stdout) != d->out.len)
		return -errno ? -errno : -EIO;
	return 0;
}

static int on_chunk(void *arg, const struct wf_chunk *chunk, const struct wf_pcap_packet *pkt)
{
	struct decode_ctx *d = arg;
	int err;

	if (chunk->initial && ++d->connections == d->o->reset_before)
		wf_recorder_reset(d->rec);
	err = wf_recorder_add_chunk(d->rec, chunk);
	if (!err)
		err = flush_rows(d);
	return err;
}

static void on_close(void *arg, uint64_t conn_id)
{
	struct decode_ctx *d = arg;

	wf_recorder_close_conn(d->rec, conn_id);
}

int wf_cmd_decode(int argc, char **argv)
{
	struct decode_opts o = { 0 };
	struct decode_ctx d = { .o = &o };
	struct wf_pcap_handlers h = { .chunk = on_chunk, .close = on_close, .ctx = &d };
	struct wf_pcap_stats st = { 0 };
	int err;

	if (argp_parse(&decode_argp, argc, argv, 0, NULL, &o))
		return WF_EXIT_USAGE;
	wf_log_set_verbosity(o.verbosity);
	d.rec = wf_recorder_new(NULL);
	if (!d.rec) {
		wf_err("out of memory");
		return WF_EXIT_FAILURE;
	}
	err = wf_pcap_replay(o.file, (uint16_t)o.port, &h, &st);
	if (err > 0 || err < -1)
		wf_err("decoding %s failed: %s", o.file, strerror(err > 0 ? err : -err));
	wf_recorder_free(d.rec);
	strbuf_free(&d.out);
	if (fflush(stdout) && !err) {
		wf_err("writing the output failed: %s", strerror(errno));
		err = -EIO;
	}
	if (o.verbosity)
		fprintf(stderr, "%s: %" PRIu64 " packets, %" PRIu64 " segments of port %u, %" PRIu64
			" connections (%" PRIu64 " without their SYN), %" PRIu64 " chunks, %" PRIu64
			" bytes, %" PRIu64 " retransmissions, %" PRIu64 " gaps, %" PRIu64 " skipped\n",
			o.file, st.packets, st.segments, o.port, st.connections, st.unsynced, st.chunks,
			st.bytes, st.retransmits, st.gaps, st.skipped);
	return err ? WF_EXIT_FAILURE : WF_EXIT_OK;
}
