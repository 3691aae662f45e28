// SPDX-License-Identifier: GPL-2.0
/* Python 3.11's repr() and bytes.decode() rules; expected values come from CPython. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pyrepr.h"
#include "utf8.h"

static struct strbuf out;

static const char *repr_str(const char *s)
{
	strbuf_reset(&out);
	pyrepr_str(&out, s, strlen(s));
	assert_false(strbuf_failed(&out));
	return out.buf;
}

static const char *repr_bytes(const void *b, size_t len)
{
	strbuf_reset(&out);
	pyrepr_bytes(&out, b, len);
	assert_false(strbuf_failed(&out));
	return out.buf;
}

static const char *decode(const void *b, size_t len)
{
	strbuf_reset(&out);
	py_decode_utf8(&out, b, len);
	assert_false(strbuf_failed(&out));
	return out.buf ? out.buf : "";
}

static void test_str_quote_choice(void **state)
{
	assert_string_equal(repr_str(""), "''");
	assert_string_equal(repr_str("abc"), "'abc'");
	assert_string_equal(repr_str("it's"), "\"it's\"");
	assert_string_equal(repr_str("a'b\"c"), "'a\\'b\"c'");
	assert_string_equal(repr_str("\"q\""), "'\"q\"'");
}

static void test_str_escapes(void **state)
{
	assert_string_equal(repr_str("tab\there\nnl\rcr\\bs"), "'tab\\there\\nnl\\rcr\\\\bs'");
	assert_string_equal(repr_str("\x01\x1f\x7f"), "'\\x01\\x1f\\x7f'");
}

static void test_str_non_ascii(void **state)
{
	/* printable non-ASCII stays; the rest is escaped by size */
	assert_string_equal(repr_str("é日本"), "'é日本'");
	assert_string_equal(repr_str("\xc2\x85\xc2\xa0\xc2\xad"), "'\\x85\\xa0\\xad'");
	assert_string_equal(repr_str("\u200b\u2028\ue000\u0378"), "'\\u200b\\u2028\\ue000\\u0378'");
	assert_string_equal(repr_str("😀\U000e0001\U0010ffff"), "'😀\\U000e0001\\U0010ffff'");
}

static void test_bytes(void **state)
{
	assert_string_equal(repr_bytes("", 0), "b''");
	assert_string_equal(repr_bytes("it's", 4), "b\"it's\"");
	assert_string_equal(repr_bytes("a'\"", 3), "b'a\\'\"'");
	assert_string_equal(repr_bytes("\x00\x01\t\n\r\\\x7f\x80\xff", 9),
			    "b'\\x00\\x01\\t\\n\\r\\\\\\x7f\\x80\\xff'");
	assert_string_equal(repr_bytes("é", 2), "b'\\xc3\\xa9'");
}

static void test_decode_backslashreplace(void **state)
{
	assert_string_equal(decode("caf\xc3\xa9", 5), "café");
	assert_string_equal(decode("\xff", 1), "\\xff");
	assert_string_equal(decode("\xe6\x97", 2), "\\xe6\\x97");		/* truncated */
	assert_string_equal(decode("\xed\xa0\x80", 3), "\\xed\\xa0\\x80");	/* surrogate */
	assert_string_equal(decode("\xc0\xaf", 2), "\\xc0\\xaf");		/* overlong */
	assert_string_equal(decode("\xf4\x90\x80\x80", 4), "\\xf4\\x90\\x80\\x80"); /* > U+10FFFF */
	assert_string_equal(decode("a\xe6\x97" "A", 4), "a\\xe6\\x97A");
	assert_string_equal(decode("\xf0\x9f\x98\x80\xf0\x9f", 6), "😀\\xf0\\x9f");
	/* what decode gives is a str: repr doubles its backslashes */
	decode("\xff", 1);
	assert_string_equal(repr_str("\\xff"), "'\\\\xff'");
}

static void test_utf8_valid(void **state)
{
	assert_true(wf_utf8_valid("", 0));
	assert_true(wf_utf8_valid("é日本😀", strlen("é日本😀")));
	assert_false(wf_utf8_valid("conn.allow()\xff", 13));
	assert_false(wf_utf8_valid("\xed\xa0\x80", 3));
}

static int teardown(void **state)
{
	strbuf_free(&out);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_quote_choice),
		cmocka_unit_test(test_str_escapes),
		cmocka_unit_test(test_str_non_ascii),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_decode_backslashreplace),
		cmocka_unit_test(test_utf8_valid),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
