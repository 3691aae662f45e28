/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PostgreSQL wire-protocol constants needed by both the in-kernel framer and
 * the userspace decoder.  (The message *table*, names and fields, lives in
 * user/pg_messages.c: the kernel only needs to know where messages start.)
 */
#ifndef WF_PG_PROTO_H
#define WF_PG_PROTO_H

#include "wf_types.h"

/* Typed messages: 1 type byte + 4-byte big-endian length (counting itself). */
#define WF_PG_TYPED_HDR_LEN	5
/* Startup-phase packets have no type byte: 4-byte length + 4-byte code. */
#define WF_PG_UNTYPED_HDR_LEN	8
#define WF_PG_HDR_MAX		8

/* Codes of the untyped startup-phase packets. */
#define WF_PG_PROTOCOL_3_0	196608u		/* StartupMessage, protocol 3.0 */
#define WF_PG_CANCEL_REQUEST	80877102u
#define WF_PG_SSL_REQUEST	80877103u
#define WF_PG_GSSENC_REQUEST	80877104u

/*
 * Sanity bounds.  A startup packet larger than this is not PostgreSQL (the
 * server itself rejects startup packets over 10000 bytes); a typed message
 * length below 4 is impossible.  Typed messages may legitimately be up to
 * 1 GiB (+ header), which is far above anything seen on a test port.
 */
#define WF_PG_STARTUP_MAX_LEN	10000u
#define WF_PG_TYPED_MIN_LEN	4u
#define WF_PG_TYPED_MAX_LEN	(0x40000000u + 4u)

/* One-byte answers of the server to SSLRequest / GSSENCRequest. */
#define WF_PG_ANSWER_SSL_YES	'S'
#define WF_PG_ANSWER_GSS_YES	'G'
#define WF_PG_ANSWER_NO		'N'

#endif /* WF_PG_PROTO_H */
