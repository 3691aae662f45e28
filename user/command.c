// SPDX-License-Identifier: GPL-2.0
/* A parsed FIFO command: freeing, comparing and printing it (command.h). */
#include "command.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "unicode_props.h"
#include "utf8.h"

static const char *const action_names[] = {
	[WF_ACTION_ALLOW] = "allow",
	[WF_ACTION_KILL] = "kill",
	[WF_ACTION_RESET] = "reset",
	[WF_ACTION_CANCEL] = "cancel",
	[WF_ACTION_KILLALL] = "killall",
	[WF_ACTION_CONNECT_DELAY] = "connect_delay",
	[WF_ACTION_BLACKHOLE] = "blackhole",
	[WF_ACTION_DELAY] = "delay",
	[WF_ACTION_TRUNCATE] = "truncate",
	[WF_ACTION_UNREACHABLE] = "unreachable",
};

static const char *const filter_names[] = {
	[WF_FILTER_ON] = "on",
	[WF_FILTER_CONTAINS] = "contains",
	[WF_FILTER_MATCHES] = "matches",
	[WF_FILTER_AFTER] = "after",
	[WF_FILTER_TIMES] = "times",
	[WF_FILTER_PROBABILITY] = "probability",
};

const char *wf_action_name(enum wf_action_kind kind)
{
	if ((size_t)kind < sizeof(action_names) / sizeof(action_names[0]))
		return action_names[kind];
	return "?";
}

const char *wf_filter_name(enum wf_filter_kind kind)
{
	if ((size_t)kind < sizeof(filter_names) / sizeof(filter_names[0]))
		return filter_names[kind];
	return "?";
}

static void bytes_free(struct wf_bytes *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}

void wf_command_free(struct wf_command *cmd)
{
	size_t i, j;

	if (!cmd)
		return;
	for (i = 0; cmd->filters && i < cmd->nfilters; i++) {
		struct wf_filter *f = &cmd->filters[i];

		switch (f->kind) {
		case WF_FILTER_ON:
			for (j = 0; f->on.fields && j < f->on.nfields; j++)
				bytes_free(&f->on.fields[j].regex);
			free(f->on.fields);
			break;
		case WF_FILTER_CONTAINS:
			bytes_free(&f->contains);
			break;
		case WF_FILTER_MATCHES:
			bytes_free(&f->matches);
			break;
		case WF_FILTER_AFTER:
		case WF_FILTER_TIMES:
		case WF_FILTER_PROBABILITY:
			break;
		}
	}
	free(cmd->filters);
	memset(cmd, 0, sizeof(*cmd));
}

/* ---- equality ----------------------------------------------------------------------------- */

static bool bytes_equal(const struct wf_bytes *a, const struct wf_bytes *b)
{
	return a->len == b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

static bool filter_equal(const struct wf_filter *a, const struct wf_filter *b)
{
	size_t i;
	int d;

	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case WF_FILTER_ON:
		if (strcmp(a->on.name, b->on.name) || a->on.nfields != b->on.nfields)
			return false;
		for (d = 0; d < WF_DIR__COUNT; d++)
			if (a->on.msg[d] != b->on.msg[d])
				return false;
		for (i = 0; i < a->on.nfields; i++) {
			const struct wf_field_match *x = &a->on.fields[i], *y = &b->on.fields[i];

			if (strcmp(x->field, y->field) || !bytes_equal(&x->regex, &y->regex))
				return false;
			for (d = 0; d < WF_DIR__COUNT; d++)
				if (a->on.msg[d] && (x->kind[d] != y->kind[d] ||
						     memcmp(&x->loc[d], &y->loc[d], sizeof(x->loc[d]))))
					return false;
		}
		return true;
	case WF_FILTER_CONTAINS:
		return bytes_equal(&a->contains, &b->contains);
	case WF_FILTER_MATCHES:
		return bytes_equal(&a->matches, &b->matches);
	case WF_FILTER_AFTER:
		return a->after == b->after;
	case WF_FILTER_TIMES:
		return a->times == b->times;
	case WF_FILTER_PROBABILITY:
		return a->probability == b->probability;
	}
	return false;
}

bool wf_scope_is_default(const struct wf_scope *s)
{
	return !s->has_port && !s->client_family;
}

bool wf_scope_equal(const struct wf_scope *a, const struct wf_scope *b)
{
	return a->has_port == b->has_port && (!a->has_port || a->port == b->port) &&
	       a->client_family == b->client_family &&
	       (!a->client_family || !memcmp(a->client_addr, b->client_addr, 16));
}

bool wf_scope_set_client(struct wf_scope *s, const char *addr)
{
	uint8_t a[16] = { 0 };

	if (inet_pton(AF_INET, addr, &a[12]) == 1) {
		a[10] = 0xff;
		a[11] = 0xff;
		s->client_family = 4;
	} else if (inet_pton(AF_INET6, addr, a) == 1) {
		static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

		/* ::ffff:a.b.c.d is the IPv4 client a.b.c.d (flow keys hold IPv4 so) */
		s->client_family = memcmp(a, mapped, sizeof(mapped)) ? 6 : 4;
	} else {
		return false;
	}
	memcpy(s->client_addr, a, sizeof(a));
	return true;
}

void wf_scope_format(const struct wf_scope *s, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN] = "";
	int n;

	if (wf_scope_is_default(s)) {
		snprintf(buf, size, "conn");
		return;
	}
	if (s->client_family == 4)
		inet_ntop(AF_INET, &s->client_addr[12], addr, sizeof(addr));
	else if (s->client_family == 6)
		inet_ntop(AF_INET6, s->client_addr, addr, sizeof(addr));
	n = snprintf(buf, size, "conn(");
	if (s->has_port && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "port=%u%s", s->port,
			      s->client_family ? ", " : "");
	if (s->client_family && n >= 0 && (size_t)n < size)
		n += snprintf(buf + n, size - (size_t)n, "client=\"%s\"", addr);
	if (n >= 0 && (size_t)n < size)
		snprintf(buf + n, size - (size_t)n, ")");
}

bool wf_command_equal(const struct wf_command *a, const struct wf_command *b)
{
	size_t i;

	if (a->kind != b->kind)
		return false;
	if (a->kind != WF_CMD_PIPELINE)
		return true;
	if (a->nfilters != b->nfilters || a->action.kind != b->action.kind ||
	    a->action.arg != b->action.arg || a->action.jitter != b->action.jitter ||
	    a->has_seed != b->has_seed || (a->has_seed && a->seed != b->seed) ||
	    !wf_scope_equal(&a->scope, &b->scope))
		return false;
	for (i = 0; i < a->nfilters; i++)
		if (!filter_equal(&a->filters[i], &b->filters[i]))
			return false;
	return true;
}

/* ---- canonical text ----------------------------------------------------------------------- */

/* A Python str literal: printable characters as they are, the rest escaped as repr() does. */
static void format_str(struct strbuf *sb, const struct wf_bytes *s)
{
	const uint8_t *p = s->data;
	size_t left = s->len, n;
	uint32_t cp;

	strbuf_addc(sb, '"');
	while (left) {
		n = utf8_decode(p, left, &cp);
		if (n == 0) {	/* not produced by the parser; keep the output parseable */
			strbuf_addf(sb, "\\x%02x", p[0]);
			p++, left--;
			continue;
		}
		if (cp == '\\' || cp == '"')
			strbuf_addf(sb, "\\%c", (char)cp);
		else if (cp == '\n')
			strbuf_adds(sb, "\\n");
		else if (cp == '\r')
			strbuf_adds(sb, "\\r");
		else if (cp == '\t')
			strbuf_adds(sb, "\\t");
		else if (cp < 0x80 && cp >= 0x20 && cp != 0x7f)
			strbuf_addc(sb, (char)cp);
		else if (cp >= 0x80 && unicode_is_printable(cp))
			strbuf_add(sb, p, n);
		else if (cp < 0x100)
			strbuf_addf(sb, "\\x%02x", cp);
		else if (cp < 0x10000)
			strbuf_addf(sb, "\\u%04x", cp);
		else
			strbuf_addf(sb, "\\U%08x", cp);
		p += n, left -= n;
	}
	strbuf_addc(sb, '"');
}

/* A Python bytes literal, ASCII only. */
static void format_bytes(struct strbuf *sb, const struct wf_bytes *b)
{
	size_t i;

	strbuf_adds(sb, "b\"");
	for (i = 0; i < b->len; i++) {
		uint8_t c = b->data[i];

		if (c == '\\' || c == '"')
			strbuf_addf(sb, "\\%c", c);
		else if (c == '\n')
			strbuf_adds(sb, "\\n");
		else if (c == '\r')
			strbuf_adds(sb, "\\r");
		else if (c == '\t')
			strbuf_adds(sb, "\\t");
		else if (c >= 0x20 && c < 0x7f)
			strbuf_addc(sb, (char)c);
		else
			strbuf_addf(sb, "\\x%02x", c);
	}
	strbuf_addc(sb, '"');
}

/* The shortest of %.1g..%.17g that reads back as the same double (0.1, not 0.10000000000000001). */
static void format_float(struct strbuf *sb, double v)
{
	char buf[40];

	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	strbuf_adds(sb, buf);
}

static void format_filter(struct strbuf *sb, const struct wf_filter *f)
{
	size_t i;

	switch (f->kind) {
	case WF_FILTER_ON:
		strbuf_addf(sb, ".on%s(", f->on.name);
		for (i = 0; i < f->on.nfields; i++) {
			strbuf_addf(sb, "%s%s=", i ? ", " : "", f->on.fields[i].field);
			format_str(sb, &f->on.fields[i].regex);
		}
		strbuf_addc(sb, ')');
		break;
	case WF_FILTER_CONTAINS:
		strbuf_adds(sb, ".contains(");
		format_bytes(sb, &f->contains);
		strbuf_addc(sb, ')');
		break;
	case WF_FILTER_MATCHES:
		strbuf_adds(sb, ".matches(");
		format_bytes(sb, &f->matches);
		strbuf_addc(sb, ')');
		break;
	case WF_FILTER_AFTER:
		strbuf_addf(sb, ".after(%" PRIu64 ")", f->after);
		break;
	case WF_FILTER_TIMES:
		strbuf_addf(sb, ".times(%" PRIu64 ")", f->times);
		break;
	case WF_FILTER_PROBABILITY:
		strbuf_adds(sb, ".probability(");
		format_float(sb, f->probability);
		strbuf_addc(sb, ')');
		break;
	}
}

char *wf_command_format(const struct wf_command *cmd)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	switch (cmd->kind) {
	case WF_CMD_RECORDER_DUMP:
		strbuf_adds(&sb, "recorder.dump()");
		break;
	case WF_CMD_RECORDER_RESET:
		strbuf_adds(&sb, "recorder.reset()");
		break;
	case WF_CMD_PIPELINE:
		{
			char scope[WF_SCOPE_TEXT_MAX];

			wf_scope_format(&cmd->scope, scope, sizeof(scope));
			strbuf_adds(&sb, scope);
		}
		if (cmd->has_seed)
			strbuf_addf(&sb, ".seed(%" PRIu64 ")", cmd->seed);
		for (i = 0; i < cmd->nfilters; i++)
			format_filter(&sb, &cmd->filters[i]);
		strbuf_addf(&sb, ".%s(", wf_action_name(cmd->action.kind));
		if (wf_action_has_arg(cmd->action.kind))
			strbuf_addf(&sb, "%" PRId64, cmd->action.arg);
		if (cmd->action.jitter)
			strbuf_addf(&sb, ", %" PRId64, cmd->action.jitter);
		strbuf_addc(&sb, ')');
		break;
	}
	if (strbuf_failed(&sb)) {
		strbuf_free(&sb);
		return NULL;
	}
	return strbuf_detach(&sb, NULL);
}

bool wf_action_has_arg(enum wf_action_kind kind)
{
	return kind == WF_ACTION_CANCEL || kind == WF_ACTION_CONNECT_DELAY || kind == WF_ACTION_DELAY ||
	       kind == WF_ACTION_TRUNCATE;
}
