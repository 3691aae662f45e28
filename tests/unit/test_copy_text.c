// SPDX-License-Identifier: GPL-2.0
/* COPY text encoding of FIFO commands and answers (user/copy_text.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "copy_text.h"

static void check_escape(const char *in, const char *want)
{
	char *out = wf_copy_text_escape(in, strlen(in));

	assert_non_null(out);
	assert_string_equal(out, want);
	free(out);
}

static void test_escape_like_copy_to(void **state)
{
	(void)state;
	check_escape("conn.allow()", "conn.allow()");
	/* SQL 'pg_table_size\(' reaches the FIFO with the backslash doubled. */
	check_escape("onQuery(query=\"pg_table_size\\(\")", "onQuery(query=\"pg_table_size\\\\(\")");
	check_escape("a\tb\nc\rd\be\ff\vg", "a\\tb\\nc\\rd\\be\\ff\\vg");
	check_escape("", "");
	check_escape("é日本", "é日本");
}

static void check_unescape(const char *in, const char *want, size_t want_len)
{
	char buf[256];
	size_t n;

	strcpy(buf, in);
	n = wf_copy_text_unescape(buf, strlen(buf));
	assert_int_equal(n, want_len);
	assert_memory_equal(buf, want, want_len);
}

static void test_unescape_like_copy_from(void **state)
{
	(void)state;
	check_unescape("plain", "plain", 5);
	check_unescape("a\\\\b", "a\\b", 3);
	check_unescape("\\t\\n\\r\\b\\f\\v", "\t\n\r\b\f\v", 6);
	check_unescape("\\101\\x41\\x4", "AA\x04", 3);
	check_unescape("\\q", "q", 1);		/* any other escaped char stands for itself */
	check_unescape("end\\", "end\\", 4);	/* a lone trailing backslash is kept */
	check_unescape("\\xZ", "xZ", 2);
}

static void test_round_trip(void **state)
{
	char all[255];

	(void)state;
	for (int i = 0; i < 255; i++)
		all[i] = (char)(i + 1);
	char *enc = wf_copy_text_escape(all, sizeof(all));

	assert_non_null(enc);
	assert_null(strchr(enc, '\n'));
	assert_null(strchr(enc, '\t'));
	size_t n = wf_copy_text_unescape(enc, strlen(enc));

	assert_int_equal(n, sizeof(all));
	assert_memory_equal(enc, all, sizeof(all));
	free(enc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_like_copy_to),
		cmocka_unit_test(test_unescape_like_copy_from),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
