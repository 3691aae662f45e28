/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The PostgreSQL message table: for each (direction, type byte) the message's
 * name, its body layout (field names and kinds, in wire order) and how
 * fluent.py's structs.py prints it.  It is the only place that knows
 * message names and fields: the decoder, the printer and the command
 * compiler (onQuery(query=...) filters) all read it.
 *
 * Names are structs.py's class names (s:159-452) for the types it decodes;
 * every R message is "AuthenticationOk" there, whatever its subtype.  The
 * protocol's other types are in the table too, named as PostgreSQL's
 * documentation names them, with in_reference == false: structs.py prints
 * them as Frontend(type=C,body=b'...') / Backend(type=E,body=b'...') and its
 * onX filters never match them, so wirefault's onX do not either; but
 * wirefault decodes and prints them like the others (docs/differences.md).
 *
 * Two types have subtypes, each with its own name and layout (variants):
 * Authentication 'R', by the Int32 code its body starts with, and the
 * frontend's 'p', whose meaning (password, SASL, GSSAPI) only the
 * Authentication message it answers tells.
 */
#ifndef WF_PG_MESSAGES_H
#define WF_PG_MESSAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wf_flow.h"

enum pg_field_kind {
	PG_FIELD_TEXT,		/* NUL-terminated string (a Python str) */
	PG_FIELD_U8,
	PG_FIELD_U16,
	PG_FIELD_I16,
	PG_FIELD_U32,
	PG_FIELD_I32,
	PG_FIELD_ENUM8,		/* one byte printed by its symbol (unknown: decimal) */
	PG_FIELD_BYTES4,	/* four raw bytes */
	PG_FIELD_REST,		/* every remaining byte of the body (bytes) */
	PG_FIELD_LENGTH32,	/* Int32 length of the following VALUE, -1 = NULL */
	PG_FIELD_VALUE,		/* that many bytes (bytes), or None for -1 */
	PG_FIELD_LIST,		/* a list, see struct pg_field */
	PG_FIELD_RECORD,	/* only as a list element: a nested struct */
};

/* How a secret field (a password) prints and exports instead of its value. */
#define PG_SECRET_FMT "<%zu bytes hidden>"

struct pg_enum_symbol {
	uint8_t value;
	const char *name;
};

struct pg_record;

/*
 * One field.  Names starting with '_' are not printed (structs.py's rule).
 * A LIST has as many elements as the value of the integer field just before
 * it, or, with until_zero, runs until a zero byte where the next element
 * would start (NoticeResponse, AuthenticationSASL's mechanism names); its
 * elements are elem_kind, a scalar kind or PG_FIELD_RECORD (elem_record).
 */
struct pg_field {
	const char *name;
	enum pg_field_kind kind;
	const struct pg_enum_symbol *symbols;	/* ENUM8: terminated by name == NULL */
	enum pg_field_kind elem_kind;		/* LIST */
	const struct pg_record *elem_record;	/* LIST of RECORD */
	bool until_zero;			/* LIST */
	bool secret;	/* TEXT: never shown, only its length (PG_SECRET_FMT): dumps are shared */
};

/* A struct: printed as Name(field=value,...) by default. */
struct pg_record {
	const char *name;	/* nested: "F", "C", "Anonymous"; NULL for a message body */
	const struct pg_field *fields;
	size_t nfields;
};

/* How structs.py prints a message (its custom print() methods). */
enum pg_print_style {
	PG_PRINT_DEFAULT,		/* Name(k=v,k=v) */
	PG_PRINT_QUERY,			/* Query(query=...), normalized */
	PG_PRINT_PARAMETER_STATUS,	/* ParameterStatus(name=value), some values masked */
	PG_PRINT_BACKEND_KEY_DATA,	/* BackendKeyData(XXX) */
	PG_PRINT_NOTICE,		/* NoticeResponse(k=v, k=v), also ErrorResponse */
	PG_PRINT_DESCRIBE,		/* Describe(portal=name) */
	PG_PRINT_EXECUTE,		/* Execute(name, max_rows_to_return=N) */
	PG_PRINT_RAW,			/* Frontend(type=C,body=b'...'): unknown to structs.py */
};

/* Authentication codes (the Int32 an 'R' body starts with). */
enum pg_auth_code {
	PG_AUTH_OK = 0,
	PG_AUTH_KERBEROS_V5 = 2,
	PG_AUTH_CLEARTEXT_PASSWORD = 3,
	PG_AUTH_MD5_PASSWORD = 5,
	PG_AUTH_GSS = 7,
	PG_AUTH_GSS_CONTINUE = 8,
	PG_AUTH_SSPI = 9,
	PG_AUTH_SASL = 10,
	PG_AUTH_SASL_CONTINUE = 11,
	PG_AUTH_SASL_FINAL = 12,
};

/* What selects the variant of a message with subtypes. */
enum pg_variant_key {
	PG_VARIANT_NONE,
	PG_VARIANT_LEADING_I32,	/* the Int32 the body starts with (Authentication) */
	PG_VARIANT_AUTH_CODE,	/* the code of the last Authentication the backend sent ('p') */
};

struct pg_message_desc {
	enum wf_dir dir;
	uint8_t type;
	const char *name;
	bool in_reference;		/* structs.py decodes it (onX can match it) */
	enum pg_print_style print;
	const struct pg_record *body;	/* layout; NULL for PG_PRINT_RAW */
	/*
	 * A type with subtypes: its entry is what structs.py and onX know
	 * (e.g. every 'R' is AuthenticationOk); what is decoded and printed
	 * is the variant whose code is the key's value (an array terminated
	 * by name == NULL; one name may have several codes).
	 */
	enum pg_variant_key variant_key;
	const struct pg_message_desc *variants;
	int32_t code;			/* a variant: the key value selecting it */
};

/* The message of this type sent in this direction, or NULL (not PostgreSQL). */
const struct pg_message_desc *pg_message_by_type(enum wf_dir dir, uint8_t type);

/*
 * What to decode a message of entry m as: m itself for a type without
 * subtypes, else its variant for this body (Authentication) or for
 * auth_code (the last Authentication code the backend sent on the
 * connection, -1 if none: 'p'); NULL when no variant applies (an unknown
 * code, a body too short to hold one): the message is shown raw.
 */
const struct pg_message_desc *pg_message_variant(const struct pg_message_desc *m,
						 const uint8_t *body, size_t len,
						 int32_t auth_code);

/*
 * The message structs.py calls `name` in this direction ("Query",
 * "CopyData", ...), or NULL.  Case-sensitive like fluent's onX; only names
 * with in_reference (the names onX filters can match).
 */
const struct pg_message_desc *pg_message_by_name(enum wf_dir dir, const char *name);

/* A top-level field of the message's body by name, or NULL. */
const struct pg_field *pg_message_field(const struct pg_message_desc *m, const char *name);

/*
 * The least number of bytes one value of this kind takes on the wire (rec:
 * the layout of a PG_FIELD_RECORD, unused for other kinds): 0 for REST, VALUE
 * and LIST, which may be empty.  Every scalar kind but TEXT always takes
 * exactly that many.  The decoder bounds list lengths with it (a forged count
 * cannot make it allocate); pg_message_field_loc() adds up fixed prefixes.
 */
size_t pg_field_min_size(enum pg_field_kind kind, const struct pg_record *rec);

/*
 * Where a top-level field of the body starts, for reading it without a full
 * decode (the kernel matches onX() fields this way): skip `fixed_prefix`
 * bytes of the body, then skip `text_index` NUL-terminated strings; the field
 * is what comes next.  A field with text_index == 0 is at the fixed body
 * offset fixed_prefix.
 */
struct pg_text_field_loc {
	uint32_t fixed_prefix;
	uint32_t text_index;
};

/*
 * Any field's location; *field (may be NULL) receives its table entry, whose
 * kind says what is there.  0; -ENOENT: no such field; -EINVAL: the field is
 * not at such a position (it follows a variable-length field other than
 * text).
 */
int pg_message_field_loc(const struct pg_message_desc *m, const char *name,
			 const struct pg_field **field, struct pg_text_field_loc *loc);

/*
 * Where a text field is (pg_message_field_loc() for PG_FIELD_TEXT fields).
 * 0; -ENOENT: no such field; -EINVAL: the field is not text, or not at such a
 * position.
 */
int pg_message_text_field(const struct pg_message_desc *m, const char *field,
			  struct pg_text_field_loc *loc);

/* Every entry, for iteration (tests, listings); variants hang off their type's entry. */
const struct pg_message_desc *pg_messages_all(size_t *count);

#endif /* WF_PG_MESSAGES_H */
