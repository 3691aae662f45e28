// SPDX-License-Identifier: GPL-2.0
/* The message table: names per direction, and where text fields are for filters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <cmocka.h>

#include "pg_messages.h"

#define FE WF_DIR_FRONTEND
#define BE WF_DIR_BACKEND

static void test_names_follow_structs_py(void **state)
{
	static const char *const frontend[] = {
		"Query", "Terminate", "CopyData", "CopyDone", "Parse", "Bind", "Describe",
		"Execute", "Sync",
	};
	static const char *const backend[] = {
		"CopyData", "CopyDone", "EmptyQueryResponse", "CopyOutResponse", "ReadyForQuery",
		"CommandComplete", "RowDescription", "DataRow", "AuthenticationOk",
		"ParameterStatus", "BackendKeyData", "NoticeResponse", "ParseComplete",
		"BindComplete", "NoData",
	};
	size_t i, n, known[WF_DIR__COUNT] = { 0 };
	const struct pg_message_desc *all = pg_messages_all(&n);

	for (i = 0; i < sizeof(frontend) / sizeof(frontend[0]); i++)
		assert_non_null(pg_message_by_name(FE, frontend[i]));
	for (i = 0; i < sizeof(backend) / sizeof(backend[0]); i++)
		assert_non_null(pg_message_by_name(BE, backend[i]));
	/* and no other name is known to the reference */
	for (i = 0; i < n; i++)
		known[all[i].dir] += all[i].in_reference;
	assert_int_equal(known[FE], sizeof(frontend) / sizeof(frontend[0]));
	assert_int_equal(known[BE], sizeof(backend) / sizeof(backend[0]));
}

static void test_direction_decides(void **state)
{
	assert_int_equal(pg_message_by_name(FE, "Sync")->type, 'S');
	assert_int_equal(pg_message_by_name(BE, "ParameterStatus")->type, 'S');
	assert_null(pg_message_by_name(FE, "ParameterStatus"));
	assert_null(pg_message_by_name(BE, "Query"));
	assert_string_equal(pg_message_by_type(FE, 'D')->name, "Describe");
	assert_string_equal(pg_message_by_type(BE, 'D')->name, "DataRow");
	assert_int_equal(pg_message_by_name(FE, "CopyData")->type, 'd');
	assert_int_equal(pg_message_by_name(BE, "CopyData")->type, 'd');
	assert_string_equal(pg_message_by_type(BE, 'R')->name, "AuthenticationOk");
	/* case-sensitive, like fluent's onX */
	assert_null(pg_message_by_name(FE, "query"));
}

static void test_unknown_to_reference(void **state)
{
	/* in the table and decoded, but never matched by onX */
	assert_null(pg_message_by_name(BE, "ErrorResponse"));
	assert_null(pg_message_by_name(BE, "CopyInResponse"));
	assert_null(pg_message_by_name(FE, "PasswordMessage"));
	assert_false(pg_message_by_type(BE, 'E')->in_reference);
	assert_int_equal(pg_message_by_type(BE, 'E')->print, PG_PRINT_NOTICE);
	assert_ptr_equal(pg_message_by_type(BE, 'E')->body, pg_message_by_type(BE, 'N')->body);
	assert_ptr_equal(pg_message_by_type(BE, 'G')->body, pg_message_by_type(BE, 'H')->body);
	assert_ptr_equal(pg_message_by_type(BE, 'W')->body, pg_message_by_type(BE, 'H')->body);
	assert_string_equal(pg_message_by_type(FE, 'C')->name, "Close");
	assert_null(pg_message_by_type(BE, 0));
	assert_null(pg_message_by_type(FE, 'Z'));
}

/* Every protocol message has a layout, directly or through its variants. */
static void test_every_message_decoded(void **state)
{
	static const char frontend[] = "QXdcPBDESCHFfp", backend[] = "dcIHZCTDRSKN12nEGWtsA3Vv";
	const struct pg_message_desc *all, *v;
	size_t i, n;

	all = pg_messages_all(&n);
	assert_int_equal(n, strlen(frontend) + strlen(backend));
	for (i = 0; frontend[i]; i++)
		assert_non_null(pg_message_by_type(FE, (uint8_t)frontend[i]));
	for (i = 0; backend[i]; i++)
		assert_non_null(pg_message_by_type(BE, (uint8_t)backend[i]));
	for (i = 0; i < n; i++) {
		if (all[i].variants) {
			assert_int_not_equal(all[i].variant_key, PG_VARIANT_NONE);
			for (v = all[i].variants; v->name; v++) {
				assert_non_null(v->body);
				assert_int_equal(v->dir, all[i].dir);
				assert_int_equal(v->type, all[i].type);
				assert_null(v->variants);
			}
		} else {
			assert_non_null(all[i].body);
			assert_int_not_equal(all[i].print, PG_PRINT_RAW);
		}
	}
}

static const char *variant_name(enum wf_dir dir, uint8_t type, const void *body, size_t len,
				int32_t auth_code)
{
	const struct pg_message_desc *m = pg_message_by_type(dir, type);

	m = pg_message_variant(m, body, len, auth_code);
	return m ? m->name : NULL;
}

static void test_variants(void **state)
{
	static const struct {
		uint8_t code;
		const char *name;
	} auth[] = {
		{ 0, "AuthenticationOk" }, { 2, "AuthenticationKerberosV5" },
		{ 3, "AuthenticationCleartextPassword" }, { 5, "AuthenticationMD5Password" },
		{ 7, "AuthenticationGSS" }, { 8, "AuthenticationGSSContinue" },
		{ 9, "AuthenticationSSPI" }, { 10, "AuthenticationSASL" },
		{ 11, "AuthenticationSASLContinue" }, { 12, "AuthenticationSASLFinal" },
		{ 1, NULL }, { 4, NULL }, { 6, NULL }, { 13, NULL }, { 255, NULL },
	}, answer[] = {
		{ 3, "PasswordMessage" }, { 5, "PasswordMessage" }, { 7, "GSSResponse" },
		{ 8, "GSSResponse" }, { 9, "GSSResponse" }, { 10, "SASLInitialResponse" },
		{ 11, "SASLResponse" }, { 0, NULL }, { 2, NULL }, { 12, NULL },
	};
	uint8_t body[4] = { 0, 0, 0, 0 };
	const struct pg_message_desc *m;
	size_t i;

	for (i = 0; i < sizeof(auth) / sizeof(auth[0]); i++) {
		body[3] = auth[i].code;
		if (auth[i].name)
			assert_string_equal(variant_name(BE, 'R', body, 4, -1), auth[i].name);
		else
			assert_null(variant_name(BE, 'R', body, 4, -1));
	}
	/* the code of a 'p' is the last Authentication's, not its body's */
	for (i = 0; i < sizeof(answer) / sizeof(answer[0]); i++) {
		if (answer[i].name)
			assert_string_equal(variant_name(FE, 'p', body, 4, answer[i].code),
					    answer[i].name);
		else	/* an answer to a request not known: masked as a whole */
			assert_string_equal(variant_name(FE, 'p', body, 4, answer[i].code),
					    "AuthenticationResponse");
	}
	body[0] = 0x80;
	assert_null(variant_name(BE, 'R', body, 4, -1));
	assert_null(variant_name(BE, 'R', body, 3, -1));	/* too short for a code */
	assert_string_equal(variant_name(FE, 'p', "", 0, -1), "AuthenticationResponse");
	/* the entries structs.py and onX see stay as they were */
	m = pg_message_by_name(BE, "AuthenticationOk");
	assert_int_equal(m->type, 'R');
	assert_int_equal(m->body->nfields, 0);
	/* a type without variants is itself */
	m = pg_message_by_type(FE, 'Q');
	assert_ptr_equal(pg_message_variant(m, NULL, 0, 3), m);
	/* the only secret field: passwords */
	m = pg_message_variant(pg_message_by_type(FE, 'p'), NULL, 0, 5);
	assert_true(pg_message_field(m, "password")->secret);
}

static void expect_text_field(enum wf_dir dir, const char *msg, const char *field,
			      uint32_t prefix, uint32_t index)
{
	struct pg_text_field_loc loc;

	assert_int_equal(pg_message_text_field(pg_message_by_name(dir, msg), field, &loc), 0);
	assert_int_equal(loc.fixed_prefix, prefix);
	assert_int_equal(loc.text_index, index);
}

static void test_text_fields(void **state)
{
	struct pg_text_field_loc loc;

	/* every field the reference can match (conformance README) */
	expect_text_field(FE, "Query", "query", 0, 0);
	expect_text_field(BE, "CommandComplete", "command", 0, 0);
	expect_text_field(FE, "Parse", "name", 0, 0);
	expect_text_field(FE, "Parse", "query", 0, 1);
	expect_text_field(FE, "Bind", "destination_portal", 0, 0);
	expect_text_field(FE, "Bind", "prepared_statement", 0, 1);
	expect_text_field(FE, "Describe", "name", 1, 0);
	expect_text_field(FE, "Execute", "name", 0, 0);
	expect_text_field(BE, "ParameterStatus", "name", 0, 0);
	expect_text_field(BE, "ParameterStatus", "value", 0, 1);

	assert_int_equal(pg_message_text_field(pg_message_by_name(FE, "Query"), "sql", &loc), -ENOENT);
	assert_int_equal(pg_message_text_field(pg_message_by_name(BE, "DataRow"), "columns", &loc), -EINVAL);
	assert_int_equal(pg_message_text_field(pg_message_by_name(FE, "Describe"), "type", &loc), -EINVAL);
	assert_int_equal(pg_message_text_field(pg_message_by_name(FE, "CopyData"), "data", &loc), -EINVAL);
	/* a field the command compiler may treat specially: an enum */
	assert_int_equal(pg_message_field(pg_message_by_name(BE, "ReadyForQuery"), "state")->kind,
			 PG_FIELD_ENUM8);
}

/* pg_message_field_loc(): any field, at a position the kernel can find */
static void test_field_locations(void **state)
{
	const struct pg_field *f;
	struct pg_text_field_loc loc;

	(void)state;
	assert_int_equal(pg_message_field_loc(pg_message_by_name(BE, "ReadyForQuery"), "state", &f,
					      &loc), 0);
	assert_int_equal(f->kind, PG_FIELD_ENUM8);
	assert_int_equal(loc.fixed_prefix, 0);
	assert_int_equal(loc.text_index, 0);
	assert_int_equal(pg_message_field_loc(pg_message_by_name(FE, "Describe"), "type", &f, &loc), 0);
	assert_int_equal(f->kind, PG_FIELD_ENUM8);
	assert_int_equal(loc.fixed_prefix, 0);
	assert_int_equal(pg_message_field_loc(pg_message_by_name(FE, "Describe"), "name", &f, &loc), 0);
	assert_int_equal(f->kind, PG_FIELD_TEXT);
	assert_int_equal(loc.fixed_prefix, 1);
	assert_int_equal(loc.text_index, 0);
	/* after a string: a scalar is found by skipping the string */
	assert_int_equal(pg_message_field_loc(pg_message_by_name(FE, "Execute"), "max_rows_to_return",
					      NULL, &loc), 0);
	assert_int_equal(loc.fixed_prefix, 0);
	assert_int_equal(loc.text_index, 1);
	/* after fixed scalars */
	assert_int_equal(pg_message_field_loc(pg_message_by_name(BE, "CopyOutResponse"), "columns", &f,
					      &loc), 0);
	assert_int_equal(f->kind, PG_FIELD_LIST);
	assert_int_equal(loc.fixed_prefix, 3);
	/* after a list: nowhere fixed */
	assert_int_equal(pg_message_field_loc(pg_message_by_name(FE, "Bind"),
					      "result_column_format_count", &f, &loc), -EINVAL);
	assert_int_equal(pg_message_field_loc(pg_message_by_name(FE, "Query"), "sql", &f, &loc),
			 -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_follow_structs_py),
		cmocka_unit_test(test_direction_decides),
		cmocka_unit_test(test_unknown_to_reference),
		cmocka_unit_test(test_every_message_decoded),
		cmocka_unit_test(test_variants),
		cmocka_unit_test(test_text_fields),
		cmocka_unit_test(test_field_locations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
