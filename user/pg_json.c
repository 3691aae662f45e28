// SPDX-License-Identifier: GPL-2.0
#include "pg_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "byteorder.h"
#include "pg_messages.h"
#include "utf8.h"
#include "wf_pg_proto.h"

/* U+FFFD REPLACEMENT CHARACTER */
#define REPLACEMENT "\xef\xbf\xbd"

static bool plain_ascii(uint8_t c)
{
	return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

void pg_json_string(struct strbuf *out, const uint8_t *s, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	strbuf_addc(out, '"');
	while (i < len) {
		if (plain_ascii(s[i])) {
			for (n = i + 1; n < len && plain_ascii(s[n]); n++)
				;
			strbuf_add(out, s + i, n - i);
			i = n;
		} else if (s[i] == '"' || s[i] == '\\') {
			strbuf_addc(out, '\\');
			strbuf_addc(out, (char)s[i++]);
		} else if (s[i] < 0x20) {
			strbuf_addf(out, "\\u%04x", s[i++]);
		} else if ((n = utf8_decode(s + i, len - i, &cp)) != 0) {
			strbuf_add(out, s + i, n);
			i += n;
		} else {
			strbuf_add(out, REPLACEMENT, 3);
			i++;
		}
	}
	strbuf_addc(out, '"');
}

static void json_cstr(struct strbuf *out, const char *s)
{
	pg_json_string(out, (const uint8_t *)s, strlen(s));
}

/* A key, structs.py's hiding '_' taken off: "key": */
static void json_key(struct strbuf *out, const char *name)
{
	if (name[0] == '_')
		name++;
	json_cstr(out, name);
	strbuf_addc(out, ':');
}

static void json_hex(struct strbuf *out, const uint8_t *b, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	strbuf_adds(out, "{\"hex\":\"");
	if (!strbuf_reserve(out, 2 * len))
		return;
	for (i = 0; i < len; i++) {
		out->buf[out->len++] = digits[b[i] >> 4];
		out->buf[out->len++] = digits[b[i] & 15];
	}
	out->buf[out->len] = '\0';
	strbuf_adds(out, "\"}");
}

/* Bytes: a string when they are text (UTF-8 without NUL), else {"hex":"..."}. */
static void json_bytes(struct strbuf *out, const uint8_t *b, size_t len)
{
	if (!memchr(b, 0, len) && wf_utf8_valid((const char *)b, len))
		pg_json_string(out, b, len);
	else
		json_hex(out, b, len);
}

/* The type byte as the printer shows it, chr(type): "p", "\u0001", "é". */
static void json_type_byte(struct strbuf *out, uint8_t type)
{
	uint8_t enc[UTF8_MAX_LEN];

	pg_json_string(out, enc, utf8_encode(type, enc));
}

/*
 * The end of an object for bytes that were not decoded: "length", then at
 * most PG_JSON_BODY_MAX of them as hex.
 */
static void json_body_tail(struct strbuf *out, const uint8_t *body, size_t len)
{
	size_t n = len < PG_JSON_BODY_MAX ? len : PG_JSON_BODY_MAX;

	strbuf_addf(out, ",\"length\":%zu,\"body\":", len);
	json_hex(out, body, n);
	if (n < len)
		strbuf_adds(out, ",\"truncated\":true");
	strbuf_addc(out, '}');
}

/* The end of an object for a body that was not kept. */
static void json_not_kept_tail(struct strbuf *out, uint64_t len)
{
	strbuf_addf(out, ",\"length\":%" PRIu64 ",\"not_retained\":true}", len);
}

/* A known message whose body does not fit its layout. */
static void json_malformed(struct strbuf *out, const char *name, const uint8_t *body, size_t len)
{
	strbuf_adds(out, "{\"type\":");
	json_cstr(out, name);
	strbuf_adds(out, ",\"malformed\":true");
	json_body_tail(out, body, len);
}

/* A type, or subtype, without a layout: named by direction, as the printer's raw form. */
static void json_raw(struct strbuf *out, enum wf_dir dir, uint8_t type, const uint8_t *body,
		     size_t len)
{
	strbuf_adds(out, dir == WF_DIR_FRONTEND ? "{\"type\":\"Frontend\"" : "{\"type\":\"Backend\"");
	strbuf_adds(out, ",\"type_byte\":");
	json_type_byte(out, type);
	json_body_tail(out, body, len);
}

static void json_value(struct pg_printer *pp, struct strbuf *out, const struct pg_value *v);

/* A record's fields as an object, every field, in wire order. */
static void json_record(struct pg_printer *pp, struct strbuf *out, const struct pg_value *rec)
{
	uint32_t i;

	strbuf_addc(out, '{');
	for (i = 0; i < rec->count; i++) {
		const struct pg_value *f = &pp->decoded.values[rec->first + i];

		if (i)
			strbuf_addc(out, ',');
		json_key(out, f->field->name);
		json_value(pp, out, f);
	}
	strbuf_addc(out, '}');
}

static void json_value(struct pg_printer *pp, struct strbuf *out, const struct pg_value *v)
{
	uint32_t i;

	if (v->field && v->field->secret) {
		strbuf_addc(out, '"');
		strbuf_addf(out, PG_SECRET_FMT, v->len);
		strbuf_addc(out, '"');
		return;
	}
	switch (v->kind) {
	case PG_VALUE_INT:
		strbuf_addf(out, "%" PRId64, v->num);
		break;
	case PG_VALUE_TEXT:
		pg_json_string(out, v->data, v->len);
		break;
	case PG_VALUE_BYTES:
		json_bytes(out, v->data, v->len);
		break;
	case PG_VALUE_NONE:
		strbuf_adds(out, "null");
		break;
	case PG_VALUE_ENUM:
		if (v->symbol)
			json_cstr(out, v->symbol);
		else
			strbuf_addf(out, "%" PRId64, v->num);
		break;
	case PG_VALUE_LIST:
		strbuf_addc(out, '[');
		for (i = 0; i < v->count; i++) {
			if (i)
				strbuf_addc(out, ',');
			json_value(pp, out, &pp->decoded.values[v->first + i]);
		}
		strbuf_addc(out, ']');
		break;
	case PG_VALUE_RECORD:
		json_record(pp, out, v);
		break;
	}
}

/*
 * ErrorResponse/NoticeResponse: one key per field, in wire order, named by
 * its code's symbol ("sqlstate" for C), or its code's number when it has
 * none (as the printer shows it).
 */
static void json_notice(struct pg_printer *pp, struct strbuf *out)
{
	const struct pg_value *root = &pp->decoded.values[0];
	const struct pg_value *list = pg_value_field(&pp->decoded, root, "notices");
	uint32_t i;

	strbuf_addc(out, '{');
	for (i = 0; i < list->count; i++) {
		const struct pg_value *pair = &pp->decoded.values[list->first + i];
		const struct pg_value *key = pg_value_field(&pp->decoded, pair, "key");
		const struct pg_value *value = pg_value_field(&pp->decoded, pair, "value");
		char num[8];

		if (i)
			strbuf_addc(out, ',');
		if (!key->symbol)
			snprintf(num, sizeof(num), "%" PRId64, key->num);
		json_key(out, key->symbol ? key->symbol : num);
		pg_json_string(out, value->data, value->len);
	}
	strbuf_addc(out, '}');
}

void pg_json_message(struct pg_printer *pp, struct strbuf *out, enum wf_dir dir, uint8_t type,
		     const uint8_t *body, size_t len, int32_t auth_code)
{
	const struct pg_message_desc *m = pg_message_by_type(dir, type);
	size_t mark = out->len;
	int err;

	if (m)
		m = pg_message_variant(m, body, len, auth_code);
	err = m && m->body ? pg_decode(&pp->decoded, m, body, len) : -EINVAL;
	if (err == -ENOMEM) {
		out->failed = true;
	} else if (!m || !m->body) {
		json_raw(out, dir, type, body, len);
	} else if (err) {
		json_malformed(out, m->name, body, len);
	} else {
		strbuf_adds(out, "{\"type\":");
		json_cstr(out, m->name);
		strbuf_adds(out, ",\"fields\":");
		if (m->print == PG_PRINT_NOTICE)
			json_notice(pp, out);
		else
			json_record(pp, out, &pp->decoded.values[0]);
		strbuf_addc(out, '}');
	}
	if (strbuf_failed(out))
		strbuf_truncate(out, mark);
}

void pg_json_not_retained(struct strbuf *out, enum wf_dir dir, uint8_t type, uint64_t body_len)
{
	const struct pg_message_desc *m = pg_message_by_type(dir, type);

	/* the body decides subtypes, and is gone: the printer's name for the type */
	if (m && m->print != PG_PRINT_RAW) {
		strbuf_adds(out, "{\"type\":");
		json_cstr(out, m->name);
	} else {
		strbuf_adds(out, dir == WF_DIR_FRONTEND ? "{\"type\":\"Frontend\"" :
			    "{\"type\":\"Backend\"");
		strbuf_adds(out, ",\"type_byte\":");
		json_type_byte(out, type);
	}
	json_not_kept_tail(out, body_len);
}

/*
 * StartupMessage parameters: name/value strings up to an empty name.  With
 * out NULL only checks that they are complete.
 */
static bool startup_parameters(struct strbuf *out, const uint8_t *body, size_t len)
{
	const uint8_t *name, *name_end, *value, *value_end;
	size_t at = 0;
	bool first = true;

	if (out)
		strbuf_addc(out, '{');
	while (at < len && body[at] != 0) {
		name = body + at;
		name_end = memchr(name, 0, len - at);
		if (!name_end)
			return false;
		at = (size_t)(name_end - body) + 1;
		value = body + at;
		value_end = memchr(value, 0, len - at);
		if (!value_end)
			return false;
		at = (size_t)(value_end - body) + 1;
		if (!out)
			continue;
		if (!first)
			strbuf_addc(out, ',');
		first = false;
		pg_json_string(out, name, (size_t)(name_end - name));
		strbuf_addc(out, ':');
		pg_json_string(out, value, (size_t)(value_end - value));
	}
	if (out)
		strbuf_addc(out, '}');
	return at < len;	/* the empty name that ends them */
}

void pg_json_startup(struct strbuf *out, uint32_t code, const uint8_t *body, size_t len)
{
	const char *name;

	switch (code) {
	case WF_PG_SSL_REQUEST:
		name = "SSLRequest";
		break;
	case WF_PG_GSSENC_REQUEST:
		name = "GSSENCRequest";
		break;
	case WF_PG_CANCEL_REQUEST:
		name = "CancelRequest";
		break;
	default:
		name = code >> 16 == WF_PG_PROTOCOL_3_0 >> 16 ? "StartupMessage" : NULL;
		break;
	}
	if (!name) {
		strbuf_addf(out, "{\"type\":\"Frontend\",\"code\":%" PRIu32, code);
		if (body || !len)
			json_body_tail(out, body, len);
		else
			json_not_kept_tail(out, len);
		return;
	}
	if (!body && len) {
		strbuf_adds(out, "{\"type\":");
		json_cstr(out, name);
		json_not_kept_tail(out, len);
		return;
	}
	switch (code) {
	case WF_PG_SSL_REQUEST:
	case WF_PG_GSSENC_REQUEST:
		if (len)
			break;
		strbuf_addf(out, "{\"type\":\"%s\",\"fields\":{}}", name);
		return;
	case WF_PG_CANCEL_REQUEST:
		/* the key is an Int32 before protocol 3.2, up to 256 bytes since */
		if (len < 8)
			break;
		strbuf_addf(out, "{\"type\":\"%s\",\"fields\":{\"pid\":%" PRIu32 ",\"key\":",
			    name, wf_be32(body));
		json_bytes(out, body + 4, len - 4);
		strbuf_adds(out, "}}");
		return;
	default:
		if (!startup_parameters(NULL, body, len))
			break;
		strbuf_addf(out, "{\"type\":\"%s\",\"fields\":{\"protocol\":\"%" PRIu32 ".%" PRIu32
			    "\",\"parameters\":", name, code >> 16, code & 0xffff);
		startup_parameters(out, body, len);
		strbuf_adds(out, "}}");
		return;
	}
	json_malformed(out, name, body, len);
}

void pg_json_answer(struct strbuf *out, uint8_t answer)
{
	switch (answer) {
	case WF_PG_ANSWER_SSL_YES:
		strbuf_adds(out, "{\"type\":\"SSLResponse\",\"fields\":{\"accepted\":true}}");
		break;
	case WF_PG_ANSWER_GSS_YES:
		strbuf_adds(out, "{\"type\":\"GSSENCResponse\",\"fields\":{\"accepted\":true}}");
		break;
	case WF_PG_ANSWER_NO:
		strbuf_adds(out, "{\"type\":\"EncryptionResponse\",\"fields\":{\"accepted\":false}}");
		break;
	default:
		json_malformed(out, "EncryptionResponse", &answer, 1);
		break;
	}
}
