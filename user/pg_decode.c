// SPDX-License-Identifier: GPL-2.0
#include "pg_decode.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A bounds-checked big-endian reader over one message body. */
struct reader {
	const uint8_t *p;
	size_t left;
};

static bool take(struct reader *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return false;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return true;
}

static bool read_uint(struct reader *r, size_t n, uint32_t *v)
{
	const uint8_t *b;
	size_t i;

	if (!take(r, n, &b))
		return false;
	*v = 0;
	for (i = 0; i < n; i++)
		*v = (*v << 8) | b[i];
	return true;
}

/* Reserves n consecutive values; returns the index of the first. */
static int alloc_values(struct pg_decoded *d, size_t n, uint32_t *first)
{
	size_t cap;
	void *p;

	if (n > UINT32_MAX - d->count)
		return -EINVAL;
	if (d->count + n > d->cap) {
		cap = d->cap ? d->cap : 64;
		while (cap < d->count + n)
			cap *= 2;
		p = realloc(d->values, cap * sizeof(*d->values));
		if (!p)
			return -ENOMEM;
		d->values = p;
		d->cap = cap;
	}
	*first = (uint32_t)d->count;
	memset(&d->values[d->count], 0, n * sizeof(*d->values));
	d->count += n;
	return 0;
}

static int decode_value(struct pg_decoded *d, uint32_t at, enum pg_field_kind kind,
			const struct pg_field *field, const struct pg_record *rec,
			int64_t prev_num, struct reader *r);

static int decode_record(struct pg_decoded *d, uint32_t at, const struct pg_record *rec,
			 struct reader *r)
{
	uint32_t first;
	int64_t prev = 0;
	size_t i;
	int err;

	err = alloc_values(d, rec->nfields, &first);
	if (err)
		return err;
	d->values[at].kind = PG_VALUE_RECORD;
	d->values[at].record = rec;
	d->values[at].first = first;
	d->values[at].count = (uint32_t)rec->nfields;
	for (i = 0; i < rec->nfields; i++) {
		const struct pg_field *f = &rec->fields[i];

		d->values[first + i].field = f;
		err = decode_value(d, first + (uint32_t)i, f->kind, f, f->elem_record, prev, r);
		if (err)
			return err;
		prev = d->values[first + i].num;
	}
	return 0;
}

/*
 * Elements of a list that ends with a zero byte: NoticeResponse's (code,
 * text) pairs, AuthenticationSASL's names.  Either element starts with a
 * byte that is not zero and ends with the first NUL after it.
 */
static int count_until_zero(const struct reader *r, size_t *count)
{
	size_t i = 0, n = 0;
	const uint8_t *nul;

	while (i < r->left && r->p[i] != 0) {
		nul = memchr(r->p + i + 1, 0, r->left - i - 1);
		if (!nul)
			return -EINVAL;
		i = (size_t)(nul - r->p) + 1;
		n++;
	}
	if (i >= r->left)	/* the terminating zero byte is missing */
		return -EINVAL;
	*count = n;
	return 0;
}

static int decode_list(struct pg_decoded *d, uint32_t at, const struct pg_field *f,
		       int64_t prev_num, struct reader *r)
{
	size_t n, i, each = pg_field_min_size(f->elem_kind, f->elem_record);
	uint32_t first;
	int err;

	if (f->until_zero) {
		err = count_until_zero(r, &n);
		if (err)
			return err;
	} else {
		if (prev_num < 0)
			return -EINVAL;
		n = (size_t)prev_num;
		if (each && n > r->left / each)
			return -EINVAL;
	}
	err = alloc_values(d, n, &first);
	if (err)
		return err;
	d->values[at].kind = PG_VALUE_LIST;
	d->values[at].first = first;
	d->values[at].count = (uint32_t)n;
	for (i = 0; i < n; i++) {
		err = decode_value(d, first + (uint32_t)i, f->elem_kind, NULL, f->elem_record, 0, r);
		if (err)
			return err;
	}
	if (f->until_zero)
		r->p++, r->left--;	/* the zero byte count_until_zero found */
	return 0;
}

static const char *enum_symbol(const struct pg_enum_symbol *s, uint8_t v)
{
	for (; s && s->name; s++)
		if (s->value == v)
			return s->name;
	return NULL;
}

/*
 * Decodes one value into values[at].  prev_num is the number of the field
 * just before (list counts, value lengths).  values[at] may move when the
 * array grows, so it is always re-indexed, never kept as a pointer.
 */
static int decode_value(struct pg_decoded *d, uint32_t at, enum pg_field_kind kind,
			const struct pg_field *field, const struct pg_record *rec,
			int64_t prev_num, struct reader *r)
{
	const uint8_t *b, *nul;
	uint32_t u;
	size_t n;

	switch (kind) {
	case PG_FIELD_TEXT:
		nul = memchr(r->p, 0, r->left);
		if (!nul)
			return -EINVAL;
		d->values[at].kind = PG_VALUE_TEXT;
		d->values[at].data = r->p;
		d->values[at].len = (size_t)(nul - r->p);
		take(r, d->values[at].len + 1, &b);
		return 0;
	case PG_FIELD_U8:
	case PG_FIELD_ENUM8:
	case PG_FIELD_U16:
	case PG_FIELD_U32:
		if (!read_uint(r, kind == PG_FIELD_U16 ? 2 : kind == PG_FIELD_U32 ? 4 : 1, &u))
			return -EINVAL;
		d->values[at].kind = kind == PG_FIELD_ENUM8 ? PG_VALUE_ENUM : PG_VALUE_INT;
		d->values[at].num = u;
		if (kind == PG_FIELD_ENUM8)
			d->values[at].symbol = enum_symbol(field ? field->symbols : NULL, (uint8_t)u);
		return 0;
	case PG_FIELD_I16:
		if (!read_uint(r, 2, &u))
			return -EINVAL;
		d->values[at].kind = PG_VALUE_INT;
		d->values[at].num = (int16_t)u;
		return 0;
	case PG_FIELD_I32:
	case PG_FIELD_LENGTH32:
		if (!read_uint(r, 4, &u))
			return -EINVAL;
		d->values[at].kind = PG_VALUE_INT;
		d->values[at].num = (int32_t)u;
		/* -1 is NULL; other negative lengths do not exist */
		if (kind == PG_FIELD_LENGTH32 && d->values[at].num < -1)
			return -EINVAL;
		return 0;
	case PG_FIELD_BYTES4:
	case PG_FIELD_REST:
	case PG_FIELD_VALUE:
		if (kind == PG_FIELD_VALUE && prev_num < 0) {
			d->values[at].kind = PG_VALUE_NONE;
			return 0;
		}
		n = kind == PG_FIELD_BYTES4 ? 4 : kind == PG_FIELD_REST ? r->left : (size_t)prev_num;
		if (!take(r, n, &b))
			return -EINVAL;
		d->values[at].kind = PG_VALUE_BYTES;
		d->values[at].data = b;
		d->values[at].len = n;
		return 0;
	case PG_FIELD_LIST:
		return decode_list(d, at, field, prev_num, r);
	case PG_FIELD_RECORD:
		return decode_record(d, at, rec, r);
	}
	return -EINVAL;
}

int pg_decode(struct pg_decoded *d, const struct pg_message_desc *m,
	      const uint8_t *body, size_t len)
{
	struct reader r = { body, len };
	uint32_t root;
	int err;

	d->count = 0;
	if (!m->body)
		return -EINVAL;
	err = alloc_values(d, 1, &root);
	if (err)
		return err;
	return decode_record(d, root, m->body, &r);
}

void pg_decoded_free(struct pg_decoded *d)
{
	free(d->values);
	*d = (struct pg_decoded){ 0 };
}

const struct pg_value *pg_value_field(const struct pg_decoded *d, const struct pg_value *rec,
				      const char *name)
{
	uint32_t i;

	if (rec->kind != PG_VALUE_RECORD)
		return NULL;
	for (i = 0; i < rec->count; i++) {
		const struct pg_value *v = &d->values[rec->first + i];

		if (v->field && strcmp(v->field->name, name) == 0)
			return v;
	}
	return NULL;
}
