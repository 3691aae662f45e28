// SPDX-License-Identifier: GPL-2.0
/*
 * Each message type printed from hand-built bytes, as structs.py prints it
 * (the str that goes into the row's list, before repr), and the
 * normalizations.  Expected normalizations were checked against the
 * reference's Python code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "pg_normalize.h"
#include "pg_print.h"
#include "pg_stream.h"
#include "pg_wire_builder.h"

#define FE WF_DIR_FRONTEND
#define BE WF_DIR_BACKEND

static struct pg_printer printer;
static struct pg_wire w;
static struct strbuf out;

/* Prints the one message built in w, as answering Authentication auth_code. */
static const char *printed_after(enum wf_dir dir, int32_t auth_code)
{
	const uint8_t *p = w.data;

	strbuf_reset(&out);
	assert_true(w.len >= 5);
	pg_print_message(&printer, &out, dir, p[0], p + 5, w.len - 5, auth_code);
	assert_false(strbuf_failed(&out));
	pgw_reset(&w);
	return out.buf;
}

/* Prints the one message built in w (no Authentication seen). */
static const char *printed(enum wf_dir dir)
{
	return printed_after(dir, -1);
}

static const char *query(const char *sql)
{
	pgw_query(&w, sql);
	return printed(FE);
}

static const char *normalized(const char *text)
{
	strbuf_reset(&out);
	pg_normalize_query(&out, text, strlen(text));
	assert_false(strbuf_failed(&out));
	return out.buf;
}

static void test_query(void **state)
{
	assert_string_equal(query("SELECT 1"), "Query(query=SELECT 1)");
	assert_string_equal(query(""), "Query(query=)");
	assert_string_equal(query("SELECT 'a\tb\\c'"), "Query(query=SELECT 'a\tb\\c')");
	/* deliberate: UTF-8 decoded, invalid bytes as \xNN text */
	assert_string_equal(query("SELECT 'é日本'"), "Query(query=SELECT 'é日本')");
	assert_string_equal(query("SELECT '\xff'"), "Query(query=SELECT '\\xff')");
	/* bytes after the terminating NUL are ignored, as construct does */
	pgw_begin(&w, 'Q');
	pgw_str(&w, "SELECT 2");
	pgw_raw(&w, "junk", 4);
	pgw_end(&w);
	assert_string_equal(printed(FE), "Query(query=SELECT 2)");
	/* no NUL: the body does not fit; printed raw */
	pgw_begin(&w, 'Q');
	pgw_raw(&w, "SELECT", 6);
	pgw_end(&w);
	assert_string_equal(printed(FE), "Frontend(type=Q,body=b'SELECT')");
}

static void test_normalize_shards(void **state)
{
	assert_string_equal(normalized("COPY public.copy_test_120340 (key) FROM STDIN"),
			    "COPY public.copy_test_XXXXXX (key) FROM STDIN");
	assert_string_equal(normalized("public.t_2 public.Ab_1 public.abc public.a_ xpublic.a12b public.é1 public._9"),
			    "public.t_X public.Ab_1 public.abc public.a_ xpublic.aXXb public.é1 public._X");
	/* printed through Query */
	assert_string_equal(query("SELECT * FROM public.t_102008"),
			    "Query(query=SELECT * FROM public.t_XXXXXX)");
}

static void test_normalize_timestamps(void **state)
{
	assert_string_equal(normalized("2018-06-07 05:18:19.388992-07 2018-06-11 05:30:43.01-07"),
			    "XXXX-XX-XX XX:XX:XX.XXXXXX-XX XXXX-XX-XX XX:XX:XX.XXXXXX-XX");
	/* 1 or 7 fractional digits, a positive offset: no match */
	assert_string_equal(normalized("2018-06-07 05:18:19.1-07 2018-06-07 05:18:19.1234567-07 2018-06-07 05:18:19.123+07"),
			    "2018-06-07 05:18:19.1-07 2018-06-07 05:18:19.1234567-07 2018-06-07 05:18:19.123+07");
	/* the unescaped '.' takes any character but a newline, even a non-ASCII one */
	assert_string_equal(normalized("2018-06-07 05:18:19x123-0700 12018-06-07 05:18:19é12-07"),
			    "XXXX-XX-XX XX:XX:XX.XXXXXX-XX00 1XXXX-XX-XX XX:XX:XX.XXXXXX-XX");
	assert_string_equal(normalized("2018-06-07 05:18:19\n12-07"), "2018-06-07 05:18:19\n12-07");
}

static void test_normalize_assign_txn_id(void **state)
{
	assert_string_equal(
		normalized("SELECT assign_distributed_transaction_id(0, 52, '2018-06-07 05:18:19.388992-07')"),
		"SELECT assign_distributed_transaction_id(0, XX, 'XXXX-XX-XX XX:XX:XX.XXXXXX-XX')");
	assert_string_equal(normalized("assign_distributed_transaction_id ( 12 ,  345 */"),
			    "assign_distributed_transaction_id ( 12 ,  XX */");
	/* \s is Python's Unicode whitespace */
	assert_string_equal(normalized("é assign_distributed_transaction_id\u00a0(\u20030,\u30007)"),
			    "é assign_distributed_transaction_id\u00a0(\u20030,\u3000XX)");
	assert_string_equal(normalized("assign_distributed_transaction_id(0,\x1c" "7)"),
			    "assign_distributed_transaction_id(0,\x1cXX)");
	assert_string_equal(normalized("assign_distributed_transaction_id(a, 7)"),
			    "assign_distributed_transaction_id(a, 7)");
	/* deliberate: the reference gives "(0,XX7)" for the second call here */
	assert_string_equal(
		normalized("assign_distributed_transaction_id(0, 5) assign_distributed_transaction_id(0, 7)"),
		"assign_distributed_transaction_id(0, XX) assign_distributed_transaction_id(0, XX)");
	assert_string_equal(
		normalized("public.shard_102008 assign_distributed_transaction_id(0, 8, '2021-01-01 00:00:00.123456-08')"),
		"public.shard_XXXXXX assign_distributed_transaction_id(0, XX, 'XXXX-XX-XX XX:XX:XX.XXXXXX-XX')");
}

static void test_parameter_status(void **state)
{
	static const char *const cases[][3] = {
		{ "application_name", "psql", "ParameterStatus(application_name=psql)" },
		{ "DateStyle", "ISO, MDY", "ParameterStatus(DateStyle=ISO, MDY)" },
		{ "TimeZone", "Europe/Paris", "ParameterStatus(TimeZone=XXX)" },
		{ "server_version", "15.20", "ParameterStatus(server_version=XXX)" },
		{ "timezone", "UTC", "ParameterStatus(timezone=UTC)" },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pgw_begin(&w, 'S');
		pgw_str(&w, cases[i][0]);
		pgw_str(&w, cases[i][1]);
		pgw_end(&w);
		assert_string_equal(printed(BE), cases[i][2]);
	}
	/* frontend S is Sync */
	pgw_begin(&w, 'S');
	pgw_end(&w);
	assert_string_equal(printed(FE), "Sync()");
}

static void test_backend_key_data_and_auth(void **state)
{
	pgw_begin(&w, 'K');
	pgw_u32(&w, 4242);
	pgw_u32(&w, 0xdeadbeef);
	pgw_end(&w);
	assert_string_equal(printed(BE), "BackendKeyData(XXX)");
	pgw_begin(&w, 'K');
	pgw_u32(&w, 4242);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=K,body=b'\\x00\\x00\\x10\\x92')");
	/* code 0 prints exactly as structs.py prints every R */
	pgw_begin(&w, 'R');
	pgw_u32(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE), "AuthenticationOk()");
}

/* An Authentication message with just its code. */
static const char *auth(uint32_t code)
{
	pgw_begin(&w, 'R');
	pgw_u32(&w, code);
	pgw_end(&w);
	return printed(BE);
}

/* ... followed by data bytes */
static const char *auth_data(uint32_t code, const char *data, size_t len)
{
	pgw_begin(&w, 'R');
	pgw_u32(&w, code);
	pgw_raw(&w, data, len);
	pgw_end(&w);
	return printed(BE);
}

/* deliberate: structs.py calls every R AuthenticationOk; the code names it */
static void test_authentication(void **state)
{
	assert_string_equal(auth(0), "AuthenticationOk()");
	assert_string_equal(auth(2), "AuthenticationKerberosV5()");
	assert_string_equal(auth(3), "AuthenticationCleartextPassword()");
	assert_string_equal(auth_data(5, "\x01\xff" "a'", 4),
			    "AuthenticationMD5Password(salt=b\"\\x01\\xffa'\")");
	assert_string_equal(auth(7), "AuthenticationGSS()");
	assert_string_equal(auth_data(8, "tok\x00" "en", 6),
			    "AuthenticationGSSContinue(data=b'tok\\x00en')");
	assert_string_equal(auth(9), "AuthenticationSSPI()");
	assert_string_equal(auth_data(10, "SCRAM-SHA-256\0SCRAM-SHA-256-PLUS\0", 34),
			    "AuthenticationSASL(mechanisms=['SCRAM-SHA-256', 'SCRAM-SHA-256-PLUS'])");
	assert_string_equal(auth_data(10, "", 1), "AuthenticationSASL(mechanisms=[])");
	assert_string_equal(auth_data(11, "r=abc,s=c2FsdA==,i=4096", 23),
			    "AuthenticationSASLContinue(data=b'r=abc,s=c2FsdA==,i=4096')");
	assert_string_equal(auth_data(12, "v=xyz", 5), "AuthenticationSASLFinal(data=b'v=xyz')");
	assert_string_equal(auth_data(12, "", 0), "AuthenticationSASLFinal(data=b'')");
	/* bytes after the layout are ignored, as construct does */
	assert_string_equal(auth_data(0, "x", 1), "AuthenticationOk()");

	/* unknown codes, short bodies and bodies that do not fit: raw */
	assert_string_equal(auth(6), "Backend(type=R,body=b'\\x00\\x00\\x00\\x06')");
	assert_string_equal(auth(0xffffffff), "Backend(type=R,body=b'\\xff\\xff\\xff\\xff')");
	pgw_begin(&w, 'R');
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=R,body=b'\\x00\\x00')");
	assert_string_equal(auth_data(5, "ab", 2), "Backend(type=R,body=b'\\x00\\x00\\x00\\x05ab')");
	/* the mechanism list needs its terminating empty name */
	assert_string_equal(auth_data(10, "SCRAM-SHA-256\0", 14),
			    "Backend(type=R,body=b'\\x00\\x00\\x00\\nSCRAM-SHA-256\\x00')");
}

/* The frontend's 'p' is what the last Authentication asked for. */
static void test_password_answers(void **state)
{
	/* passwords never print, only their length */
	pgw_begin(&w, 'p');
	pgw_str(&w, "s3cret");
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 3), "PasswordMessage(password=<6 bytes hidden>)");
	pgw_begin(&w, 'p');
	pgw_str(&w, "md5a3556571e93b0d20722ba62be61e8c2d");
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 5), "PasswordMessage(password=<35 bytes hidden>)");
	pgw_begin(&w, 'p');
	pgw_str(&w, "");
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 3), "PasswordMessage(password=<0 bytes hidden>)");

	pgw_begin(&w, 'p');
	pgw_str(&w, "SCRAM-SHA-256");
	pgw_u32(&w, 32);
	pgw_raw(&w, "n,,n=,r=rOprNGfwEbeRWgbNEkqO%hvY", 32);
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 10),
		"SASLInitialResponse(mechanism=SCRAM-SHA-256,data=b'n,,n=,r=rOprNGfwEbeRWgbNEkqO%hvY')");
	pgw_begin(&w, 'p');
	pgw_str(&w, "SCRAM-SHA-256");
	pgw_u32(&w, 0xffffffff);	/* no initial response */
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 10), "SASLInitialResponse(mechanism=SCRAM-SHA-256,data=None)");
	pgw_begin(&w, 'p');
	pgw_raw(&w, "c=biws,r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=", 59);
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 11),
		"SASLResponse(data=b'c=biws,r=abc,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=')");
	pgw_begin(&w, 'p');
	pgw_raw(&w, "\x60\x82", 2);
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 7), "GSSResponse(data=b'`\\x82')");
	pgw_begin(&w, 'p');
	pgw_raw(&w, "\x60\x82", 2);
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 8), "GSSResponse(data=b'`\\x82')");
	pgw_begin(&w, 'p');
	pgw_raw(&w, "\x60\x82", 2);
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 9), "GSSResponse(data=b'`\\x82')");

	/* no Authentication seen, or one no 'p' answers: raw, as structs.py prints it */
	pgw_begin(&w, 'p');
	pgw_str(&w, "pw");
	pgw_end(&w);
	assert_string_equal(printed_after(FE, -1), "AuthenticationResponse(data=<3 bytes hidden>)");
	pgw_begin(&w, 'p');
	pgw_str(&w, "pw");
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 0), "AuthenticationResponse(data=<3 bytes hidden>)");
	pgw_begin(&w, 'p');
	pgw_str(&w, "pw");
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 12), "AuthenticationResponse(data=<3 bytes hidden>)");
	/* a password without its NUL does not fit: raw */
	pgw_begin(&w, 'p');
	pgw_raw(&w, "pw", 2);
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 3), "Frontend(type=p,body=b'pw')");
	/* a SASL length past the body */
	pgw_begin(&w, 'p');
	pgw_str(&w, "SCRAM-SHA-256");
	pgw_u32(&w, 5);
	pgw_raw(&w, "n,,", 3);
	pgw_end(&w);
	assert_string_equal(printed_after(FE, 10),
			    "Frontend(type=p,body=b'SCRAM-SHA-256\\x00\\x00\\x00\\x00\\x05n,,')");
	/* the code means nothing to other messages, and R decides by its own body */
	pgw_query(&w, "SELECT 1");
	assert_string_equal(printed_after(FE, 3), "Query(query=SELECT 1)");
	pgw_begin(&w, 'R');
	pgw_u32(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed_after(BE, 10), "AuthenticationOk()");
}

static void test_simple_backend(void **state)
{
	pgw_ready_for_query(&w, 'I');
	assert_string_equal(printed(BE), "ReadyForQuery(state=idle)");
	pgw_ready_for_query(&w, 'T');
	assert_string_equal(printed(BE), "ReadyForQuery(state=in_transaction_block)");
	pgw_ready_for_query(&w, 'E');
	assert_string_equal(printed(BE), "ReadyForQuery(state=in_failed_transaction_block)");
	pgw_ready_for_query(&w, 'X');	/* construct's Enum prints an unnamed value as its number */
	assert_string_equal(printed(BE), "ReadyForQuery(state=88)");
	pgw_begin(&w, 'C');
	pgw_str(&w, "INSERT 0 1");
	pgw_end(&w);
	assert_string_equal(printed(BE), "CommandComplete(command=INSERT 0 1)");
	pgw_begin(&w, 'I');
	pgw_end(&w);
	assert_string_equal(printed(BE), "EmptyQueryResponse()");
	pgw_begin(&w, '1');
	pgw_end(&w);
	assert_string_equal(printed(BE), "ParseComplete()");
	pgw_begin(&w, '2');
	pgw_end(&w);
	assert_string_equal(printed(BE), "BindComplete()");
	pgw_begin(&w, 'n');
	pgw_end(&w);
	assert_string_equal(printed(BE), "NoData()");
	pgw_begin(&w, 'c');
	pgw_end(&w);
	assert_string_equal(printed(BE), "CopyDone()");
}

static void test_row_description(void **state)
{
	pgw_begin(&w, 'T');
	pgw_u16(&w, 2);
	pgw_str(&w, "a");
	pgw_u32(&w, 16384);
	pgw_u16(&w, 1);
	pgw_u32(&w, 23);
	pgw_u16(&w, 4);
	pgw_u32(&w, 0xffffffff);
	pgw_u16(&w, 0);
	pgw_str(&w, "it's");
	pgw_u32(&w, 0);
	pgw_u16(&w, 0);
	pgw_u32(&w, 25);
	pgw_u16(&w, 0xffff);
	pgw_u32(&w, 0xffffffff);
	pgw_u16(&w, 1);
	pgw_end(&w);
	assert_string_equal(printed(BE),
		"RowDescription(fieldcount=2,fields=['F(name=a,tableoid=16384,colattrnum=1,typoid=23,typlen=4,typmod=-1,format_code=0)', "
		"\"F(name=it's,tableoid=0,colattrnum=0,typoid=25,typlen=-1,typmod=-1,format_code=1)\"])");
	/* fieldcount larger than the fields present: raw */
	pgw_begin(&w, 'T');
	pgw_u16(&w, 3);
	pgw_str(&w, "a");
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=T,body=b'\\x00\\x03a\\x00')");
}

static void test_data_row(void **state)
{
	/* deliberate: Int32 lengths, NULL as None */
	pgw_begin(&w, 'D');
	pgw_u16(&w, 4);
	pgw_u32(&w, 1);
	pgw_raw(&w, "a", 1);
	pgw_u32(&w, 0xffffffff);
	pgw_u32(&w, 0);
	pgw_u32(&w, 5);
	pgw_raw(&w, "t\t'\"\\", 5);
	pgw_end(&w);
	assert_string_equal(printed(BE),
		"DataRow(columncount=4,columns=[\"C(length=1,value=b'a')\", 'C(length=-1,value=None)', "
		"\"C(length=0,value=b'')\", 'C(length=5,value=b\\'t\\\\t\\\\\\'\"\\\\\\\\\\')'])");
	pgw_begin(&w, 'D');
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE), "DataRow(columncount=0,columns=[])");
	/* a length running past the body, or below -1: raw */
	pgw_begin(&w, 'D');
	pgw_u16(&w, 1);
	pgw_u32(&w, 9);
	pgw_raw(&w, "ab", 2);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=D,body=b'\\x00\\x01\\x00\\x00\\x00\\tab')");
	pgw_begin(&w, 'D');
	pgw_u16(&w, 1);
	pgw_u32(&w, 0xfffffffe);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=D,body=b'\\x00\\x01\\xff\\xff\\xff\\xfe')");
	/* a forged column count cannot make the decoder allocate for it */
	pgw_begin(&w, 'D');
	pgw_u16(&w, 0xffff);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=D,body=b'\\xff\\xff')");
}

static void test_copy(void **state)
{
	pgw_begin(&w, 'H');
	pgw_u8(&w, 0);
	pgw_u16(&w, 2);
	pgw_u16(&w, 0);
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE),
		"CopyOutResponse(format=0,columncount=2,columns=['Anonymous(format=0)', 'Anonymous(format=0)'])");
	pgw_begin(&w, 'd');
	pgw_raw(&w, "1\tone\n\\N\n", 9);
	pgw_end(&w);
	assert_string_equal(printed(FE), "CopyData(data=b'1\\tone\\n\\\\N\\n')");
	pgw_begin(&w, 'd');
	pgw_raw(&w, "\xff\xff", 2);
	pgw_end(&w);
	assert_string_equal(printed(BE), "CopyData(data=b'\\xff\\xff')");
	pgw_begin(&w, 'c');
	pgw_end(&w);
	assert_string_equal(printed(FE), "CopyDone()");
	/* deliberate: CopyInResponse and CopyBothResponse, unknown to structs.py, are
	 * CopyOutResponse's layout */
	pgw_begin(&w, 'G');
	pgw_u8(&w, 0);
	pgw_u16(&w, 1);
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE), "CopyInResponse(format=0,columncount=1,columns=['Anonymous(format=0)'])");
	pgw_begin(&w, 'W');
	pgw_u8(&w, 1);
	pgw_u16(&w, 2);
	pgw_u16(&w, 1);
	pgw_u16(&w, 1);
	pgw_end(&w);
	assert_string_equal(printed(BE),
		"CopyBothResponse(format=1,columncount=2,columns=['Anonymous(format=1)', 'Anonymous(format=1)'])");
	pgw_begin(&w, 'G');
	pgw_u8(&w, 0);
	pgw_u16(&w, 1);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=G,body=b'\\x00\\x00\\x01')");
	pgw_begin(&w, 'f');
	pgw_str(&w, "COPY from stdin failed: canceled by user");
	pgw_end(&w);
	assert_string_equal(printed(FE), "CopyFail(message=COPY from stdin failed: canceled by user)");
}

static void test_extended_protocol(void **state)
{
	pgw_begin(&w, 'P');
	pgw_str(&w, "s1");
	pgw_str(&w, "SELECT $1, $2");
	pgw_u16(&w, 2);
	pgw_u32(&w, 23);
	pgw_u32(&w, 25);
	pgw_end(&w);
	assert_string_equal(printed(FE), "Parse(name=s1,query=SELECT $1, $2,parameters=[23, 25])");
	/* Parse queries are not normalized */
	pgw_begin(&w, 'P');
	pgw_str(&w, "");
	pgw_str(&w, "SELECT * FROM public.t_102008");
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(FE), "Parse(name=,query=SELECT * FROM public.t_102008,parameters=[])");

	pgw_begin(&w, 'B');
	pgw_str(&w, "");
	pgw_str(&w, "s1");
	pgw_u16(&w, 1);
	pgw_u16(&w, 0);
	pgw_u16(&w, 2);
	pgw_u32(&w, 2);
	pgw_raw(&w, "41", 2);
	pgw_u32(&w, 0xffffffff);	/* deliberate: a NULL parameter is decoded */
	pgw_u16(&w, 1);
	pgw_u16(&w, 1);
	pgw_end(&w);
	assert_string_equal(printed(FE),
		"Bind(destination_portal=,prepared_statement=s1,parameter_format_codes=[0],"
		"parameter_values=[\"Anonymous(length=2,value=b'41')\", 'Anonymous(length=-1,value=None)'],"
		"result_column_format_count=1,result_column_format_codes=[1])");

	pgw_begin(&w, 'D');
	pgw_u8(&w, 'P');
	pgw_str(&w, "");
	pgw_end(&w);
	assert_string_equal(printed(FE), "Describe(portal=<unnamed>)");
	pgw_begin(&w, 'D');
	pgw_u8(&w, 'S');
	pgw_str(&w, "s1");
	pgw_end(&w);
	assert_string_equal(printed(FE), "Describe(prepared_statement=s1)");
	pgw_begin(&w, 'D');
	pgw_u8(&w, 'x');
	pgw_str(&w, "s1");
	pgw_end(&w);
	assert_string_equal(printed(FE), "Describe(120=s1)");

	pgw_begin(&w, 'E');
	pgw_str(&w, "");
	pgw_u32(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(FE), "Execute(<unnamed>, max_rows_to_return=0)");
	pgw_begin(&w, 'E');
	pgw_str(&w, "p1");
	pgw_u32(&w, 100);
	pgw_end(&w);
	assert_string_equal(printed(FE), "Execute(p1, max_rows_to_return=100)");

	pgw_begin(&w, 'X');
	pgw_end(&w);
	assert_string_equal(printed(FE), "Terminate()");
}

static void add_field(char code, const char *value)
{
	pgw_u8(&w, (uint8_t)code);
	pgw_str(&w, value);
}

static void test_notice_and_error(void **state)
{
	pgw_begin(&w, 'N');
	add_field('S', "NOTICE");
	add_field('V', "NOTICE");
	add_field('C', "00000");
	add_field('M', "hello notice");
	add_field('D', "some detail");
	add_field('F', "pl_exec.c");
	add_field('L', "3893");
	add_field('R', "exec_stmt_raise");
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE),
		"NoticeResponse(severity=NOTICE, message=hello notice, detail=some detail)");
	/* missing terminator: raw */
	pgw_begin(&w, 'N');
	add_field('S', "NOTICE");
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=N,body=b'SNOTICE\\x00')");

	/* deliberate: ErrorResponse, raw in structs.py, prints as NoticeResponse does */
	pgw_begin(&w, 'E');
	add_field('S', "ERROR");
	add_field('V', "ERROR");
	add_field('C', "22012");
	add_field('M', "division by zero");
	add_field('H', "don't");
	add_field('P', "8");
	add_field('W', "SQL function");
	add_field('s', "public");
	add_field('t', "t");
	add_field('c', "a");
	add_field('d', "int4");
	add_field('n', "t_pkey");
	add_field('F', "int.c");
	add_field('L', "841");
	add_field('R', "int4div");
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE),
		"ErrorResponse(severity=ERROR, message=division by zero, hint=don't, schema_name=public, "
		"table_name=t, column_name=a, data_type_name=int4, constraint_name=t_pkey)");
	/* a code without a name prints as its number (docs/differences.md 9) */
	pgw_begin(&w, 'E');
	add_field('S', "FATAL");
	add_field('X', "\xff");
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE), "ErrorResponse(severity=FATAL, 88=\\xff)");
	pgw_begin(&w, 'E');
	pgw_u8(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE), "ErrorResponse()");
	pgw_begin(&w, 'E');
	add_field('S', "ERROR");
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=E,body=b'SERROR\\x00')");
}

/* deliberate: the types structs.py prints raw, decoded in the same style */
static void test_decoded_frontend(void **state)
{
	pgw_begin(&w, 'C');
	pgw_u8(&w, 'S');
	pgw_str(&w, "s1");
	pgw_end(&w);
	assert_string_equal(printed(FE), "Close(type=prepared_statement,name=s1)");
	pgw_begin(&w, 'C');
	pgw_u8(&w, 'P');
	pgw_str(&w, "");
	pgw_end(&w);
	assert_string_equal(printed(FE), "Close(type=portal,name=)");
	pgw_begin(&w, 'C');
	pgw_u8(&w, 'S');
	pgw_end(&w);
	assert_string_equal(printed(FE), "Frontend(type=C,body=b'S')");
	pgw_begin(&w, 'H');
	pgw_end(&w);
	assert_string_equal(printed(FE), "Flush()");

	pgw_begin(&w, 'F');
	pgw_u32(&w, 1598);
	pgw_u16(&w, 1);
	pgw_u16(&w, 1);
	pgw_u16(&w, 2);
	pgw_u32(&w, 4);
	pgw_u32(&w, 42);
	pgw_u32(&w, 0xffffffff);
	pgw_u16(&w, 1);
	pgw_end(&w);
	assert_string_equal(printed(FE),
		"FunctionCall(function_oid=1598,argument_format_codes=[1],"
		"arguments=[\"Anonymous(length=4,value=b'\\\\x00\\\\x00\\\\x00*')\", "
		"'Anonymous(length=-1,value=None)'],result_format=1)");
	pgw_begin(&w, 'F');
	pgw_u32(&w, 1598);
	pgw_u16(&w, 0);
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(FE), "Frontend(type=F,body=b'\\x00\\x00\\x06>\\x00\\x00\\x00\\x00')");
}

static void test_decoded_backend(void **state)
{
	pgw_begin(&w, 't');
	pgw_u16(&w, 2);
	pgw_u32(&w, 23);
	pgw_u32(&w, 4294967295u);
	pgw_end(&w);
	assert_string_equal(printed(BE), "ParameterDescription(parametercount=2,parameters=[23, 4294967295])");
	pgw_begin(&w, 't');
	pgw_u16(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE), "ParameterDescription(parametercount=0,parameters=[])");
	pgw_begin(&w, 't');
	pgw_u16(&w, 2);
	pgw_u32(&w, 23);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=t,body=b'\\x00\\x02\\x00\\x00\\x00\\x17')");

	pgw_begin(&w, 's');
	pgw_end(&w);
	assert_string_equal(printed(BE), "PortalSuspended()");
	pgw_begin(&w, '3');
	pgw_end(&w);
	assert_string_equal(printed(BE), "CloseComplete()");

	pgw_begin(&w, 'A');
	pgw_u32(&w, 4242);
	pgw_str(&w, "jobs");
	pgw_str(&w, "new 'job' \xe2\x82\xac");
	pgw_end(&w);
	assert_string_equal(printed(BE), "NotificationResponse(pid=4242,channel=jobs,payload=new 'job' \xe2\x82\xac)");
	pgw_begin(&w, 'A');
	pgw_u32(&w, 4242);
	pgw_str(&w, "jobs");
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=A,body=b'\\x00\\x00\\x10\\x92jobs\\x00')");

	pgw_begin(&w, 'V');
	pgw_u32(&w, 2);
	pgw_raw(&w, "ok", 2);
	pgw_end(&w);
	assert_string_equal(printed(BE), "FunctionCallResponse(length=2,value=b'ok')");
	pgw_begin(&w, 'V');
	pgw_u32(&w, 0xffffffff);
	pgw_end(&w);
	assert_string_equal(printed(BE), "FunctionCallResponse(length=-1,value=None)");
	pgw_begin(&w, 'V');
	pgw_u32(&w, 0x7fffffff);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=V,body=b'\\x7f\\xff\\xff\\xff')");

	pgw_begin(&w, 'v');
	pgw_u32(&w, 0);
	pgw_u32(&w, 2);
	pgw_str(&w, "_pq_.compression");
	pgw_str(&w, "_pq_.x");
	pgw_end(&w);
	assert_string_equal(printed(BE),
		"NegotiateProtocolVersion(newest_minor_version=0,optioncount=2,options=['_pq_.compression', '_pq_.x'])");
	pgw_begin(&w, 'v');
	pgw_u32(&w, 2);
	pgw_u32(&w, 0);
	pgw_end(&w);
	assert_string_equal(printed(BE), "NegotiateProtocolVersion(newest_minor_version=2,optioncount=0,options=[])");
	/* a negative or forged count */
	pgw_begin(&w, 'v');
	pgw_u32(&w, 0);
	pgw_u32(&w, 0xffffffff);
	pgw_end(&w);
	assert_string_equal(printed(BE),
			    "Backend(type=v,body=b'\\x00\\x00\\x00\\x00\\xff\\xff\\xff\\xff')");
	pgw_begin(&w, 'v');
	pgw_u32(&w, 0);
	pgw_u32(&w, 0x7fffffff);
	pgw_str(&w, "a");
	pgw_end(&w);
	assert_string_equal(printed(BE),
			    "Backend(type=v,body=b'\\x00\\x00\\x00\\x00\\x7f\\xff\\xff\\xffa\\x00')");
}

static void test_unknown_types(void **state)
{
	/* chr(type) of any byte; the row's repr escapes what is not printable */
	pgw_begin(&w, 0xe9);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=é,body=b'')");
	pgw_begin(&w, '!');
	pgw_raw(&w, "it's", 4);
	pgw_end(&w);
	assert_string_equal(printed(BE), "Backend(type=!,body=b\"it's\")");
}

static void test_not_retained(void **state)
{
	strbuf_reset(&out);
	pg_print_not_retained(&out, FE, 'Q', 2000000);
	assert_string_equal(out.buf, "Query(<2000000 bytes, not retained>)");
	strbuf_reset(&out);
	pg_print_not_retained(&out, BE, 'E', 5);
	assert_string_equal(out.buf, "ErrorResponse(<5 bytes, not retained>)");
	strbuf_reset(&out);
	pg_print_not_retained(&out, FE, 'p', 5);
	assert_string_equal(out.buf, "AuthenticationResponse(<5 bytes, not retained>)");
	strbuf_reset(&out);
	pg_print_not_retained(&out, BE, '!', 5);
	assert_string_equal(out.buf, "Backend(type=!,body=<5 bytes, not retained>)");
}

/* ---- through pg_conn_stream, as the recorder prints: frames carry the auth code ---------- */

static struct strbuf seen;	/* "el | el | ..." */

static void on_frame(void *arg, const struct pg_frame *f)
{
	enum wf_dir dir = *(const enum wf_dir *)arg;
	struct strbuf el = STRBUF_INIT;

	if (seen.len)
		strbuf_adds(&seen, " | ");
	switch (f->kind) {
	case PG_FRAME_MESSAGE:
		pg_print_message(&printer, &el, dir, f->type, f->body, f->len, f->auth_code);
		strbuf_add(&seen, el.buf, el.len);
		break;
	case PG_FRAME_NOT_RETAINED:
		pg_print_not_retained(&seen, dir, f->type, f->len);
		break;
	default:
		strbuf_addf(&seen, "frame %d", (int)f->kind);
		break;
	}
	strbuf_addf(&seen, " [%d]", (int)f->auth_code);
	strbuf_free(&el);
}

/* Feeds w to one direction, in pieces of `piece` bytes (0: whole), and empties w. */
static void feed(struct pg_conn_stream *cs, enum wf_dir dir, size_t piece, bool unframed)
{
	size_t at = 0, n;

	do {
		n = piece && piece < w.len - at ? piece : w.len - at;
		pg_conn_stream_feed(cs, dir, w.data + at, n, unframed, on_frame, &dir);
		at += n;
	} while (at < w.len);
	pgw_reset(&w);
}

static const char *seen_since_last(void)
{
	static char copy[1024];

	snprintf(copy, sizeof(copy), "%s", seen.buf ? seen.buf : "");
	strbuf_reset(&seen);
	return copy;
}

static void test_auth_code_through_stream(void **state)
{
	struct pg_conn_stream cs;

	/* md5, whole messages */
	pg_conn_stream_init(&cs, true, 1 << 20);
	pgw_startup(&w, "u", "db");
	feed(&cs, FE, 0, false);
	pgw_begin(&w, 'R');
	pgw_u32(&w, 5);
	pgw_raw(&w, "salt", 4);
	pgw_end(&w);
	feed(&cs, BE, 0, false);
	pgw_begin(&w, 'p');
	pgw_str(&w, "md5a3556571e93b0d20722ba62be61e8c2d");
	pgw_end(&w);
	feed(&cs, FE, 0, false);
	pgw_begin(&w, 'R');
	pgw_u32(&w, 0);
	pgw_end(&w);
	pgw_ready_for_query(&w, 'I');
	feed(&cs, BE, 0, false);
	pgw_begin(&w, 'p');
	pgw_str(&w, "late");
	pgw_end(&w);
	feed(&cs, FE, 0, false);
	assert_string_equal(seen_since_last(),
		"frame 1 [-1] | AuthenticationMD5Password(salt=b'salt') [-1] | "
		"PasswordMessage(password=<35 bytes hidden>) [5] | AuthenticationOk() [5] | "
		"ReadyForQuery(state=idle) [0] | AuthenticationResponse(data=<5 bytes hidden>) [0]");
	pg_conn_stream_free(&cs);

	/* SCRAM, one byte at a time */
	pg_conn_stream_init(&cs, false, 1 << 20);
	pgw_begin(&w, 'R');
	pgw_u32(&w, 10);
	pgw_str(&w, "SCRAM-SHA-256");
	pgw_u8(&w, 0);
	pgw_end(&w);
	feed(&cs, BE, 1, false);
	pgw_begin(&w, 'p');
	pgw_str(&w, "SCRAM-SHA-256");
	pgw_u32(&w, 8);
	pgw_raw(&w, "n,,n=,r=", 8);
	pgw_end(&w);
	feed(&cs, FE, 1, false);
	pgw_begin(&w, 'R');
	pgw_u32(&w, 11);
	pgw_raw(&w, "r=x", 3);
	pgw_end(&w);
	feed(&cs, BE, 1, false);
	pgw_begin(&w, 'p');
	pgw_raw(&w, "c=biws", 6);
	pgw_end(&w);
	feed(&cs, FE, 1, false);
	assert_string_equal(seen_since_last(),
		"AuthenticationSASL(mechanisms=['SCRAM-SHA-256']) [-1] | "
		"SASLInitialResponse(mechanism=SCRAM-SHA-256,data=b'n,,n=,r=') [10] | "
		"AuthenticationSASLContinue(data=b'r=x') [10] | SASLResponse(data=b'c=biws') [11]");
	pg_conn_stream_free(&cs);

	/* unframed chunks are followed too; an R not retained forgets the code */
	pg_conn_stream_init(&cs, false, 8);
	pgw_begin(&w, 'R');
	pgw_u32(&w, 3);
	pgw_end(&w);
	feed(&cs, BE, 0, true);
	pgw_begin(&w, 'p');
	pgw_str(&w, "pw");
	pgw_end(&w);
	feed(&cs, FE, 0, true);
	assert_string_equal(seen_since_last(),
		"AuthenticationCleartextPassword() [-1] | PasswordMessage(password=<2 bytes hidden>) [3]");
	pg_conn_stream_free(&cs);
	pg_conn_stream_init(&cs, false, 8);
	pgw_begin(&w, 'R');
	pgw_u32(&w, 3);
	pgw_end(&w);
	feed(&cs, BE, 0, false);
	pgw_begin(&w, 'R');
	pgw_u32(&w, 11);
	pgw_raw(&w, "0123456789", 10);
	pgw_end(&w);
	feed(&cs, BE, 5, false);
	pgw_begin(&w, 'p');
	pgw_str(&w, "pw");
	pgw_end(&w);
	feed(&cs, FE, 0, false);
	assert_string_equal(seen_since_last(),
		"AuthenticationCleartextPassword() [-1] | AuthenticationOk(<14 bytes, not retained>) [3] | "
		"AuthenticationResponse(data=<3 bytes hidden>) [-1]");
	pg_conn_stream_free(&cs);
}

static int teardown(void **state)
{
	pg_printer_free(&printer);
	pgw_free(&w);
	strbuf_free(&out);
	strbuf_free(&seen);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query),
		cmocka_unit_test(test_normalize_shards),
		cmocka_unit_test(test_normalize_timestamps),
		cmocka_unit_test(test_normalize_assign_txn_id),
		cmocka_unit_test(test_parameter_status),
		cmocka_unit_test(test_backend_key_data_and_auth),
		cmocka_unit_test(test_authentication),
		cmocka_unit_test(test_password_answers),
		cmocka_unit_test(test_simple_backend),
		cmocka_unit_test(test_row_description),
		cmocka_unit_test(test_data_row),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_extended_protocol),
		cmocka_unit_test(test_notice_and_error),
		cmocka_unit_test(test_decoded_frontend),
		cmocka_unit_test(test_decoded_backend),
		cmocka_unit_test(test_unknown_types),
		cmocka_unit_test(test_not_retained),
		cmocka_unit_test(test_auth_code_through_stream),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
