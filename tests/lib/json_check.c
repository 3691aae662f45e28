// SPDX-License-Identifier: GPL-2.0
#include "json_check.h"

#include <stdint.h>

#include "utf8.h"

struct json_in {
	const uint8_t *s;
	size_t len, at;
	int depth;
};

static bool value(struct json_in *in);

static void skip_ws(struct json_in *in)
{
	while (in->at < in->len && (in->s[in->at] == ' ' || in->s[in->at] == '\t' ||
				    in->s[in->at] == '\n' || in->s[in->at] == '\r'))
		in->at++;
}

static bool eat(struct json_in *in, char c)
{
	if (in->at < in->len && in->s[in->at] == (uint8_t)c) {
		in->at++;
		return true;
	}
	return false;
}

static bool literal(struct json_in *in, const char *word)
{
	for (; *word; word++)
		if (!eat(in, *word))
			return false;
	return true;
}

static bool digits(struct json_in *in)
{
	size_t start = in->at;

	while (in->at < in->len && in->s[in->at] >= '0' && in->s[in->at] <= '9')
		in->at++;
	return in->at > start;
}

/* -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool number(struct json_in *in)
{
	eat(in, '-');
	if (eat(in, '0')) {
		if (in->at < in->len && in->s[in->at] >= '0' && in->s[in->at] <= '9')
			return false;	/* no leading zeros */
	} else if (!digits(in)) {
		return false;
	}
	if (eat(in, '.') && !digits(in))
		return false;
	if (eat(in, 'e') || eat(in, 'E')) {
		if (!eat(in, '+'))
			eat(in, '-');
		if (!digits(in))
			return false;
	}
	return true;
}

/* The four hex digits of a \u escape. */
static bool hex4(struct json_in *in, uint32_t *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++, in->at++) {
		uint8_t c;

		if (in->at >= in->len)
			return false;
		c = in->s[in->at];
		if (c >= '0' && c <= '9')
			*v = *v << 4 | (uint32_t)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			*v = *v << 4 | (uint32_t)((c | 0x20) - 'a' + 10);
		else
			return false;
	}
	return true;
}

static bool string(struct json_in *in)
{
	uint32_t cp, low;
	size_t n;

	if (!eat(in, '"'))
		return false;
	while (in->at < in->len) {
		uint8_t c = in->s[in->at];

		if (c == '"') {
			in->at++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c == '\\') {
			in->at++;
			if (eat(in, 'u')) {
				if (!hex4(in, &cp))
					return false;
				if (cp >= 0xdc00 && cp <= 0xdfff)
					return false;	/* a low half alone */
				if (cp >= 0xd800 && cp <= 0xdbff &&
				    (!literal(in, "\\u") || !hex4(in, &low) ||
				     low < 0xdc00 || low > 0xdfff))
					return false;
			} else if (!(eat(in, '"') || eat(in, '\\') || eat(in, '/') || eat(in, 'b') ||
				     eat(in, 'f') || eat(in, 'n') || eat(in, 'r') || eat(in, 't'))) {
				return false;
			}
			continue;
		}
		n = utf8_decode(in->s + in->at, in->len - in->at, &cp);
		if (!n)
			return false;
		in->at += n;
	}
	return false;
}

/* [ v, v ] or { "k": v, "k": v }, after the opening bracket */
static bool container(struct json_in *in, bool object)
{
	char close = object ? '}' : ']';

	if (++in->depth > JSON_CHECK_MAX_DEPTH)
		return false;
	skip_ws(in);
	if (eat(in, close)) {
		in->depth--;
		return true;
	}
	for (;;) {
		skip_ws(in);
		if (object) {
			if (!string(in))
				return false;
			skip_ws(in);
			if (!eat(in, ':'))
				return false;
			skip_ws(in);
		}
		if (!value(in))
			return false;
		skip_ws(in);
		if (eat(in, close))
			break;
		if (!eat(in, ','))
			return false;
	}
	in->depth--;
	return true;
}

static bool value(struct json_in *in)
{
	if (in->at >= in->len)
		return false;
	switch (in->s[in->at]) {
	case '{':
		in->at++;
		return container(in, true);
	case '[':
		in->at++;
		return container(in, false);
	case '"':
		return string(in);
	case 't':
		return literal(in, "true");
	case 'f':
		return literal(in, "false");
	case 'n':
		return literal(in, "null");
	default:
		return number(in);
	}
}

bool json_check(const char *s, size_t len, size_t *err_at)
{
	struct json_in in = { (const uint8_t *)s, len, 0, 0 };
	bool ok;

	skip_ws(&in);
	ok = value(&in);
	if (ok) {
		skip_ws(&in);
		ok = in.at == in.len;
	}
	if (err_at)
		*err_at = in.at;
	return ok;
}
