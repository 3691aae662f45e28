// SPDX-License-Identifier: GPL-2.0
#include "pg_wire_builder.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "wf_pg_proto.h"

/* ---- bytes ---------------------------------------------------------------- */

void pgw_reset(struct pg_wire *w)
{
	w->len = 0;
	w->msg_start = 0;
}

void pgw_free(struct pg_wire *w)
{
	free(w->data);
	memset(w, 0, sizeof(*w));
}

void pgw_raw(struct pg_wire *w, const void *data, size_t len)
{
	if (w->len + len > w->cap) {
		size_t cap = w->cap ? w->cap : 256;

		while (cap < w->len + len)
			cap *= 2;
		w->data = realloc(w->data, cap);
		if (!w->data) {
			perror("realloc");
			abort();
		}
		w->cap = cap;
	}
	if (len)
		memcpy(w->data + w->len, data, len);
	w->len += len;
}

void pgw_u8(struct pg_wire *w, uint8_t v)
{
	pgw_raw(w, &v, 1);
}

void pgw_u16(struct pg_wire *w, uint16_t v)
{
	uint8_t b[2];

	wf_put_be16(b, v);
	pgw_raw(w, b, 2);
}

void pgw_u32(struct pg_wire *w, uint32_t v)
{
	uint8_t b[4];

	wf_put_be32(b, v);
	pgw_raw(w, b, 4);
}

void pgw_str(struct pg_wire *w, const char *s)
{
	pgw_raw(w, s, strlen(s) + 1);
}

/* ---- messages ------------------------------------------------------------- */

void pgw_begin(struct pg_wire *w, uint8_t type)
{
	if (type)
		pgw_u8(w, type);
	w->msg_start = w->len;
	pgw_u32(w, 0);
}

void pgw_end(struct pg_wire *w)
{
	wf_put_be32(w->data + w->msg_start, (uint32_t)(w->len - w->msg_start));
}

void pgw_msg(struct pg_wire *w, char type, const void *body, size_t body_len)
{
	pgw_begin(w, (uint8_t)type);
	pgw_raw(w, body, body_len);
	pgw_end(w);
}

void pgw_startup(struct pg_wire *w, const char *user, const char *database)
{
	pgw_begin(w, 0);
	pgw_u32(w, WF_PG_PROTOCOL_3_0);
	pgw_str(w, "user");
	pgw_str(w, user);
	pgw_str(w, "database");
	pgw_str(w, database);
	pgw_str(w, "application_name");
	pgw_str(w, "psql");
	pgw_u8(w, 0);
	pgw_end(w);
}

void pgw_ssl_request(struct pg_wire *w)
{
	pgw_begin(w, 0);
	pgw_u32(w, WF_PG_SSL_REQUEST);
	pgw_end(w);
}

void pgw_gssenc_request(struct pg_wire *w)
{
	pgw_begin(w, 0);
	pgw_u32(w, WF_PG_GSSENC_REQUEST);
	pgw_end(w);
}

void pgw_cancel_request(struct pg_wire *w, uint32_t pid, uint32_t key)
{
	pgw_begin(w, 0);
	pgw_u32(w, WF_PG_CANCEL_REQUEST);
	pgw_u32(w, pid);
	pgw_u32(w, key);
	pgw_end(w);
}

void pgw_query(struct pg_wire *w, const char *sql)
{
	pgw_begin(w, 'Q');
	pgw_str(w, sql);
	pgw_end(w);
}

void pgw_terminate(struct pg_wire *w)
{
	pgw_begin(w, 'X');
	pgw_end(w);
}

void pgw_data_row(struct pg_wire *w, const char *const *values, int n)
{
	pgw_begin(w, 'D');
	pgw_u16(w, (uint16_t)n);
	for (int i = 0; i < n; i++) {
		if (!values[i]) {
			pgw_u32(w, 0xffffffffu);
			continue;
		}
		pgw_u32(w, (uint32_t)strlen(values[i]));
		pgw_raw(w, values[i], strlen(values[i]));
	}
	pgw_end(w);
}

void pgw_data_row_big(struct pg_wire *w, size_t size)
{
	pgw_begin(w, 'D');
	pgw_u16(w, 1);
	pgw_u32(w, (uint32_t)size);
	for (size_t i = 0; i < size; i++)
		pgw_u8(w, (uint8_t)('a' + i % 26));
	pgw_end(w);
}

void pgw_command_complete(struct pg_wire *w, const char *tag)
{
	pgw_begin(w, 'C');
	pgw_str(w, tag);
	pgw_end(w);
}

void pgw_ready_for_query(struct pg_wire *w, char status)
{
	pgw_begin(w, 'Z');
	pgw_u8(w, (uint8_t)status);
	pgw_end(w);
}

void pgw_parameter_status(struct pg_wire *w, const char *name, const char *value)
{
	pgw_begin(w, 'S');
	pgw_str(w, name);
	pgw_str(w, value);
	pgw_end(w);
}

void pgw_login_burst(struct pg_wire *w)
{
	static const char *const params[][2] = {
		{ "application_name", "psql" },
		{ "client_encoding", "UTF8" },
		{ "DateStyle", "ISO, MDY" },
		{ "default_transaction_read_only", "off" },
		{ "in_hot_standby", "off" },
		{ "integer_datetimes", "on" },
		{ "IntervalStyle", "postgres" },
		{ "is_superuser", "on" },
		{ "server_encoding", "UTF8" },
		{ "server_version", "15.20 (Debian 15.20-0+deb12u1)" },
		{ "session_authorization", "postgres" },
		{ "standard_conforming_strings", "on" },
		{ "TimeZone", "Etc/UTC" },
	};

	pgw_begin(w, 'R');
	pgw_u32(w, 0);		/* AuthenticationOk */
	pgw_end(w);
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		pgw_parameter_status(w, params[i][0], params[i][1]);
	pgw_begin(w, 'K');
	pgw_u32(w, 12345);	/* pid */
	pgw_u32(w, 0xdeadbeef);	/* key */
	pgw_end(w);
	pgw_ready_for_query(w, 'I');
}
