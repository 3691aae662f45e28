// SPDX-License-Identifier: GPL-2.0
/*
 * The recorder: rows, numbering and reset, Terminate, reassembly across
 * chunks, the startup phase, limits, and input that is not PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pg_wire_builder.h"
#include "recorder.h"
#include "strbuf.h"

#define FE WF_DIR_FRONTEND
#define BE WF_DIR_BACKEND

static struct wf_recorder *rec;
static struct pg_wire w;

static int setup(void **state)
{
	rec = wf_recorder_new(NULL);
	assert_non_null(rec);
	return 0;
}

static int teardown(void **state)
{
	wf_recorder_free(rec);
	pgw_free(&w);
	return 0;
}

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

static void add_flags(uint64_t conn, enum wf_dir dir, bool initial, bool unframed,
		      const void *data, size_t len)
{
	struct wf_chunk c = {
		.conn_id = conn, .dir = dir, .initial = initial, .unframed = unframed,
		.data = data, .len = len,
	};

	assert_int_equal(wf_recorder_add_chunk(rec, &c), 0);
}

static void add(uint64_t conn, enum wf_dir dir, const void *data, size_t len)
{
	add_flags(conn, dir, false, false, data, len);
}

/* Adds what w holds as one chunk and empties w. */
static void add_wire(uint64_t conn, enum wf_dir dir)
{
	add(conn, dir, w.data, w.len);
	pgw_reset(&w);
}

/* Adds what w holds as the connection's first (initial) chunk and empties w. */
static void add_initial_wire(uint64_t conn)
{
	add_flags(conn, FE, true, false, w.data, w.len);
	pgw_reset(&w);
}

static void add_initial(uint64_t conn)
{
	pgw_startup(&w, "postgres", "regression");
	add_initial_wire(conn);
}

static void expect_dump(const char *expected)
{
	char *d = wf_recorder_dump(rec);

	assert_non_null(d);
	assert_string_equal(d, expected);
	free(d);
}

static void test_rows_and_numbering(void **state)
{
	add_initial(100);
	pgw_query(&w, "SELECT 'A'");
	add_wire(100, FE);
	add_initial(200);
	pgw_ready_for_query(&w, 'I');
	add_wire(100, BE);
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tcoordinator\t[\"Query(query=SELECT 'A')\"]\n"
		    "1\tcoordinator\t[initial message]\n"
		    "0\tworker\t['ReadyForQuery(state=idle)']");
	/* the dump drained the rows: nothing left, "" not NULL */
	expect_dump("");

	/* reset: new connections count from 0 again, old ones keep theirs */
	pgw_query(&w, "SELECT 'B'");
	add_wire(200, FE);
	wf_recorder_reset(rec);
	add_initial(300);
	pgw_query(&w, "SELECT 'A'");
	add_wire(100, FE);
	pgw_query(&w, "SELECT 'B'");
	add_wire(200, FE);
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tcoordinator\t[\"Query(query=SELECT 'A')\"]\n"
		    "1\tcoordinator\t[\"Query(query=SELECT 'B')\"]");
}

static void test_backslashes_doubled(void **state)
{
	add_initial(1);
	pgw_query(&w, "SELECT E'a\\\\b', 'tab\there'");
	add_wire(1, FE);
	/* repr doubles the backslash and escapes the tab, then the row doubles both */
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tcoordinator\t[\"Query(query=SELECT E'a\\\\\\\\\\\\\\\\b', 'tab\\\\there')\"]");
}

static void test_terminate_dropped(void **state)
{
	add_initial(1);
	pgw_terminate(&w);
	add_wire(1, FE);		/* only Terminate: no row */
	pgw_query(&w, "SELECT 1");
	pgw_terminate(&w);
	add_wire(1, FE);		/* the rest stays */
	pgw_terminate(&w);
	add_wire(1, BE);		/* backend X is not Terminate */
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tcoordinator\t['Query(query=SELECT 1)']\n"
		    "0\tworker\t[\"Backend(type=X,body=b'')\"]");
	/* a chunk completing nothing is kept as [] */
	pgw_query(&w, "SELECT 2");
	add(1, FE, w.data, 3);
	add(1, FE, w.data + 3, w.len - 3);
	pgw_reset(&w);
	expect_dump("0\tcoordinator\t[]\n"
		    "0\tcoordinator\t['Query(query=SELECT 2)']");
}

/* Two messages split in two at every offset, the 5-byte headers included. */
static void test_split_at_every_offset(void **state)
{
	static const char q_row[] = "'Query(query=SELECT 1)'";
	static const char s_row[] = "'Sync()'";
	uint8_t buf[64];
	size_t len, first_end, k;
	char expected[256];

	pgw_query(&w, "SELECT 1");
	first_end = w.len;
	pgw_begin(&w, 'S');
	pgw_end(&w);
	len = w.len;
	assert_true(len <= sizeof(buf));
	memcpy(buf, w.data, len);
	pgw_reset(&w);

	for (k = 1; k < len; k++) {
		add(7, FE, buf, k);
		add(7, FE, buf + k, len - k);
		if (k < first_end)
			snprintf(expected, sizeof(expected), "0\tcoordinator\t[]\n"
				 "0\tcoordinator\t[%s, %s]", q_row, s_row);
		else if (k < len)
			snprintf(expected, sizeof(expected), "0\tcoordinator\t[%s]\n"
				 "0\tcoordinator\t[%s]", q_row, s_row);
		expect_dump(expected);
	}
	/* and one byte at a time */
	for (k = 0; k < len; k++)
		add(7, FE, buf + k, 1);
	{
		char *d = wf_recorder_dump(rec);
		size_t rows = 1;
		const char *p;

		for (p = d; *p; p++)
			rows += *p == '\n';
		assert_int_equal(rows, len);
		assert_non_null(strstr(d, "0\tcoordinator\t['Query(query=SELECT 1)']"));
		assert_non_null(strstr(d, "0\tcoordinator\t['Sync()']"));
		free(d);
	}
}

static void test_startup_phase_ssl_refused(void **state)
{
	uint8_t answer = 'N';

	pgw_ssl_request(&w);
	add_initial_wire(1);
	add(1, BE, &answer, 1);
	pgw_startup(&w, "postgres", "regression");
	add_wire(1, FE);
	pgw_begin(&w, 'R');
	pgw_u32(&w, 0);
	pgw_end(&w);
	pgw_ready_for_query(&w, 'I');
	add_wire(1, BE);
	pgw_query(&w, "SELECT 1");
	add_wire(1, FE);
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tworker\t[]\n"
		    "0\tcoordinator\t[]\n"
		    "0\tworker\t['AuthenticationOk()', 'ReadyForQuery(state=idle)']\n"
		    "0\tcoordinator\t['Query(query=SELECT 1)']");
}

static void test_startup_phase_gss_then_ssl(void **state)
{
	uint8_t no = 'N';

	pgw_gssenc_request(&w);
	add_initial_wire(1);
	add(1, BE, &no, 1);
	pgw_ssl_request(&w);
	add_wire(1, FE);
	add(1, BE, &no, 1);
	pgw_startup(&w, "postgres", "regression");
	add_wire(1, FE);
	pgw_ready_for_query(&w, 'I');
	add_wire(1, BE);
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tworker\t[]\n"
		    "0\tcoordinator\t[]\n"
		    "0\tworker\t[]\n"
		    "0\tcoordinator\t[]\n"
		    "0\tworker\t['ReadyForQuery(state=idle)']");
}

static void test_encrypted(void **state)
{
	uint8_t yes = 'S';
	static const uint8_t hello[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };

	pgw_ssl_request(&w);
	add_initial_wire(1);
	add(1, BE, &yes, 1);
	add(1, FE, hello, sizeof(hello));
	add(1, BE, hello, sizeof(hello));
	/* a client starting TLS directly (PostgreSQL 17's sslnegotiation=direct) */
	add_flags(2, FE, true, false, hello, sizeof(hello));
	add(2, BE, hello, 3);
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tworker\t[]\n"
		    "0\tcoordinator\t['<unparsed 6 bytes: encrypted>']\n"
		    "0\tworker\t['<unparsed 6 bytes: encrypted>']\n"
		    "1\tcoordinator\t[initial message]\n"
		    "1\tworker\t['<unparsed 3 bytes: encrypted>']");
}

static void test_cancel_request(void **state)
{
	pgw_cancel_request(&w, 4242, 1234);
	add_initial_wire(1);
	pgw_query(&w, "SELECT 1");
	add_wire(1, FE);
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tcoordinator\t['<unparsed 14 bytes: not PostgreSQL>']");
}

static void test_not_postgres(void **state)
{
	static const uint8_t bad_len[] = { 'Z', 0, 0, 0, 2, 'I' };

	add_initial(1);
	/* a good message, then an impossible length: framing stops for good */
	pgw_ready_for_query(&w, 'I');
	pgw_raw(&w, bad_len, sizeof(bad_len));
	add_wire(1, BE);
	pgw_ready_for_query(&w, 'I');
	add_wire(1, BE);
	/* the other direction is unaffected */
	pgw_query(&w, "SELECT 1");
	add_wire(1, FE);
	/* a startup packet with an unknown code */
	pgw_begin(&w, 0);
	pgw_u32(&w, 0x00020000);
	pgw_end(&w);
	add_initial_wire(2);
	pgw_query(&w, "SELECT 1");
	add_wire(2, FE);
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tworker\t['ReadyForQuery(state=idle)', '<unparsed 6 bytes: not PostgreSQL>']\n"
		    "0\tworker\t['<unparsed 6 bytes: not PostgreSQL>']\n"
		    "0\tcoordinator\t['Query(query=SELECT 1)']\n"
		    "1\tcoordinator\t[initial message]\n"
		    "1\tcoordinator\t['<unparsed 14 bytes: not PostgreSQL>']");
	/* a length above the protocol's 1 GiB */
	{
		static const uint8_t huge[] = { 'Q', 0x40, 0, 0, 5 };

		add(1, FE, huge, sizeof(huge));
		expect_dump("0\tcoordinator\t['<unparsed 5 bytes: not PostgreSQL>']");
	}
}

static void test_large_message_not_retained(void **state)
{
	struct wf_recorder_opts opts = { .max_message = 100 };
	struct wf_recorder_stats st;
	char sql[1001];
	uint8_t *chunk = calloc(1, 65536);
	size_t i;

	wf_recorder_free(rec);
	rec = wf_recorder_new(&opts);
	memset(sql, 'A', sizeof(sql) - 1);
	sql[sizeof(sql) - 1] = '\0';
	add_initial(1);
	pgw_query(&w, sql);
	pgw_query(&w, "SELECT 2");
	add(1, FE, w.data, 10);
	add(1, FE, w.data + 10, 500);
	add(1, FE, w.data + 510, w.len - 510);
	pgw_reset(&w);
	/* a small one split is still reassembled */
	pgw_query(&w, "SELECT 3");
	add(1, FE, w.data, 7);
	add(1, FE, w.data + 7, w.len - 7);
	pgw_reset(&w);
	/* what arrives whole is printed whole: nothing needs keeping */
	pgw_begin(&w, 'd');
	pgw_raw(&w, sql, 200);
	pgw_end(&w);
	add_wire(1, FE);
#define A10 "AAAAAAAAAA"
#define A200 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10 A10
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tcoordinator\t[]\n"
		    "0\tcoordinator\t[]\n"
		    "0\tcoordinator\t['Query(<1001 bytes, not retained>)', 'Query(query=SELECT 2)']\n"
		    "0\tcoordinator\t[]\n"
		    "0\tcoordinator\t['Query(query=SELECT 3)']\n"
		    "0\tcoordinator\t[\"CopyData(data=b'" A200 "')\"]");

	/* a message claiming 1 GiB is skipped, never buffered */
	chunk[0] = 'd';
	chunk[1] = 0x40;
	chunk[4] = 4;
	for (i = 0; i < 32; i++) {
		add(1, BE, chunk, 65536);
		memset(chunk, 0, 5);
		wf_recorder_get_stats(rec, &st);
		assert_true(st.buffered_bytes <= opts.max_message);
	}
	free(chunk);
	wf_recorder_get_stats(rec, &st);
	assert_int_equal(st.rows, 32);
}

static void test_unframed(void **state)
{
	add_initial(1);
	pgw_ready_for_query(&w, 'I');
	pgw_ready_for_query(&w, 'T');
	add_flags(1, BE, false, true, w.data, w.len);
	/* not a whole number of messages */
	add_flags(1, BE, false, true, w.data, w.len - 1);
	/* sticky: later chunks are decoded on their own even unflagged */
	add(1, BE, w.data + 3, 3);
	add(1, BE, w.data, 6);
	pgw_reset(&w);
	/* unknown type bytes are not taken for messages */
	{
		static const uint8_t odd[] = { '@', 0, 0, 0, 4 };

		add_flags(1, FE, false, true, odd, sizeof(odd));
	}
	expect_dump("0\tcoordinator\t[initial message]\n"
		    "0\tworker\t['ReadyForQuery(state=idle)', 'ReadyForQuery(state=in_transaction_block)']\n"
		    "0\tworker\t['<unparsed 11 bytes: stream not followed>']\n"
		    "0\tworker\t['<unparsed 3 bytes: stream not followed>']\n"
		    "0\tworker\t['ReadyForQuery(state=idle)']\n"
		    "0\tcoordinator\t['<unparsed 5 bytes: stream not followed>']");
}

static void test_bounded_rows(void **state)
{
	struct wf_recorder_opts opts = { .max_rows = 100 };
	struct wf_recorder_stats st;
	char *d, *p;
	size_t rows = 0;
	int i;

	wf_recorder_free(rec);
	rec = wf_recorder_new(&opts);
	add_initial(1);
	for (i = 0; i < 249; i++) {
		pgw_ready_for_query(&w, 'I');
		add_wire(1, BE);
	}
	wf_recorder_get_stats(rec, &st);
	assert_int_equal(st.rows, 100);
	assert_int_equal(st.rows_dropped, 150);
	d = wf_recorder_dump(rec);
	assert_non_null(d);
	assert_memory_equal(d, "-1\twirefault\t[recorder dropped 150 older rows: limit of 100 rows reached]\n0\tworker\t",
			    strlen("-1\twirefault\t[recorder dropped 150 older rows: limit of 100 rows reached]\n0\tworker\t"));
	for (p = d; *p; p++)
		rows += *p == '\n';
	assert_int_equal(rows + 1, 101);
	free(d);
	/* the note is for that dump only */
	pgw_ready_for_query(&w, 'I');
	add_wire(1, BE);
	expect_dump("0\tworker\t['ReadyForQuery(state=idle)']");

	/* a byte limit (a row's text, JSON and bytes count), and kernel losses */
	wf_recorder_free(rec);
	opts = (struct wf_recorder_opts){ .max_bytes = 400 };
	rec = wf_recorder_new(&opts);
	add_initial(1);
	for (i = 0; i < 10; i++) {
		pgw_ready_for_query(&w, 'I');
		add_wire(1, BE);
	}
	wf_recorder_note_lost(rec, 3, 4096);
	free(wf_recorder_notes(rec));	/* decodes: rows grow, the bound drops more */
	wf_recorder_get_stats(rec, &st);
	assert_true(st.rows >= 1 && st.rows < 10);
	assert_true(st.row_bytes <= 400);
	assert_int_equal(st.rows + st.rows_dropped, 11);
	{
		struct strbuf want = STRBUF_INIT;

		strbuf_addf(&want, "-1\twirefault\t[recorder dropped %llu older rows: limit of 400 bytes reached]\n"
			    "-1\twirefault\t[kernel lost 3 recorder pieces (4096 bytes, ring buffer full): rows are missing or incomplete]",
			    (unsigned long long)st.rows_dropped);
		for (i = 0; i < (int)st.rows; i++)
			strbuf_adds(&want, "\n0\tworker\t['ReadyForQuery(state=idle)']");
		expect_dump(want.buf);
		strbuf_free(&want);
	}
	wf_recorder_get_stats(rec, &st);
	assert_int_equal(st.lost_pieces, 3);
	assert_int_equal(st.rows_dropped, 0);

	/* connections the kernel could not track are announced too, once */
	wf_recorder_note_untracked(rec, 4);
	expect_dump("-1\twirefault\t[kernel failed 4 times to track a connection (flow table full): "
		    "their traffic is missing]");
	expect_dump("");
}

static void test_close_conn(void **state)
{
	struct wf_recorder_stats st;

	add_initial(1);
	add_initial(2);
	pgw_query(&w, "SELECT 1");
	add(1, FE, w.data, 4);	/* a partial message is held */
	pgw_reset(&w);
	wf_recorder_close_conn(rec, 1);
	wf_recorder_close_conn(rec, 99);	/* unknown: nothing */
	wf_recorder_get_stats(rec, &st);
	/* connection 1's rows are not decoded yet: it keeps its stream until they are */
	assert_int_equal(st.connections, 2);
	assert_int_equal(st.rows, 3);
	free(wf_recorder_notes(rec));
	wf_recorder_get_stats(rec, &st);
	assert_int_equal(st.connections, 1);
	assert_int_equal(st.rows, 3);
}

/*
 * Rows are decoded when read, in arrival order: a connection closed before
 * its rows are read, rows dropped unread by the bounds, and a reset in
 * between give the same rows as decoding everything at once.
 */
static void test_lazy_decoding_keeps_streams_in_step(void **state)
{
	struct wf_recorder_opts opts = { .max_rows = 3 };
	char *d;

	wf_recorder_free(rec);
	rec = wf_recorder_new(&opts);
	add_initial(1);
	pgw_query(&w, "SELECT 'split across chunks'");
	add(1, FE, w.data, 7);			/* dropped unread below, but framed */
	add(1, FE, w.data + 7, w.len - 7);
	pgw_reset(&w);
	pgw_ready_for_query(&w, 'I');
	add_wire(1, BE);
	wf_recorder_close_conn(rec, 1);		/* its rows are still unread */
	d = wf_recorder_dump(rec);
	assert_non_null(d);
	assert_string_equal(d, "-1\twirefault\t[recorder dropped 1 older rows: limit of 3 rows reached]\n"
			       "0\tcoordinator\t[]\n"
			       "0\tcoordinator\t[\"Query(query=SELECT 'split across chunks')\"]\n"
			       "0\tworker\t['ReadyForQuery(state=idle)']");
	free(d);
}


/* The elements of every row of a dump, joined: what a stream decodes to,
 * whatever its chunking. */
static char *joined_elements(void)
{
	char *d = wf_recorder_dump(rec), *line, *save = NULL;
	struct strbuf all = STRBUF_INIT;

	assert_non_null(d);
	for (line = strtok_r(d, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *list = strchr(strchr(line, '\t') + 1, '\t') + 1;
		size_t len = strlen(list);

		assert_true(len >= 2 && list[0] == '[' && list[len - 1] == ']');
		if (len == 2)
			continue;
		if (all.len)
			strbuf_add(&all, ", ", 2);
		strbuf_add(&all, list + 1, len - 2);
	}
	free(d);
	strbuf_reserve(&all, 0);
	return strbuf_detach(&all, NULL);
}

/* Any chunking of a stream prints the same messages in the same order. */
static void test_rechunking_invariant(void **state)
{
	char big[3000], *whole, *pieces;
	size_t len, at, n;
	uint8_t *buf;
	int round, i;

	memset(big, 'b', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 40; i++) {
		pgw_query(&w, i % 3 ? "SELECT 1" : big);
		pgw_begin(&w, 'P');
		pgw_str(&w, "s");
		pgw_str(&w, "SELECT $1");
		pgw_u16(&w, 1);
		pgw_u32(&w, 23);
		pgw_end(&w);
		pgw_begin(&w, 'd');
		pgw_raw(&w, big, (size_t)i * 50);
		pgw_end(&w);
		pgw_begin(&w, 'S');
		pgw_end(&w);
	}
	len = w.len;
	buf = malloc(len);
	assert_non_null(buf);
	memcpy(buf, w.data, len);
	pgw_reset(&w);

	add(1, FE, buf, len);
	whole = joined_elements();
	assert_int_equal(strlen(whole) > 40 * 4 * 8, 1);
	for (round = 0; round < 200; round++) {
		for (at = 0; at < len; at += n) {
			n = 1 + rnd() % (round % 2 ? 40 : 4000);
			if (n > len - at)
				n = len - at;
			add(1, FE, buf + at, n);
		}
		pieces = joined_elements();
		assert_string_equal(pieces, whole);
		free(pieces);
	}
	free(whole);
	free(buf);
}

/* Random bytes, chunk sizes, directions and flags: no crash, no hang, bounded memory. */
static void test_garbage_never_crashes(void **state)
{
	struct wf_recorder_opts opts = { .max_rows = 500, .max_message = 4096, .max_conns = 8 };
	struct wf_recorder_stats st;
	uint8_t *buf = malloc(8192);
	int i;
	size_t len, k;

	wf_recorder_free(rec);
	rec = wf_recorder_new(&opts);
	assert_non_null(buf);
	for (i = 0; i < 20000; i++) {
		len = rnd() % 8192;
		for (k = 0; k < len; k++)
			buf[k] = (uint8_t)rnd();
		/* sometimes plausible headers, so framing gets deep */
		if (len >= 5 && rnd() % 2) {
			buf[0] = "QZDTdCSREKN1BPHXGc"[rnd() % 18];
			buf[1] = buf[2] = 0;
			buf[3] = (uint8_t)(rnd() % 64);
		}
		add_flags(rnd() % 12, rnd() % 2 ? FE : BE, rnd() % 16 == 0, rnd() % 32 == 0,
			  buf, len);
		if (rnd() % 64 == 0)
			wf_recorder_close_conn(rec, rnd() % 12);
		if (rnd() % 500 == 0)
			wf_recorder_reset(rec);
		if (rnd() % 200 == 0)
			free(wf_recorder_dump(rec));
		wf_recorder_get_stats(rec, &st);
		assert_true(st.rows <= 500);
		assert_true(st.connections <= 8);
		assert_true(st.buffered_bytes <= 8 * 2 * (4096 + 10000));
	}
	free(buf);
	free(wf_recorder_dump(rec));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rows_and_numbering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backslashes_doubled, setup, teardown),
		cmocka_unit_test_setup_teardown(test_terminate_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_split_at_every_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_startup_phase_ssl_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_startup_phase_gss_then_ssl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cancel_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_postgres, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_message_not_retained, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unframed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_conn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lazy_decoding_keeps_streams_in_step, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rechunking_invariant, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_never_crashes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
