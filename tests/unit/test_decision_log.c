// SPDX-License-Identifier: GPL-2.0
/*
 * The decision log (user/decision_log.h): bounded, oldest out first, every
 * decision counted; each entry printed as a line or a JSON object whose
 * fields name the decision the same way in any run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "decision_log.h"
#include "json_check.h"
#include "strbuf.h"
#include "wf_random.h"

static struct wf_decision_entry entry(uint32_t message, bool passed)
{
	struct wf_decision_entry e = {
		.wall_ns = 1765000000ULL * 1000000000ULL + 123456789,
		.conn_id = 7,
		.pipe_gen = 3,
		.dir = WF_DIR_FRONTEND,
		.d = { .seed = 42, .ident = 0xc68dcd2080a612c9ULL, .threshold = WF_PROBABILITY_ONE / 4,
		       .message = message, .draw = passed ? 1 : 0xffffffffu, .filter = 1,
		       .passed = passed },
	};

	e.flow.family = WF_FAMILY_IPV4;
	e.flow.client_addr[10] = e.flow.client_addr[11] = 0xff;
	e.flow.client_addr[12] = 127;
	e.flow.client_addr[15] = 1;
	memcpy(e.flow.server_addr, e.flow.client_addr, 16);
	e.flow.client_port = 54124;
	e.flow.server_port = 5432;
	return e;
}

static void collect(void *ctx, const struct wf_decision_entry *e)
{
	struct strbuf *sb = ctx;

	strbuf_addf(sb, "%u,", e->d.message);
}

static void test_bounded(void **state)
{
	struct wf_decision_log *log = wf_decision_log_new(1500);
	struct wf_decision_log_stats st;
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	assert_null(wf_decision_log_new(0));
	assert_non_null(log);
	for (uint32_t i = 0; i < 4000; i++) {
		struct wf_decision_entry e = entry(i, i % 4 == 0);

		wf_decision_log_add(log, &e);
	}
	wf_decision_log_get_stats(log, &st);
	assert_int_equal(st.total, 4000);
	assert_int_equal(st.passed, 1000);
	assert_int_equal(st.kept, 1500);
	assert_int_equal(st.dropped, 2500);
	/* the newest 1500, oldest first */
	wf_decision_log_for_each(log, collect, &sb);
	assert_true(strncmp(sb.buf, "2500,2501,", 10) == 0);
	assert_non_null(strstr(sb.buf, ",3999,"));
	assert_null(strstr(sb.buf, ",2499,"));
	strbuf_free(&sb);
	wf_decision_log_free(log);
	wf_decision_log_free(NULL);
}

static void test_format(void **state)
{
	struct wf_decision_entry e = entry(9, true);
	struct strbuf sb = STRBUF_INIT;

	(void)state;
	wf_decision_format(&sb, &e, false);
	assert_non_null(strstr(sb.buf, " gen 3 conn 7 127.0.0.1:54124 > 127.0.0.1:5432 seed 42 "
				   "ident c68dcd2080a612c9 message 9 filter 1 p 0.25 draw "));
	assert_true(sb.buf[sb.len - 1] == '\n');
	assert_non_null(strstr(sb.buf, " pass\n"));
	strbuf_reset(&sb);
	e = entry(10, false);
	e.dir = WF_DIR_BACKEND;
	wf_decision_format(&sb, &e, true);
	sb.buf[sb.len - 1] = '\0';	/* one object per line */
	assert_true(json_check(sb.buf, strlen(sb.buf), NULL));
	assert_non_null(strstr(sb.buf, "\"direction\":\"backend\""));
	assert_non_null(strstr(sb.buf, "\"ident\":\"c68dcd2080a612c9\""));
	assert_non_null(strstr(sb.buf, "\"passed\":false"));
	assert_non_null(strstr(sb.buf, "\"p\":0.25"));
	strbuf_free(&sb);
}

/* The draw itself: deterministic, every input matters, uniform enough for p. */
static void test_draw(void **state)
{
	uint64_t below = 0;

	(void)state;
	assert_int_equal(wf_draw(42, 5, 0, 7, 1), wf_draw(42, 5, 0, 7, 1));
	assert_int_not_equal(wf_draw(42, 5, 0, 7, 1), wf_draw(43, 5, 0, 7, 1));
	assert_int_not_equal(wf_draw(42, 5, 0, 7, 1), wf_draw(42, 6, 0, 7, 1));
	assert_int_not_equal(wf_draw(42, 5, 0, 7, 1), wf_draw(42, 5, 1, 7, 1));
	assert_int_not_equal(wf_draw(42, 5, 0, 7, 1), wf_draw(42, 5, 0, 8, 1));
	assert_int_not_equal(wf_draw(42, 5, 0, 7, 1), wf_draw(42, 5, 0, 7, 2));
	for (uint32_t m = 0; m < 100000; m++)
		below += wf_draw(1, 99, 0, m, 0) < WF_PROBABILITY_ONE / 10;
	assert_true(below > 9500 && below < 10500);	/* p = 0.1 within 5% */
	/* jitter: ms - j .. ms + j, never negative */
	assert_int_equal(wf_jittered_ms(200, 0, 12345), 200);
	for (uint32_t d = 0; d < 1000; d++) {
		int64_t v = wf_jittered_ms(200, 150, wf_draw(3, 4, 0, d, WF_DRAW_SALT_JITTER));

		assert_true(v >= 50 && v <= 350);
		assert_true(wf_jittered_ms(10, 50, d * 7919u) >= 0);
	}
	assert_int_equal(wf_ident_of(1, 0) & 1, 1);
	assert_int_not_equal(wf_ident_of(1, 0), wf_ident_of(1, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bounded),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_draw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
