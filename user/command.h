/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A parsed FIFO command (the AST of fluent.py's command language), as
 * user/command_parse.c produces it and the compiler consumes it.  Nothing
 * here is Python any more: values are decoded (a str regex is its UTF-8
 * bytes, a bytes literal its bytes), message and field names are checked
 * against the message table (pg_messages.h), numbers are in range.
 *
 *   conn.onQuery(query="^COMMIT").after(2).kill()
 *     -> PIPELINE, filters [ON Query{query: "^COMMIT"}, AFTER 2], action KILL
 *   recorder.dump() -> RECORDER_DUMP       recorder.reset() -> RECORDER_RESET
 */
#ifndef WF_COMMAND_H
#define WF_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg_messages.h"

#define WF_COMMAND_MAX_FILTERS	64	/* filters in one pipeline */
#define WF_COMMAND_MAX_FIELDS	8	/* field="regex" pairs in one onX() */

/* A str (UTF-8) or bytes value; data[len] is a NUL that is not part of it (it may hold NULs). */
struct wf_bytes {
	uint8_t *data;
	size_t len;
};

/*
 * One field="regex" of onX(): a Python str pattern, re.search'ed in the
 * field's value.  The field is text (PG_FIELD_TEXT: the string itself) or an
 * enum at a fixed body offset (PG_FIELD_ENUM8, loc.text_index == 0: the
 * symbol name of its byte, e.g. "idle", as construct's Enum gives it to
 * fluent.py; a byte with no symbol never matches).
 */
struct wf_field_match {
	const char *field;				/* the table's spelling, e.g. "query" */
	struct wf_bytes regex;				/* UTF-8 */
	/* per direction where msg[d] != NULL: */
	enum pg_field_kind kind[WF_DIR__COUNT];		/* PG_FIELD_TEXT or PG_FIELD_ENUM8 */
	struct pg_text_field_loc loc[WF_DIR__COUNT];	/* where the field is */
};

enum wf_filter_kind {
	WF_FILTER_ON,		/* onX(field="regex", ...) */
	WF_FILTER_CONTAINS,	/* contains(b"bytes") */
	WF_FILTER_MATCHES,	/* matches(b"regex") */
	WF_FILTER_AFTER,	/* after(n) */
	WF_FILTER_TIMES,	/* times(n): wirefault's own */
	WF_FILTER_PROBABILITY,	/* probability(p): wirefault's own */
};

struct wf_filter {
	enum wf_filter_kind kind;
	union {
		struct {
			const char *name;	/* the table's spelling, e.g. "Query" */
			/* per direction; NULL where no message of that name is sent that way */
			const struct pg_message_desc *msg[WF_DIR__COUNT];
			struct wf_field_match *fields;	/* every one must match, in one message */
			size_t nfields;
		} on;
		struct wf_bytes contains;	/* bytes to find in the chunk */
		struct wf_bytes matches;	/* a Python bytes pattern, searched in the chunk */
		uint64_t after;			/* chunks let through first */
		uint64_t times;			/* chunks passed at most, all connections */
		double probability;		/* 0 <= p <= 1 */
	};
};

enum wf_action_kind {
	WF_ACTION_ALLOW,
	WF_ACTION_KILL,
	WF_ACTION_RESET,
	WF_ACTION_CANCEL,
	WF_ACTION_KILLALL,
	WF_ACTION_CONNECT_DELAY,
	WF_ACTION_BLACKHOLE,	/* wirefault's own: drop the connection's packets silently */
	WF_ACTION_DELAY,	/* wirefault's own: hold each matching chunk for arg ms */
	WF_ACTION_TRUNCATE,	/* wirefault's own: deliver arg more bytes, then kill */
	WF_ACTION_UNREACHABLE,	/* wirefault's own: blackhole, and ICMP host unreachable to senders */
};

struct wf_action {
	enum wf_action_kind kind;
	int64_t arg;		/* CANCEL: the pid (> 0); CONNECT_DELAY, DELAY: milliseconds (>= 0);
				 * TRUNCATE: bytes (0..INT32_MAX) */
	int64_t jitter;		/* DELAY: each hold is arg +- up to jitter ms (0: exact) */
};

/*
 * The subset of connections a pipeline applies to: conn(port=P),
 * conn(client="ADDR") or both (docs/commands.md, "Several pipelines:
 * scopes").  Plain conn is the default scope (nothing set).
 */
struct wf_scope {
	bool has_port;
	uint16_t port;			/* a followed server port (checked when executed) */
	uint8_t client_family;		/* 0: any client; 4 or 6: client_addr is set */
	uint8_t client_addr[16];	/* as flow keys hold it: IPv4 v4-mapped (::ffff:a.b.c.d) */
};

enum wf_command_kind {
	WF_CMD_PIPELINE,
	WF_CMD_RECORDER_DUMP,
	WF_CMD_RECORDER_RESET,
};

struct wf_command {
	enum wf_command_kind kind;
	struct wf_filter *filters;	/* PIPELINE: in order */
	size_t nfilters;
	struct wf_action action;	/* PIPELINE: exactly one, last */
	struct wf_scope scope;		/* PIPELINE: conn(port=..., client=...) */
	bool has_seed;			/* PIPELINE: seed(n) was given */
	uint64_t seed;			/* the seed of its random decisions (else the loader's) */
};

/* Frees what the command owns and zeroes it (freeing a zeroed command is fine). */
void wf_command_free(struct wf_command *cmd);

/* Same command: kind, filters and values. */
bool wf_command_equal(const struct wf_command *a, const struct wf_command *b);

/*
 * The canonical text (for `wirefault status` and logs): Python source that parses back to the
 * same command, e.g. conn.onQuery(query="^COMMIT").after(2).kill().  Malloc'd; NULL when out
 * of memory.
 */
char *wf_command_format(const struct wf_command *cmd);

/* The default scope (plain conn)? */
bool wf_scope_is_default(const struct wf_scope *s);
bool wf_scope_equal(const struct wf_scope *a, const struct wf_scope *b);
/* Sets the client of s from an IPv4 or IPv6 literal; false if it is neither. */
bool wf_scope_set_client(struct wf_scope *s, const char *addr);
/* "conn" or "conn(port=5433, client=\"::1\")" into buf (at least WF_SCOPE_TEXT_MAX bytes). */
#define WF_SCOPE_TEXT_MAX 96
void wf_scope_format(const struct wf_scope *s, char *buf, size_t size);

/* Does the action take an argument (cancel's pid, a delay's milliseconds, truncate's bytes)? */
bool wf_action_has_arg(enum wf_action_kind kind);

/* The method names: "allow", "kill", ...; "on", "contains", "matches", "after", "times", ... */
const char *wf_action_name(enum wf_action_kind kind);
const char *wf_filter_name(enum wf_filter_kind kind);

#endif /* WF_COMMAND_H */
