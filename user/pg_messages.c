// SPDX-License-Identifier: GPL-2.0
/*
 * The table itself.  Field types follow structs.py exactly (not the protocol
 * documentation) where that changes printed values, e.g. RowDescription's
 * colattrnum is unsigned there; the deliberate exceptions are DataRow column
 * lengths and Bind parameter lengths, which are Int32 with -1 = NULL (the
 * protocol), where structs.py reads Int16 and UInt32 (docs/differences.md).
 */
#include "pg_messages.h"

#include <errno.h>
#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define RECORD(var, nm, ...)						\
	static const struct pg_field var##_fields[] = { __VA_ARGS__ };	\
	static const struct pg_record var = { nm, var##_fields, ARRAY_LEN(var##_fields) }
/* A message body: printed under the message's name. */
#define BODY(var, ...) RECORD(var, NULL, __VA_ARGS__)
#define EMPTY_BODY(var) static const struct pg_record var = { NULL, NULL, 0 }

#define F(nm, k)		{ .name = nm, .kind = k }
#define F_ENUM(nm, syms)	{ .name = nm, .kind = PG_FIELD_ENUM8, .symbols = syms }
#define F_LIST(nm, k)		{ .name = nm, .kind = PG_FIELD_LIST, .elem_kind = k }
#define F_LIST_OF(nm, rec)	{ .name = nm, .kind = PG_FIELD_LIST,			\
				  .elem_kind = PG_FIELD_RECORD, .elem_record = &rec }

/* ---- field layouts (s:159-452) ---------------------------------------------------------- */

BODY(query_body, F("query", PG_FIELD_TEXT));
BODY(copy_data_body, F("data", PG_FIELD_REST));
BODY(command_complete_body, F("command", PG_FIELD_TEXT));
BODY(parameter_status_body, F("name", PG_FIELD_TEXT), F("value", PG_FIELD_TEXT));
BODY(backend_key_data_body, F("pid", PG_FIELD_U32), F("key", PG_FIELD_BYTES4));
BODY(execute_body, F("name", PG_FIELD_TEXT), F("max_rows_to_return", PG_FIELD_U32));

static const struct pg_enum_symbol ready_states[] = {
	{ 'I', "idle" },
	{ 'T', "in_transaction_block" },
	{ 'E', "in_failed_transaction_block" },
	{ 0, NULL },
};
BODY(ready_for_query_body, F_ENUM("state", ready_states));

static const struct pg_enum_symbol describe_kinds[] = {
	{ 'S', "prepared_statement" },
	{ 'P', "portal" },
	{ 0, NULL },
};
BODY(describe_body, F_ENUM("type", describe_kinds), F("name", PG_FIELD_TEXT));

RECORD(copy_out_column, "Anonymous", F("format", PG_FIELD_U16));
BODY(copy_out_response_body,
     F("format", PG_FIELD_U8),
     F("columncount", PG_FIELD_U16),
     F_LIST_OF("columns", copy_out_column));

RECORD(row_description_field, "F",
       F("name", PG_FIELD_TEXT),
       F("tableoid", PG_FIELD_U32),
       F("colattrnum", PG_FIELD_U16),
       F("typoid", PG_FIELD_U32),
       F("typlen", PG_FIELD_I16),
       F("typmod", PG_FIELD_I32),
       F("format_code", PG_FIELD_U16));
BODY(row_description_body,
     F("fieldcount", PG_FIELD_U16),
     F_LIST_OF("fields", row_description_field));

RECORD(data_row_column, "C", F("length", PG_FIELD_LENGTH32), F("value", PG_FIELD_VALUE));
BODY(data_row_body,
     F("columncount", PG_FIELD_U16),
     F_LIST_OF("columns", data_row_column));

BODY(parse_body,
     F("name", PG_FIELD_TEXT),
     F("query", PG_FIELD_TEXT),
     F("_parametercount", PG_FIELD_U16),
     F_LIST("parameters", PG_FIELD_U32));

RECORD(bind_parameter, "Anonymous", F("length", PG_FIELD_LENGTH32), F("value", PG_FIELD_VALUE));
BODY(bind_body,
     F("destination_portal", PG_FIELD_TEXT),
     F("prepared_statement", PG_FIELD_TEXT),
     F("_parameter_format_code_count", PG_FIELD_U16),
     F_LIST("parameter_format_codes", PG_FIELD_U16),
     F("_parameter_value_count", PG_FIELD_U16),
     F_LIST_OF("parameter_values", bind_parameter),
     F("result_column_format_count", PG_FIELD_U16),
     F_LIST("result_column_format_codes", PG_FIELD_U16));

/* Field codes of ErrorResponse/NoticeResponse; '_' names are not printed. */
static const struct pg_enum_symbol notice_codes[] = {
	{ 'S', "severity" },
	{ 'V', "_severity_not_localized" },
	{ 'C', "_sql_state" },
	{ 'M', "message" },
	{ 'D', "detail" },
	{ 'H', "hint" },
	{ 'P', "_position" },
	{ 'p', "_internal_position" },
	{ 'q', "_internal_query" },
	{ 'W', "_where" },
	{ 's', "schema_name" },
	{ 't', "table_name" },
	{ 'c', "column_name" },
	{ 'd', "data_type_name" },
	{ 'n', "constraint_name" },
	{ 'F', "_file_name" },
	{ 'L', "_line_no" },
	{ 'R', "_routine_name" },
	{ 0, NULL },
};
RECORD(notice_field, "Anonymous", F_ENUM("key", notice_codes), F("value", PG_FIELD_TEXT));
BODY(notice_response_body,
     { .name = "notices", .kind = PG_FIELD_LIST, .elem_kind = PG_FIELD_RECORD,
       .elem_record = &notice_field, .until_zero = true });

EMPTY_BODY(terminate_body);
EMPTY_BODY(copy_done_body);
EMPTY_BODY(sync_body);
EMPTY_BODY(empty_query_response_body);
EMPTY_BODY(authentication_ok_body);
EMPTY_BODY(parse_complete_body);
EMPTY_BODY(bind_complete_body);
EMPTY_BODY(no_data_body);

/* ---- the table -------------------------------------------------------------------------- */

#define FE WF_DIR_FRONTEND
#define BE WF_DIR_BACKEND
#define KNOWN(d, t, nm, style, rec)	{ d, t, nm, true, style, &(rec) }
#define RAW(d, t, nm)		{ d, t, nm, false, PG_PRINT_RAW, NULL }

static const struct pg_message_desc messages[] = {
	/* frontend, as structs.py knows them */
	KNOWN(FE, 'Q', "Query", PG_PRINT_QUERY, query_body),
	KNOWN(FE, 'X', "Terminate", PG_PRINT_DEFAULT, terminate_body),
	KNOWN(FE, 'd', "CopyData", PG_PRINT_DEFAULT, copy_data_body),
	KNOWN(FE, 'c', "CopyDone", PG_PRINT_DEFAULT, copy_done_body),
	KNOWN(FE, 'P', "Parse", PG_PRINT_DEFAULT, parse_body),
	KNOWN(FE, 'B', "Bind", PG_PRINT_DEFAULT, bind_body),
	KNOWN(FE, 'D', "Describe", PG_PRINT_DESCRIBE, describe_body),
	KNOWN(FE, 'E', "Execute", PG_PRINT_EXECUTE, execute_body),
	KNOWN(FE, 'S', "Sync", PG_PRINT_DEFAULT, sync_body),
	/* frontend, printed raw by structs.py */
	RAW(FE, 'C', "Close"),
	RAW(FE, 'H', "Flush"),
	RAW(FE, 'F', "FunctionCall"),
	RAW(FE, 'f', "CopyFail"),
	RAW(FE, 'p', "PasswordMessage"),	/* also SASL and GSSAPI responses */

	/* backend, as structs.py knows them */
	KNOWN(BE, 'd', "CopyData", PG_PRINT_DEFAULT, copy_data_body),
	KNOWN(BE, 'c', "CopyDone", PG_PRINT_DEFAULT, copy_done_body),
	KNOWN(BE, 'I', "EmptyQueryResponse", PG_PRINT_DEFAULT, empty_query_response_body),
	KNOWN(BE, 'H', "CopyOutResponse", PG_PRINT_DEFAULT, copy_out_response_body),
	KNOWN(BE, 'Z', "ReadyForQuery", PG_PRINT_DEFAULT, ready_for_query_body),
	KNOWN(BE, 'C', "CommandComplete", PG_PRINT_DEFAULT, command_complete_body),
	KNOWN(BE, 'T', "RowDescription", PG_PRINT_DEFAULT, row_description_body),
	KNOWN(BE, 'D', "DataRow", PG_PRINT_DEFAULT, data_row_body),
	KNOWN(BE, 'R', "AuthenticationOk", PG_PRINT_DEFAULT, authentication_ok_body),
	KNOWN(BE, 'S', "ParameterStatus", PG_PRINT_PARAMETER_STATUS, parameter_status_body),
	KNOWN(BE, 'K', "BackendKeyData", PG_PRINT_BACKEND_KEY_DATA, backend_key_data_body),
	KNOWN(BE, 'N', "NoticeResponse", PG_PRINT_NOTICE, notice_response_body),
	KNOWN(BE, '1', "ParseComplete", PG_PRINT_DEFAULT, parse_complete_body),
	KNOWN(BE, '2', "BindComplete", PG_PRINT_DEFAULT, bind_complete_body),
	KNOWN(BE, 'n', "NoData", PG_PRINT_DEFAULT, no_data_body),
	/* backend, printed raw by structs.py */
	RAW(BE, 'E', "ErrorResponse"),
	RAW(BE, 'G', "CopyInResponse"),
	RAW(BE, 'W', "CopyBothResponse"),
	RAW(BE, 't', "ParameterDescription"),
	RAW(BE, 's', "PortalSuspended"),
	RAW(BE, 'A', "NotificationResponse"),
	RAW(BE, '3', "CloseComplete"),
	RAW(BE, 'V', "FunctionCallResponse"),
	RAW(BE, 'v', "NegotiateProtocolVersion"),
};

const struct pg_message_desc *pg_messages_all(size_t *count)
{
	*count = ARRAY_LEN(messages);
	return messages;
}

const struct pg_message_desc *pg_message_by_type(enum wf_dir dir, uint8_t type)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(messages); i++)
		if (messages[i].dir == dir && messages[i].type == type)
			return &messages[i];
	return NULL;
}

const struct pg_message_desc *pg_message_by_name(enum wf_dir dir, const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_LEN(messages); i++)
		if (messages[i].dir == dir && messages[i].in_reference &&
		    strcmp(messages[i].name, name) == 0)
			return &messages[i];
	return NULL;
}

const struct pg_field *pg_message_field(const struct pg_message_desc *m, const char *name)
{
	size_t i;

	if (!m->body)
		return NULL;
	for (i = 0; i < m->body->nfields; i++)
		if (strcmp(m->body->fields[i].name, name) == 0)
			return &m->body->fields[i];
	return NULL;
}

size_t pg_field_min_size(enum pg_field_kind kind, const struct pg_record *rec)
{
	size_t i, n = 0;

	switch (kind) {
	case PG_FIELD_TEXT:
	case PG_FIELD_U8:
	case PG_FIELD_ENUM8:
		return 1;
	case PG_FIELD_U16:
	case PG_FIELD_I16:
		return 2;
	case PG_FIELD_U32:
	case PG_FIELD_I32:
	case PG_FIELD_BYTES4:
	case PG_FIELD_LENGTH32:
		return 4;
	case PG_FIELD_RECORD:
		for (i = 0; rec && i < rec->nfields; i++)
			n += pg_field_min_size(rec->fields[i].kind, rec->fields[i].elem_record);
		return n;
	default:
		return 0;
	}
}

int pg_message_field_loc(const struct pg_message_desc *m, const char *name,
			 const struct pg_field **field, struct pg_text_field_loc *loc)
{
	const struct pg_field *target = pg_message_field(m, name);
	struct pg_text_field_loc at = { 0, 0 };
	const struct pg_field *f;
	size_t size;

	if (!target)
		return -ENOENT;
	for (f = m->body->fields; f != target; f++) {
		if (f->kind == PG_FIELD_TEXT) {
			at.text_index++;
		} else if (at.text_index == 0 && f->kind != PG_FIELD_RECORD &&
			   (size = pg_field_min_size(f->kind, NULL)) != 0) {
			/* a scalar: always exactly its minimum size */
			at.fixed_prefix += (uint32_t)size;
		} else {
			return -EINVAL;
		}
	}
	if (field)
		*field = target;
	*loc = at;
	return 0;
}

int pg_message_text_field(const struct pg_message_desc *m, const char *field,
			  struct pg_text_field_loc *loc)
{
	const struct pg_field *f;
	struct pg_text_field_loc at;
	int rc = pg_message_field_loc(m, field, &f, &at);

	if (rc)
		return rc;
	if (f->kind != PG_FIELD_TEXT)
		return -EINVAL;
	*loc = at;
	return 0;
}
