/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A growable byte string.  Allocation failure is sticky: appends after a
 * failure do nothing and strbuf_failed() tells the caller once, at the end,
 * instead of after every append.  The content is always NUL-terminated
 * (when anything was allocated).
 */
#ifndef WF_STRBUF_H
#define WF_STRBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
	bool failed;
};

#define STRBUF_INIT { 0 }

void strbuf_free(struct strbuf *sb);
/* Empties the string (keeps the allocation) and clears a failure. */
void strbuf_reset(struct strbuf *sb);
/* Cuts the string back to len (<= current length). */
void strbuf_truncate(struct strbuf *sb, size_t len);
bool strbuf_reserve(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addc(struct strbuf *sb, char c);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string to the caller (malloc'ed, never NULL unless failed) and empties sb. */
char *strbuf_detach(struct strbuf *sb, size_t *len);

static inline bool strbuf_failed(const struct strbuf *sb)
{
	return sb->failed;
}

#endif /* WF_STRBUF_H */
