// SPDX-License-Identifier: GPL-2.0
#include "copy_text.h"

#include <stdlib.h>
#include <string.h>

static char escape_letter(unsigned char c)
{
	switch (c) {
	case '\b': return 'b';
	case '\f': return 'f';
	case '\n': return 'n';
	case '\r': return 'r';
	case '\t': return 't';
	case '\v': return 'v';
	case '\\': return '\\';
	default: return 0;
	}
}

char *wf_copy_text_escape(const char *field, size_t len)
{
	char *out = malloc(2 * len + 1), *p = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		char e = escape_letter((unsigned char)field[i]);

		if (e) {
			*p++ = '\\';
			*p++ = e;
		} else {
			*p++ = field[i];
		}
	}
	*p = '\0';
	return out;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t wf_copy_text_unescape(char *field, size_t len)
{
	size_t r = 0, w = 0;

	while (r < len) {
		char c = field[r++];

		if (c != '\\' || r == len) {
			field[w++] = c;
			continue;
		}
		c = field[r++];
		switch (c) {
		case 'b': field[w++] = '\b'; break;
		case 'f': field[w++] = '\f'; break;
		case 'n': field[w++] = '\n'; break;
		case 'r': field[w++] = '\r'; break;
		case 't': field[w++] = '\t'; break;
		case 'v': field[w++] = '\v'; break;
		case 'x':
			if (r < len && hex_value(field[r]) >= 0) {
				int v = hex_value(field[r++]);

				if (r < len && hex_value(field[r]) >= 0)
					v = v * 16 + hex_value(field[r++]);
				field[w++] = (char)v;
			} else {
				field[w++] = 'x';
			}
			break;
		default:
			if (c >= '0' && c <= '7') {
				int v = c - '0';

				for (int k = 0; k < 2 && r < len && field[r] >= '0' && field[r] <= '7'; k++)
					v = v * 8 + (field[r++] - '0');
				field[w++] = (char)v;
			} else {
				field[w++] = c;
			}
		}
	}
	return w;
}
