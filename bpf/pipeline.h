/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The pipeline of the current command, evaluated once per chunk (a segment's
 * new bytes): filters in order, the first that fails allows the chunk, the
 * action runs if all pass (include/wf_pipeline.h has the encoding and the
 * exact semantics of each filter).  onX() results were computed while the
 * chunk was framed (field_match.h); contains()/matches() run their DFA over
 * the chunk's bytes only if the chunk gets that far.
 */
#ifndef WF_BPF_PIPELINE_H
#define WF_BPF_PIPELINE_H

#include "counters.h"
#include "dfa.h"
#include "field_match.h"
#include "maps.h"
#include "recorder.h"
#include "wf_random.h"

/* What one segment contributes to the pipeline: its new bytes. */
struct wf_chunk {
	struct wf_pipe_view v;	/* the pipeline it is evaluated with */
	__u32 off;		/* skb offset of the first new byte */
	__u32 len;		/* new bytes; 0: nothing to evaluate (retransmission) */
	__u32 seq;		/* TCP sequence number of the first new byte */
	__u32 message;		/* messages its direction carried before it (random draws) */
	__u16 hits;		/* onX filters satisfied by messages completed in it */
	__u8 initial;		/* the connection's first chunk: onX() never passes */
	__u8 dir;		/* enum wf_dir */
};

/* Does a scope's selector take the connection of flow key k? */
static __always_inline bool wf_scope_takes(const struct wf_pipe_scope *s, const struct wf_flow_key *k)
{
	__u64 a[2], b[2];

	if (s->port && s->port != k->server_port)
		return false;
	if (!s->has_client)
		return true;
	__builtin_memcpy(a, s->client_addr, 16);
	__builtin_memcpy(b, k->client_addr, 16);
	return a[0] == b[0] && a[1] == b[1];
}

/*
 * The pipeline that applies to the connection of flow key k, or
 * v->pipe == NULL (everything allowed): the most specific scope in force
 * whose selector takes it, else the default scope.  Each word is read once;
 * a scope's selector is stable while its word is nonzero.
 */
static __always_inline void wf_pipe_current_view(struct wf_pipe_view *v, const struct wf_flow_key *k)
{
	const struct wf_pipe_current *cur;
	const struct wf_pipeline *pipe;
	__u32 zero = 0, word, slot, scope = 0;
	int best = -1;

	v->pipe = NULL;
	v->pool = NULL;
	v->gen = 0;
	v->scope = 0;
	cur = bpf_map_lookup_elem(&pipe_current, &zero);
	if (!cur)
		return;
	word = *(volatile const __u32 *)&cur->word;
	for (__u32 i = 0; i < WF_PIPE_SCOPES - 1; i++) {
		const struct wf_pipe_scope *s = &cur->scoped[i];
		__u32 w = *(volatile const __u32 *)&s->word;
		int rank;

		if (!w || !wf_scope_takes(s, k))
			continue;
		rank = wf_pipe_scope_rank(s);
		if (rank > best) {
			best = rank;
			word = w;
			scope = i + 1;
		}
	}
	if (!word)
		return;
	slot = 2 * scope + (word & 1);
	pipe = bpf_map_lookup_elem(&pipelines, &slot);
	if (!pipe)
		return;
	if (pipe->generation != word >> 1) {
		/* the loader is rewriting the slot we were told to use */
		wf_count(WF_CNT_PIPE_STALE_SLOT);
		return;
	}
	v->pool = bpf_map_lookup_elem(&dfa_pool, &slot);
	if (!v->pool)
		return;
	v->pipe = pipe;
	v->gen = word >> 1;
	v->scope = scope;
}

/*
 * after(n): fluent.py's `if count >= n: pass; else: count += 1; allow`,
 * with one counter per connection.  Both directions may run this at once
 * on two CPUs: the increment is a compare-and-swap, so the counter never
 * goes past what fluent would count.
 */
static __always_inline bool wf_after_passes(struct wf_flow *f, __u64 n)
{
	__u64 cnt = f->after_count;

	if (cnt >= n)
		return true;
	__sync_val_compare_and_swap(&f->after_count, cnt, cnt + 1);
	return false;
}

/* What one bpf_loop step of wf_pipe_eval() needs. */
struct wf_eval_ctx {
	struct __sk_buff *skb;
	struct wf_pipeline *pipe;
	const struct wf_chunk *ch;
	struct wf_flow *f;
	const struct wf_flow_key *key;
	struct wf_filter_stats *st;
	__u32 nfilters;
	__u32 failed;		/* a filter failed: the chunk is allowed */
};

/*
 * after(n), times(n) and probability(p), filter i of the pipeline, for the
 * chunk in hand: 1 passes, 0 allows.  Not inlined: its body is verified once
 * per call site of the loop's callback.
 *
 * after(n): wf_after_passes().
 *
 * times(n): the first n chunks that get this far pass, over all
 * connections; the count lives in the slot's own pipeline (a new command
 * starts at 0).  The increment is atomic; a chunk that finds the count
 * already at n does not raise it.
 *
 * probability(p): a draw that names the chunk (include/wf_random.h), logged
 * in the ring so that a run can be compared with its replay.
 */
static __noinline int wf_filter_counted(const struct wf_eval_ctx *c, __u32 i)
{
	struct wf_pipeline *pipe = c->pipe;
	const struct wf_chunk *ch = c->ch;
	__u32 cpu = bpf_get_smp_processor_id();
	struct wf_rec_slot *slot;
	struct wf_decision *d;
	__u64 *fired;

	i &= WF_PIPE_MAX_FILTERS - 1;
	if (pipe->filters[i].kind == WF_PIPE_F_AFTER)
		return wf_after_passes(c->f, pipe->filters[i].after);
	if (pipe->filters[i].kind == WF_PIPE_F_TIMES) {
		fired = &pipe->fired[i];
		if (*(volatile __u64 *)fired >= pipe->filters[i].times ||
		    __sync_fetch_and_add(fired, 1) >= pipe->filters[i].times) {
			wf_count(WF_CNT_TIMES_EXHAUSTED);
			return 0;
		}
		return 1;
	}
	/* probability(): the decision is built where its ring record goes */
	slot = bpf_map_lookup_elem(&rec_scratch, &cpu);
	if (!slot) {
		wf_count(WF_CNT_REC_LOST_PIECES);
		return 0;	/* cannot log it: allow (fail open) */
	}
	d = (struct wf_decision *)slot->data;
	__builtin_memset(d, 0, sizeof(*d));
	d->seed = pipe->seed;
	d->ident = c->f->ident;
	d->threshold = pipe->filters[i].threshold;
	d->message = ch->message;
	d->filter = i;
	d->draw = wf_draw(d->seed, d->ident, ch->dir, d->message, i);
	d->passed = d->draw < d->threshold;
	slot->hdr.ts_ns = bpf_ktime_get_ns();
	slot->hdr.conn_id = c->f->conn_id;
	slot->hdr.flow = *c->key;
	slot->hdr.seq = ch->seq;
	slot->hdr.chunk_len = ch->len;
	slot->hdr.offset = 0;
	slot->hdr.len = sizeof(*d);
	slot->hdr.kind = WF_REC_DECISION;
	slot->hdr.dir = ch->dir;
	slot->hdr.flags = 0;
	slot->hdr.action = 0;
	slot->hdr.pipe_gen = pipe->generation;
	if (bpf_ringbuf_output(&records, &slot->hdr, sizeof(slot->hdr) + sizeof(*d),
			       wf_ring_wakeup_flags()))
		wf_count(WF_CNT_REC_LOST_PIECES);
	else
		wf_count(WF_CNT_DECISIONS);
	return d->passed;
}

/*
 * Filter i of the pipeline; 1 stops the loop.  A bpf_loop callback, so that
 * the verifier checks one filter's evaluation once instead of sixteen
 * unrolled copies of it with every combination of paths before them.
 */
static long wf_eval_filter(__u32 i, struct wf_eval_ctx *c)
{
	const struct wf_pipeline *pipe = c->pipe;
	const struct wf_chunk *ch = c->ch;
	const struct wf_pipe_filter *flt;
	bool pass;

	if (i >= c->nfilters || i >= WF_PIPE_MAX_FILTERS)
		return 1;
	flt = &pipe->filters[i];
	switch (flt->kind) {
	case WF_PIPE_F_ON:
		pass = !ch->initial && (ch->hits & (1u << i));
		break;
	case WF_PIPE_F_CONTAINS:
	case WF_PIPE_F_MATCHES:
		pass = wf_dfa_search_skb(c->skb, &pipe->dfas[flt->dfa & (WF_PIPE_MAX_DFAS - 1)],
					 ch->v.pool, ch->off, ch->len);
		break;
	case WF_PIPE_F_AFTER:
	case WF_PIPE_F_TIMES:
	case WF_PIPE_F_PROBABILITY:
		pass = wf_filter_counted(c, i);
		break;
	default:	/* not an encoding this program knows: fail open */
		wf_count(WF_CNT_ERRORS);
		pass = false;
	}
	if (!pass) {
		c->failed = 1;
		return 1;
	}
	if (c->st)
		c->st->passed[i & (WF_PIPE_MAX_FILTERS - 1)]++;
	return 0;
}

/* enum wf_pipe_action_kind for this chunk (WF_PIPE_A_ALLOW if a filter fails). */
static __always_inline __u8
wf_pipe_eval(struct __sk_buff *skb, struct wf_flow *f, const struct wf_flow_key *key,
	     const struct wf_chunk *ch)
{
	const struct wf_pipeline *pipe = ch->v.pipe;
	struct wf_eval_ctx c;
	__u32 scope = ch->v.scope & (WF_PIPE_SCOPES - 1);

	if (!pipe || !ch->len)
		return WF_PIPE_A_ALLOW;
	wf_count(WF_CNT_PIPE_CHUNKS);
	c.skb = skb;
	c.pipe = (struct wf_pipeline *)pipe;
	c.ch = ch;
	c.f = f;
	c.key = key;
	c.nfilters = pipe->nfilters;
	c.failed = 0;
	c.st = bpf_map_lookup_elem(&filter_stats, &scope);
	if (c.st && c.st->generation != pipe->generation) {
		__builtin_memset(c.st, 0, sizeof(*c.st));
		c.st->generation = pipe->generation;
	}
	if (c.st)
		c.st->evaluated++;
	bpf_loop(WF_PIPE_MAX_FILTERS, wf_eval_filter, &c, 0);
	if (c.failed)
		return WF_PIPE_A_ALLOW;
	if (c.st)
		c.st->acted++;
	return pipe->action;
}

#endif /* WF_BPF_PIPELINE_H */
