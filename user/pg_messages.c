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

#include "byteorder.h"

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

/*
 * Field codes of ErrorResponse/NoticeResponse; '_' names are not printed.
 * structs.py spells C "_sql_state": it is never printed, so the spelling
 * only shows in JSON, which names it as PostgreSQL does.
 */
static const struct pg_enum_symbol notice_codes[] = {
	{ 'S', "severity" },
	{ 'V', "_severity_not_localized" },
	{ 'C', "_sqlstate" },
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

/* ---- types structs.py does not decode: the protocol documentation's layouts -------------- */

BODY(parameter_description_body,
     F("parametercount", PG_FIELD_U16),
     F_LIST("parameters", PG_FIELD_U32));
BODY(notification_response_body,
     F("pid", PG_FIELD_I32),
     F("channel", PG_FIELD_TEXT),
     F("payload", PG_FIELD_TEXT));
BODY(function_call_response_body,
     F("length", PG_FIELD_LENGTH32),
     F("value", PG_FIELD_VALUE));
/* the options are the ones the server did not recognize */
BODY(negotiate_protocol_version_body,
     F("newest_minor_version", PG_FIELD_I32),
     F("optioncount", PG_FIELD_I32),
     F_LIST("options", PG_FIELD_TEXT));

/* Close names what it closes as Describe does. */
BODY(close_body, F_ENUM("type", describe_kinds), F("name", PG_FIELD_TEXT));
/* Arguments are Bind's parameters again: Int32 length (-1: NULL) and bytes. */
BODY(function_call_body,
     F("function_oid", PG_FIELD_U32),
     F("_argument_format_code_count", PG_FIELD_U16),
     F_LIST("argument_format_codes", PG_FIELD_U16),
     F("_argument_count", PG_FIELD_U16),
     F_LIST_OF("arguments", bind_parameter),
     F("result_format", PG_FIELD_U16));
BODY(copy_fail_body, F("message", PG_FIELD_TEXT));

/* Authentication: the code, then what that code carries. */
BODY(auth_code_only_body, F("_code", PG_FIELD_I32));
BODY(auth_md5_body, F("_code", PG_FIELD_I32), F("salt", PG_FIELD_BYTES4));
BODY(auth_data_body, F("_code", PG_FIELD_I32), F("data", PG_FIELD_REST));
BODY(auth_sasl_body,
     F("_code", PG_FIELD_I32),
     { .name = "mechanisms", .kind = PG_FIELD_LIST, .elem_kind = PG_FIELD_TEXT,
       .until_zero = true });

/* The frontend's 'p' answers. */
BODY(password_body, { .name = "password", .kind = PG_FIELD_TEXT, .secret = true });
BODY(sasl_initial_response_body,
     F("mechanism", PG_FIELD_TEXT),
     F("_length", PG_FIELD_LENGTH32),	/* -1: no initial response */
     F("data", PG_FIELD_VALUE));
BODY(auth_response_data_body, F("data", PG_FIELD_REST));
/* A 'p' whose Authentication request was not seen (a connection joined
 * mid-login): it may be a password, so none of it is shown. */
BODY(unknown_auth_response_body, { .name = "data", .kind = PG_FIELD_REST, .secret = true });

EMPTY_BODY(terminate_body);
EMPTY_BODY(copy_done_body);
EMPTY_BODY(sync_body);
EMPTY_BODY(empty_query_response_body);
EMPTY_BODY(authentication_ok_body);
EMPTY_BODY(parse_complete_body);
EMPTY_BODY(bind_complete_body);
EMPTY_BODY(no_data_body);
EMPTY_BODY(portal_suspended_body);
EMPTY_BODY(close_complete_body);
EMPTY_BODY(flush_body);

/* ---- the table -------------------------------------------------------------------------- */

#define FE WF_DIR_FRONTEND
#define BE WF_DIR_BACKEND
#define KNOWN(d, t, nm, style, rec)						\
	{ .dir = d, .type = t, .name = nm, .in_reference = true, .print = style, .body = &(rec) }
/* decoded by wirefault, unknown to structs.py */
#define DECODED(d, t, nm, style, rec)						\
	{ .dir = d, .type = t, .name = nm, .print = style, .body = &(rec) }
#define VARIANT(d, t, c, nm, style, rec)					\
	{ .dir = d, .type = t, .name = nm, .print = style, .body = &(rec), .code = c }
#define END_VARIANTS			{ .name = NULL }

/* Every R is AuthenticationOk to structs.py; its code says what it is. */
#define AUTH(c, nm, rec) VARIANT(BE, 'R', c, nm, PG_PRINT_DEFAULT, rec)
static const struct pg_message_desc authentication_variants[] = {
	AUTH(PG_AUTH_OK, "AuthenticationOk", auth_code_only_body),
	AUTH(PG_AUTH_KERBEROS_V5, "AuthenticationKerberosV5", auth_code_only_body),
	AUTH(PG_AUTH_CLEARTEXT_PASSWORD, "AuthenticationCleartextPassword", auth_code_only_body),
	AUTH(PG_AUTH_MD5_PASSWORD, "AuthenticationMD5Password", auth_md5_body),
	AUTH(PG_AUTH_GSS, "AuthenticationGSS", auth_code_only_body),
	AUTH(PG_AUTH_GSS_CONTINUE, "AuthenticationGSSContinue", auth_data_body),
	AUTH(PG_AUTH_SSPI, "AuthenticationSSPI", auth_code_only_body),
	AUTH(PG_AUTH_SASL, "AuthenticationSASL", auth_sasl_body),
	AUTH(PG_AUTH_SASL_CONTINUE, "AuthenticationSASLContinue", auth_data_body),
	AUTH(PG_AUTH_SASL_FINAL, "AuthenticationSASLFinal", auth_data_body),
	END_VARIANTS,
};

/* 'p', by the Authentication request it answers. */
#define ANSWER(c, nm, rec) VARIANT(FE, 'p', c, nm, PG_PRINT_DEFAULT, rec)
static const struct pg_message_desc password_variants[] = {
	ANSWER(PG_AUTH_CLEARTEXT_PASSWORD, "PasswordMessage", password_body),
	ANSWER(PG_AUTH_MD5_PASSWORD, "PasswordMessage", password_body),
	ANSWER(PG_AUTH_GSS, "GSSResponse", auth_response_data_body),
	ANSWER(PG_AUTH_GSS_CONTINUE, "GSSResponse", auth_response_data_body),
	ANSWER(PG_AUTH_SSPI, "GSSResponse", auth_response_data_body),
	ANSWER(PG_AUTH_SASL, "SASLInitialResponse", sasl_initial_response_body),
	ANSWER(PG_AUTH_SASL_CONTINUE, "SASLResponse", auth_response_data_body),
	END_VARIANTS,
};

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
	DECODED(FE, 'C', "Close", PG_PRINT_DEFAULT, close_body),
	DECODED(FE, 'H', "Flush", PG_PRINT_DEFAULT, flush_body),
	DECODED(FE, 'F', "FunctionCall", PG_PRINT_DEFAULT, function_call_body),
	DECODED(FE, 'f', "CopyFail", PG_PRINT_DEFAULT, copy_fail_body),
	/* also SASL and GSSAPI responses: an Authentication says which; without
	 * one, masked like a password */
	{ .dir = FE, .type = 'p', .name = "AuthenticationResponse", .print = PG_PRINT_DEFAULT,
	  .body = &unknown_auth_response_body,
	  .variant_key = PG_VARIANT_AUTH_CODE, .variants = password_variants },

	/* backend, as structs.py knows them */
	KNOWN(BE, 'd', "CopyData", PG_PRINT_DEFAULT, copy_data_body),
	KNOWN(BE, 'c', "CopyDone", PG_PRINT_DEFAULT, copy_done_body),
	KNOWN(BE, 'I', "EmptyQueryResponse", PG_PRINT_DEFAULT, empty_query_response_body),
	KNOWN(BE, 'H', "CopyOutResponse", PG_PRINT_DEFAULT, copy_out_response_body),
	KNOWN(BE, 'Z', "ReadyForQuery", PG_PRINT_DEFAULT, ready_for_query_body),
	KNOWN(BE, 'C', "CommandComplete", PG_PRINT_DEFAULT, command_complete_body),
	KNOWN(BE, 'T', "RowDescription", PG_PRINT_DEFAULT, row_description_body),
	KNOWN(BE, 'D', "DataRow", PG_PRINT_DEFAULT, data_row_body),
	{ .dir = BE, .type = 'R', .name = "AuthenticationOk", .in_reference = true,
	  .print = PG_PRINT_DEFAULT, .body = &authentication_ok_body,
	  .variant_key = PG_VARIANT_LEADING_I32, .variants = authentication_variants },
	KNOWN(BE, 'S', "ParameterStatus", PG_PRINT_PARAMETER_STATUS, parameter_status_body),
	KNOWN(BE, 'K', "BackendKeyData", PG_PRINT_BACKEND_KEY_DATA, backend_key_data_body),
	KNOWN(BE, 'N', "NoticeResponse", PG_PRINT_NOTICE, notice_response_body),
	KNOWN(BE, '1', "ParseComplete", PG_PRINT_DEFAULT, parse_complete_body),
	KNOWN(BE, '2', "BindComplete", PG_PRINT_DEFAULT, bind_complete_body),
	KNOWN(BE, 'n', "NoData", PG_PRINT_DEFAULT, no_data_body),
	/* backend, printed raw by structs.py */
	DECODED(BE, 'E', "ErrorResponse", PG_PRINT_NOTICE, notice_response_body),
	DECODED(BE, 'G', "CopyInResponse", PG_PRINT_DEFAULT, copy_out_response_body),
	DECODED(BE, 'W', "CopyBothResponse", PG_PRINT_DEFAULT, copy_out_response_body),
	DECODED(BE, 't', "ParameterDescription", PG_PRINT_DEFAULT, parameter_description_body),
	DECODED(BE, 's', "PortalSuspended", PG_PRINT_DEFAULT, portal_suspended_body),
	DECODED(BE, 'A', "NotificationResponse", PG_PRINT_DEFAULT, notification_response_body),
	DECODED(BE, '3', "CloseComplete", PG_PRINT_DEFAULT, close_complete_body),
	DECODED(BE, 'V', "FunctionCallResponse", PG_PRINT_DEFAULT, function_call_response_body),
	DECODED(BE, 'v', "NegotiateProtocolVersion", PG_PRINT_DEFAULT,
		negotiate_protocol_version_body),
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

const struct pg_message_desc *pg_message_variant(const struct pg_message_desc *m,
						 const uint8_t *body, size_t len,
						 int32_t auth_code)
{
	const struct pg_message_desc *v;
	int32_t code;

	switch (m->variant_key) {
	case PG_VARIANT_LEADING_I32:
		if (len < 4)
			return NULL;
		code = (int32_t)wf_be32(body);
		break;
	case PG_VARIANT_AUTH_CODE:
		code = auth_code;
		break;
	default:
		return m;
	}
	for (v = m->variants; v->name; v++)
		if (v->code == code)
			return v;
	/* an answer to an unknown request: the message's own (masked) layout */
	return m->variant_key == PG_VARIANT_AUTH_CODE ? m : NULL;
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
