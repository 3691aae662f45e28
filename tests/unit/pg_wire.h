/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Builds PostgreSQL wire bytes for tests: typed messages with their length
 * patched in, startup packets, big-endian integers and C strings.
 */
#ifndef WF_TEST_PG_WIRE_H
#define WF_TEST_PG_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "strbuf.h"

struct pg_wire {
	struct strbuf sb;
	size_t msg_start;	/* offset of the open message's length field */
};

void pgw_reset(struct pg_wire *w);
void pgw_free(struct pg_wire *w);
/* Opens a typed message (type 0: an untyped startup packet). */
void pgw_begin(struct pg_wire *w, uint8_t type);
/* Closes it: patches its length. */
void pgw_end(struct pg_wire *w);
void pgw_u8(struct pg_wire *w, uint8_t v);
void pgw_u16(struct pg_wire *w, uint16_t v);
void pgw_u32(struct pg_wire *w, uint32_t v);
void pgw_str(struct pg_wire *w, const char *s);	/* with its NUL */
void pgw_raw(struct pg_wire *w, const void *data, size_t len);

/* Shorthands for whole messages. */
void pgw_query(struct pg_wire *w, const char *sql);
void pgw_terminate(struct pg_wire *w);
void pgw_ready(struct pg_wire *w, char state);
void pgw_startup(struct pg_wire *w, const char *user);
void pgw_ssl_request(struct pg_wire *w);

static inline const uint8_t *pgw_data(const struct pg_wire *w)
{
	return (const uint8_t *)w->sb.buf;
}

static inline size_t pgw_len(const struct pg_wire *w)
{
	return w->sb.len;
}

#endif /* WF_TEST_PG_WIRE_H */
