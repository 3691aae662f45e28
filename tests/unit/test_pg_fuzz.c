// SPDX-License-Identifier: GPL-2.0
/*
 * Fuzzing the decoder: pg_conn_stream's framing, pg_print_message() and
 * pg_json_message() (and the JSON of startup packets and answers) on valid,
 * mutated and random wire bytes.
 *
 * - The corpus is generated from the message table itself: a valid message
 *   of every type and subtype in both directions, from its layout (so a new
 *   entry is fuzzed without touching this file).  Each must decode.
 * - Each round mutates it (bit flips, interesting bytes, Int16/Int32 values
 *   such as -1, 0x7fffffff and 1 GiB over length and count fields,
 *   insertions, deletions, truncation, splices), then either decodes
 *   single messages with random auth codes, or builds both directions of a
 *   connection (startup packet, SSL answer, messages), mutates those
 *   streams and feeds them in random chunks, interleaved, some flagged
 *   unframed, with a small or large max_message.
 * - Checked: no crash and nothing out of bounds (unit tests link the
 *   ASan/UBSan library), every JSON output valid (tests/lib/json_check),
 *   every output bounded by its input's size, frames within the bytes fed,
 *   buffering within max_message.
 *
 * Deterministic: a fixed seed ($WF_FUZZ_SEED replays another) and a fixed
 * number of rounds (about 3 s under the sanitizers).  $WF_FUZZ_SECONDS runs
 * for that long instead (make fuzz).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "json_check.h"
#include "pg_json.h"
#include "pg_print.h"
#include "pg_stream.h"
#include "pg_wire_builder.h"
#include "wf_pg_proto.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DEFAULT_SEED 0x5eed0f00d5eedULL
#define DEFAULT_ROUNDS 300000
/* No output may be longer than this for a body of len bytes (see check_bounded). */
#define OUTPUT_BOUND(len) (16 * (uint64_t)(len) + 1024)

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t rnd_below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

/* ---- the corpus: one valid message per type and subtype, from the table ----------------- */

struct sample {
	enum wf_dir dir;
	uint8_t type;
	int32_t auth_code;	/* 'p': the Authentication it answers; else -1 */
	struct pg_wire wire;	/* the whole message: type, length, body */
};

static struct sample corpus[256];
static size_t ncorpus;

static void gen_text(struct pg_wire *w, bool non_empty)
{
	static const char *const words[] = { "", "a", "SELECT 1", "é日本", "public.t_102008",
					     "SCRAM-SHA-256", "it's \"x\"\t\\" };
	const char *s = words[rnd_below(ARRAY_LEN(words))];

	if (non_empty && !*s)
		s = "x";
	pgw_str(w, s);
}

static void gen_record(struct pg_wire *w, const struct pg_record *rec, int32_t code);

/* One value of kind k; *num: the value for a following LIST or VALUE. */
static void gen_value(struct pg_wire *w, enum pg_field_kind k, const struct pg_field *f,
		      const struct pg_record *rec, int64_t *num, const struct pg_field *next,
		      bool in_zero_list)
{
	bool counts = next && (next->kind == PG_FIELD_LIST && !next->until_zero);
	size_t i, n;

	switch (k) {
	case PG_FIELD_TEXT:
		gen_text(w, in_zero_list);
		break;
	case PG_FIELD_U8:
		pgw_u8(w, (uint8_t)rnd_below(3));
		break;
	case PG_FIELD_U16:
	case PG_FIELD_I16:
		*num = counts ? (int64_t)rnd_below(4) : (int64_t)(uint16_t)rnd();
		pgw_u16(w, (uint16_t)*num);
		break;
	case PG_FIELD_U32:
	case PG_FIELD_I32:
		*num = counts ? (int64_t)rnd_below(4) : (int64_t)(uint32_t)rnd_below(100000);
		pgw_u32(w, (uint32_t)*num);
		break;
	case PG_FIELD_ENUM8:
		/* never zero: a zero key would end a NoticeResponse's list */
		n = 0;
		while (f && f->symbols && f->symbols[n].name)
			n++;
		pgw_u8(w, n && rnd_below(4) ? f->symbols[rnd_below(n)].value : (uint8_t)(1 + rnd_below(255)));
		break;
	case PG_FIELD_BYTES4:
		pgw_u32(w, (uint32_t)rnd());
		break;
	case PG_FIELD_REST:
		n = rnd_below(12);
		for (i = 0; i < n; i++)
			pgw_u8(w, rnd_below(2) ? (uint8_t)('a' + rnd_below(26)) : (uint8_t)rnd());
		break;
	case PG_FIELD_LENGTH32:
		*num = rnd_below(4) ? (int64_t)rnd_below(9) : -1;
		pgw_u32(w, (uint32_t)*num);
		break;
	case PG_FIELD_VALUE:
		for (i = 0; *num > 0 && i < (size_t)*num; i++)
			pgw_u8(w, (uint8_t)rnd());
		break;
	case PG_FIELD_LIST:
		n = f->until_zero ? rnd_below(4) : (size_t)*num;
		for (i = 0; i < n; i++) {
			int64_t elem_num = 0;

			gen_value(w, f->elem_kind, NULL, f->elem_record, &elem_num, NULL, f->until_zero);
		}
		if (f->until_zero)
			pgw_u8(w, 0);
		break;
	case PG_FIELD_RECORD:
		gen_record(w, rec, -1);
		break;
	}
}

/* A record's fields; code >= 0: the value of a leading Int32 (Authentication's code). */
static void gen_record(struct pg_wire *w, const struct pg_record *rec, int32_t code)
{
	int64_t num = 0;
	size_t i;

	for (i = 0; i < rec->nfields; i++) {
		const struct pg_field *f = &rec->fields[i];
		const struct pg_field *next = i + 1 < rec->nfields ? &rec->fields[i + 1] : NULL;

		if (i == 0 && code >= 0) {
			pgw_u32(w, (uint32_t)code);
			continue;
		}
		gen_value(w, f->kind, f, f->elem_record, &num, next, false);
	}
}

/* lead_code >= 0: the Int32 the body starts with (a variant chosen by it) */
static void add_sample(const struct pg_message_desc *m, int32_t lead_code, int32_t auth_code)
{
	struct sample *s = &corpus[ncorpus++];

	assert_true(ncorpus <= ARRAY_LEN(corpus));
	s->dir = m->dir;
	s->type = m->type;
	s->auth_code = auth_code;
	pgw_begin(&s->wire, m->type);
	gen_record(&s->wire, m->body, lead_code);
	pgw_end(&s->wire);
}

static void build_corpus(struct pg_printer *pp)
{
	const struct pg_message_desc *all, *v;
	size_t i, n, k;

	all = pg_messages_all(&n);
	for (k = 0; k < 3; k++) {	/* a few random instances of each */
		for (i = 0; i < n; i++) {
			if (!all[i].variants) {
				add_sample(&all[i], -1, -1);
				continue;
			}
			for (v = all[i].variants; v->name; v++) {
				if (all[i].variant_key == PG_VARIANT_AUTH_CODE)
					add_sample(v, -1, v->code);
				else
					add_sample(v, v->code, -1);
			}
		}
	}
	/* every one decodes as what it was generated from */
	for (i = 0; i < ncorpus; i++) {
		const struct sample *s = &corpus[i];
		const struct pg_message_desc *m = pg_message_by_type(s->dir, s->type);
		const uint8_t *body = s->wire.data + WF_PG_TYPED_HDR_LEN;
		size_t len = s->wire.len - WF_PG_TYPED_HDR_LEN;

		m = pg_message_variant(m, body, len, s->auth_code);
		assert_non_null(m);
		if (pg_decode(&pp->decoded, m, body, len) != 0)
			fail_msg("generated %s does not decode", m->name);
	}
}

/* ---- mutations ---------------------------------------------------------------------------- */

static const uint32_t interesting32[] = {
	0, 1, 3, 4, 5, 0x7f, 0x80, 0xff, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xfffffffe,
	0xffffffff, 0x40000000, 0x40000004, 0x40000005, WF_PG_PROTOCOL_3_0, WF_PG_SSL_REQUEST,
	WF_PG_CANCEL_REQUEST, 10000, 10001,
};

static void put_be(uint8_t *p, uint32_t v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* Mutates buf[0..*len) in place; room for at least *len + 64 bytes. */
static void mutate(uint8_t *buf, size_t *len, size_t cap)
{
	size_t at, n, i;
	const struct sample *other;

	switch (rnd_below(9)) {
	case 0:	/* flip a bit */
		if (*len)
			buf[rnd_below(*len)] ^= (uint8_t)(1u << rnd_below(8));
		break;
	case 1:	/* an interesting byte */
		if (*len)
			buf[rnd_below(*len)] = (uint8_t[]){ 0, 0xff, 0x7f, 0x80, 'R', 'p', 'E', 'N' }[rnd_below(8)];
		break;
	case 2:	/* an interesting Int32 (lengths, counts, codes) */
	case 3:
		if (*len >= 4) {
			at = rnd_below(*len - 3);
			put_be(buf + at, interesting32[rnd_below(ARRAY_LEN(interesting32))], 4);
		}
		break;
	case 4:	/* an interesting Int16 */
		if (*len >= 2)
			put_be(buf + rnd_below(*len - 1),
			       (uint16_t[]){ 0, 1, 0x7fff, 0x8000, 0xffff }[rnd_below(5)], 2);
		break;
	case 5:	/* insert random bytes */
		n = 1 + rnd_below(8);
		if (*len + n > cap)
			break;
		at = rnd_below(*len + 1);
		memmove(buf + at + n, buf + at, *len - at);
		for (i = 0; i < n; i++)
			buf[at + i] = (uint8_t)rnd();
		*len += n;
		break;
	case 6:	/* delete a range */
		if (!*len)
			break;
		at = rnd_below(*len);
		n = 1 + rnd_below(*len - at < 8 ? *len - at : 8);
		memmove(buf + at, buf + at + n, *len - at - n);
		*len -= n;
		break;
	case 7:	/* truncate */
		*len = rnd_below(*len + 1);
		break;
	default:	/* splice in part of another message */
		other = &corpus[rnd_below(ncorpus)];
		n = rnd_below(other->wire.len + 1);
		if (*len + n > cap)
			break;
		at = rnd_below(*len + 1);
		memmove(buf + at + n, buf + at, *len - at);
		memcpy(buf + at, other->wire.data + rnd_below(other->wire.len - n + 1), n);
		*len += n;
		break;
	}
}

/* ---- checks ------------------------------------------------------------------------------- */

static struct pg_printer printer;
static struct strbuf out;
static uint64_t outputs, json_outputs;
/* what the JSON said: how much of the fuzzing reached each outcome */
static uint64_t n_decoded, n_malformed, n_raw, n_frames[PG_FRAME_UNPARSED + 1];

static void check_json(const struct strbuf *sb)
{
	size_t at;

	assert_false(strbuf_failed(sb));
	if (!json_check(sb->buf ? sb->buf : "", sb->len, &at))
		fail_msg("invalid JSON at byte %zu: %s", at, sb->buf);
	json_outputs++;
}

static void check_bounded(const struct strbuf *sb, uint64_t len)
{
	assert_false(strbuf_failed(sb));
	if (sb->len > OUTPUT_BOUND(len))
		fail_msg("%zu bytes of output for %" PRIu64 " bytes of body: %s", sb->len, len, sb->buf);
	outputs++;
}

/* Prints and exports one message, checking both. */
static void print_and_json(enum wf_dir dir, uint8_t type, const uint8_t *body, size_t len,
			   int32_t auth_code)
{
	strbuf_reset(&out);
	pg_print_message(&printer, &out, dir, type, body, len, auth_code);
	check_bounded(&out, len);
	strbuf_reset(&out);
	pg_json_message(&printer, &out, dir, type, body, len, auth_code);
	check_bounded(&out, len);
	check_json(&out);
	if (strstr(out.buf, "\"fields\":"))
		n_decoded++;
	else if (strstr(out.buf, "\"malformed\":true"))
		n_malformed++;
	else
		n_raw++;
}

/* ---- single messages ---------------------------------------------------------------------- */

static void round_message(void)
{
	const struct sample *s = &corpus[rnd_below(ncorpus)];
	uint8_t buf[1024];
	size_t len = s->wire.len, k, rounds = rnd_below(5);
	int32_t auth = s->auth_code;
	uint8_t type = s->type;
	enum wf_dir dir = s->dir;

	memcpy(buf, s->wire.data, len);
	for (k = 0; k < rounds; k++)
		mutate(buf, &len, sizeof(buf) - 64);
	if (rnd_below(8) == 0)
		auth = (int32_t)(rnd_below(2) ? rnd_below(14) : (uint32_t)rnd());
	if (rnd_below(16) == 0)
		type = (uint8_t)rnd();
	if (rnd_below(16) == 0)
		dir = (enum wf_dir)!dir;
	/* the body: whatever follows the header, if anything does */
	if (len < WF_PG_TYPED_HDR_LEN)
		print_and_json(dir, type, buf, len, auth);
	else
		print_and_json(dir, type, buf + WF_PG_TYPED_HDR_LEN, len - WF_PG_TYPED_HDR_LEN, auth);
}

/* ---- whole connections ---------------------------------------------------------------------- */

struct conn_check {
	enum wf_dir dir;
	uint64_t fed[WF_DIR__COUNT];	/* bytes fed so far */
	uint64_t framed[WF_DIR__COUNT];	/* bytes reported in frames */
};

static void on_frame(void *arg, const struct pg_frame *f)
{
	struct conn_check *c = arg;

	strbuf_reset(&out);
	n_frames[f->kind]++;
	switch (f->kind) {
	case PG_FRAME_MESSAGE:
		c->framed[c->dir] += WF_PG_TYPED_HDR_LEN + f->len;
		print_and_json(c->dir, f->type, f->body, f->len, f->auth_code);
		break;
	case PG_FRAME_NOT_RETAINED:
		c->framed[c->dir] += WF_PG_TYPED_HDR_LEN + f->len;
		pg_print_not_retained(&out, c->dir, f->type, f->len);
		check_bounded(&out, 0);
		strbuf_reset(&out);
		pg_json_not_retained(&out, c->dir, f->type, f->len);
		check_bounded(&out, 0);
		check_json(&out);
		break;
	case PG_FRAME_STARTUP:
		c->framed[c->dir] += WF_PG_UNTYPED_HDR_LEN + f->len;
		assert_true(f->len <= WF_PG_STARTUP_MAX_LEN);
		pg_json_startup(&out, f->code, f->body, f->len);
		check_bounded(&out, f->len);
		check_json(&out);
		break;
	case PG_FRAME_ANSWER:
		c->framed[c->dir] += 1;
		pg_json_answer(&out, f->type);
		check_bounded(&out, 1);
		check_json(&out);
		break;
	case PG_FRAME_UNPARSED:
		c->framed[c->dir] += f->len;
		break;
	}
	/* nothing is reported that was not fed (a message's body may precede its frame) */
	assert_true(c->framed[c->dir] <= c->fed[c->dir]);
}

/* Appends a random corpus message of direction dir. */
static void add_message(struct pg_wire *w, enum wf_dir dir)
{
	const struct sample *s;

	do
		s = &corpus[rnd_below(ncorpus)];
	while (s->dir != dir);
	pgw_raw(w, s->wire.data, s->wire.len);
}

static void round_connection(void)
{
	static struct pg_wire stream[WF_DIR__COUNT];
	static uint8_t buf[WF_DIR__COUNT][8192];
	size_t len[WF_DIR__COUNT], at[WF_DIR__COUNT] = { 0, 0 }, i, k, n;
	struct conn_check c = { 0 };
	struct pg_conn_stream cs;
	size_t max_message = rnd_below(2) ? 16 + rnd_below(64) : 1 << 20;
	bool from_start = rnd_below(4) != 0;
	int d;

	for (d = 0; d < WF_DIR__COUNT; d++)
		pgw_reset(&stream[d]);
	if (from_start) {
		switch (rnd_below(5)) {
		case 0:
			pgw_ssl_request(&stream[WF_DIR_FRONTEND]);
			pgw_u8(&stream[WF_DIR_BACKEND], "NNSG"[rnd_below(4)]);
			/* the client goes on unencrypted after an N */
			/* fallthrough */
		case 1:
		case 2:
			pgw_startup(&stream[WF_DIR_FRONTEND], "u", "db");
			break;
		case 3:
			pgw_gssenc_request(&stream[WF_DIR_FRONTEND]);
			pgw_u8(&stream[WF_DIR_BACKEND], 'N');
			pgw_startup(&stream[WF_DIR_FRONTEND], "u", "db");
			break;
		default:
			pgw_cancel_request(&stream[WF_DIR_FRONTEND], (uint32_t)rnd(), (uint32_t)rnd());
			break;
		}
	}
	for (d = 0; d < WF_DIR__COUNT; d++) {
		n = rnd_below(12);
		for (i = 0; i < n && stream[d].len < sizeof(buf[d]) / 2; i++)
			add_message(&stream[d], (enum wf_dir)d);
		len[d] = stream[d].len;
		memcpy(buf[d], stream[d].data, len[d]);
		n = rnd_below(4);
		for (k = 0; k < n; k++)
			mutate(buf[d], &len[d], sizeof(buf[d]) - 64);
	}

	pg_conn_stream_init(&cs, from_start, max_message);
	while (at[0] < len[0] || at[1] < len[1]) {
		bool unframed = rnd_below(64) == 0;

		d = at[0] == len[0] ? 1 : at[1] == len[1] ? 0 : (int)rnd_below(2);
		n = rnd_below(4) == 0 ? len[d] - at[d] : 1 + rnd_below(len[d] - at[d] < 40 ?
								      len[d] - at[d] : 40);
		c.dir = (enum wf_dir)d;
		c.fed[d] += n;
		pg_conn_stream_feed(&cs, (enum wf_dir)d, buf[d] + at[d], n, unframed, on_frame, &c);
		at[d] += n;
		/* at most one message per direction, retained only up to max_message
		 * (startup packets, up to their 10000 bytes, always) */
		assert_true(pg_conn_stream_buffered(&cs) <=
			    2 * (max_message > WF_PG_STARTUP_MAX_LEN ? max_message : WF_PG_STARTUP_MAX_LEN));
	}
	pg_conn_stream_free(&cs);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_fuzz(void **state)
{
	const char *secs_env = getenv("WF_FUZZ_SECONDS"), *seed_env = getenv("WF_FUZZ_SEED");
	double seconds = secs_env && *secs_env ? atof(secs_env) : 0;
	uint64_t seed = seed_env && *seed_env ? strtoull(seed_env, NULL, 0) : DEFAULT_SEED;
	uint64_t rounds = 0;
	struct timespec t0;

	(void)state;
	rng_state = seed ? seed : 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	build_corpus(&printer);
	for (;;) {
		if (seconds > 0 ? (rounds & 63) == 0 && elapsed(&t0) >= seconds :
				  rounds >= DEFAULT_ROUNDS)
			break;
		if (rnd_below(2))
			round_message();
		else
			round_connection();
		rounds++;
	}
	print_message("fuzz: %" PRIu64 " rounds (%zu corpus messages), %" PRIu64 " outputs, %" PRIu64
		      " JSON objects checked, %.1f s, WF_FUZZ_SEED=%#" PRIx64 "\n",
		      rounds, ncorpus, outputs, json_outputs, elapsed(&t0), seed);
	print_message("fuzz: messages decoded %" PRIu64 ", malformed %" PRIu64 ", raw %" PRIu64
		      "; frames: message %" PRIu64 ", startup %" PRIu64 ", answer %" PRIu64
		      ", not retained %" PRIu64 ", unparsed %" PRIu64 "\n",
		      n_decoded, n_malformed, n_raw, n_frames[PG_FRAME_MESSAGE],
		      n_frames[PG_FRAME_STARTUP], n_frames[PG_FRAME_ANSWER],
		      n_frames[PG_FRAME_NOT_RETAINED], n_frames[PG_FRAME_UNPARSED]);
	assert_true(n_decoded && n_malformed && n_raw);
}

static int teardown(void **state)
{
	size_t i;

	for (i = 0; i < ncorpus; i++)
		pgw_free(&corpus[i].wire);
	pg_printer_free(&printer);
	strbuf_free(&out);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
