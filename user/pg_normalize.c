// SPDX-License-Identifier: GPL-2.0
/*
 * The reference runs Python regular expressions over a str, so positions
 * are code points, '.' is any code point but '\n' and \s is Unicode
 * whitespace.  The text is therefore scanned as an array of code points.
 */
#include "pg_normalize.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unicode_props.h"
#include "utf8.h"

struct cps {
	uint32_t *v;
	size_t len;
};

static bool is_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

static bool is_lower_or_underscore(uint32_t c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

/* Number of consecutive code points from i on that satisfy pred. */
static size_t run(const struct cps *t, size_t i, bool (*pred)(uint32_t))
{
	size_t n = 0;

	while (i + n < t->len && pred(t->v[i + n]))
		n++;
	return n;
}

static bool literal_at(const struct cps *t, size_t i, const char *lit)
{
	size_t n = strlen(lit), k;

	if (i > t->len || t->len - i < n)
		return false;
	for (k = 0; k < n; k++)
		if (t->v[i + k] != (uint8_t)lit[k])
			return false;
	return true;
}

/* 1. public\.[a-z_]+(?P<shardid>[0-9]+): same-length replacement, in place. */
static void normalize_shards(struct cps *t)
{
	static const char prefix[] = "public.";
	size_t i = 0, letters, digits, k;

	while (i < t->len) {
		if (!literal_at(t, i, prefix)) {
			i++;
			continue;
		}
		/* [a-z_]+ is greedy and cannot give back a character a digit
		 * could use, so only its maximal run can be followed by one */
		letters = run(t, i + sizeof(prefix) - 1, is_lower_or_underscore);
		digits = letters ? run(t, i + sizeof(prefix) - 1 + letters, is_digit) : 0;
		if (!digits) {
			i++;
			continue;
		}
		k = i + sizeof(prefix) - 1 + letters;
		for (i = k; i < k + digits; i++)
			t->v[i] = 'X';
	}
}

/* Length of a timestamp match at i, or 0. */
static size_t timestamp_at(const struct cps *t, size_t i)
{
	/* D = digit, '*' = any but newline; then [0-9]{2,6}-[0-9]{2} */
	static const char shape[] = "DDDD-DD-DD DD:DD:DD*";
	size_t k, frac;

	for (k = 0; shape[k]; k++) {
		if (i + k >= t->len)
			return 0;
		if (shape[k] == 'D' ? !is_digit(t->v[i + k]) :
		    shape[k] == '*' ? t->v[i + k] == '\n' : t->v[i + k] != (uint8_t)shape[k])
			return 0;
	}
	k += i;
	/* [0-9]{2,6} must be followed by '-', which no digit is: the run of
	 * digits itself must be 2..6 long */
	frac = run(t, k, is_digit);
	if (frac < 2 || frac > 6)
		return 0;
	k += frac;
	if (k + 3 > t->len || t->v[k] != '-' || !is_digit(t->v[k + 1]) || !is_digit(t->v[k + 2]))
		return 0;
	return k + 3 - i;
}

/* 2. re.sub(timestamp, "XXXX-XX-XX XX:XX:XX.XXXXXX-XX"): leftmost, non-overlapping. */
static bool normalize_timestamps(struct cps *t)
{
	static const char mask[] = "XXXX-XX-XX XX:XX:XX.XXXXXX-XX";
	size_t i = 0, w = 0, n, k;
	/* a match is at least 25 code points and the mask 29: each match grows
	 * the text by at most 4 */
	uint32_t *out = malloc((t->len + 4 * (t->len / 25 + 1)) * sizeof(*out));

	if (!out)
		return false;
	while (i < t->len) {
		n = timestamp_at(t, i);
		if (!n) {
			out[w++] = t->v[i++];
			continue;
		}
		for (k = 0; k < sizeof(mask) - 1; k++)
			out[w++] = (uint8_t)mask[k];
		i += n;
	}
	free(t->v);
	t->v = out;
	t->len = w;
	return true;
}

static bool is_space(uint32_t c)
{
	return unicode_is_space(c);
}

/* \s*<sep>\s*[0-9]+ at *k: the number of digits, 0 if it does not match; on a
 * match *k is moved to the first digit. */
static size_t sep_digits_at(const struct cps *t, size_t *k, uint32_t sep)
{
	size_t at = *k + run(t, *k, is_space);

	if (at >= t->len || t->v[at] != sep)
		return 0;
	at++;
	at += run(t, at, is_space);
	*k = at;
	return run(t, at, is_digit);
}

/* Position and length of the transaction id of an assign_distributed_transaction_id
 * call at i: \s*\(\s*[0-9]+\s*,\s*(?P<transaction_id>[0-9]+), or false. */
static bool txn_id_at(const struct cps *t, size_t i, size_t *id_at, size_t *id_len)
{
	static const char name[] = "assign_distributed_transaction_id";
	size_t k, n;

	if (!literal_at(t, i, name))
		return false;
	/* \s* and [0-9]+ never compete for a character: no backtracking */
	k = i + sizeof(name) - 1;
	n = sep_digits_at(t, &k, '(');
	if (!n)
		return false;
	k += n;
	n = sep_digits_at(t, &k, ',');
	if (!n)
		return false;
	*id_at = k;
	*id_len = n;
	return true;
}

/*
 * 3. The second argument of assign_distributed_transaction_id( becomes XX.
 * The reference splices "XX" at positions found in the unedited text, so
 * with two calls in one query and a first id that is not two digits long,
 * it garbles the second; wirefault replaces each id (docs/differences.md).
 */
static bool normalize_assign_txn_id(struct cps *t)
{
	size_t i = 0, w = 0, at, n;
	/* an id is at least one digit and "XX" two: each one grows the text by
	 * at most 1, and a match is longer than 35 code points */
	uint32_t *out = malloc((t->len + t->len / 35 + 1) * sizeof(*out));

	if (!out)
		return false;
	while (i < t->len) {
		if (!txn_id_at(t, i, &at, &n)) {
			out[w++] = t->v[i++];
			continue;
		}
		while (i < at)
			out[w++] = t->v[i++];
		out[w++] = 'X';
		out[w++] = 'X';
		i += n;
	}
	free(t->v);
	t->v = out;
	t->len = w;
	return true;
}

/* Cheap test that no pattern can match, so most queries skip the work. */
static bool may_need_normalizing(const char *text, size_t len)
{
	return memmem(text, len, "public.", 7) || memchr(text, ':', len) ||
	       memmem(text, len, "assign_distributed_transaction_id", 33);
}

void pg_normalize_query(struct strbuf *out, const char *text, size_t len)
{
	const uint8_t *p = (const uint8_t *)text;
	uint8_t enc[UTF8_MAX_LEN];
	struct cps t = { 0 };
	size_t i = 0, n;
	uint32_t cp;

	if (!may_need_normalizing(text, len)) {
		strbuf_add(out, text, len);
		return;
	}
	t.v = malloc((len + 1) * sizeof(*t.v));
	if (!t.v) {
		out->failed = true;
		return;
	}
	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (!n) {	/* callers pass valid UTF-8; keep the byte */
			cp = p[i];
			n = 1;
		}
		t.v[t.len++] = cp;
		i += n;
	}
	normalize_shards(&t);
	if (!normalize_timestamps(&t) || !normalize_assign_txn_id(&t)) {
		free(t.v);
		out->failed = true;
		return;
	}
	for (i = 0; i < t.len; i++)
		strbuf_add(out, enc, utf8_encode(t.v[i], enc));
	free(t.v);
}

bool pg_parameter_status_masked(const char *name, size_t len)
{
	return (len == 8 && memcmp(name, "TimeZone", 8) == 0) ||
	       (len == 14 && memcmp(name, "server_version", 14) == 0);
}
