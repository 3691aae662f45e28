/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Decodes a message body following its layout in the message table into a
 * small tree of values (no copies: text and bytes point into the body).
 * The printer and any other consumer (JSON, filters) walk the tree.
 *
 * Decoding is strict where structs.py is (every field must be complete,
 * text must be NUL-terminated); bytes after the last field are ignored, as
 * construct ignores them.  A body that does not fit its layout is -EINVAL
 * and is printed raw.
 */
#ifndef WF_PG_DECODE_H
#define WF_PG_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "pg_messages.h"

enum pg_value_kind {
	PG_VALUE_INT,		/* num */
	PG_VALUE_TEXT,		/* data/len: raw bytes of a str (UTF-8 expected) */
	PG_VALUE_BYTES,		/* data/len */
	PG_VALUE_NONE,		/* a NULL value (length -1) */
	PG_VALUE_ENUM,		/* num, and symbol when the value has a name */
	PG_VALUE_LIST,		/* children */
	PG_VALUE_RECORD,	/* children, one per field of `record` */
};

struct pg_value {
	enum pg_value_kind kind;
	const struct pg_field *field;	/* the layout field; NULL for list elements and the root */
	const struct pg_record *record;	/* RECORD */
	const char *symbol;		/* ENUM: name of the value, NULL if it has none */
	int64_t num;
	const uint8_t *data;
	size_t len;
	uint32_t first;			/* LIST, RECORD: children are values[first..first+count) */
	uint32_t count;
};

/* Reusable storage for decoded values; values[0] is the body's record. */
struct pg_decoded {
	struct pg_value *values;
	size_t count;
	size_t cap;
};

/* 0, -EINVAL (the body does not fit the layout, or m has none), -ENOMEM. */
int pg_decode(struct pg_decoded *d, const struct pg_message_desc *m,
	      const uint8_t *body, size_t len);

void pg_decoded_free(struct pg_decoded *d);

/* The child of a record value named `name`, or NULL. */
const struct pg_value *pg_value_field(const struct pg_decoded *d, const struct pg_value *rec,
				      const char *name);

#endif /* WF_PG_DECODE_H */
