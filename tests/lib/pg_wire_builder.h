/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Builds PostgreSQL wire bytes for tests and benchmarks (unit tests, BPF
 * tests, bench/): a growable byte buffer, big-endian integers and C strings,
 * typed and untyped (startup-phase) messages with their length patched in,
 * and shorthands for whole messages.  Allocation failure aborts: tests only.
 *
 * Either open a message, add its fields and close it:
 *
 *	pgw_begin(&w, 'S');
 *	pgw_str(&w, "TimeZone");
 *	pgw_str(&w, "UTC");
 *	pgw_end(&w);
 *
 * or use a shorthand (pgw_parameter_status(&w, "TimeZone", "UTC")).
 * Messages are appended: w.data / w.len hold everything built since the
 * last pgw_reset.
 */
#ifndef WF_TEST_PG_WIRE_BUILDER_H
#define WF_TEST_PG_WIRE_BUILDER_H

#include <stddef.h>
#include <stdint.h>

struct pg_wire {
	uint8_t *data;
	size_t len, cap;
	size_t msg_start;	/* offset of the open message's length field */
};

/* Empties the buffer (keeps the allocation). */
void pgw_reset(struct pg_wire *w);
void pgw_free(struct pg_wire *w);

void pgw_raw(struct pg_wire *w, const void *data, size_t len);
void pgw_u8(struct pg_wire *w, uint8_t v);
void pgw_u16(struct pg_wire *w, uint16_t v);
void pgw_u32(struct pg_wire *w, uint32_t v);
void pgw_str(struct pg_wire *w, const char *s);	/* with its NUL */

/* Opens a typed message (type 0: an untyped startup-phase packet). */
void pgw_begin(struct pg_wire *w, uint8_t type);
/* Closes it: patches its length. */
void pgw_end(struct pg_wire *w);
/* A whole typed message: type, length = 4 + body_len, body. */
void pgw_msg(struct pg_wire *w, char type, const void *body, size_t body_len);

/* Untyped startup-phase packets (frontend).  The StartupMessage carries
 * user, database and application_name=psql, as psql sends it. */
void pgw_startup(struct pg_wire *w, const char *user, const char *database);
void pgw_ssl_request(struct pg_wire *w);
void pgw_gssenc_request(struct pg_wire *w);
void pgw_cancel_request(struct pg_wire *w, uint32_t pid, uint32_t key);

/* Typed messages. */
void pgw_query(struct pg_wire *w, const char *sql);
void pgw_terminate(struct pg_wire *w);
/* DataRow with one text column per value (NULL -> SQL NULL). */
void pgw_data_row(struct pg_wire *w, const char *const *values, int n);
/* DataRow with one column of `size` bytes of filler. */
void pgw_data_row_big(struct pg_wire *w, size_t size);
void pgw_command_complete(struct pg_wire *w, const char *tag);
void pgw_ready_for_query(struct pg_wire *w, char status);
void pgw_parameter_status(struct pg_wire *w, const char *name, const char *value);
/* AuthenticationOk, 13 ParameterStatus, BackendKeyData, ReadyForQuery:
 * the 16-message segment a PostgreSQL 15 server sends after login. */
void pgw_login_burst(struct pg_wire *w);
#define PGW_LOGIN_BURST_MESSAGES 16

#endif /* WF_TEST_PG_WIRE_BUILDER_H */
