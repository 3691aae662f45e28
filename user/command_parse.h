/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The command grammar: the one place that reads FIFO command text.
 *
 * fluent.py runs each command through Python's eval() with only `conn` and
 * `recorder` defined.  wirefault never evaluates anything: a hand-written
 * lexer and recursive-descent parser accept the subset of Python those
 * commands use and build a struct wf_command (command.h):
 *
 *   command  := pipeline | recorder
 *   pipeline := "conn" ("." filter "(" args ")")* "." action "(" args ")"
 *   recorder := "recorder" ("." ("dump" | "reset") "(" ")")+   the last one wins
 *   filter   := "on" MessageName | "contains" | "matches" | "after"
 *   action   := "allow" | "kill" | "reset" | "cancel" | "killall" | "connect_delay"
 *   args     := keyword and positional arguments as fluent's methods take them
 *   value    := int | str | bytes, unary -/+ on ints, "+" of two values of one
 *               kind, adjacent string literals, parentheses
 *
 * with Python's lexical rules: ints (0x/0o/0b, underscores), "..." '...'
 * and triple-quoted strings with Python escapes, r/u/b/rb prefixes, bytes
 * ASCII-only, whitespace, # comments, backslash-newline continuation, a
 * trailing newline, newlines inside parentheses.
 *
 * The input is the raw FIFO payload: Citus' UDF sends the command in COPY
 * text encoding (backslashes doubled) and fluent evals those bytes as they
 * are, so Python's string-literal processing is what undoes the doubling
 * ("pg_table_size\\(" is the regex pg_table_size\().  Do not COPY-decode.
 *
 * Everything else is refused.  Where Python (and so fluent.py) answers a
 * mistake with an error text tests may compare, the error text is Python's,
 * exactly (e.g. "invalid syntax (<string>, line 1)",
 * "'KillHandler' object has no attribute 'kill'",
 * "FilterableMixin.after() missing 1 required positional argument: 'times'");
 * wirefault's own texts name the problem and end with its position,
 * "(column N)" or "(line L, column N)".  Commands fluent accepts but that can
 * only fail per packet (an unknown onX message or field, contains("str"),
 * after("2"), connect_delay(-1), ...) are refused here.  docs/differences.md
 * ("Commands") lists every deliberate difference.
 */
#ifndef WF_COMMAND_PARSE_H
#define WF_COMMAND_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "command.h"

/* Limits of the grammar (each refused with its own message). */
#define WF_COMMAND_MAX_INPUT	(4u << 20)	/* bytes of command text (the FIFO's limit) */
#define WF_COMMAND_MAX_STRING	(1u << 20)	/* bytes of one str/bytes value */
#define WF_COMMAND_MAX_NESTING	200		/* nested brackets (Python's own limit) */
#define WF_COMMAND_MAX_TOKENS	65536		/* tokens (bounds the parser's memory) */
#define WF_COMMAND_MAX_DELAY_MS	INT32_MAX	/* connect_delay(ms) */
/* delay(ms): every matching chunk is held, so an hour is already no test */
#define WF_COMMAND_MAX_HOLD_MS	3600000
/* truncate(n): the kernel compares sequence numbers modulo 2^32, as TCP does,
 * so a mark must lie less than 2^31 bytes ahead */
#define WF_COMMAND_MAX_TRUNCATE	INT32_MAX
/* and WF_COMMAND_MAX_FILTERS filters per pipeline, WF_COMMAND_MAX_FIELDS per onX() */

struct wf_parse_error {
	char msg[512];		/* the answer text (no trailing newline) */
	size_t offset;		/* byte offset of the problem in the input */
	unsigned line;		/* 1-based */
	unsigned column;	/* 1-based, in characters */
	bool python;		/* msg is the text Python/fluent.py gives */
};

/*
 * Parses src[0..len) (any bytes; NUL bytes and invalid UTF-8 are refused).
 * 0: *out holds the command (free it with wf_command_free).
 * -EINVAL: refused, *err says why, *out is empty.
 * -ENOMEM: out of memory, *err says so, *out is empty.
 * err may be NULL.
 */
int wf_command_parse(const char *src, size_t len, struct wf_command *out,
		     struct wf_parse_error *err);

#endif /* WF_COMMAND_PARSE_H */
