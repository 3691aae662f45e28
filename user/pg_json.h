/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One PostgreSQL message as one JSON object (docs/json.md), from the same
 * layouts and decoded tree the printer uses:
 *
 *	{"type":"Query","fields":{"query":"SELECT 1"}}
 *
 * The printer reproduces fluent.py's dump; JSON shows what is on the wire:
 * no normalization, no XXX masks, every field of the layout (those whose
 * name starts with '_', which structs.py hides, without the '_').  The one
 * exception is passwords: only their length is written, as the printer
 * does.  The output is valid JSON (UTF-8) whatever the bytes, and bounded:
 * a message that does not fit its layout, or has none, shows at most its
 * first PG_JSON_BODY_MAX bytes.  Allocation failure is the strbuf's
 * (strbuf_failed()).
 */
#ifndef WF_PG_JSON_H
#define WF_PG_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "pg_print.h"
#include "strbuf.h"
#include "wf_flow.h"

/* Bytes of an undecoded body shown as hex; the rest is "truncated". */
#define PG_JSON_BODY_MAX 256

/*
 * Appends s as a JSON string: valid UTF-8 kept, each byte that is not part
 * of a well-formed sequence as U+FFFD, '"' and '\' escaped, control
 * characters as \u00XX.  For any text that goes into JSON (addresses, ...).
 */
void pg_json_string(struct strbuf *out, const uint8_t *s, size_t len);

/*
 * Appends the typed message (type byte + body without the length) as one
 * object.  auth_code: as for pg_print_message() (pg_frame's auth_code).
 * pp lends its decoding space (any printer; nothing is printed).
 */
void pg_json_message(struct pg_printer *pp, struct strbuf *out, enum wf_dir dir, uint8_t type,
		     const uint8_t *body, size_t len, int32_t auth_code);

/* A message whose body was skipped (PG_FRAME_NOT_RETAINED): its name and length. */
void pg_json_not_retained(struct strbuf *out, enum wf_dir dir, uint8_t type, uint64_t body_len);

/*
 * An untyped startup-phase packet (PG_FRAME_STARTUP): code, and the body
 * after it (NULL: not kept).  StartupMessage, SSLRequest, GSSENCRequest,
 * CancelRequest.
 */
void pg_json_startup(struct strbuf *out, uint32_t code, const uint8_t *body, size_t len);

/*
 * The server's one-byte answer to SSLRequest / GSSENCRequest
 * (PG_FRAME_ANSWER): 'S' SSLResponse and 'G' GSSENCResponse, accepted;
 * 'N' refuses either, which the byte alone cannot tell apart:
 * EncryptionResponse, not accepted.
 */
void pg_json_answer(struct strbuf *out, uint8_t answer);

#endif /* WF_PG_JSON_H */
