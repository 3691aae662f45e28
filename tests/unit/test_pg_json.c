// SPDX-License-Identifier: GPL-2.0
/*
 * JSON of messages (user/pg_json.c, docs/json.md): exact objects for each
 * kind of message and value, invalid UTF-8, NULLs, malformed bodies,
 * startup packets and answers.  Every output also goes through a strict
 * JSON validator, which is itself checked first.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json_check.h"
#include "pg_json.h"
#include "pg_wire_builder.h"
#include "wf_pg_proto.h"

#define FE WF_DIR_FRONTEND
#define BE WF_DIR_BACKEND

static struct pg_printer printer;
static struct pg_wire w;
static struct strbuf out;

static void assert_json(const struct strbuf *sb)
{
	size_t at;

	assert_false(strbuf_failed(sb));
	assert_non_null(sb->buf);
	if (!json_check(sb->buf, sb->len, &at))
		fail_msg("invalid JSON at byte %zu: %s", at, sb->buf);
}

/* The JSON of the one message built in w, as answering Authentication auth_code. */
static const char *json_after(enum wf_dir dir, int32_t auth_code)
{
	const uint8_t *p = w.data;

	strbuf_reset(&out);
	assert_true(w.len >= 5);
	pg_json_message(&printer, &out, dir, p[0], p + 5, w.len - 5, auth_code);
	assert_json(&out);
	pgw_reset(&w);
	return out.buf;
}

static const char *json(enum wf_dir dir)
{
	return json_after(dir, -1);
}

/* The JSON of the untyped packet built in w. */
static const char *json_startup(void)
{
	strbuf_reset(&out);
	assert_true(w.len >= 8);
	pg_json_startup(&out, (uint32_t)w.data[4] << 24 | (uint32_t)w.data[5] << 16 |
			(uint32_t)w.data[6] << 8 | w.data[7], w.data + 8, w.len - 8);
	assert_json(&out);
	pgw_reset(&w);
	return out.buf;
}

static bool valid(const char *s)
{
	return json_check(s, strlen(s), NULL);
}

static void test_validator(void **state)
{
	static const char *const good[] = {
		"{}", "[]", " {\"a\" : [1, -0, 0.5, 1e3, -2.5E-7, true, false, null]} ",
		"\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"é日本\"", "0", "{\"a\":{\"a\":{}}}",
	};
	static const char *const bad[] = {
		"", "{", "}", "[1,]", "{\"a\"}", "{\"a\":1,}", "{a:1}", "01", "1.", ".5", "-", "1e",
		"+1", "\"\t\"", "\"\\x41\"", "\"\\u12\"", "\"\\ud83d\"", "\"\\ude00\"", "\"abc",
		"tru", "nul", "[1 2]", "{} {}", "\"\xff\"", "\"\xc3\"", "\"\xed\xa0\x80\"", "'a'",
		"NaN", "[\"a\"", "{\"a\":1 \"b\":2}",
	};
	char deep[2 * JSON_CHECK_MAX_DEPTH + 8];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!valid(good[i]))
			fail_msg("refused: %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (valid(bad[i]))
			fail_msg("accepted: %s", bad[i]);
	assert_false(json_check("\"a\0\"", 4, NULL));	/* a raw NUL is a control character */
	/* nesting is bounded */
	memset(deep, '[', JSON_CHECK_MAX_DEPTH);
	memset(deep + JSON_CHECK_MAX_DEPTH, ']', JSON_CHECK_MAX_DEPTH);
	assert_true(json_check(deep, 2 * JSON_CHECK_MAX_DEPTH, NULL));
	memset(deep, '[', JSON_CHECK_MAX_DEPTH + 1);
	memset(deep + JSON_CHECK_MAX_DEPTH + 1, ']', JSON_CHECK_MAX_DEPTH + 1);
	assert_false(json_check(deep, 2 * JSON_CHECK_MAX_DEPTH + 2, NULL));
}

static const char *string_of(const void *s, size_t len)
{
	strbuf_reset(&out);
	pg_json_string(&out, s, len);
	assert_json(&out);
	return out.buf;
}

static void test_string(void **state)
{
	uint8_t all[256];
	size_t i;

	assert_string_equal(string_of("", 0), "\"\"");
	assert_string_equal(string_of("a\"b\\c/", 6), "\"a\\\"b\\\\c/\"");
	assert_string_equal(string_of("\t\n\r\x01\x1f\x7f", 6), "\"\\u0009\\u000a\\u000d\\u0001\\u001f\x7f\"");
	assert_string_equal(string_of("\0x", 2), "\"\\u0000x\"");
	/* valid UTF-8 kept, each invalid byte one U+FFFD */
	assert_string_equal(string_of("é日本😀\u2028", 15), "\"é日本😀\u2028\"");
	assert_string_equal(string_of("a\xff" "b\xc3", 4), "\"a\xef\xbf\xbd" "b\xef\xbf\xbd\"");
	assert_string_equal(string_of("\xed\xa0\x80", 3), "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"");
	assert_string_equal(string_of("\xc0\xaf", 2), "\"\xef\xbf\xbd\xef\xbf\xbd\"");
	/* every byte value, in one string */
	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)i;
	string_of(all, sizeof(all));
}

static void test_frontend(void **state)
{
	/* the query as sent: no normalization */
	pgw_query(&w, "SELECT * FROM public.t_102008 WHERE a = 'x\ty\"'");
	assert_string_equal(json(FE),
		"{\"type\":\"Query\",\"fields\":{\"query\":\"SELECT * FROM public.t_102008 WHERE a = 'x\\u0009y\\\"'\"}}");
	pgw_query(&w, "SELECT 'é', '\xff'");
	assert_string_equal(json(FE), "{\"type\":\"Query\",\"fields\":{\"query\":\"SELECT 'é', '\xef\xbf\xbd'\"}}");

	pgw_begin(&w, 'P');
	pgw_str(&w, "s1");
	pgw_str(&w, "SELECT $1");
	pgw_u16(&w, 1);
	pgw_u32(&w, 23);
	pgw_end(&w);
	assert_string_equal(json(FE),
		"{\"type\":\"Parse\",\"fields\":{\"name\":\"s1\",\"query\":\"SELECT $1\",\"parametercount\":1,\"parameters\":[23]}}");

	/* bytes: a string when they are text, hex otherwise; NULL is null */
	pgw_begin(&w, 'B');
	pgw_str(&w, "");
	pgw_str(&w, "s1");
	pgw_u16(&w, 0);
	pgw_u16(&w, 3);
	pgw_u32(&w, 2);
	pgw_raw(&w, "41", 2);
	pgw_u32(&w, 0xffffffff);
	pgw_u32(&w, 3);
	pgw_raw(&w, "\0\xff\x01", 3);
	pgw_u16(&w, 1);
	pgw_u16(&w, 1);
	pgw_end(&w);
	assert_string_equal(json(FE),
		"{\"type\":\"Bind\",\"fields\":{\"destination_portal\":\"\",\"prepared_statement\":\"s1\","
		"\"parameter_format_code_count\":0,\"parameter_format_codes\":[],\"parameter_value_count\":3,"
		"\"parameter_values\":[{\"length\":2,\"value\":\"41\"},{\"length\":-1,\"value\":null},"
		"{\"length\":3,\"value\":{\"hex\":\"00ff01\"}}],"
		"\"result_column_format_count\":1,\"result_column_format_codes\":[1]}}");

	/* enums by their symbol, the fields the printer drops or reorders too */
	pgw_begin(&w, 'D');
	pgw_u8(&w, 'P');
	pgw_str(&w, "");
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"Describe\",\"fields\":{\"type\":\"portal\",\"name\":\"\"}}");
	pgw_begin(&w, 'E');
	pgw_str(&w, "p1");
	pgw_u32(&w, 100);
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"Execute\",\"fields\":{\"name\":\"p1\",\"max_rows_to_return\":100}}");
	pgw_begin(&w, 'C');
	pgw_u8(&w, 'x');
	pgw_str(&w, "s1");
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"Close\",\"fields\":{\"type\":120,\"name\":\"s1\"}}");
	pgw_begin(&w, 'S');
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"Sync\",\"fields\":{}}");
	pgw_begin(&w, 'H');
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"Flush\",\"fields\":{}}");

	pgw_begin(&w, 'F');
	pgw_u32(&w, 1598);
	pgw_u16(&w, 1);
	pgw_u16(&w, 0);
	pgw_u16(&w, 1);
	pgw_u32(&w, 0xffffffff);
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(json(FE),
		"{\"type\":\"FunctionCall\",\"fields\":{\"function_oid\":1598,\"argument_format_code_count\":1,"
		"\"argument_format_codes\":[0],\"argument_count\":1,\"arguments\":[{\"length\":-1,\"value\":null}],"
		"\"result_format\":0}}");
	pgw_begin(&w, 'd');
	pgw_raw(&w, "1\tone\n", 6);
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"CopyData\",\"fields\":{\"data\":\"1\\u0009one\\u000a\"}}");
	pgw_begin(&w, 'd');
	pgw_raw(&w, "PGCOPY\n\xff\r\n\0", 11);
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"CopyData\",\"fields\":{\"data\":{\"hex\":\"5047434f50590aff0d0a00\"}}}");
	pgw_begin(&w, 'f');
	pgw_str(&w, "canceled");
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"CopyFail\",\"fields\":{\"message\":\"canceled\"}}");
}

static void test_password_answers(void **state)
{
	/* the password never appears, only its length, as in the printer */
	pgw_begin(&w, 'p');
	pgw_str(&w, "s3cret\"");
	pgw_end(&w);
	assert_string_equal(json_after(FE, 3),
			    "{\"type\":\"PasswordMessage\",\"fields\":{\"password\":\"<7 bytes hidden>\"}}");
	pgw_begin(&w, 'p');
	pgw_str(&w, "md5a3556571e93b0d20722ba62be61e8c2d");
	pgw_end(&w);
	assert_string_equal(json_after(FE, 5),
			    "{\"type\":\"PasswordMessage\",\"fields\":{\"password\":\"<35 bytes hidden>\"}}");
	pgw_begin(&w, 'p');
	pgw_str(&w, "SCRAM-SHA-256");
	pgw_u32(&w, 0xffffffff);
	pgw_end(&w);
	assert_string_equal(json_after(FE, 10),
		"{\"type\":\"SASLInitialResponse\",\"fields\":{\"mechanism\":\"SCRAM-SHA-256\",\"length\":-1,\"data\":null}}");
	pgw_begin(&w, 'p');
	pgw_str(&w, "SCRAM-SHA-256");
	pgw_u32(&w, 8);
	pgw_raw(&w, "n,,n=,r=", 8);
	pgw_end(&w);
	assert_string_equal(json_after(FE, 10),
		"{\"type\":\"SASLInitialResponse\",\"fields\":{\"mechanism\":\"SCRAM-SHA-256\",\"length\":8,\"data\":\"n,,n=,r=\"}}");
	pgw_begin(&w, 'p');
	pgw_raw(&w, "c=biws,r=x,p=y", 14);
	pgw_end(&w);
	assert_string_equal(json_after(FE, 11), "{\"type\":\"SASLResponse\",\"fields\":{\"data\":\"c=biws,r=x,p=y\"}}");
	pgw_begin(&w, 'p');
	pgw_raw(&w, "\x60\x82", 2);
	pgw_end(&w);
	assert_string_equal(json_after(FE, 8), "{\"type\":\"GSSResponse\",\"fields\":{\"data\":{\"hex\":\"6082\"}}}");
	/* no Authentication seen: raw, as the printer shows it */
	pgw_begin(&w, 'p');
	pgw_str(&w, "pw");
	pgw_end(&w);
	assert_string_equal(json(FE),
			    "{\"type\":\"AuthenticationResponse\",\"fields\":{\"data\":\"<3 bytes hidden>\"}}");
	/* a password without its NUL does not fit */
	pgw_begin(&w, 'p');
	pgw_raw(&w, "pw", 2);
	pgw_end(&w);
	assert_string_equal(json_after(FE, 3),
		"{\"type\":\"PasswordMessage\",\"malformed\":true,\"length\":2,\"body\":{\"hex\":\"7077\"}}");
}

static void test_backend(void **state)
{
	const char *const values[] = { "1", NULL, "é" };

	/* the values the printer masks are shown: they are only masked for fluent's dumps */
	pgw_parameter_status(&w, "TimeZone", "Europe/Paris");
	assert_string_equal(json(BE),
			    "{\"type\":\"ParameterStatus\",\"fields\":{\"name\":\"TimeZone\",\"value\":\"Europe/Paris\"}}");
	pgw_begin(&w, 'K');
	pgw_u32(&w, 4242);
	pgw_u32(&w, 0xdeadbeef);
	pgw_end(&w);
	assert_string_equal(json(BE),
			    "{\"type\":\"BackendKeyData\",\"fields\":{\"pid\":4242,\"key\":{\"hex\":\"deadbeef\"}}}");
	pgw_ready_for_query(&w, 'T');
	assert_string_equal(json(BE), "{\"type\":\"ReadyForQuery\",\"fields\":{\"state\":\"in_transaction_block\"}}");
	pgw_ready_for_query(&w, 'X');
	assert_string_equal(json(BE), "{\"type\":\"ReadyForQuery\",\"fields\":{\"state\":88}}");
	pgw_command_complete(&w, "SELECT 1");
	assert_string_equal(json(BE), "{\"type\":\"CommandComplete\",\"fields\":{\"command\":\"SELECT 1\"}}");

	pgw_begin(&w, 'T');
	pgw_u16(&w, 1);
	pgw_str(&w, "a");
	pgw_u32(&w, 16384);
	pgw_u16(&w, 1);
	pgw_u32(&w, 23);
	pgw_u16(&w, 4);
	pgw_u32(&w, 0xffffffff);
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"RowDescription\",\"fields\":{\"fieldcount\":1,\"fields\":[{\"name\":\"a\",\"tableoid\":16384,"
		"\"colattrnum\":1,\"typoid\":23,\"typlen\":4,\"typmod\":-1,\"format_code\":0}]}}");
	pgw_data_row(&w, values, 3);
	assert_string_equal(json(BE),
		"{\"type\":\"DataRow\",\"fields\":{\"columncount\":3,\"columns\":[{\"length\":1,\"value\":\"1\"},"
		"{\"length\":-1,\"value\":null},{\"length\":2,\"value\":\"é\"}]}}");

	pgw_begin(&w, 'G');
	pgw_u8(&w, 0);
	pgw_u16(&w, 1);
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"CopyInResponse\",\"fields\":{\"format\":0,\"columncount\":1,\"columns\":[{\"format\":0}]}}");
	pgw_begin(&w, 't');
	pgw_u16(&w, 2);
	pgw_u32(&w, 23);
	pgw_u32(&w, 25);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"ParameterDescription\",\"fields\":{\"parametercount\":2,\"parameters\":[23,25]}}");
	pgw_begin(&w, 'A');
	pgw_u32(&w, 77);
	pgw_str(&w, "ch");
	pgw_str(&w, "{\"k\":1}");
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"NotificationResponse\",\"fields\":{\"pid\":77,\"channel\":\"ch\",\"payload\":\"{\\\"k\\\":1}\"}}");
	pgw_begin(&w, 'V');
	pgw_u32(&w, 0xffffffff);
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"FunctionCallResponse\",\"fields\":{\"length\":-1,\"value\":null}}");
	pgw_begin(&w, 'v');
	pgw_u32(&w, 0);
	pgw_u32(&w, 1);
	pgw_str(&w, "_pq_.x");
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"NegotiateProtocolVersion\",\"fields\":{\"newest_minor_version\":0,\"optioncount\":1,"
		"\"options\":[\"_pq_.x\"]}}");
	pgw_begin(&w, 's');
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"PortalSuspended\",\"fields\":{}}");
}

static void test_authentication(void **state)
{
	/* the code, which structs.py hides, is a field */
	pgw_begin(&w, 'R');
	pgw_u32(&w, 0);
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"AuthenticationOk\",\"fields\":{\"code\":0}}");
	pgw_begin(&w, 'R');
	pgw_u32(&w, 5);
	pgw_raw(&w, "\x9f\x01\x00\x7a", 4);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"AuthenticationMD5Password\",\"fields\":{\"code\":5,\"salt\":{\"hex\":\"9f01007a\"}}}");
	pgw_begin(&w, 'R');
	pgw_u32(&w, 10);
	pgw_str(&w, "SCRAM-SHA-256-PLUS");
	pgw_str(&w, "SCRAM-SHA-256");
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"AuthenticationSASL\",\"fields\":{\"code\":10,"
		"\"mechanisms\":[\"SCRAM-SHA-256-PLUS\",\"SCRAM-SHA-256\"]}}");
	pgw_begin(&w, 'R');
	pgw_u32(&w, 11);
	pgw_raw(&w, "r=abc,s=QSXCR+Q6sek8bf92,i=4096", 31);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"AuthenticationSASLContinue\",\"fields\":{\"code\":11,"
		"\"data\":\"r=abc,s=QSXCR+Q6sek8bf92,i=4096\"}}");
	pgw_begin(&w, 'R');
	pgw_u32(&w, 12);
	pgw_raw(&w, "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", 46);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"AuthenticationSASLFinal\",\"fields\":{\"code\":12,"
		"\"data\":\"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=\"}}");
	pgw_begin(&w, 'R');
	pgw_u32(&w, 7);
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"AuthenticationGSS\",\"fields\":{\"code\":7}}");
}

static void test_notices(void **state)
{
	pgw_begin(&w, 'E');
	pgw_u8(&w, 'S');
	pgw_str(&w, "ERROR");
	pgw_u8(&w, 'V');
	pgw_str(&w, "ERROR");
	pgw_u8(&w, 'C');
	pgw_str(&w, "22012");
	pgw_u8(&w, 'M');
	pgw_str(&w, "division by zero");
	pgw_u8(&w, 'P');
	pgw_str(&w, "8");
	pgw_u8(&w, 'F');
	pgw_str(&w, "int.c");
	pgw_u8(&w, 'L');
	pgw_str(&w, "841");
	pgw_u8(&w, 'R');
	pgw_str(&w, "int4div");
	pgw_u8(&w, 'X');
	pgw_str(&w, "\xff");
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"ErrorResponse\",\"fields\":{\"severity\":\"ERROR\",\"severity_not_localized\":\"ERROR\","
		"\"sqlstate\":\"22012\",\"message\":\"division by zero\",\"position\":\"8\",\"file_name\":\"int.c\","
		"\"line_no\":\"841\",\"routine_name\":\"int4div\",\"88\":\"\xef\xbf\xbd\"}}");
	pgw_begin(&w, 'N');
	pgw_u8(&w, 'S');
	pgw_str(&w, "NOTICE");
	pgw_u8(&w, 'M');
	pgw_str(&w, "hi\n");
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"NoticeResponse\",\"fields\":{\"severity\":\"NOTICE\",\"message\":\"hi\\u000a\"}}");
	pgw_begin(&w, 'N');
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"NoticeResponse\",\"fields\":{}}");
}

static void test_malformed_and_raw(void **state)
{
	size_t i;

	/* a body that does not fit its layout */
	pgw_begin(&w, 'E');
	pgw_u8(&w, 'S');
	pgw_str(&w, "ERROR");
	pgw_end(&w);
	assert_string_equal(json(BE),
		"{\"type\":\"ErrorResponse\",\"malformed\":true,\"length\":7,\"body\":{\"hex\":\"534552524f5200\"}}");
	pgw_begin(&w, 'D');
	pgw_u16(&w, 0xffff);
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"DataRow\",\"malformed\":true,\"length\":2,\"body\":{\"hex\":\"ffff\"}}");
	/* at most 256 bytes of it */
	pgw_begin(&w, 'Q');
	for (i = 0; i < 300; i++)
		pgw_u8(&w, 'a');
	pgw_end(&w);
	strbuf_reset(&out);
	pg_json_message(&printer, &out, FE, 'Q', w.data + 5, w.len - 5, -1);
	pgw_reset(&w);
	assert_json(&out);
	assert_int_equal(out.len, strlen("{\"type\":\"Query\",\"malformed\":true,\"length\":300,\"body\":{\"hex\":\"\"},"
					 "\"truncated\":true}") + 512);
	assert_non_null(strstr(out.buf, "\"length\":300,\"body\":{\"hex\":\"6161"));
	assert_non_null(strstr(out.buf, "6161\"},\"truncated\":true}"));

	/* types without a layout: named by direction and type byte, as the printer shows them */
	pgw_begin(&w, '!');
	pgw_raw(&w, "ab", 2);
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"Backend\",\"type_byte\":\"!\",\"length\":2,\"body\":{\"hex\":\"6162\"}}");
	pgw_begin(&w, 0x01);
	pgw_end(&w);
	assert_string_equal(json(FE), "{\"type\":\"Frontend\",\"type_byte\":\"\\u0001\",\"length\":0,\"body\":{\"hex\":\"\"}}");
	pgw_begin(&w, 0xe9);
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"Backend\",\"type_byte\":\"é\",\"length\":0,\"body\":{\"hex\":\"\"}}");
	pgw_begin(&w, '"');
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"Backend\",\"type_byte\":\"\\\"\",\"length\":0,\"body\":{\"hex\":\"\"}}");
	/* an Authentication with an unknown code, or too short to have one */
	pgw_begin(&w, 'R');
	pgw_u32(&w, 6);
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"Backend\",\"type_byte\":\"R\",\"length\":4,\"body\":{\"hex\":\"00000006\"}}");
	pgw_begin(&w, 'R');
	pgw_end(&w);
	assert_string_equal(json(BE), "{\"type\":\"Backend\",\"type_byte\":\"R\",\"length\":0,\"body\":{\"hex\":\"\"}}");

	/* bodies that were not kept */
	strbuf_reset(&out);
	pg_json_not_retained(&out, FE, 'Q', 2000000);
	assert_json(&out);
	assert_string_equal(out.buf, "{\"type\":\"Query\",\"length\":2000000,\"not_retained\":true}");
	strbuf_reset(&out);
	pg_json_not_retained(&out, FE, 'p', 5);
	assert_json(&out);
	assert_string_equal(out.buf, "{\"type\":\"AuthenticationResponse\",\"length\":5,\"not_retained\":true}");
}

static void test_startup(void **state)
{
	pgw_startup(&w, "alice", "db\"1");
	assert_string_equal(json_startup(),
		"{\"type\":\"StartupMessage\",\"fields\":{\"protocol\":\"3.0\",\"parameters\":{\"user\":\"alice\","
		"\"database\":\"db\\\"1\",\"application_name\":\"psql\"}}}");
	pgw_begin(&w, 0);
	pgw_u32(&w, 3 << 16 | 2);
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(json_startup(),
			    "{\"type\":\"StartupMessage\",\"fields\":{\"protocol\":\"3.2\",\"parameters\":{}}}");
	/* no empty name at the end */
	pgw_begin(&w, 0);
	pgw_u32(&w, WF_PG_PROTOCOL_3_0);
	pgw_str(&w, "user");
	pgw_str(&w, "\xff");
	pgw_end(&w);
	assert_string_equal(json_startup(),
		"{\"type\":\"StartupMessage\",\"malformed\":true,\"length\":7,\"body\":{\"hex\":\"7573657200ff00\"}}");
	pgw_begin(&w, 0);
	pgw_u32(&w, WF_PG_PROTOCOL_3_0);
	pgw_str(&w, "user");
	pgw_end(&w);
	assert_string_equal(json_startup(),
		"{\"type\":\"StartupMessage\",\"malformed\":true,\"length\":5,\"body\":{\"hex\":\"7573657200\"}}");

	pgw_ssl_request(&w);
	assert_string_equal(json_startup(), "{\"type\":\"SSLRequest\",\"fields\":{}}");
	pgw_gssenc_request(&w);
	assert_string_equal(json_startup(), "{\"type\":\"GSSENCRequest\",\"fields\":{}}");
	pgw_cancel_request(&w, 4242, 0x41424344);
	assert_string_equal(json_startup(), "{\"type\":\"CancelRequest\",\"fields\":{\"pid\":4242,\"key\":\"ABCD\"}}");
	pgw_cancel_request(&w, 4242, 0xdeadbeef);
	assert_string_equal(json_startup(),
			    "{\"type\":\"CancelRequest\",\"fields\":{\"pid\":4242,\"key\":{\"hex\":\"deadbeef\"}}}");
	pgw_begin(&w, 0);
	pgw_u32(&w, WF_PG_CANCEL_REQUEST);
	pgw_u32(&w, 1);
	pgw_end(&w);
	assert_string_equal(json_startup(),
		"{\"type\":\"CancelRequest\",\"malformed\":true,\"length\":4,\"body\":{\"hex\":\"00000001\"}}");
	pgw_begin(&w, 0);
	pgw_u32(&w, 1234);
	pgw_u8(&w, 7);
	pgw_end(&w);
	assert_string_equal(json_startup(), "{\"type\":\"Frontend\",\"code\":1234,\"length\":1,\"body\":{\"hex\":\"07\"}}");

	/* a body that could not be kept */
	strbuf_reset(&out);
	pg_json_startup(&out, WF_PG_PROTOCOL_3_0, NULL, 40);
	assert_json(&out);
	assert_string_equal(out.buf, "{\"type\":\"StartupMessage\",\"length\":40,\"not_retained\":true}");
}

static const char *answer(uint8_t b)
{
	strbuf_reset(&out);
	pg_json_answer(&out, b);
	assert_json(&out);
	return out.buf;
}

static void test_answers(void **state)
{
	assert_string_equal(answer('S'), "{\"type\":\"SSLResponse\",\"fields\":{\"accepted\":true}}");
	assert_string_equal(answer('G'), "{\"type\":\"GSSENCResponse\",\"fields\":{\"accepted\":true}}");
	assert_string_equal(answer('N'), "{\"type\":\"EncryptionResponse\",\"fields\":{\"accepted\":false}}");
	assert_string_equal(answer('E'),
		"{\"type\":\"EncryptionResponse\",\"malformed\":true,\"length\":1,\"body\":{\"hex\":\"45\"}}");
}

static int teardown(void **state)
{
	pg_printer_free(&printer);
	pgw_free(&w);
	strbuf_free(&out);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_validator),
		cmocka_unit_test(test_string),
		cmocka_unit_test(test_frontend),
		cmocka_unit_test(test_password_answers),
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_authentication),
		cmocka_unit_test(test_notices),
		cmocka_unit_test(test_malformed_and_raw),
		cmocka_unit_test(test_startup),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
