// SPDX-License-Identifier: GPL-2.0
/*
 * The recorder (fluent.py f:316-390 and f:463-492).
 *
 * A chunk becomes one row "conn\tsource\tmessage":
 *  - conn: the connection's number, given in order of first chunk since the
 *    last reset; connections seen before a reset keep theirs;
 *  - source: "coordinator" (client to server) or "worker";
 *  - message: "[initial message]" for the connection's first chunk, else
 *    Python's repr() of the list of the messages the chunk completes, with
 *    every backslash doubled (fluent writes rows for COPY FROM).
 *
 * Where fluent parses each chunk on its own, the recorder reassembles each
 * direction, so a message split across chunks is printed, whole, in the row
 * of the chunk that completes it; chunks that complete nothing print [].
 * Startup-phase packets and the one-byte SSL answer add no element (fluent
 * cannot parse them either and prints []).  Terminate messages are dropped,
 * and a chunk left with no element by that has no row at all (f:340-365).
 *
 * What could not be decoded is printed as an element in angle brackets:
 *   '<unparsed N bytes: not PostgreSQL>'      framing failed on this
 *                                             direction (impossible length,
 *                                             unknown startup code, bytes
 *                                             after a CancelRequest): all its
 *                                             later bytes too
 *   '<unparsed N bytes: encrypted>'           after the server accepted SSL/GSS
 *   '<unparsed N bytes: stream not followed>' an unframed chunk that is not
 *                                             exactly a run of complete
 *                                             messages
 *   'Query(<N bytes, not retained>)'          a message whose body exceeded
 *                                             max_message while arriving in
 *                                             pieces (N = body length)
 *
 * Each row also keeps what `wirefault dump --json`, `watch` and `--pcap`
 * need (struct wf_row): the chunk's time, addresses, bytes, its messages as
 * JSON, and the verdict the kernel reports after recording the chunk.  A
 * chunk fluent shows no row for (only Terminate) is kept too, without a
 * list, so that JSON and pcap miss nothing; dumps in fluent's format skip it.
 *
 * Decoding is lazy.  A chunk is stored as it comes (its bytes and where it
 * came from, numbered at once so that resets number as fluent does); rows
 * are decoded, in arrival order, only when someone reads them (a dump, a
 * watcher).  Printing is most of the recorder's work, and a loader that
 * shares two cores with the database under test must not spend it on rows
 * nobody reads (docs/performance.md).  A row dropped before it was read (the
 * bounds, a reset) is still framed, without printing, so that the
 * connection's stream stays in step; a connection closed while rows of it
 * wait keeps its stream until they are decoded.
 */
#include "recorder.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "hmap.h"
#include "pg_json.h"
#include "pg_messages.h"
#include "pg_print.h"
#include "pg_stream.h"
#include "pyrepr.h"
#include "row_format.h"
#include "strbuf.h"

struct rec_conn {
	struct hmap_node node;		/* by conn_id */
	struct dlist lru;		/* least recently used first */
	uint64_t conn_id;
	uint64_t number;		/* fluent's connection_id */
	uint64_t last_serial[WF_DIR__COUNT];	/* its newest row per direction (verdicts) */
	uint64_t pending;		/* its rows not decoded yet */
	bool closed;			/* freed once pending is 0 */
	struct pg_conn_stream stream;
};

/* A retained row: the public part, its strings in one allocation. */
struct row {
	struct wf_row pub;
	size_t bytes;		/* accounted against max_bytes: mem and this struct */
	void *mem;		/* raw bytes; once decoded: list, json, raw */
	bool decoded;
};

struct wf_recorder {
	struct wf_recorder_opts opts;

	struct hmap conns;
	struct dlist lru;
	uint64_t next_number;

	/* retained rows, oldest first, in a ring of rows_cap slots; serials
	 * of retained rows are consecutive, ending at last_serial */
	struct row *rows;
	size_t rows_cap, rows_head, rows_count, row_bytes;
	uint64_t last_serial;
	uint64_t decoded_upto;	/* rows up to this serial are decoded (or were framed and dropped) */
	uint64_t verdicts, verdicts_unmatched;
	uint64_t total_dropped;

	uint64_t dropped_for_rows, dropped_for_bytes;	/* since the last dump/reset */
	uint64_t lost_pieces, lost_bytes;		/* since the last dump/reset */
	uint64_t untracked;				/* since the last dump/reset */
	uint64_t total_chunks, total_lost_pieces, total_lost_bytes;

	/* scratch, reused for every chunk */
	struct pg_printer printer;
	struct strbuf element, list, json;
};

/* Per-chunk state of the frame callback. */
struct chunk_ctx {
	struct wf_recorder *rec;
	enum wf_dir dir;
	bool quiet;		/* the initial chunk: framed, not printed */
	bool silent;		/* a row dropped unread: framed only, nothing made */
	size_t elements;
	size_t terminates;
};

static size_t or_default(size_t v, size_t dflt)
{
	return v ? v : dflt;
}

struct wf_recorder *wf_recorder_new(const struct wf_recorder_opts *opts)
{
	struct wf_recorder *rec = calloc(1, sizeof(*rec));
	struct wf_recorder_opts o = { 0 };

	if (!rec)
		return NULL;
	if (opts)
		o = *opts;
	rec->opts.max_rows = or_default(o.max_rows, WF_RECORDER_DEFAULT_MAX_ROWS);
	rec->opts.max_bytes = or_default(o.max_bytes, WF_RECORDER_DEFAULT_MAX_BYTES);
	rec->opts.max_message = or_default(o.max_message, WF_RECORDER_DEFAULT_MAX_MESSAGE);
	rec->opts.max_conns = or_default(o.max_conns, WF_RECORDER_DEFAULT_MAX_CONNS);
	dlist_init(&rec->lru);
	return rec;
}

static void free_conn(struct wf_recorder *rec, struct rec_conn *c)
{
	hmap_remove(&rec->conns, &c->node);
	dlist_del(&c->lru);
	pg_conn_stream_free(&c->stream);
	free(c);
}

static void drop_oldest_row(struct wf_recorder *rec);

/* Forget every row (rows not decoded yet are framed first: see above). */
static void discard_rows(struct wf_recorder *rec)
{
	while (rec->rows_count)
		drop_oldest_row(rec);
	rec->rows_head = rec->row_bytes = 0;
}

void wf_recorder_free(struct wf_recorder *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->rows_count; i++)
		free(rec->rows[(rec->rows_head + i) % rec->rows_cap].mem);
	while (!dlist_empty(&rec->lru))
		free_conn(rec, dlist_entry(rec->lru.next, struct rec_conn, lru));
	hmap_free(&rec->conns);
	free(rec->rows);
	pg_printer_free(&rec->printer);
	strbuf_free(&rec->element);
	strbuf_free(&rec->list);
	strbuf_free(&rec->json);
	free(rec);
}

static struct rec_conn *find_conn(struct wf_recorder *rec, uint64_t conn_id)
{
	struct hmap_node *n;

	for (n = hmap_first(&rec->conns, hmap_hash_u64(conn_id)); n; n = hmap_next(n)) {
		struct rec_conn *c = hmap_entry(n, struct rec_conn, node);

		if (c->conn_id == conn_id)
			return c;
	}
	return NULL;
}

static void decode_pending(struct wf_recorder *rec);

/* The connection of a chunk, numbered on its first chunk (f:473-475). */
static struct rec_conn *get_conn(struct wf_recorder *rec, const struct wf_chunk *chunk)
{
	struct rec_conn *c = find_conn(rec, chunk->conn_id);

	if (c) {
		dlist_move_tail(&rec->lru, &c->lru);
		return c;
	}
	if (rec->conns.count >= rec->opts.max_conns && !dlist_empty(&rec->lru)) {
		c = dlist_entry(rec->lru.next, struct rec_conn, lru);
		if (c->pending)		/* its rows need its stream: decode them first */
			decode_pending(rec);
		if (!dlist_empty(&rec->lru))
			free_conn(rec, dlist_entry(rec->lru.next, struct rec_conn, lru));
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (hmap_insert(&rec->conns, &c->node, hmap_hash_u64(chunk->conn_id))) {
		free(c);
		return NULL;
	}
	c->conn_id = chunk->conn_id;
	c->number = rec->next_number++;
	/* only a connection seen from its first chunk starts in the startup phase */
	pg_conn_stream_init(&c->stream, chunk->initial, rec->opts.max_message);
	dlist_add_tail(&rec->lru, &c->lru);
	return c;
}

static const char *unparsed_reason(enum pg_phase phase)
{
	switch (phase) {
	case PG_PHASE_ENCRYPTED:
		return "encrypted";
	case PG_PHASE_UNFRAMED:
		return "stream not followed";
	default:
		return "not PostgreSQL";
	}
}

/* The frame as one JSON object and '\n' (every frame: startup packets too). */
static void add_json(struct wf_recorder *rec, enum wf_dir dir, const struct pg_frame *f)
{
	struct strbuf *js = &rec->json;
	const struct pg_message_desc *m;

	switch (f->kind) {
	case PG_FRAME_MESSAGE:
		pg_json_message(&rec->printer, js, dir, f->type, f->body, f->len, f->auth_code);
		break;
	case PG_FRAME_STARTUP:
		pg_json_startup(js, f->code, f->body, f->len);
		break;
	case PG_FRAME_ANSWER:
		pg_json_answer(js, f->type);
		break;
	case PG_FRAME_NOT_RETAINED:
		m = pg_message_by_type(dir, f->type);
		strbuf_adds(js, "{\"type\":");
		if (m)
			pg_json_string(js, (const uint8_t *)m->name, strlen(m->name));
		else
			strbuf_addf(js, "\"%c\"", f->type >= 0x20 && f->type < 0x7f ? f->type : '?');
		strbuf_addf(js, ",\"not_retained\":true,\"length\":%" PRIu64 "}", f->len);
		break;
	case PG_FRAME_UNPARSED:
		strbuf_addf(js, "{\"type\":null,\"unparsed\":%" PRIu64 ",\"reason\":\"%s\"}", f->len,
			    unparsed_reason(f->phase));
		break;
	}
	strbuf_addc(js, '\n');
}

/* Adds one element (a printed message) to the row's list. */
static void on_frame(void *arg, const struct pg_frame *f)
{
	struct chunk_ctx *cc = arg;
	struct wf_recorder *rec = cc->rec;
	struct strbuf *el = &rec->element;

	if (cc->silent)
		return;
	add_json(rec, cc->dir, f);
	if (cc->quiet)
		return;
	switch (f->kind) {
	case PG_FRAME_STARTUP:
	case PG_FRAME_ANSWER:
		return;
	case PG_FRAME_MESSAGE:
	case PG_FRAME_NOT_RETAINED:
		if (cc->dir == WF_DIR_FRONTEND && f->type == 'X') {
			cc->terminates++;
			return;
		}
		break;
	case PG_FRAME_UNPARSED:
		break;
	}
	strbuf_reset(el);
	if (f->kind == PG_FRAME_MESSAGE)
		pg_print_message(&rec->printer, el, cc->dir, f->type, f->body, f->len, f->auth_code);
	else if (f->kind == PG_FRAME_NOT_RETAINED)
		pg_print_not_retained(el, cc->dir, f->type, f->len);
	else
		strbuf_addf(el, "<unparsed %" PRIu64 " bytes: %s>", f->len, unparsed_reason(f->phase));
	if (strbuf_failed(el))
		rec->list.failed = true;
	if (cc->elements++)
		strbuf_add(&rec->list, ", ", 2);
	pyrepr_str(&rec->list, el->buf ? el->buf : "", el->len);
}

/*
 * Decodes row r (the oldest not decoded) with its connection's stream:
 * print = false only frames it (a row dropped unread).
 */
static void decode_row(struct wf_recorder *rec, struct row *r, bool print)
{
	struct chunk_ctx cc = { .rec = rec, .dir = r->pub.dir, .silent = !print };
	struct rec_conn *c = find_conn(rec, r->pub.conn_id);
	size_t list_len, json_len, raw_len = r->pub.raw_len;
	bool listed = true;
	char *mem, *p;

	rec->decoded_upto = r->pub.serial;
	r->decoded = true;
	if (!c)
		return;		/* cannot happen: a connection outlives its pending rows */
	strbuf_reset(&rec->list);
	strbuf_reset(&rec->json);
	if (r->pub.initial) {
		/* f:324-327: not printed, but framed, to follow the startup phase */
		cc.quiet = true;
		pg_conn_stream_feed(&c->stream, r->pub.dir, r->pub.raw, raw_len, r->pub.unframed,
				    on_frame, &cc);
		strbuf_adds(&rec->list, "[initial message]");
	} else {
		strbuf_addc(&rec->list, '[');
		pg_conn_stream_feed(&c->stream, r->pub.dir, r->pub.raw, raw_len, r->pub.unframed,
				    on_frame, &cc);
		strbuf_addc(&rec->list, ']');
		if (cc.elements == 0 && cc.terminates > 0)
			listed = false;	/* only Terminate: no row in fluent's dump (f:361-362) */
	}
	if (--c->pending == 0 && c->closed)
		free_conn(rec, c);
	if (!print)
		return;
	if (strbuf_failed(&rec->list) || strbuf_failed(&rec->json)) {
		strbuf_reset(&rec->list);
		strbuf_reset(&rec->json);
		strbuf_adds(&rec->list, "['<not decoded: out of memory>']");
	}
	list_len = listed ? rec->list.len : 0;
	json_len = rec->json.len;
	mem = malloc((listed ? list_len + 1 : 0) + json_len + 1 + raw_len);
	if (!mem)
		return;		/* the row stays without messages */
	p = mem;
	if (listed) {
		memcpy(p, rec->list.buf, list_len + 1);
		r->pub.list = p;
		r->pub.list_len = list_len;
		p += list_len + 1;
	}
	if (json_len)
		memcpy(p, rec->json.buf, json_len);
	p[json_len] = '\0';
	r->pub.json = p;
	r->pub.json_len = json_len;
	p += json_len + 1;
	memcpy(p, r->pub.raw, raw_len);
	r->pub.raw = (const uint8_t *)p;
	free(r->mem);
	r->mem = mem;
	rec->row_bytes += (size_t)(p - mem);
	r->bytes += (size_t)(p - mem);
}

static void drop_oldest_row(struct wf_recorder *rec)
{
	struct row *r = &rec->rows[rec->rows_head];

	if (!r->decoded)
		decode_row(rec, r, false);
	rec->row_bytes -= r->bytes;
	free(r->mem);
	rec->rows_head = (rec->rows_head + 1) % rec->rows_cap;
	rec->rows_count--;
}

/* Drops the oldest rows beyond the bounds (the newest row always stays). */
static void enforce_bounds(struct wf_recorder *rec)
{
	while (rec->rows_count > rec->opts.max_rows) {
		drop_oldest_row(rec);
		rec->dropped_for_rows++;
		rec->total_dropped++;
	}
	while (rec->rows_count > 1 && rec->row_bytes > rec->opts.max_bytes) {
		drop_oldest_row(rec);
		rec->dropped_for_bytes++;
		rec->total_dropped++;
	}
}

/*
 * Decodes every row not decoded yet, oldest first.  Decoding makes rows
 * larger, so the bounds are kept after each one: memory never goes past
 * them, at the price of dropping (announced) rows at read time.
 */
static void decode_pending(struct wf_recorder *rec)
{
	while (rec->decoded_upto < rec->last_serial && rec->rows_count) {
		uint64_t first = rec->last_serial - rec->rows_count + 1;
		uint64_t next = rec->decoded_upto + 1 > first ? rec->decoded_upto + 1 : first;
		struct row *r = &rec->rows[(rec->rows_head + (size_t)(next - first)) % rec->rows_cap];

		if (r->decoded)
			rec->decoded_upto = next;
		else
			decode_row(rec, r, true);
		enforce_bounds(rec);
	}
}

/* Makes room for one more row in the ring (it never outgrows max_rows + 1). */
static int reserve_row(struct wf_recorder *rec)
{
	size_t cap, i;
	struct row *r;

	if (rec->rows_count < rec->rows_cap)
		return 0;
	cap = rec->rows_cap ? rec->rows_cap * 2 : 1024;
	if (cap > rec->opts.max_rows + 1)
		cap = rec->opts.max_rows + 1;
	r = malloc(cap * sizeof(*r));
	if (!r)
		return -ENOMEM;
	for (i = 0; i < rec->rows_count; i++)	/* unwrap into the new ring */
		r[i] = rec->rows[(rec->rows_head + i) % rec->rows_cap];
	free(rec->rows);
	rec->rows = r;
	rec->rows_cap = cap;
	rec->rows_head = 0;
	return 0;
}

int wf_recorder_add_chunk(struct wf_recorder *rec, const struct wf_chunk *chunk)
{
	struct rec_conn *c;
	struct row r = { 0 };

	if (chunk->dir != WF_DIR_FRONTEND && chunk->dir != WF_DIR_BACKEND)
		return -EINVAL;
	if (chunk->len == 0)
		return 0;
	rec->total_chunks++;
	c = get_conn(rec, chunk);
	if (!c || reserve_row(rec))
		return -ENOMEM;
	r.mem = malloc(chunk->len);
	if (!r.mem)
		return -ENOMEM;
	memcpy(r.mem, chunk->data, chunk->len);
	r.bytes = chunk->len + sizeof(r);
	r.pub.serial = ++rec->last_serial;
	r.pub.number = c->number;
	r.pub.conn_id = chunk->conn_id;
	r.pub.ts_ns = chunk->ts_ns;
	r.pub.dir = chunk->dir;
	r.pub.initial = chunk->initial;
	r.pub.unframed = chunk->unframed;
	if (chunk->flow) {
		r.pub.has_flow = true;
		r.pub.flow = *chunk->flow;
	}
	r.pub.seq = chunk->seq;
	r.pub.json = "";
	r.pub.raw = r.mem;
	r.pub.raw_len = chunk->len;
	c->last_serial[chunk->dir] = r.pub.serial;
	c->pending++;

	rec->rows[(rec->rows_head + rec->rows_count) % rec->rows_cap] = r;
	rec->rows_count++;
	rec->row_bytes += r.bytes;
	enforce_bounds(rec);
	return 0;
}

static struct row *row_by_serial(struct wf_recorder *rec, uint64_t serial)
{
	uint64_t first = rec->last_serial - rec->rows_count + 1;

	if (!serial || !rec->rows_count || serial < first || serial > rec->last_serial)
		return NULL;
	return &rec->rows[(rec->rows_head + (size_t)(serial - first)) % rec->rows_cap];
}

int wf_recorder_add_verdict(struct wf_recorder *rec, const struct wf_verdict *v)
{
	struct rec_conn *c = find_conn(rec, v->conn_id);
	struct row *r;

	if (v->dir != WF_DIR_FRONTEND && v->dir != WF_DIR_BACKEND)
		return -EINVAL;
	r = c ? row_by_serial(rec, c->last_serial[v->dir]) : NULL;
	if (!r || r->pub.seq != v->seq) {
		rec->verdicts_unmatched++;
		return -ENOENT;
	}
	r->pub.action = v->action;
	r->pub.pipe_gen = v->pipe_gen;
	r->pub.delivered = v->delivered;
	rec->verdicts++;
	return 0;
}

void wf_recorder_close_conn(struct wf_recorder *rec, uint64_t conn_id)
{
	struct rec_conn *c = find_conn(rec, conn_id);

	if (!c)
		return;
	if (c->pending)
		c->closed = true;	/* its rows still need the stream */
	else
		free_conn(rec, c);
}

void wf_recorder_note_lost(struct wf_recorder *rec, uint64_t pieces, uint64_t bytes)
{
	rec->lost_pieces += pieces;
	rec->lost_bytes += bytes;
	rec->total_lost_pieces += pieces;
	rec->total_lost_bytes += bytes;
}

void wf_recorder_note_untracked(struct wf_recorder *rec, uint64_t packets)
{
	rec->untracked += packets;
}

static void forget_losses(struct wf_recorder *rec)
{
	rec->dropped_for_rows = rec->dropped_for_bytes = 0;
	rec->lost_pieces = rec->lost_bytes = 0;
	rec->untracked = 0;
}

/* The notes about rows missing since the last dump/reset, one per line. */
static void add_notes(const struct wf_recorder *rec, struct strbuf *out)
{
	if (rec->dropped_for_rows)
		strbuf_addf(out, "[recorder dropped %" PRIu64 " older rows: limit of %zu rows reached]\n",
			    rec->dropped_for_rows, rec->opts.max_rows);
	if (rec->dropped_for_bytes)
		strbuf_addf(out, "[recorder dropped %" PRIu64
			    " older rows: limit of %zu bytes reached]\n",
			    rec->dropped_for_bytes, rec->opts.max_bytes);
	if (rec->lost_pieces)
		strbuf_addf(out, "[kernel lost %" PRIu64 " recorder pieces (%" PRIu64
			    " bytes, ring buffer full): rows are missing or incomplete]\n",
			    rec->lost_pieces, rec->lost_bytes);
	if (rec->untracked)
		strbuf_addf(out, "[kernel failed %" PRIu64 " times to track a connection (flow "
			    "table full): their traffic is missing]\n", rec->untracked);
}

char *wf_recorder_notes(struct wf_recorder *rec)
{
	struct strbuf out = STRBUF_INIT;

	decode_pending(rec);	/* decoding grows rows: the bounds may drop more */
	strbuf_adds(&out, "");
	add_notes(rec, &out);
	if (strbuf_failed(&out)) {
		strbuf_free(&out);
		return NULL;
	}
	return strbuf_detach(&out, NULL);
}

void wf_recorder_for_each(struct wf_recorder *rec, uint64_t after, wf_row_fn fn, void *ctx)
{
	decode_pending(rec);
	wf_recorder_for_each_raw(rec, after, fn, ctx);
}

void wf_recorder_for_each_raw(const struct wf_recorder *rec, uint64_t after, wf_row_fn fn, void *ctx)
{
	uint64_t first = rec->last_serial - rec->rows_count + 1;
	size_t i = after >= first ? (size_t)(after - first + 1) : 0;

	for (; i < rec->rows_count; i++)
		fn(ctx, &rec->rows[(rec->rows_head + i) % rec->rows_cap].pub);
}

uint64_t wf_recorder_last_serial(const struct wf_recorder *rec)
{
	return rec->last_serial;
}

void wf_recorder_forget(struct wf_recorder *rec)
{
	discard_rows(rec);
	forget_losses(rec);
}

static void dump_row(void *ctx, const struct wf_row *r)
{
	struct strbuf *out = ctx;

	if (!r->list)
		return;
	wf_row_format_fluent(out, r);
	strbuf_addc(out, '\n');
}

char *wf_recorder_dump(struct wf_recorder *rec)
{
	struct strbuf out = STRBUF_INIT, notes = STRBUF_INIT;
	const char *n, *nl;
	char *s;

	decode_pending(rec);	/* first: decoding grows rows, the bounds may drop more */
	strbuf_reserve(&out, rec->row_bytes / 2 + rec->rows_count);
	add_notes(rec, &notes);
	for (n = notes.buf; n && (nl = strchr(n, '\n')); n = nl + 1) {
		wf_row_format_note_fluent(&out, n, (size_t)(nl - n));
		strbuf_addc(&out, '\n');
	}
	strbuf_free(&notes);
	wf_recorder_for_each(rec, 0, dump_row, &out);
	/* no trailing newline (f:367) */
	if (out.len)
		strbuf_truncate(&out, out.len - 1);
	if (strbuf_failed(&out)) {
		strbuf_free(&out);
		return NULL;
	}
	s = strbuf_detach(&out, NULL);
	if (!s)
		return NULL;
	wf_recorder_forget(rec);
	return s;
}

void wf_recorder_reset(struct wf_recorder *rec)
{
	discard_rows(rec);
	forget_losses(rec);
	rec->next_number = 0;	/* f:371-373: older connections keep their numbers */
}

void wf_recorder_get_stats(const struct wf_recorder *rec, struct wf_recorder_stats *st)
{
	const struct dlist *n;

	memset(st, 0, sizeof(*st));
	st->chunks = rec->total_chunks;
	st->rows = rec->rows_count;
	st->row_bytes = rec->row_bytes;
	st->max_rows = rec->opts.max_rows;
	st->max_bytes = rec->opts.max_bytes;
	st->verdicts = rec->verdicts;
	st->verdicts_unmatched = rec->verdicts_unmatched;
	st->rows_dropped = rec->dropped_for_rows + rec->dropped_for_bytes;
	st->rows_dropped_total = rec->total_dropped;
	st->lost_pieces = rec->total_lost_pieces;
	st->lost_bytes = rec->total_lost_bytes;
	st->connections = rec->conns.count;
	for (n = rec->lru.next; n != &rec->lru; n = n->next)
		st->buffered_bytes += pg_conn_stream_buffered(
			&dlist_entry(n, const struct rec_conn, lru)->stream);
}
