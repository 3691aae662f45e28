// SPDX-License-Identifier: GPL-2.0
#include "pg_wire.h"

#include <stdlib.h>
#include <string.h>

#include "wf_pg_proto.h"

void pgw_reset(struct pg_wire *w)
{
	strbuf_reset(&w->sb);
	w->msg_start = 0;
}

void pgw_free(struct pg_wire *w)
{
	strbuf_free(&w->sb);
}

void pgw_u8(struct pg_wire *w, uint8_t v)
{
	strbuf_add(&w->sb, &v, 1);
}

void pgw_u16(struct pg_wire *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	strbuf_add(&w->sb, b, 2);
}

void pgw_u32(struct pg_wire *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	strbuf_add(&w->sb, b, 4);
}

void pgw_str(struct pg_wire *w, const char *s)
{
	strbuf_add(&w->sb, s, strlen(s) + 1);
}

void pgw_raw(struct pg_wire *w, const void *data, size_t len)
{
	strbuf_add(&w->sb, data, len);
}

void pgw_begin(struct pg_wire *w, uint8_t type)
{
	if (type)
		pgw_u8(w, type);
	w->msg_start = w->sb.len;
	pgw_u32(w, 0);
}

void pgw_end(struct pg_wire *w)
{
	uint32_t len = (uint32_t)(w->sb.len - w->msg_start);
	uint8_t *p = (uint8_t *)w->sb.buf + w->msg_start;

	p[0] = (uint8_t)(len >> 24);
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
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

void pgw_ready(struct pg_wire *w, char state)
{
	pgw_begin(w, 'Z');
	pgw_u8(w, (uint8_t)state);
	pgw_end(w);
}

void pgw_startup(struct pg_wire *w, const char *user)
{
	pgw_begin(w, 0);
	pgw_u32(w, WF_PG_PROTOCOL_3_0);
	pgw_str(w, "user");
	pgw_str(w, user);
	pgw_u8(w, 0);
	pgw_end(w);
}

void pgw_ssl_request(struct pg_wire *w)
{
	pgw_begin(w, 0);
	pgw_u32(w, WF_PG_SSL_REQUEST);
	pgw_end(w);
}
