// SPDX-License-Identifier: GPL-2.0
/*
 * Recorded rows written as pcap (user/pcap_writer.c): read back by the
 * capture reader the `decode` command uses, the same traffic gives the same
 * dump; the verdicts become the FINs/RSTs wirefault sent, with notes that
 * name the frames (a truncated chunk split where it was cut); IPv4 and IPv6 addresses and ports survive; a chunk
 * larger than one IP packet is split; the row printers (user/row_format.c)
 * give JSON lines and watch lines that say what happened.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <pcap/pcap.h>

#include "byteorder.h"
#include "pcap_source.h"
#include "pcap_writer.h"
#include "pg_wire_builder.h"
#include "recorder.h"
#include "row_format.h"
#include "strbuf.h"
#include "test_files.h"
#include "wf_pipeline.h"

#define FE WF_DIR_FRONTEND
#define BE WF_DIR_BACKEND
#define PORT 5432

static struct wf_recorder *rec;
static struct pg_wire w;
static struct wf_flow_key v4, v6;
static uint32_t next_seq[3][2], last_seq[3][2];
static uint64_t now_ns = 1800000000000000000ull;
static char pcap_path[] = "/tmp/wf-test-pcap-XXXXXX";

static void make_keys(void)
{
	memset(&v4, 0, sizeof(v4));
	v4.family = WF_FAMILY_IPV4;
	v4.client_addr[10] = v4.client_addr[11] = 0xff;
	v4.server_addr[10] = v4.server_addr[11] = 0xff;
	v4.client_addr[12] = 127; v4.client_addr[15] = 1;
	v4.server_addr[12] = 127; v4.server_addr[15] = 2;
	v4.client_port = 40001;
	v4.server_port = PORT;
	memset(&v6, 0, sizeof(v6));
	v6.family = WF_FAMILY_IPV6;
	v6.client_addr[15] = 1;
	v6.server_addr[15] = 1;
	v6.client_port = 40002;
	v6.server_port = PORT;
}

static int setup(void **state)
{
	int fd = mkstemp(pcap_path);

	assert_true(fd >= 0);
	close(fd);
	rec = wf_recorder_new(NULL);
	assert_non_null(rec);
	make_keys();
	next_seq[1][FE] = 1000; next_seq[1][BE] = 90000;
	next_seq[2][FE] = 0xfffffff0u; next_seq[2][BE] = 7;	/* seq wraps */
	return 0;
}

static int teardown(void **state)
{
	char notes[sizeof(pcap_path) + 16];

	snprintf(notes, sizeof(notes), "%s%s", pcap_path, WF_PCAP_NOTES_SUFFIX);
	unlink(pcap_path);
	unlink(notes);
	strcpy(pcap_path, "/tmp/wf-test-pcap-XXXXXX");
	wf_recorder_free(rec);
	pgw_free(&w);
	return 0;
}

/* Adds what w holds as one chunk of connection conn (1: IPv4, 2: IPv6). */
static void add_wire(uint64_t conn, enum wf_dir dir, bool initial)
{
	struct wf_chunk c = {
		.conn_id = conn, .dir = dir, .initial = initial, .data = w.data, .len = w.len,
		.ts_ns = now_ns += 1000000, .flow = conn == 1 ? &v4 : &v6,
		.seq = next_seq[conn][dir],
	};

	assert_int_equal(wf_recorder_add_chunk(rec, &c), 0);
	last_seq[conn][dir] = next_seq[conn][dir];
	next_seq[conn][dir] += (uint32_t)w.len;
	pgw_reset(&w);
}

static void session(uint64_t conn, const char *sql)
{
	pgw_startup(&w, "postgres", "regression");
	add_wire(conn, FE, true);
	pgw_login_burst(&w);
	add_wire(conn, BE, false);
	pgw_query(&w, sql);
	add_wire(conn, FE, false);
	pgw_command_complete(&w, "SELECT 1");
	pgw_ready_for_query(&w, 'I');
	add_wire(conn, BE, false);
}

static void write_row(void *ctx, const struct wf_row *r)
{
	assert_int_equal(wf_pcap_writer_row(ctx, r), 0);
}

static void json_row(void *ctx, const struct wf_row *r)
{
	wf_row_format_json(ctx, r);
}

static void watch_row(void *ctx, const struct wf_row *r)
{
	wf_row_format_watch(ctx, r);
}

static void write_rows(void)
{
	char notes[sizeof(pcap_path) + 16];
	struct wf_pcap_writer *pw;
	FILE *pf, *nf;

	snprintf(notes, sizeof(notes), "%s%s", pcap_path, WF_PCAP_NOTES_SUFFIX);
	pf = fopen(pcap_path, "wb");
	nf = fopen(notes, "w");
	assert_non_null(pf);
	assert_non_null(nf);
	pw = wf_pcap_writer_new(pf, nf);
	assert_non_null(pw);
	wf_recorder_for_each(rec, 0, write_row, pw);
	assert_int_equal(wf_pcap_writer_close(pw), 0);
}

struct replay {
	struct wf_recorder *rec;
	int chunks, closes, chunks_at_first_close;
	struct wf_flow_key flows[4];
	int nflows;
};

static int on_chunk(void *ctx, const struct wf_chunk *chunk, const struct wf_pcap_packet *pkt)
{
	struct replay *r = ctx;

	if (chunk->initial && r->nflows < 4)
		r->flows[r->nflows++] = *pkt->flow;
	r->chunks++;
	return wf_recorder_add_chunk(r->rec, chunk);
}

static void on_close(void *ctx, uint64_t conn_id)
{
	struct replay *r = ctx;

	if (!r->closes++)
		r->chunks_at_first_close = r->chunks;
	wf_recorder_close_conn(r->rec, conn_id);
}

static char *replay(struct replay *r)
{
	struct wf_pcap_handlers h = { .chunk = on_chunk, .close = on_close, .ctx = r };
	char *d;

	r->rec = wf_recorder_new(NULL);
	assert_non_null(r->rec);
	assert_int_equal(wf_pcap_replay(pcap_path, PORT, &h, NULL), 0);
	d = wf_recorder_dump(r->rec);
	wf_recorder_free(r->rec);
	return d;
}

static void test_round_trip(void **state)
{
	struct replay r = { 0 };
	char *before, *after;

	session(1, "SELECT 'over IPv4'");
	session(2, "SELECT 'over IPv6'");
	pgw_terminate(&w);
	add_wire(1, FE, false);		/* no fluent row, but a packet */
	write_rows();
	before = wf_recorder_dump(rec);
	after = replay(&r);
	assert_non_null(before);
	assert_non_null(after);
	assert_string_equal(after, before);
	assert_non_null(strstr(after, "Query(query=SELECT 'over IPv6')"));
	assert_int_equal(r.nflows, 2);
	assert_memory_equal(&r.flows[0], &v4, sizeof(v4));
	assert_memory_equal(&r.flows[1], &v6, sizeof(v6));
	assert_int_equal(r.chunks, 9);
	assert_int_equal(r.chunks_at_first_close, 9);	/* no FIN, no RST: open until the end */
	free(before);
	free(after);
}

static void test_kill_shows_fins_and_notes(void **state)
{
	struct wf_verdict v = { .conn_id = 1, .dir = FE, .action = WF_PIPE_A_KILL, .pipe_gen = 7 };
	char notes_path[sizeof(pcap_path) + 16], *notes;
	size_t len;
	struct replay r = { 0 };
	char *after;

	session(1, "SELECT 'killed'");
	/* the verdict names the last client chunk: the query */
	v.seq = last_seq[1][FE];
	assert_int_equal(wf_recorder_add_verdict(rec, &v), 0);
	v.seq++;
	assert_int_equal(wf_recorder_add_verdict(rec, &v), -ENOENT);	/* not that chunk */
	write_rows();
	after = replay(&r);
	/* a FIN each way right after the query: closed before the answer */
	assert_int_equal(r.chunks_at_first_close, 3);
	free(after);

	snprintf(notes_path, sizeof(notes_path), "%s%s", pcap_path, WF_PCAP_NOTES_SUFFIX);
	notes = wf_test_read_file(notes_path, &len);
	assert_non_null(notes);
	/* frames: SYN 1, startup 2, login 3, query 4 (dropped), FIN 5, FIN 6, answer 7 */
	assert_non_null(strstr(notes, "{\"frame\":1,\"conn\":0,"));
	assert_non_null(strstr(notes, "made up by wirefault: the connection's SYN"));
	assert_non_null(strstr(notes, "{\"frame\":4,\"conn\":0,"));
	assert_non_null(strstr(notes, "\"note\":\"dropped by wirefault: kill() of pipeline 7 (not delivered to the server)\"}"));
	assert_non_null(strstr(notes, "{\"frame\":5,"));
	assert_non_null(strstr(notes, "sent by wirefault: FIN to the server (kill)"));
	assert_non_null(strstr(notes, "{\"frame\":6,"));
	assert_non_null(strstr(notes, "sent by wirefault: FIN to the client (kill)"));
	assert_null(strstr(notes, "{\"frame\":7,"));
	free(notes);
}

static void test_reset_shows_rsts(void **state)
{
	struct wf_verdict v = { .conn_id = 2, .dir = BE, .action = WF_PIPE_A_RESET, .pipe_gen = 2 };
	struct replay r = { 0 };
	char *after;

	session(2, "SELECT 1");
	v.seq = last_seq[2][BE];	/* CommandComplete + ReadyForQuery */
	assert_int_equal(wf_recorder_add_verdict(rec, &v), 0);
	write_rows();
	after = replay(&r);
	assert_int_equal(r.chunks, 4);
	assert_int_equal(r.closes, 1);
	assert_int_equal(r.chunks_at_first_close, 4);	/* the RSTs, not the end of the capture */
	free(after);
}

/* One TCP frame of the written capture (IPv4 only), as a reader sees it. */
struct frame {
	uint32_t seq, ack;
	uint8_t flags;
	bool to_server;
	size_t payload;
};

/* Reads every frame of pcap_path into f (at most max); returns how many. */
static size_t read_frames(struct frame *f, size_t max)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(pcap_path, err);
	struct pcap_pkthdr *h;
	const uint8_t *d;
	size_t n = 0;

	assert_non_null(pc);
	while (n < max && pcap_next_ex(pc, &h, &d) == 1) {
		const uint8_t *ip = d + 14, *th = ip + (ip[0] & 0xf) * 4;

		assert_int_equal(wf_be16(d + 12), 0x0800);
		f[n].seq = wf_be32(th + 4);
		f[n].ack = wf_be32(th + 8);
		f[n].flags = th[13];
		f[n].to_server = wf_be16(th + 2) == PORT;
		f[n].payload = wf_be16(ip + 2) - (size_t)(th - ip) - (size_t)(th[12] >> 4) * 4;
		n++;
	}
	pcap_close(pc);
	return n;
}

/*
 * truncate(): the chunk's delivered bytes and its dropped ones are separate
 * frames, the dropped ones noted, and the FINs wirefault sent follow at the
 * cut; a chunk delivered whole is only noted.
 */
static void test_truncate_shows_cut(void **state)
{
	struct wf_verdict v = { .conn_id = 1, .dir = BE, .action = WF_PIPE_A_TRUNCATE, .pipe_gen = 4,
				.delivered = 50 };
	char notes_path[sizeof(pcap_path) + 16], *notes, want[200];
	struct strbuf json = STRBUF_INIT, lines = STRBUF_INIT;
	struct frame f[16];
	size_t n, len, first_len;
	uint32_t first_seq;

	session(1, "SELECT big");
	/* delivered whole: the mark lies further on */
	pgw_data_row_big(&w, 100);
	first_len = w.len;
	add_wire(1, BE, false);
	first_seq = last_seq[1][BE];
	v.seq = first_seq;
	v.len = (uint32_t)first_len;
	v.delivered = (uint32_t)first_len;
	assert_int_equal(wf_recorder_add_verdict(rec, &v), 0);
	/* cut after 50 bytes */
	pgw_data_row_big(&w, 1000);
	pgw_command_complete(&w, "SELECT 2");
	pgw_ready_for_query(&w, 'I');
	len = w.len;
	add_wire(1, BE, false);
	v.seq = last_seq[1][BE];
	v.len = (uint32_t)len;
	v.delivered = 50;
	assert_int_equal(wf_recorder_add_verdict(rec, &v), 0);
	write_rows();

	/* SYN 1, startup 2, login 3, query 4, answer 5, whole chunk 6, delivered 7,
	 * dropped 8, FIN to the client 9, FIN to the server 10 */
	n = read_frames(f, 16);
	assert_int_equal(n, 10);
	assert_int_equal(f[5].seq, first_seq);
	assert_int_equal(f[5].payload, first_len);
	assert_int_equal(f[6].seq, v.seq);
	assert_int_equal(f[6].payload, 50);
	assert_false(f[6].to_server);
	assert_int_equal(f[7].seq, v.seq + 50);
	assert_int_equal(f[7].payload, len - 50);
	assert_false(f[8].to_server);
	assert_int_equal(f[8].flags, 0x11);	/* FIN|ACK */
	assert_int_equal(f[8].seq, v.seq + 50);
	assert_int_equal(f[8].payload, 0);
	assert_true(f[9].to_server);
	assert_int_equal(f[9].flags, 0x11);
	assert_int_equal(f[9].ack, v.seq + 50);

	snprintf(notes_path, sizeof(notes_path), "%s%s", pcap_path, WF_PCAP_NOTES_SUFFIX);
	notes = wf_test_read_file(notes_path, &n);
	assert_non_null(notes);
	assert_non_null(strstr(notes, "{\"frame\":6,\"conn\":0,"));
	assert_non_null(strstr(notes, "\"note\":\"delivered: truncate() of pipeline 4 counts the "
				      "bytes of this direction up to its cut\"}"));
	assert_null(strstr(notes, "{\"frame\":7,"));
	snprintf(want, sizeof(want), "{\"frame\":8,\"conn\":0,");
	assert_non_null(strstr(notes, want));
	snprintf(want, sizeof(want), "\"note\":\"dropped by wirefault: truncate() of pipeline 4 (the "
		 "client got the chunk's first 50 of %zu bytes)\"}", len);
	assert_non_null(strstr(notes, want));
	assert_non_null(strstr(notes, "{\"frame\":9,"));
	assert_non_null(strstr(notes, "sent by wirefault: FIN to the client (truncate)"));
	assert_non_null(strstr(notes, "{\"frame\":10,"));
	assert_non_null(strstr(notes, "sent by wirefault: FIN to the server (truncate)"));
	free(notes);

	/* JSON and watch lines say how much went through */
	wf_recorder_for_each(rec, 0, json_row, &json);
	wf_recorder_for_each(rec, 0, watch_row, &lines);
	snprintf(want, sizeof(want), "\"chunk_bytes\":%zu,\"verdict\":\"truncate\",\"pipeline\":4,"
		 "\"delivered_bytes\":50,\"type\":\"DataRow\"", len);
	assert_non_null(strstr(json.buf, want));
	snprintf(want, sizeof(want), "\"chunk_bytes\":%zu,\"verdict\":\"truncate\",\"pipeline\":4,"
		 "\"delivered_bytes\":%zu,", first_len, first_len);
	assert_non_null(strstr(json.buf, want));
	snprintf(want, sizeof(want), "  => TRUNCATE after 50 of %zu bytes\n", len);
	assert_non_null(strstr(lines.buf, want));
	assert_non_null(strstr(lines.buf, "  => TRUNCATE\n"));
	strbuf_free(&json);
	strbuf_free(&lines);
}

static void test_large_chunk_is_split(void **state)
{
	struct replay r = { 0 };
	char *after;

	session(1, "SELECT big");
	pgw_data_row_big(&w, 200000);
	add_wire(1, BE, false);
	write_rows();
	after = replay(&r);
	/* four IP packets (at most 65495 bytes of payload each): a reader sees
	 * four chunks, the whole DataRow with the last one */
	assert_int_equal(r.chunks, 4 + 4);
	assert_non_null(strstr(after, "0\tworker\t[]\n0\tworker\t[]\n0\tworker\t[]\n"
				      "0\tworker\t['DataRow(columncount=1,columns=[\"C(length=200000,"));
	free(after);
}

static void test_row_printers(void **state)
{
	struct wf_verdict v = { .conn_id = 1, .dir = FE, .action = WF_PIPE_A_CANCEL, .pipe_gen = 3 };
	struct strbuf json = STRBUF_INIT, lines = STRBUF_INIT;
	size_t records = 0;

	session(1, "SELECT 'cancel me'");
	v.seq = last_seq[1][FE];
	assert_int_equal(wf_recorder_add_verdict(rec, &v), 0);
	wf_recorder_for_each(rec, 0, json_row, &json);
	wf_recorder_for_each(rec, 0, watch_row, &lines);
	for (size_t i = 0; i < json.len; i++)
		records += json.buf[i] == '\n';
	/* startup, the login burst's messages, the query, CommandComplete, ReadyForQuery */
	assert_true(records >= 5);
	assert_non_null(strstr(json.buf, "\"client\":\"127.0.0.1:40001\",\"server\":\"127.0.0.2:5432\""));
	assert_non_null(strstr(json.buf, "\"direction\":\"frontend\",\"source\":\"coordinator\""));
	assert_non_null(strstr(json.buf, "\"verdict\":\"cancel\",\"pipeline\":3,\"type\":\"Query\""));
	assert_non_null(strstr(json.buf, "\"time\":\"2027-01-15T08:00:00.0"));
	assert_non_null(strstr(lines.buf, " #0 127.0.0.1:40001 > 127.0.0.2:5432 [\"Query(query=SELECT 'cancel me')\"]  => CANCEL\n"));
	assert_non_null(strstr(lines.buf, " #0 127.0.0.1:40001 < 127.0.0.2:5432 ['CommandComplete"));
	strbuf_free(&json);
	strbuf_free(&lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kill_shows_fins_and_notes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_shows_rsts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_truncate_shows_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_chunk_is_split, setup, teardown),
		cmocka_unit_test_setup_teardown(test_row_printers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
