// SPDX-License-Identifier: GPL-2.0
#include "decision_log.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flow_key.h"
#include "strbuf.h"
#include "wf_random.h"

struct wf_decision_log {
	struct wf_decision_entry *ring;
	size_t cap;		/* entries allocated, grown by doubling up to max */
	size_t max;		/* entries kept at most */
	size_t head, len;	/* entries ring[head], ring[head + 1], ... (mod cap) */
	uint64_t total, passed, dropped;
};

struct wf_decision_log *wf_decision_log_new(size_t cap)
{
	struct wf_decision_log *log;

	if (!cap)
		return NULL;
	log = calloc(1, sizeof(*log));
	if (log)
		log->max = cap;	/* nothing allocated yet: most runs make no decision */
	return log;
}

void wf_decision_log_free(struct wf_decision_log *log)
{
	if (!log)
		return;
	free(log->ring);
	free(log);
}

/* Room for one more entry while under max: the ring doubles (it is not wrapped until full). */
static bool grow(struct wf_decision_log *log)
{
	size_t cap = log->cap ? log->cap * 2 : 1024;
	struct wf_decision_entry *r;

	if (cap > log->max)
		cap = log->max;
	r = realloc(log->ring, cap * sizeof(*r));
	if (!r)
		return false;
	log->ring = r;
	log->cap = cap;
	return true;
}

void wf_decision_log_add(struct wf_decision_log *log, const struct wf_decision_entry *e)
{
	log->total++;
	log->passed += e->d.passed != 0;
	if (log->len == log->cap && log->cap < log->max && !grow(log)) {
		log->dropped++;	/* out of memory: this one is not kept */
		return;
	}
	if (!log->cap) {
		log->dropped++;
		return;
	}
	if (log->len == log->cap) {
		/* full at max: the oldest goes */
		log->head = (log->head + 1) % log->cap;
		log->len--;
		log->dropped++;
	}
	log->ring[(log->head + log->len) % log->cap] = *e;
	log->len++;
}

void wf_decision_log_for_each(const struct wf_decision_log *log,
			      void (*fn)(void *ctx, const struct wf_decision_entry *e), void *ctx)
{
	for (size_t i = 0; i < log->len; i++)
		fn(ctx, &log->ring[(log->head + i) % log->cap]);
}

void wf_decision_log_get_stats(const struct wf_decision_log *log, struct wf_decision_log_stats *st)
{
	st->total = log->total;
	st->passed = log->passed;
	st->kept = log->len;
	st->dropped = log->dropped;
}

void wf_decision_format(struct strbuf *sb, const struct wf_decision_entry *e, bool json)
{
	char client[WF_FLOW_KEY_TEXT_MAX], server[WF_FLOW_KEY_TEXT_MAX], when[32];
	double p = (double)e->d.threshold / (double)WF_PROBABILITY_ONE;
	double draw = (double)e->d.draw / (double)WF_PROBABILITY_ONE;
	time_t secs = (time_t)(e->wall_ns / 1000000000u);
	struct tm tm;

	wf_flow_key_endpoint(&e->flow, false, client, sizeof(client));
	wf_flow_key_endpoint(&e->flow, true, server, sizeof(server));
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
	if (json) {
		strbuf_addf(sb, "{\"time\":\"%s.%06uZ\",\"gen\":%u,\"conn\":%" PRIu64 ","
			    "\"client\":\"%s\",\"server\":\"%s\",\"direction\":\"%s\","
			    "\"seed\":%" PRIu64 ",\"ident\":\"%016" PRIx64 "\",\"message\":%u,"
			    "\"filter\":%u,\"p\":%.6g,\"draw\":%.6f,\"passed\":%s}\n",
			    when, (unsigned)(e->wall_ns % 1000000000u / 1000u), e->pipe_gen, e->conn_id,
			    client, server, e->dir ? "backend" : "frontend", (uint64_t)e->d.seed,
			    (uint64_t)e->d.ident, e->d.message, e->d.filter, p, draw,
			    e->d.passed ? "true" : "false");
		return;
	}
	strbuf_addf(sb, "%s.%06uZ gen %u conn %" PRIu64 " %s %s %s seed %" PRIu64 " ident %016" PRIx64
		    " message %u filter %u p %.6g draw %.6f %s\n",
		    when, (unsigned)(e->wall_ns % 1000000000u / 1000u), e->pipe_gen, e->conn_id,
		    client, e->dir ? "<" : ">", server, (uint64_t)e->d.seed, (uint64_t)e->d.ident,
		    e->d.message, e->d.filter, p, draw, e->d.passed ? "pass" : "allow");
}
