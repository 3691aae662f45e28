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

/* What one segment contributes to the pipeline: its new bytes. */
struct wf_chunk {
	struct wf_pipe_view v;	/* the pipeline it is evaluated with */
	__u32 off;		/* skb offset of the first new byte */
	__u32 len;		/* new bytes; 0: nothing to evaluate (retransmission) */
	__u32 seq;		/* TCP sequence number of the first new byte */
	__u16 hits;		/* onX filters satisfied by messages completed in it */
	__u8 initial;		/* the connection's first chunk: onX() never passes */
	__u8 pad;
};

/* The active pipeline, or v->pipe == NULL (everything allowed). */
static __always_inline void wf_pipe_current_view(struct wf_pipe_view *v)
{
	const struct wf_pipe_current *cur;
	const struct wf_pipeline *pipe;
	__u32 zero = 0, word, slot;

	v->pipe = NULL;
	v->pool = NULL;
	v->gen = 0;
	cur = bpf_map_lookup_elem(&pipe_current, &zero);
	if (!cur)
		return;
	word = *(volatile const __u32 *)&cur->word;
	if (!word)
		return;
	slot = word & 1;
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

/* enum wf_pipe_action_kind for this chunk (WF_PIPE_A_ALLOW if a filter fails). */
static __always_inline __u8
wf_pipe_eval(struct __sk_buff *skb, struct wf_flow *f, const struct wf_chunk *ch)
{
	const struct wf_pipe_view *v = &ch->v;
	const struct wf_pipeline *pipe = v->pipe;
	struct wf_filter_stats *st;
	__u32 i, zero = 0;

	if (!pipe || !ch->len)
		return WF_PIPE_A_ALLOW;
	wf_count(WF_CNT_PIPE_CHUNKS);
	st = bpf_map_lookup_elem(&filter_stats, &zero);
	if (st && st->generation != pipe->generation) {
		__builtin_memset(st, 0, sizeof(*st));
		st->generation = pipe->generation;
	}
	if (st)
		st->evaluated++;
	for (i = 0; i < WF_PIPE_MAX_FILTERS; i++) {
		const struct wf_pipe_filter *flt = &pipe->filters[i];

		if (i >= pipe->nfilters)
			break;
		switch (flt->kind) {
		case WF_PIPE_F_ON:
			if (ch->initial || !(ch->hits & (1u << i)))
				return WF_PIPE_A_ALLOW;
			break;
		case WF_PIPE_F_CONTAINS:
		case WF_PIPE_F_MATCHES:
			if (!wf_dfa_search_skb(skb, &pipe->dfas[flt->dfa & (WF_PIPE_MAX_DFAS - 1)],
					       v->pool, ch->off, ch->len))
				return WF_PIPE_A_ALLOW;
			break;
		case WF_PIPE_F_AFTER:
			if (!wf_after_passes(f, flt->after))
				return WF_PIPE_A_ALLOW;
			break;
		default:	/* not an encoding this program knows: fail open */
			wf_count(WF_CNT_ERRORS);
			return WF_PIPE_A_ALLOW;
		}
		if (st)
			st->passed[i]++;
	}
	if (st)
		st->acted++;
	return pipe->action;
}

#endif /* WF_BPF_PIPELINE_H */
