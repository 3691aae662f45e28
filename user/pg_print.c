// SPDX-License-Identifier: GPL-2.0
#include "pg_print.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "pg_normalize.h"
#include "pyrepr.h"
#include "utf8.h"

void pg_printer_free(struct pg_printer *pp)
{
	size_t i;

	pg_decoded_free(&pp->decoded);
	for (i = 0; i < PG_PRINT_MAX_DEPTH; i++)
		strbuf_free(&pp->scratch[i]);
	strbuf_free(&pp->text);
}

static const char *direction_name(enum wf_dir dir)
{
	return dir == WF_DIR_FRONTEND ? "Frontend" : "Backend";
}

/* chr(type): the byte as a code point. */
static void add_type_char(struct strbuf *out, uint8_t type)
{
	uint8_t enc[UTF8_MAX_LEN];

	strbuf_add(out, enc, utf8_encode(type, enc));
}

static void add_text(struct strbuf *out, const struct pg_value *v)
{
	py_decode_utf8(out, v->data, v->len);
}

/* `name or "<unnamed>"` */
static void add_name_or_unnamed(struct strbuf *out, const struct pg_value *v)
{
	if (v->len)
		add_text(out, v);
	else
		strbuf_adds(out, "<unnamed>");
}

static void add_enum(struct strbuf *out, const struct pg_value *v)
{
	/* construct's Enum gives an int for values without a name */
	if (v->symbol)
		strbuf_adds(out, v->symbol);
	else
		strbuf_addf(out, "%" PRId64, v->num);
}

static void print_value(struct pg_printer *pp, struct strbuf *out, const struct pg_value *v,
			int depth);

/* Name(k=v,k=v), fields whose name starts with '_' left out (s:82-91). */
static void print_record(struct pg_printer *pp, struct strbuf *out, const char *name,
			 const struct pg_value *rec, int depth)
{
	bool first = true;
	uint32_t i;

	strbuf_adds(out, name);
	strbuf_addc(out, '(');
	for (i = 0; i < rec->count; i++) {
		const struct pg_value *f = &pp->decoded.values[rec->first + i];

		if (f->field->name[0] == '_')
			continue;
		if (!first)
			strbuf_addc(out, ',');
		first = false;
		strbuf_adds(out, f->field->name);
		strbuf_addc(out, '=');
		print_value(pp, out, f, depth);
	}
	strbuf_addc(out, ')');
}

/* repr() of the list of printed elements: ints stay ints, the rest are str. */
static void print_list(struct pg_printer *pp, struct strbuf *out, const struct pg_value *list,
		       int depth)
{
	struct strbuf *tmp;
	uint32_t i;

	if (depth + 1 >= PG_PRINT_MAX_DEPTH) {	/* deeper than any layout in the table */
		out->failed = true;
		return;
	}
	tmp = &pp->scratch[depth + 1];
	strbuf_addc(out, '[');
	for (i = 0; i < list->count; i++) {
		const struct pg_value *e = &pp->decoded.values[list->first + i];

		if (i)
			strbuf_add(out, ", ", 2);
		if (e->kind == PG_VALUE_INT) {
			strbuf_addf(out, "%" PRId64, e->num);
			continue;
		}
		strbuf_reset(tmp);
		print_value(pp, tmp, e, depth + 1);
		if (strbuf_failed(tmp))
			out->failed = true;
		pyrepr_str(out, tmp->buf ? tmp->buf : "", tmp->len);
	}
	strbuf_addc(out, ']');
}

static void print_value(struct pg_printer *pp, struct strbuf *out, const struct pg_value *v,
			int depth)
{
	if (v->field && v->field->secret) {
		strbuf_addf(out, PG_SECRET_FMT, v->len);
		return;
	}
	switch (v->kind) {
	case PG_VALUE_INT:
		strbuf_addf(out, "%" PRId64, v->num);
		break;
	case PG_VALUE_TEXT:
		add_text(out, v);
		break;
	case PG_VALUE_BYTES:
		pyrepr_bytes(out, v->data, v->len);
		break;
	case PG_VALUE_NONE:
		strbuf_adds(out, "None");
		break;
	case PG_VALUE_ENUM:
		add_enum(out, v);
		break;
	case PG_VALUE_LIST:
		print_list(pp, out, v, depth);
		break;
	case PG_VALUE_RECORD:
		print_record(pp, out, v->record->name ? v->record->name : "Anonymous", v, depth);
		break;
	}
}

static const struct pg_value *field(struct pg_printer *pp, const char *name)
{
	return pg_value_field(&pp->decoded, &pp->decoded.values[0], name);
}

/* s:164-170 */
static void print_query(struct pg_printer *pp, struct strbuf *out)
{
	const struct pg_value *q = field(pp, "query");
	struct strbuf *text = &pp->text;

	strbuf_reset(text);
	add_text(text, q);
	if (strbuf_failed(text))
		out->failed = true;
	strbuf_adds(out, "Query(query=");
	pg_normalize_query(out, text->buf ? text->buf : "", text->len);
	strbuf_addc(out, ')');
}

/* s:262-271 */
static void print_parameter_status(struct pg_printer *pp, struct strbuf *out)
{
	const struct pg_value *name = field(pp, "name"), *value = field(pp, "value");

	strbuf_adds(out, "ParameterStatus(");
	add_text(out, name);
	strbuf_addc(out, '=');
	if (pg_parameter_status_masked((const char *)name->data, name->len))
		strbuf_adds(out, "XXX");
	else
		add_text(out, value);
	strbuf_addc(out, ')');
}

/* s:323-331: fields in wire order, ", " between, '_' names left out; ErrorResponse alike */
static void print_notice(struct pg_printer *pp, struct strbuf *out, const char *name)
{
	const struct pg_value *list = field(pp, "notices");
	bool first = true;
	uint32_t i;

	strbuf_adds(out, name);
	strbuf_addc(out, '(');
	for (i = 0; i < list->count; i++) {
		const struct pg_value *pair = &pp->decoded.values[list->first + i];
		const struct pg_value *key = pg_value_field(&pp->decoded, pair, "key");
		const struct pg_value *value = pg_value_field(&pp->decoded, pair, "value");

		if (key->symbol && key->symbol[0] == '_')
			continue;
		if (!first)
			strbuf_add(out, ", ", 2);
		first = false;
		add_enum(out, key);
		strbuf_addc(out, '=');
		add_text(out, value);
	}
	strbuf_addc(out, ')');
}

static void print_decoded(struct pg_printer *pp, struct strbuf *out,
			  const struct pg_message_desc *m)
{
	switch (m->print) {
	case PG_PRINT_QUERY:
		print_query(pp, out);
		break;
	case PG_PRINT_PARAMETER_STATUS:
		print_parameter_status(pp, out);
		break;
	case PG_PRINT_BACKEND_KEY_DATA:
		/* s:283-285: censored for reproducible output */
		strbuf_adds(out, "BackendKeyData(XXX)");
		break;
	case PG_PRINT_NOTICE:
		print_notice(pp, out, m->name);
		break;
	case PG_PRINT_DESCRIBE:		/* s:431-432 */
		strbuf_adds(out, "Describe(");
		add_enum(out, field(pp, "type"));
		strbuf_addc(out, '=');
		add_name_or_unnamed(out, field(pp, "name"));
		strbuf_addc(out, ')');
		break;
	case PG_PRINT_EXECUTE:		/* s:439-442 */
		strbuf_adds(out, "Execute(");
		add_name_or_unnamed(out, field(pp, "name"));
		strbuf_addf(out, ", max_rows_to_return=%" PRId64 ")", field(pp, "max_rows_to_return")->num);
		break;
	case PG_PRINT_DEFAULT:
	case PG_PRINT_RAW:
		print_record(pp, out, m->name, &pp->decoded.values[0], 0);
		break;
	}
}

/* s:480-516: Frontend(type=C,body=b'...') */
static void print_raw(struct strbuf *out, enum wf_dir dir, uint8_t type,
		      const uint8_t *body, size_t len)
{
	strbuf_adds(out, direction_name(dir));
	strbuf_adds(out, "(type=");
	add_type_char(out, type);
	strbuf_adds(out, ",body=");
	pyrepr_bytes(out, body, len);
	strbuf_addc(out, ')');
}

void pg_print_message(struct pg_printer *pp, struct strbuf *out, enum wf_dir dir,
		      uint8_t type, const uint8_t *body, size_t len, int32_t auth_code)
{
	const struct pg_message_desc *m = pg_message_by_type(dir, type);
	size_t mark = out->len;
	int err;

	if (m)
		m = pg_message_variant(m, body, len, auth_code);
	if (!m || m->print == PG_PRINT_RAW) {
		print_raw(out, dir, type, body, len);
		return;
	}
	err = pg_decode(&pp->decoded, m, body, len);
	if (err == -ENOMEM) {
		out->failed = true;
		return;
	}
	if (err) {
		/* structs.py would stop parsing the chunk here (s:520-531);
		 * wirefault shows the message's bytes instead */
		print_raw(out, dir, type, body, len);
		return;
	}
	print_decoded(pp, out, m);
	if (strbuf_failed(out))
		strbuf_truncate(out, mark);
}

void pg_print_not_retained(struct strbuf *out, enum wf_dir dir, uint8_t type, uint64_t body_len)
{
	const struct pg_message_desc *m = pg_message_by_type(dir, type);

	if (m && m->print != PG_PRINT_RAW) {
		strbuf_addf(out, "%s(<%" PRIu64 " bytes, not retained>)", m->name, body_len);
		return;
	}
	strbuf_adds(out, direction_name(dir));
	strbuf_adds(out, "(type=");
	add_type_char(out, type);
	strbuf_addf(out, ",body=<%" PRIu64 " bytes, not retained>)", body_len);
}
