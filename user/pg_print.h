/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Prints one PostgreSQL message the way structs.py's print_message does
 * (s:73-113 and the custom print() methods): Query(query=SELECT 1),
 * RowDescription(fieldcount=1,fields=['F(name=a,...)']), Backend(type=!,body=b'...').
 * The result is the Python str that fluent.py puts in its list; the caller
 * repr()s it into the row.
 *
 * Deliberate differences from structs.py (docs/differences.md): text is
 * decoded as UTF-8 (invalid bytes as \xNN) instead of failing on non-ASCII;
 * DataRow column and Bind parameter lengths are Int32 and -1 prints
 * length=-1,value=None; the types structs.py prints raw are decoded and
 * named (ErrorResponse(severity=ERROR, message=...)), in the same style;
 * passwords never print, only their length.
 */
#ifndef WF_PG_PRINT_H
#define WF_PG_PRINT_H

#include <stddef.h>
#include <stdint.h>

#include "pg_decode.h"
#include "strbuf.h"
#include "wf_flow.h"

/* Nesting of printed lists: message, list, element record, its list, ... */
#define PG_PRINT_MAX_DEPTH 4

/* Scratch space reused from message to message; zero-initialize. */
struct pg_printer {
	struct pg_decoded decoded;
	struct strbuf scratch[PG_PRINT_MAX_DEPTH];	/* one per list nesting level */
	struct strbuf text;				/* a query before normalization */
};

void pg_printer_free(struct pg_printer *pp);

/*
 * Appends the printed message (type byte + body without the length) to out.
 * auth_code: the code of the last Authentication message the backend sent
 * on the connection, -1 if none (pg_frame's auth_code); it tells what a
 * frontend 'p' is.  A 'p' without one prints raw.
 */
void pg_print_message(struct pg_printer *pp, struct strbuf *out, enum wf_dir dir,
		      uint8_t type, const uint8_t *body, size_t len, int32_t auth_code);

/*
 * Appends the placeholder for a message whose body was too large to keep:
 * Query(<N bytes, not retained>), or Frontend(type=p,body=<N bytes, not retained>)
 * for types printed raw.  An Authentication is AuthenticationOk here, as
 * structs.py names every 'R': its code went with the body.
 */
void pg_print_not_retained(struct strbuf *out, enum wf_dir dir, uint8_t type, uint64_t body_len);

#endif /* WF_PG_PRINT_H */
