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
 */
#include "recorder.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "dlist.h"
#include "hmap.h"
#include "pg_print.h"
#include "pg_stream.h"
#include "pyrepr.h"
#include "strbuf.h"

struct rec_conn {
	struct hmap_node node;		/* by conn_id */
	struct dlist lru;		/* least recently used first */
	uint64_t conn_id;
	uint64_t number;		/* fluent's connection_id */
	struct pg_conn_stream stream;
};

struct row {
	char *text;
	size_t len;
};

struct wf_recorder {
	struct wf_recorder_opts opts;

	struct hmap conns;
	struct dlist lru;
	uint64_t next_number;

	/* retained rows, oldest first, in a ring of rows_cap slots */
	struct row *rows;
	size_t rows_cap, rows_head, rows_count, row_bytes;

	uint64_t dropped_for_rows, dropped_for_bytes;	/* since the last dump/reset */
	uint64_t lost_pieces, lost_bytes;		/* since the last dump/reset */
	uint64_t total_chunks, total_lost_pieces, total_lost_bytes;

	/* scratch, reused for every chunk */
	struct pg_printer printer;
	struct strbuf element, list, row;
};

/* Per-chunk state of the frame callback. */
struct chunk_ctx {
	struct wf_recorder *rec;
	enum wf_dir dir;
	bool quiet;		/* the initial chunk: framed, not printed */
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

static void discard_rows(struct wf_recorder *rec)
{
	size_t i;

	for (i = 0; i < rec->rows_count; i++)
		free(rec->rows[(rec->rows_head + i) % rec->rows_cap].text);
	rec->rows_head = rec->rows_count = rec->row_bytes = 0;
}

void wf_recorder_free(struct wf_recorder *rec)
{
	if (!rec)
		return;
	while (!dlist_empty(&rec->lru))
		free_conn(rec, dlist_entry(rec->lru.next, struct rec_conn, lru));
	hmap_free(&rec->conns);
	discard_rows(rec);
	free(rec->rows);
	pg_printer_free(&rec->printer);
	strbuf_free(&rec->element);
	strbuf_free(&rec->list);
	strbuf_free(&rec->row);
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

/* The connection of a chunk, numbered on its first chunk (f:473-475). */
static struct rec_conn *get_conn(struct wf_recorder *rec, const struct wf_chunk *chunk)
{
	struct rec_conn *c = find_conn(rec, chunk->conn_id);

	if (c) {
		dlist_move_tail(&rec->lru, &c->lru);
		return c;
	}
	if (rec->conns.count >= rec->opts.max_conns && !dlist_empty(&rec->lru))
		free_conn(rec, dlist_entry(rec->lru.next, struct rec_conn, lru));
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

/* Adds one element (a printed message) to the row's list. */
static void on_frame(void *arg, const struct pg_frame *f)
{
	struct chunk_ctx *cc = arg;
	struct wf_recorder *rec = cc->rec;
	struct strbuf *el = &rec->element;

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

static void drop_oldest_row(struct wf_recorder *rec)
{
	struct row *r = &rec->rows[rec->rows_head];

	rec->row_bytes -= r->len;
	free(r->text);
	rec->rows_head = (rec->rows_head + 1) % rec->rows_cap;
	rec->rows_count--;
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

static int append_row(struct wf_recorder *rec, const char *text, size_t len)
{
	struct row r;

	if (reserve_row(rec))
		return -ENOMEM;
	r.text = malloc(len + 1);
	if (!r.text)
		return -ENOMEM;
	memcpy(r.text, text, len + 1);
	r.len = len;
	rec->rows[(rec->rows_head + rec->rows_count) % rec->rows_cap] = r;
	rec->rows_count++;
	rec->row_bytes += len;
	while (rec->rows_count > rec->opts.max_rows) {
		drop_oldest_row(rec);
		rec->dropped_for_rows++;
	}
	while (rec->rows_count > 1 && rec->row_bytes > rec->opts.max_bytes) {
		drop_oldest_row(rec);
		rec->dropped_for_bytes++;
	}
	return 0;
}

/* f:317-321: "{conn}\t{source}\t{message with backslashes doubled}" */
static void format_row(struct strbuf *row, uint64_t number, enum wf_dir dir,
		       const char *msg, size_t len)
{
	const char *p = msg, *end = msg + len, *bs;

	strbuf_reset(row);
	strbuf_addf(row, "%" PRIu64 "\t%s\t", number,
		    dir == WF_DIR_FRONTEND ? "coordinator" : "worker");
	while ((bs = memchr(p, '\\', (size_t)(end - p)))) {
		strbuf_add(row, p, (size_t)(bs - p) + 1);
		strbuf_addc(row, '\\');
		p = bs + 1;
	}
	strbuf_add(row, p, (size_t)(end - p));
}

int wf_recorder_add_chunk(struct wf_recorder *rec, const struct wf_chunk *chunk)
{
	struct chunk_ctx cc = { .rec = rec, .dir = chunk->dir };
	struct rec_conn *c;

	if (chunk->dir != WF_DIR_FRONTEND && chunk->dir != WF_DIR_BACKEND)
		return -EINVAL;
	if (chunk->len == 0)
		return 0;
	rec->total_chunks++;
	c = get_conn(rec, chunk);
	if (!c)
		return -ENOMEM;

	strbuf_reset(&rec->list);
	if (chunk->initial) {
		/* f:324-327: not parsed, but framed, to follow the startup phase */
		cc.quiet = true;
		pg_conn_stream_feed(&c->stream, chunk->dir, chunk->data, chunk->len,
				    chunk->unframed, on_frame, &cc);
		strbuf_adds(&rec->list, "[initial message]");
	} else {
		strbuf_addc(&rec->list, '[');
		pg_conn_stream_feed(&c->stream, chunk->dir, chunk->data, chunk->len,
				    chunk->unframed, on_frame, &cc);
		strbuf_addc(&rec->list, ']');
		if (cc.elements == 0 && cc.terminates > 0)
			return 0;	/* only Terminate: no row (f:361-362) */
	}
	if (strbuf_failed(&rec->list))
		return -ENOMEM;
	format_row(&rec->row, c->number, chunk->dir, rec->list.buf, rec->list.len);
	if (strbuf_failed(&rec->row))
		return -ENOMEM;
	return append_row(rec, rec->row.buf, rec->row.len);
}

void wf_recorder_close_conn(struct wf_recorder *rec, uint64_t conn_id)
{
	struct rec_conn *c = find_conn(rec, conn_id);

	if (c)
		free_conn(rec, c);
}

void wf_recorder_note_lost(struct wf_recorder *rec, uint64_t pieces, uint64_t bytes)
{
	rec->lost_pieces += pieces;
	rec->lost_bytes += bytes;
	rec->total_lost_pieces += pieces;
	rec->total_lost_bytes += bytes;
}

static void forget_losses(struct wf_recorder *rec)
{
	rec->dropped_for_rows = rec->dropped_for_bytes = 0;
	rec->lost_pieces = rec->lost_bytes = 0;
}

/* The note rows that open a dump when rows are missing from it. */
static void add_notes(struct wf_recorder *rec, struct strbuf *out)
{
	if (rec->dropped_for_rows)
		strbuf_addf(out, "-1\twirefault\t[recorder dropped %" PRIu64
			    " older rows: limit of %zu rows reached]\n",
			    rec->dropped_for_rows, rec->opts.max_rows);
	if (rec->dropped_for_bytes)
		strbuf_addf(out, "-1\twirefault\t[recorder dropped %" PRIu64
			    " older rows: limit of %zu bytes reached]\n",
			    rec->dropped_for_bytes, rec->opts.max_bytes);
	if (rec->lost_pieces)
		strbuf_addf(out, "-1\twirefault\t[kernel lost %" PRIu64 " recorder pieces (%" PRIu64
			    " bytes, ring buffer full): rows are missing or incomplete]\n",
			    rec->lost_pieces, rec->lost_bytes);
}

char *wf_recorder_dump(struct wf_recorder *rec)
{
	struct strbuf out = STRBUF_INIT;
	size_t i;
	char *s;

	strbuf_reserve(&out, rec->row_bytes + rec->rows_count);
	add_notes(rec, &out);
	for (i = 0; i < rec->rows_count; i++) {
		const struct row *r = &rec->rows[(rec->rows_head + i) % rec->rows_cap];

		strbuf_add(&out, r->text, r->len);
		strbuf_addc(&out, '\n');
	}
	/* no trailing newline (f:367) */
	if (out.len)
		strbuf_truncate(&out, out.len - 1);
	s = strbuf_detach(&out, NULL);
	if (!s)
		return NULL;
	discard_rows(rec);
	forget_losses(rec);
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
	st->rows_dropped = rec->dropped_for_rows + rec->dropped_for_bytes;
	st->lost_pieces = rec->total_lost_pieces;
	st->lost_bytes = rec->total_lost_bytes;
	st->connections = rec->conns.count;
	for (n = rec->lru.next; n != &rec->lru; n = n->next)
		st->buffered_bytes += pg_conn_stream_buffered(
			&dlist_entry(n, const struct rec_conn, lru)->stream);
}
