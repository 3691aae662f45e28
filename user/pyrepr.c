// SPDX-License-Identifier: GPL-2.0
#include "pyrepr.h"

#include <stdbool.h>
#include <string.h>

#include "unicode_props.h"
#include "utf8.h"

static const char hexdigits[] = "0123456789abcdef";

/* Python picks " only when that avoids escaping: ' present and " absent. */
static char pick_quote(const void *data, size_t len)
{
	return memchr(data, '\'', len) && !memchr(data, '"', len) ? '"' : '\'';
}

static void add_hex(struct strbuf *out, char kind, uint32_t v, int digits)
{
	char esc[10];
	int i;

	esc[0] = '\\';
	esc[1] = kind;
	for (i = 0; i < digits; i++)
		esc[2 + i] = hexdigits[(v >> (4 * (digits - 1 - i))) & 0xf];
	strbuf_add(out, esc, (size_t)digits + 2);
}

/* The escapes str and bytes share; false when c is not one of them. */
static bool add_common_escape(struct strbuf *out, uint32_t c, char quote)
{
	switch (c) {
	case '\\': strbuf_add(out, "\\\\", 2); return true;
	case '\t': strbuf_add(out, "\\t", 2); return true;
	case '\n': strbuf_add(out, "\\n", 2); return true;
	case '\r': strbuf_add(out, "\\r", 2); return true;
	}
	if (c == (uint8_t)quote) {
		strbuf_addc(out, '\\');
		strbuf_addc(out, quote);
		return true;
	}
	if (c < 0x20 || c == 0x7f) {
		add_hex(out, 'x', c, 2);
		return true;
	}
	return false;
}

void pyrepr_str(struct strbuf *out, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	char quote = pick_quote(s, len);
	size_t i = 0, n;
	uint32_t cp;

	strbuf_reserve(out, len + 2);
	strbuf_addc(out, quote);
	while (i < len) {
		n = utf8_decode(p + i, len - i, &cp);
		if (n == 0) {		/* not UTF-8: callers never do this */
			add_hex(out, 'x', p[i], 2);
			i++;
			continue;
		}
		if (!add_common_escape(out, cp, quote)) {
			if (cp < 0x80 || unicode_is_printable(cp))
				strbuf_add(out, p + i, n);
			else if (cp <= 0xff)
				add_hex(out, 'x', cp, 2);
			else if (cp <= 0xffff)
				add_hex(out, 'u', cp, 4);
			else
				add_hex(out, 'U', cp, 8);
		}
		i += n;
	}
	strbuf_addc(out, quote);
}

void pyrepr_bytes(struct strbuf *out, const uint8_t *b, size_t len)
{
	char quote = pick_quote(b, len);
	size_t i;

	strbuf_reserve(out, len + 3);
	strbuf_addc(out, 'b');
	strbuf_addc(out, quote);
	for (i = 0; i < len; i++) {
		if (add_common_escape(out, b[i], quote))
			continue;
		if (b[i] >= 0x80)
			add_hex(out, 'x', b[i], 2);
		else
			strbuf_addc(out, (char)b[i]);
	}
	strbuf_addc(out, quote);
}

void py_decode_utf8(struct strbuf *out, const uint8_t *b, size_t len)
{
	size_t i = 0, n;
	uint32_t cp;

	strbuf_reserve(out, len);
	while (i < len) {
		n = utf8_decode(b + i, len - i, &cp);
		if (n) {
			strbuf_add(out, b + i, n);
			i += n;
		} else {
			/* Python reports a maximal invalid run and resumes after
			 * it; every byte of it is escaped, and a run only holds a
			 * lead byte and continuation bytes, which can never start
			 * a valid sequence, so escaping one byte at a time and
			 * retrying gives the same text. */
			add_hex(out, 'x', b[i], 2);
			i++;
		}
	}
}
