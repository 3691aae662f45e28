// SPDX-License-Identifier: GPL-2.0
/*
 * The pipeline compiler (pipeline_compile.h): checks a parsed command
 * against the limits of the kernel's encoding, compiles its regexes with the
 * one regex compiler (regex.h) and lays everything out as
 * include/wf_pipeline.h defines it.
 *
 * Order of the findings: the limits that need no compiling (filters,
 * conditions, distinct regexes), then the regexes in the order the command
 * spells them (the first one the regex compiler refuses, with its message),
 * then DFA sizes (states, pool cells).
 */
#include "pipeline_compile.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "command_parse.h"
#include "regex.h"
#include "wf_random.h"

#define DFA_MAX_STATES	65535u	/* a state is a __u16 in the pool and in struct wf_pipe_dfa */

/* Every regex of a pipeline: at most one per DFA slot, plus one per enum condition. */
#define MAX_REGEXES	(WF_PIPE_MAX_DFAS + WF_PIPE_MAX_CONDS)

struct regex_entry {
	enum wf_regex_kind kind;
	uint8_t *pattern;	/* owned copy */
	size_t len;
	size_t filter;		/* the first filter that uses it, for messages */
	int slot;		/* index into pipe.dfas; -1: only enum conditions use it */
	struct wf_dfa dfa;
};

struct compiler {
	const struct wf_command *cmd;
	struct wf_pipe_compiled *out;
	struct regex_entry re[MAX_REGEXES];
	size_t nre;
	unsigned nslots;
	char *err;
	size_t errsz;
};

static int fail(struct compiler *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(struct compiler *c, int rc, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errsz) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errsz, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

/* The directions an onX() filter's message is sent in (1 or 2). */
static size_t on_directions(const struct wf_filter *f)
{
	size_t n = 0;

	for (int d = 0; d < WF_DIR__COUNT; d++)
		n += f->on.msg[d] != NULL;
	return n;
}

/* The entry for (kind, pattern), or NULL. */
static struct regex_entry *regex_find(struct compiler *c, enum wf_regex_kind kind,
				      const uint8_t *pattern, size_t len)
{
	for (size_t i = 0; i < c->nre; i++)
		if (c->re[i].kind == kind && c->re[i].len == len &&
		    (len == 0 || !memcmp(c->re[i].pattern, pattern, len)))
			return &c->re[i];
	return NULL;
}

/*
 * The entry for (kind, pattern), added if new; with_slot: it needs a DFA in
 * the pipeline (a text condition, contains, matches).  Takes ownership of
 * `owned` (a malloc'd copy of the pattern) if not NULL.  NULL: out of memory.
 */
static struct regex_entry *regex_use(struct compiler *c, enum wf_regex_kind kind,
				     const uint8_t *pattern, size_t len, uint8_t *owned,
				     size_t filter, bool with_slot)
{
	struct regex_entry *e = regex_find(c, kind, pattern, len);

	if (e) {
		free(owned);
	} else {
		/* bounded by the filter and condition limits, checked before */
		if (c->nre == MAX_REGEXES) {
			free(owned);
			return NULL;
		}
		if (!owned) {
			owned = malloc(len + 1);
			if (!owned)
				return NULL;
			if (len)
				memcpy(owned, pattern, len);
			owned[len] = '\0';
		}
		e = &c->re[c->nre++];
		e->kind = kind;
		e->pattern = owned;
		e->len = len;
		e->filter = filter;
		e->slot = -1;
	}
	if (with_slot && e->slot < 0)
		e->slot = (int)c->nslots++;
	return e;
}

/* contains(b"x"): the bytes regex of the literal, every byte as \xHH. */
static uint8_t *literal_regex(const struct wf_bytes *b, size_t *len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t *p = malloc(b->len * 4 + 1);

	if (!p)
		return NULL;
	for (size_t i = 0; i < b->len; i++) {
		p[i * 4] = '\\';
		p[i * 4 + 1] = 'x';
		p[i * 4 + 2] = (uint8_t)hex[b->data[i] >> 4];
		p[i * 4 + 3] = (uint8_t)hex[b->data[i] & 15];
	}
	p[b->len * 4] = '\0';
	*len = b->len * 4;
	return p;
}

/* The regexes of every filter, in the order the command spells them. */
static int collect_regexes(struct compiler *c)
{
	const struct wf_command *cmd = c->cmd;

	for (size_t i = 0; i < cmd->nfilters; i++) {
		const struct wf_filter *f = &cmd->filters[i];
		struct regex_entry *e = NULL;

		switch (f->kind) {
		case WF_FILTER_ON:
			for (size_t k = 0; k < f->on.nfields; k++) {
				const struct wf_field_match *fm = &f->on.fields[k];
				bool text = false;

				for (int d = 0; d < WF_DIR__COUNT; d++)
					text |= f->on.msg[d] && fm->kind[d] == PG_FIELD_TEXT;
				e = regex_use(c, WF_REGEX_STR, fm->regex.data, fm->regex.len, NULL, i,
					      text);
				if (!e)
					return fail(c, -ENOMEM, "out of memory");
			}
			break;
		case WF_FILTER_CONTAINS: {
			size_t len = 0;
			uint8_t *p = literal_regex(&f->contains, &len);

			if (!p || !(e = regex_use(c, WF_REGEX_BYTES, p, len, p, i, true)))
				return fail(c, -ENOMEM, "out of memory");
			break;
		}
		case WF_FILTER_MATCHES:
			e = regex_use(c, WF_REGEX_BYTES, f->matches.data, f->matches.len, NULL, i, true);
			if (!e)
				return fail(c, -ENOMEM, "out of memory");
			break;
		case WF_FILTER_AFTER:
		case WF_FILTER_TIMES:
		case WF_FILTER_PROBABILITY:
			break;
		}
	}
	return 0;
}

/* The limits that need no compiling. */
static int check_counts(struct compiler *c)
{
	const struct wf_command *cmd = c->cmd;
	size_t nconds = 0;

	if (cmd->nfilters > WF_PIPE_MAX_FILTERS)
		return fail(c, -EINVAL, "the pipeline has %zu filters, more than the kernel's "
			    "WF_PIPE_MAX_FILTERS = %d", cmd->nfilters, WF_PIPE_MAX_FILTERS);
	for (size_t i = 0; i < cmd->nfilters; i++)
		if (cmd->filters[i].kind == WF_FILTER_ON)
			nconds += cmd->filters[i].on.nfields * on_directions(&cmd->filters[i]);
	if (nconds > WF_PIPE_MAX_CONDS)
		return fail(c, -EINVAL, "the pipeline has %zu field conditions (one per "
			    "field=\"regex\" of an onX() and direction its message is sent in), more "
			    "than the kernel's WF_PIPE_MAX_CONDS = %d", nconds, WF_PIPE_MAX_CONDS);
	return 0;
}

static const char *filter_label(const struct wf_filter *f)
{
	return f->kind == WF_FILTER_ON ? f->on.name : wf_filter_name(f->kind);
}

static int compile_regexes(struct compiler *c, uint64_t *cells)
{
	char msg[WF_REGEX_ERR_MAX];

	*cells = 0;
	for (size_t i = 0; i < c->nre; i++) {
		struct regex_entry *e = &c->re[i];
		enum wf_regex_status st = wf_regex_compile(e->pattern, e->len, e->kind, NULL, &e->dfa,
							   msg, sizeof(msg));

		if (st == WF_REGEX_NOMEM)
			return fail(c, -ENOMEM, "%s", msg);
		if (st != WF_REGEX_OK)
			return fail(c, -EINVAL, "%s", msg);
		if (e->slot < 0)
			continue;
		if (e->dfa.n_states > DFA_MAX_STATES)
			return fail(c, -EINVAL, "filter %zu (%s): its regex's DFA has %u states, more "
				    "than the %u a kernel DFA can have", e->filter + 1,
				    filter_label(&c->cmd->filters[e->filter]), e->dfa.n_states,
				    DFA_MAX_STATES);
		*cells += (uint64_t)e->dfa.n_states * (e->dfa.n_classes + 1);
	}
	if (*cells > WF_DFA_POOL_CELLS)
		return fail(c, -EINVAL, "the pipeline's regexes need %llu DFA cells, more than the "
			    "kernel's WF_DFA_POOL_CELLS = %u", (unsigned long long)*cells,
			    WF_DFA_POOL_CELLS);
	return 0;
}

/* A state the DFA reports as a match found: the kernel knows it as WF_DFA_MATCH. */
static uint16_t kernel_state(const struct wf_dfa *dfa, uint32_t s)
{
	if (s == WF_DFA_DEAD || s == WF_DFA_MATCH)
		return (uint16_t)s;
	return dfa->accept[s] ? WF_DFA_MATCH : (uint16_t)s;
}

int wf_pipe_dfa_encode(const struct wf_dfa *dfa, uint32_t base, uint16_t *cells,
		       struct wf_pipe_dfa *out, char *err, size_t errsz)
{
	uint32_t ncls = dfa->n_classes, total = ncls + 1;
	uint16_t *cell = cells;

	if (dfa->n_states > DFA_MAX_STATES) {
		if (err && errsz)
			snprintf(err, errsz, "its DFA has %u states, more than the %u a kernel DFA "
				 "can have", dfa->n_states, DFA_MAX_STATES);
		return -EINVAL;
	}
	if (dfa->n_states < 2 || ncls < 1 || total > WF_DFA_MAX_CLASSES ||
	    dfa->start >= dfa->n_states) {
		if (err && errsz)
			snprintf(err, errsz, "internal error: a malformed DFA (%u classes, start %u of "
				 "%u states)", ncls, dfa->start, dfa->n_states);
		return -EINVAL;
	}
	for (unsigned b = 0; b < 256; b++) {
		if (dfa->byte_class[b] >= ncls) {
			if (err && errsz)
				snprintf(err, errsz, "internal error: byte %u in class %u of %u", b,
					 dfa->byte_class[b], ncls);
			return -EINVAL;
		}
	}
	for (uint32_t s = 0; s < dfa->n_states; s++, cell += total) {
		for (uint32_t k = 0; k < ncls; k++) {
			uint32_t t = dfa->next[(size_t)s * ncls + k];

			if (t >= dfa->n_states) {
				if (err && errsz)
					snprintf(err, errsz, "internal error: a DFA transition to "
						 "state %u of %u", t, dfa->n_states);
				return -EINVAL;
			}
			/* dead and match found absorb, whatever the table says */
			if (s <= WF_DFA_MATCH)
				t = s;
			cell[k] = kernel_state(dfa, t);
		}
		if (s <= WF_DFA_MATCH)
			cell[ncls] = (uint16_t)s;
		else
			cell[ncls] = dfa->accept[s] || dfa->accept_at_end[s] ? WF_DFA_MATCH
									     : WF_DFA_DEAD;
	}
	memset(out, 0, sizeof(*out));
	out->base = base;
	out->n_states = (uint16_t)dfa->n_states;
	out->n_classes = (uint16_t)total;
	out->start = kernel_state(dfa, dfa->start);
	memcpy(out->byte_class, dfa->byte_class, sizeof(out->byte_class));
	return 0;
}

static int place_dfas(struct compiler *c)
{
	uint32_t base = 0;
	int rc;

	c->out->pool = calloc(1, sizeof(*c->out->pool));
	if (!c->out->pool)
		return fail(c, -ENOMEM, "out of memory");
	/* in slot order: the pool reads like pipe.dfas */
	for (unsigned slot = 0; slot < c->nslots; slot++) {
		for (size_t i = 0; i < c->nre; i++) {
			const struct regex_entry *e = &c->re[i];

			if (e->slot != (int)slot)
				continue;
			rc = wf_pipe_dfa_encode(&e->dfa, base, &c->out->pool->next[base],
						&c->out->pipe.dfas[slot], c->err, c->errsz);
			if (rc)
				return rc;
			base += e->dfa.n_states * (e->dfa.n_classes + 1);
		}
	}
	c->out->pool_used = base;
	c->out->pipe.ndfas = (uint8_t)c->nslots;
	return 0;
}

/* An enum condition: the byte values whose symbol name the regex finds. */
static void enum_bits(const struct pg_field *field, const struct wf_dfa *dfa, uint8_t bits[32])
{
	memset(bits, 0, 32);
	for (const struct pg_enum_symbol *sym = field->symbols; sym && sym->name; sym++)
		if (wf_dfa_search(dfa, (const uint8_t *)sym->name, strlen(sym->name)))
			bits[sym->value >> 3] |= (uint8_t)(1u << (sym->value & 7));
}

static int fill_on(struct compiler *c, size_t i, struct wf_pipe_filter *pf)
{
	const struct wf_filter *f = &c->cmd->filters[i];
	struct wf_pipeline *pipe = &c->out->pipe;

	pf->kind = WF_PIPE_F_ON;
	for (int d = 0; d < WF_DIR__COUNT; d++) {
		const struct pg_message_desc *m = f->on.msg[d];

		if (!m)
			continue;
		if (m->type == 0 || m->type >= WF_PIPE_TYPE_SPACE)
			return fail(c, -EINVAL, "internal error: message type byte 0x%02x is not "
				    "ASCII", m->type);
		pf->type[d] = m->type;
		pipe->on_filters[d][m->type] |= (uint16_t)(1u << i);
	}
	for (size_t k = 0; k < f->on.nfields; k++) {
		const struct wf_field_match *fm = &f->on.fields[k];
		const struct regex_entry *e = regex_find(c, WF_REGEX_STR, fm->regex.data,
							 fm->regex.len);

		for (int d = 0; d < WF_DIR__COUNT; d++) {
			const struct pg_message_desc *m = f->on.msg[d];
			struct wf_pipe_cond *pc;
			unsigned n = pipe->nconds;

			if (!m)
				continue;
			if (!e || n >= WF_PIPE_MAX_CONDS)	/* counted before */
				return fail(c, -EINVAL, "internal error: condition %u", n);
			pc = &pipe->conds[n];
			pc->filter = (uint8_t)i;
			pc->dir = (uint8_t)d;
			pc->type = m->type;
			pc->fixed_prefix = fm->loc[d].fixed_prefix;
			if (fm->kind[d] == PG_FIELD_TEXT) {
				pc->kind = WF_PIPE_C_TEXT;
				pc->dfa = (uint8_t)e->slot;
				pc->text_index = fm->loc[d].text_index;
			} else if (fm->kind[d] == PG_FIELD_ENUM8 && fm->loc[d].text_index == 0) {
				const struct pg_field *pgf = pg_message_field(m, fm->field);

				if (!pgf || pgf->kind != PG_FIELD_ENUM8)
					return fail(c, -EINVAL, "internal error: %s has no enum '%s'",
						    m->name, fm->field);
				pc->kind = WF_PIPE_C_ENUM;
				enum_bits(pgf, &e->dfa, pc->enum_match);
			} else {
				return fail(c, -EINVAL, "internal error: field '%s' of %s cannot be "
					    "matched", fm->field, m->name);
			}
			pf->conds |= (uint8_t)(1u << n);
			pipe->on_conds[d][m->type] |= (uint8_t)(1u << n);
			pipe->nconds++;
		}
	}
	return 0;
}

static int fill_pipeline(struct compiler *c)
{
	static const uint8_t actions[] = {
		[WF_ACTION_ALLOW] = WF_PIPE_A_ALLOW,
		[WF_ACTION_KILL] = WF_PIPE_A_KILL,
		[WF_ACTION_RESET] = WF_PIPE_A_RESET,
		[WF_ACTION_CANCEL] = WF_PIPE_A_CANCEL,
		[WF_ACTION_KILLALL] = WF_PIPE_A_KILLALL,
		[WF_ACTION_CONNECT_DELAY] = WF_PIPE_A_CONNECT_DELAY,
		[WF_ACTION_BLACKHOLE] = WF_PIPE_A_BLACKHOLE,
		[WF_ACTION_DELAY] = WF_PIPE_A_DELAY,
		[WF_ACTION_TRUNCATE] = WF_PIPE_A_TRUNCATE,
		[WF_ACTION_UNREACHABLE] = WF_PIPE_A_UNREACHABLE,
	};
	const struct wf_command *cmd = c->cmd;
	struct wf_pipeline *pipe = &c->out->pipe;
	int rc;

	for (size_t i = 0; i < cmd->nfilters; i++) {
		const struct wf_filter *f = &cmd->filters[i];
		struct wf_pipe_filter *pf = &pipe->filters[i];
		const struct regex_entry *e;
		size_t len = 0;
		uint8_t *p;

		switch (f->kind) {
		case WF_FILTER_ON:
			rc = fill_on(c, i, pf);
			if (rc)
				return rc;
			break;
		case WF_FILTER_CONTAINS:
			p = literal_regex(&f->contains, &len);
			if (!p)
				return fail(c, -ENOMEM, "out of memory");
			e = regex_find(c, WF_REGEX_BYTES, p, len);
			free(p);
			if (!e || e->slot < 0)
				return fail(c, -EINVAL, "internal error: contains() without a DFA");
			pf->kind = WF_PIPE_F_CONTAINS;
			pf->dfa = (uint8_t)e->slot;
			break;
		case WF_FILTER_MATCHES:
			e = regex_find(c, WF_REGEX_BYTES, f->matches.data, f->matches.len);
			if (!e || e->slot < 0)
				return fail(c, -EINVAL, "internal error: matches() without a DFA");
			pf->kind = WF_PIPE_F_MATCHES;
			pf->dfa = (uint8_t)e->slot;
			break;
		case WF_FILTER_AFTER:
			pf->kind = WF_PIPE_F_AFTER;
			pf->after = f->after;
			break;
		case WF_FILTER_TIMES:
			pf->kind = WF_PIPE_F_TIMES;
			pf->times = f->times;
			break;
		case WF_FILTER_PROBABILITY:
			pf->kind = WF_PIPE_F_PROBABILITY;
			pf->threshold = wf_probability_threshold(f->probability);
			break;
		default:
			return fail(c, -EINVAL, "internal error: filter kind %d", (int)f->kind);
		}
	}
	pipe->nfilters = (uint8_t)cmd->nfilters;
	if ((size_t)cmd->action.kind >= sizeof(actions) / sizeof(actions[0]))
		return fail(c, -EINVAL, "internal error: action kind %d", (int)cmd->action.kind);
	pipe->action = actions[cmd->action.kind];
	if (wf_action_has_arg(cmd->action.kind))
		pipe->action_arg = cmd->action.arg;
	pipe->action_jitter = (uint32_t)cmd->action.jitter;
	/* without seed(n), the loader puts its own in before publishing */
	pipe->seed = cmd->seed;
	return 0;
}

uint64_t wf_probability_threshold(double p)
{
	if (!(p > 0))
		return 0;
	if (p >= 1)
		return WF_PROBABILITY_ONE;
	return (uint64_t)llround(p * (double)WF_PROBABILITY_ONE);
}

int wf_pipeline_compile(const struct wf_command *cmd, struct wf_pipe_compiled *out, char *err,
			size_t errsz)
{
	struct compiler c = { .cmd = cmd, .out = out, .err = err, .errsz = errsz };
	uint64_t cells;
	int rc;

	memset(out, 0, sizeof(*out));
	if (err && errsz)
		err[0] = '\0';
	if (cmd->kind != WF_CMD_PIPELINE)
		return fail(&c, -EINVAL, "not a pipeline: recorder commands are not compiled");
	rc = check_counts(&c);
	if (!rc)
		rc = collect_regexes(&c);
	if (!rc && c.nslots > WF_PIPE_MAX_DFAS)
		rc = fail(&c, -EINVAL, "the pipeline needs %u regexes (distinct patterns of onX() text "
			  "fields, contains() and matches()), more than the kernel's "
			  "WF_PIPE_MAX_DFAS = %d", c.nslots, WF_PIPE_MAX_DFAS);
	if (!rc)
		rc = compile_regexes(&c, &cells);
	if (!rc)
		rc = place_dfas(&c);
	if (!rc)
		rc = fill_pipeline(&c);
	for (size_t i = 0; i < c.nre; i++) {
		wf_dfa_free(&c.re[i].dfa);
		free(c.re[i].pattern);
	}
	if (rc)
		wf_pipe_compiled_free(out);
	return rc;
}

void wf_pipe_compiled_free(struct wf_pipe_compiled *pc)
{
	if (!pc)
		return;
	free(pc->pool);
	memset(pc, 0, sizeof(*pc));
}

int wf_pipe_compiled_describe(const struct wf_pipe_compiled *pc, char *buf, size_t size)
{
	const struct wf_pipeline *p = &pc->pipe;
	size_t n = 0;

#define ADD(...)								\
	do {									\
		int w_ = n < size ? snprintf(buf + n, size - n, __VA_ARGS__)	\
				  : snprintf(NULL, 0, __VA_ARGS__);		\
		if (w_ > 0)							\
			n += (size_t)w_;					\
	} while (0)

	ADD("%u filter%s", p->nfilters, plural(p->nfilters));
	for (unsigned i = 0; i < p->nfilters && i < WF_PIPE_MAX_FILTERS; i++) {
		ADD("%s%s", i ? ", " : " (", wf_pipe_filter_name(p->filters[i].kind));
	}
	ADD("%s, %u condition%s", p->nfilters ? ")" : "", p->nconds, plural(p->nconds));
	for (unsigned i = 0; i < p->nconds && i < WF_PIPE_MAX_CONDS; i++)
		ADD("%s%s", i ? ", " : " (", p->conds[i].kind == WF_PIPE_C_TEXT ? "text" :
			    p->conds[i].kind == WF_PIPE_C_ENUM ? "enum" : "?");
	ADD("%s, %u DFA%s", p->nconds ? ")" : "", p->ndfas, plural(p->ndfas));
	for (unsigned i = 0; i < p->ndfas && i < WF_PIPE_MAX_DFAS; i++)
		ADD("%s%ux%u", i ? ", " : " (", p->dfas[i].n_states, p->dfas[i].n_classes);
	ADD("%s, %u of %u pool cells", p->ndfas ? ")" : "", pc->pool_used, WF_DFA_POOL_CELLS);
#undef ADD
	return (int)n;
}

int wf_pipeline_compile_text(const char *src, size_t len, struct wf_pipe_compiled *out, char *err,
			     size_t errsz)
{
	struct wf_parse_error perr;
	struct wf_command cmd;
	int rc;

	memset(out, 0, sizeof(*out));
	if (wf_command_parse(src, len, &cmd, &perr)) {
		if (err && errsz)
			snprintf(err, errsz, "%s", perr.msg);
		return -EBADMSG;
	}
	rc = wf_pipeline_compile(&cmd, out, err, errsz);
	wf_command_free(&cmd);
	return rc;
}

const char *wf_pipe_filter_name(unsigned int kind)
{
	static const char *const names[] = {
		[WF_PIPE_F_ON] = "on", [WF_PIPE_F_CONTAINS] = "contains",
		[WF_PIPE_F_MATCHES] = "matches", [WF_PIPE_F_AFTER] = "after",
		[WF_PIPE_F_TIMES] = "times", [WF_PIPE_F_PROBABILITY] = "probability",
	};

	return kind < sizeof(names) / sizeof(names[0]) && names[kind] ? names[kind] : "?";
}

const char *wf_pipe_action_name(unsigned int action)
{
	static const char *const names[] = {
		[WF_PIPE_A_ALLOW] = "allow", [WF_PIPE_A_KILL] = "kill", [WF_PIPE_A_RESET] = "reset",
		[WF_PIPE_A_CANCEL] = "cancel", [WF_PIPE_A_KILLALL] = "killall",
		[WF_PIPE_A_CONNECT_DELAY] = "connect_delay", [WF_PIPE_A_BLACKHOLE] = "blackhole",
		[WF_PIPE_A_DELAY] = "delay", [WF_PIPE_A_TRUNCATE] = "truncate",
		[WF_PIPE_A_UNREACHABLE] = "unreachable", [WF_PIPE_A_STALL] = "stall",
	};
	static __thread char other[24];

	if (action < sizeof(names) / sizeof(names[0]) && names[action])
		return names[action];
	snprintf(other, sizeof(other), "action %u", action);
	return other;
}
