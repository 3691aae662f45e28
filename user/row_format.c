// SPDX-License-Identifier: GPL-2.0
#include "row_format.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "flow_key.h"
#include "pg_json.h"
#include "pipeline_compile.h"
#include "wf_pipeline.h"

static const char *source_name(enum wf_dir dir)
{
	return dir == WF_DIR_FRONTEND ? "coordinator" : "worker";
}

/* fluent writes rows for COPY FROM: every backslash doubled */
static void add_doubling_backslashes(struct strbuf *out, const char *p, size_t len)
{
	const char *end = p + len, *bs;

	while ((bs = memchr(p, '\\', (size_t)(end - p)))) {
		strbuf_add(out, p, (size_t)(bs - p) + 1);
		strbuf_addc(out, '\\');
		p = bs + 1;
	}
	strbuf_add(out, p, (size_t)(end - p));
}

void wf_row_format_fluent(struct strbuf *out, const struct wf_row *r)
{
	if (!r->list)
		return;
	strbuf_addf(out, "%" PRIu64 "\t%s\t", r->number, source_name(r->dir));
	add_doubling_backslashes(out, r->list, r->list_len);
}

void wf_row_format_note_fluent(struct strbuf *out, const char *note, size_t len)
{
	strbuf_adds(out, "-1\twirefault\t");
	add_doubling_backslashes(out, note, len);
}

const char *wf_row_verdict_text(const struct wf_row *r)
{
	return r->action == WF_PIPE_A_ALLOW ? "" : wf_pipe_action_name(r->action);
}

static void add_json_text(struct strbuf *out, const char *s)
{
	pg_json_string(out, (const uint8_t *)s, strlen(s));
}

/* "2026-12-06T05:40:01.123456Z" */
static void add_utc_time(struct strbuf *out, uint64_t ts_ns)
{
	time_t sec = (time_t)(ts_ns / 1000000000u);
	struct tm tm;
	char buf[32];

	if (!gmtime_r(&sec, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm))
		strcpy(buf, "?");
	strbuf_addf(out, "\"%s.%06uZ\"", buf, (unsigned int)(ts_ns % 1000000000u / 1000u));
}

/* The fields every record of the row starts with, and the comma after them. */
static void add_json_meta(struct strbuf *out, const struct wf_row *r)
{
	char end[WF_FLOW_KEY_TEXT_MAX];

	strbuf_adds(out, "{\"time\":");
	if (r->ts_ns)
		add_utc_time(out, r->ts_ns);
	else
		strbuf_adds(out, "null");
	strbuf_addf(out, ",\"ts_ns\":%" PRIu64 ",\"conn\":%" PRIu64 ",\"conn_id\":%" PRIu64,
		    r->ts_ns, r->number, r->conn_id);
	if (r->has_flow) {
		strbuf_adds(out, ",\"client\":");
		add_json_text(out, wf_flow_key_endpoint(&r->flow, false, end, sizeof(end)));
		strbuf_adds(out, ",\"server\":");
		add_json_text(out, wf_flow_key_endpoint(&r->flow, true, end, sizeof(end)));
	}
	strbuf_addf(out, ",\"direction\":\"%s\",\"source\":\"%s\",\"seq\":%" PRIu32
		    ",\"chunk_bytes\":%zu",
		    r->dir == WF_DIR_FRONTEND ? "frontend" : "backend", source_name(r->dir), r->seq,
		    r->raw_len);
	if (r->initial)
		strbuf_adds(out, ",\"initial\":true");
	if (r->unframed)
		strbuf_adds(out, ",\"unframed\":true");
	strbuf_adds(out, ",\"verdict\":");
	add_json_text(out, wf_pipe_action_name(r->action));
	if (r->action != WF_PIPE_A_ALLOW)
		strbuf_addf(out, ",\"pipeline\":%" PRIu32, r->pipe_gen);
	if (r->action == WF_PIPE_A_TRUNCATE)
		strbuf_addf(out, ",\"delivered_bytes\":%" PRIu32, r->delivered);
	strbuf_addc(out, ',');
}

void wf_row_format_json(struct strbuf *out, const struct wf_row *r)
{
	const char *p = r->json, *end = r->json + r->json_len, *nl;

	if (p == end) {
		if (r->action == WF_PIPE_A_ALLOW)
			return;
		add_json_meta(out, r);
		strbuf_addf(out, "\"type\":null,\"bytes\":%zu}\n", r->raw_len);
		return;
	}
	/* each stored message is an object "{...}\n": splice the meta in after its brace */
	for (; p < end; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			nl = end;
		if (nl - p < 2 || *p != '{')
			continue;
		add_json_meta(out, r);
		strbuf_add(out, p + 1, (size_t)(nl - p - 1));
		strbuf_addc(out, '\n');
	}
}

void wf_row_format_note_json(struct strbuf *out, const char *note, size_t len)
{
	/* the note without its brackets */
	if (len >= 2 && note[0] == '[' && note[len - 1] == ']') {
		note++;
		len -= 2;
	}
	strbuf_adds(out, "{\"type\":null,\"note\":");
	pg_json_string(out, (const uint8_t *)note, len);
	strbuf_adds(out, "}\n");
}

void wf_row_format_watch(struct strbuf *out, const struct wf_row *r)
{
	time_t sec = (time_t)(r->ts_ns / 1000000000u);
	char client[WF_FLOW_KEY_TEXT_MAX] = "?", server[WF_FLOW_KEY_TEXT_MAX] = "?";
	struct tm tm;
	char hms[16];

	if (!r->ts_ns || !localtime_r(&sec, &tm) || !strftime(hms, sizeof(hms), "%H:%M:%S", &tm))
		strcpy(hms, "--:--:--");
	if (r->has_flow) {
		wf_flow_key_endpoint(&r->flow, false, client, sizeof(client));
		wf_flow_key_endpoint(&r->flow, true, server, sizeof(server));
	}
	strbuf_addf(out, "%s.%06u #%" PRIu64 " %s %s %s ", hms,
		    (unsigned int)(r->ts_ns % 1000000000u / 1000u), r->number,
		    client, r->dir == WF_DIR_FRONTEND ? ">" : "<", server);
	if (r->list)
		strbuf_add(out, r->list, r->list_len);
	else
		strbuf_adds(out, "['Terminate()']");
	if (r->unframed)
		strbuf_adds(out, " (unframed)");
	if (r->action != WF_PIPE_A_ALLOW) {
		const char *v = wf_pipe_action_name(r->action);

		strbuf_adds(out, "  => ");
		while (*v)
			strbuf_addc(out, (char)(*v >= 'a' && *v <= 'z' ? *v++ - 32 : *v++));
		if (r->action == WF_PIPE_A_TRUNCATE && r->delivered < r->raw_len)
			strbuf_addf(out, " after %" PRIu32 " of %zu bytes", r->delivered, r->raw_len);
	}
	strbuf_addc(out, '\n');
}
