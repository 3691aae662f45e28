/* SPDX-License-Identifier: GPL-2.0 */
/*
 * onX(field="regex", ...) in the kernel: while the framer walks a message
 * whose type some onX filter names, the bytes of its body are read (64 at a
 * time) and each field condition of the pipeline (include/wf_pipeline.h)
 * runs its DFA over its own field.  The state of every condition lives in
 * the direction's stream (struct wf_stream scan_*), so a message whose
 * field spans segments is decided on the segment that completes it; when
 * the message is complete, each onX filter naming its type passes for this
 * chunk (a bit in hits) if all of its conditions held.
 *
 * A condition is decided as soon as possible: a TEXT field at its NUL or
 * when its DFA reaches dead/match, an ENUM field at its byte; once every
 * condition of a message is decided, the rest of the body is skipped, not
 * read.  A field the message ends before (malformed) does not match, nor
 * does any message begun under a pipeline that has since been replaced.
 */
#ifndef WF_BPF_FIELD_MATCH_H
#define WF_BPF_FIELD_MATCH_H

#include "counters.h"
#include "dfa.h"
#include "maps.h"
#include "wf_pg_proto.h"

/* The pipeline a chunk is evaluated with; pipe == NULL: none. */
struct wf_pipe_view {
	const struct wf_pipeline *pipe;
	const struct wf_dfa_pool *pool;
	__u32 gen;
	__u32 scope;		/* the scope whose pipeline it is (include/wf_pipeline.h) */
};

struct wf_match_ctx {
	struct wf_pipe_view v;
	__u16 hits;		/* onX filters satisfied by a message completed in this chunk */
	__u8 dir;
	__u8 carried;		/* the chunk began inside a message */
};

/*
 * A message header was framed: start matching it if a filter names its
 * type.  Global functions (this one, wf_match_piece, wf_match_hits): the
 * verifier checks each once, on its own, instead of once per path through
 * the framer's bpf_loop callback that reaches it; their loops multiplied
 * those paths past the verifier's limit.  Pointer arguments may be NULL as
 * far as the verifier knows, hence the checks.
 */
__noinline int wf_match_start(struct wf_stream *s, const struct wf_pipeline *pipe, __u32 dir,
			      __u32 gen)
{
	__u32 t, d = dir & 1, c;
	__u8 type, conds;

	if (!s)
		return 0;
	type = s->cur_type;
	t = type & (WF_PIPE_TYPE_SPACE - 1);
	s->scan_gen = 0;
	s->scan_todo = 0;
	s->scan_ok = 0;
	if (!pipe || type >= WF_PIPE_TYPE_SPACE || !pipe->on_filters[d][t])
		return 0;
	conds = pipe->on_conds[d][t];
	for (c = 0; c < WF_STREAM_SCAN_CONDS; c++) {
		if (!(conds & (1u << c)))
			continue;
		s->scan_nul[c] = 0;
		s->scan_state[c] = pipe->dfas[pipe->conds[c].dfa & (WF_PIPE_MAX_DFAS - 1)].start;
	}
	s->scan_todo = conds;
	s->scan_gen = gen;
	return 0;
}

static __always_inline void wf_match_begin(struct wf_match_ctx *m, struct wf_stream *s)
{
	m->carried = 0;
	wf_match_start(s, m->v.pipe, m->dir, m->v.gen);
}

static __always_inline void wf_match_decide(struct wf_stream *s, __u32 c, bool ok)
{
	s->scan_todo &= ~(1u << c);
	if (ok)
		s->scan_ok |= 1u << c;
}

/* One TEXT condition over one piece of body bytes (wf_match_text). */
struct wf_text_run {
	__u8 buf[WF_DFA_PIECE];
	__u32 n;		/* bytes in buf */
	__u32 pos0;		/* body offset of buf[0] */
	__u32 fixed_prefix, text_index;
	__u32 state, nul;	/* in and out: DFA state, strings ended so far */
	__u32 decided;		/* out: the condition is decided (state is 0 or 1) */
};

/* Per-CPU room for one struct wf_text_run (tc programs do not migrate). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_text_run);
} match_scratch SEC(".maps");

/*
 * Runs a TEXT condition's DFA over the bytes of its field in r->buf.
 * Global functions (this one and wf_match_piece): the verifier checks each
 * once, on its own; nested in one another, the loops over conditions and
 * bytes multiplied the paths it walks past its limit.
 */
__noinline int wf_match_text(const struct wf_pipe_dfa *d, const struct wf_dfa_pool *pool,
			     struct wf_text_run *r)
{
	__u32 k, st, nul, n, pos0, fp, ti;

	if (!d || !pool || !r)
		return 0;
	st = r->state;
	nul = r->nul;
	n = r->n;
	pos0 = r->pos0;
	fp = r->fixed_prefix;
	ti = r->text_index;
	for (k = 0; k < WF_DFA_PIECE; k++) {
		__u8 b;

		if (k >= n)
			break;
		if (pos0 + k < fp)
			continue;
		b = r->buf[k];
		if (nul < ti) {
			if (!b)
				nul++;
			continue;
		}
		if (!b) {	/* the field ends */
			st = wf_dfa_end(d, pool, st);
			r->decided = 1;
			break;
		}
		st = wf_dfa_step(pool, d, st, b);
		if (wf_dfa_decided(st)) {
			r->decided = 1;
			break;
		}
	}
	r->state = st;
	r->nul = nul;
	return 0;
}

/*
 * Reads the next n (1..64) body bytes of the message under way at skb
 * offset off and runs its undecided conditions over them; returns how many
 * conditions it decided, or -1 if the bytes cannot be read.  `off_n` packs
 * off << 8 | n (five arguments at most).  Reading inside this function
 * matters: a load whose size the caller computed would make that size, and
 * so the framer's offsets, precise, and the verifier could then never find
 * two iterations of the framer's loop alike.
 */
__noinline int wf_match_piece(struct __sk_buff *skb, struct wf_stream *s,
			      const struct wf_pipeline *pipe, const struct wf_dfa_pool *pool, __u32 off_n)
{
	__u32 c, n = off_n & 0xff, zero = 0;
	struct wf_text_run *rp;
	int decided_now = 0;

	if (!skb || !s || !pipe || !pool || !n || n > WF_DFA_PIECE)
		return 0;
	/* in a per-CPU map, not on the stack: the framer's call chain is deep */
	rp = bpf_map_lookup_elem(&match_scratch, &zero);
	if (!rp)
		return -1;
#define r (*rp)
	if (wf_load_piece(skb, off_n >> 8, r.buf, n))
		return -1;
	r.n = n;
	r.pos0 = s->msg_len - WF_PG_TYPED_MIN_LEN - s->body_left;
	for (c = 0; c < WF_STREAM_SCAN_CONDS; c++) {
		const struct wf_pipe_cond *cd = &pipe->conds[c];
		__u32 fp = cd->fixed_prefix;

		if (!(s->scan_todo & (1u << c)))
			continue;
		if (cd->kind == WF_PIPE_C_ENUM) {
			if (fp >= r.pos0 && fp < r.pos0 + n) {
				__u8 v = r.buf[(fp - r.pos0) & (WF_DFA_PIECE - 1)];

				wf_match_decide(s, c, (cd->enum_match[(v >> 3) & 31] >> (v & 7)) & 1);
				decided_now++;
			}
			continue;
		}
		r.fixed_prefix = fp;
		r.text_index = cd->text_index;
		r.state = s->scan_state[c];
		r.nul = s->scan_nul[c];
		r.decided = 0;
		wf_match_text(&pipe->dfas[cd->dfa & (WF_PIPE_MAX_DFAS - 1)], pool, &r);
		if (r.decided) {
			wf_match_decide(s, c, r.state == WF_DFA_MATCH);
			decided_now++;
		} else {
			s->scan_state[c] = r.state;
			s->scan_nul[c] = r.nul > 255 ? 255 : r.nul;
		}
	}
#undef r
	return decided_now;
}

/* Whether the message under way still needs its body bytes read. */
static __always_inline bool wf_match_wants_body(const struct wf_match_ctx *m, const struct wf_stream *s)
{
	return s->scan_gen && s->scan_todo && s->scan_gen == m->v.gen;
}

/* The onX filters the complete message under way satisfies (bit f = filters[f]). */
__noinline int wf_match_hits(const struct wf_stream *s, const struct wf_pipeline *pipe, __u32 dir)
{
	__u32 t, d = dir & 1, f;
	__u16 filters;
	int hits = 0;
	__u8 here;

	if (!s || !pipe)
		return 0;
	t = s->cur_type & (WF_PIPE_TYPE_SPACE - 1);
	filters = pipe->on_filters[d][t];
	here = pipe->on_conds[d][t];
	for (f = 0; f < WF_PIPE_MAX_FILTERS; f++) {
		__u8 need;

		if (!(filters & (1u << f)))
			continue;
		need = pipe->filters[f].conds & here;
		if (!(need & ~s->scan_ok))
			hits |= 1u << f;
	}
	return hits;
}

/*
 * The message under way is complete: the onX filters it satisfies are added
 * to *hits.  Takes the view, not a struct wf_match_ctx, so that the end of
 * a chunk (pg_framer.h) can call it without one on its stack.
 */
static __always_inline void wf_match_complete(const struct wf_pipe_view *v, __u8 dir,
					      struct wf_stream *s, __u16 *hits)
{
	__u16 more;

	if (!s->scan_gen)
		return;
	if (!v->pipe || s->scan_gen != v->gen) {	/* begun under another pipeline */
		s->scan_gen = 0;
		return;
	}
	s->scan_gen = 0;
	more = wf_match_hits(s, v->pipe, dir);
	if (more) {
		*hits |= more;
		wf_count(WF_CNT_PIPE_MESSAGES_MATCHED);
	}
}

#endif /* WF_BPF_FIELD_MATCH_H */
