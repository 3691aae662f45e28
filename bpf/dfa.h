/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running the pipeline's DFAs (include/wf_pipeline.h: byte classes, one
 * flat transition pool per slot, state 0 dead, state 1 "match found", the
 * last class = end of subject).
 *
 * The pool is one big array map value: a transition is a class lookup and
 * one load, no map lookup per byte (~3 ns/byte measured in the prototypes).
 * Bytes are read 64 at a time with bpf_skb_load_bytes() (one bpf_loop
 * iteration per 64 bytes), and a run stops at the first byte that reaches
 * state 0 or 1: an anchored literal such as ^COMMIT is decided after its
 * own length, whatever follows (the prefix fast path).
 */
#ifndef WF_BPF_DFA_H
#define WF_BPF_DFA_H

#include "wf_vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "wf_pipeline.h"

#define WF_DFA_PIECE	64	/* bytes read per step */

static __always_inline __u32
wf_dfa_step(const struct wf_dfa_pool *pool, const struct wf_pipe_dfa *d, __u32 state, __u8 byte)
{
	__u32 cell = d->base + state * d->n_classes + d->byte_class[byte];

	return pool->next[cell & (WF_DFA_POOL_CELLS - 1)];
}

/* The answer when the subject ends in `state`: WF_DFA_MATCH or WF_DFA_DEAD. */
static __always_inline __u32
wf_dfa_end(const struct wf_pipe_dfa *d, const struct wf_dfa_pool *pool, __u32 state)
{
	__u32 cell = d->base + state * d->n_classes + (d->n_classes - 1);

	return pool->next[cell & (WF_DFA_POOL_CELLS - 1)];
}

static __always_inline bool wf_dfa_decided(__u32 state)
{
	return state <= WF_DFA_MATCH;
}

/* Loads n (1..64) bytes at skb offset off. */
static __always_inline long wf_load_piece(struct __sk_buff *skb, __u32 off, __u8 *buf, __u32 n)
{
	__u32 m = n - 1;

	asm volatile("" : "+r"(m));
	m &= WF_DFA_PIECE - 1;
	return bpf_skb_load_bytes(skb, off, buf, m + 1);
}

/*
 * Runs the DFA from `state` over the n (1..64) skb bytes at off; the state
 * reached (it stops early at dead/match), or -1 if the bytes cannot be read.
 * A global function, verified once on its own: inside the bpf_loop callback
 * below, the verifier would otherwise walk its 64-step loop again for every
 * iteration it simulates (n is precise there, so the iterations never look
 * alike).  `n_state` packs n (low 8 bits) and state (high 16) to stay within
 * five arguments.
 */
__noinline int wf_dfa_run_bytes(struct __sk_buff *skb, const struct wf_pipe_dfa *d,
				const struct wf_dfa_pool *pool, __u32 off, __u32 n_state)
{
	__u8 buf[WF_DFA_PIECE];
	__u32 n = n_state & 0xff, st = n_state >> 16, k;

	if (!skb || !d || !pool || !n || n > WF_DFA_PIECE)
		return -1;
	if (wf_load_piece(skb, off, buf, n))
		return -1;
	for (k = 0; k < WF_DFA_PIECE; k++) {
		if (k >= n)
			break;
		st = wf_dfa_step(pool, d, st, buf[k]);
		if (wf_dfa_decided(st))
			break;
	}
	return st;
}

struct wf_dfa_run {
	struct __sk_buff *skb;
	const struct wf_pipe_dfa *dfa;
	const struct wf_dfa_pool *pool;
	__u32 off, end;
	__u32 state;
	__u32 error;
};

static long wf_dfa_run_piece(__u32 i, void *data)
{
	struct wf_dfa_run *r = data;
	__u32 n;
	int st;

	if (r->off >= r->end)
		return 1;
	n = r->end - r->off;
	if (n > WF_DFA_PIECE)
		n = WF_DFA_PIECE;
	st = wf_dfa_run_bytes(r->skb, r->dfa, r->pool, r->off, n | (r->state & 0xffff) << 16);
	if (st < 0) {
		r->error = 1;
		return 1;
	}
	r->state = st;
	r->off += n;
	return wf_dfa_decided(st);
}

/*
 * re.search over the skb bytes [off, off + len): true on a match.  An skb
 * that cannot be read does not match (the chunk is allowed: fail open).
 */
static __always_inline bool
wf_dfa_search_skb(struct __sk_buff *skb, const struct wf_pipe_dfa *d, const struct wf_dfa_pool *pool,
		  __u32 off, __u32 len)
{
	struct wf_dfa_run r = {
		.skb = skb,
		.dfa = d,
		.pool = pool,
		.off = off,
		.end = off + len,
		.state = d->start,
	};
	__u32 loops = len / WF_DFA_PIECE + 1;

	if (loops > (1u << 23))
		loops = 1u << 23;
	if (!wf_dfa_decided(r.state))
		bpf_loop(loops, wf_dfa_run_piece, &r, 0);
	if (r.error)
		return false;
	if (!wf_dfa_decided(r.state))
		r.state = wf_dfa_end(d, pool, r.state);
	return r.state == WF_DFA_MATCH;
}

#endif /* WF_BPF_DFA_H */
