// SPDX-License-Identifier: GPL-2.0
/*
 * Syntax tree -> minimized byte-level DFA with re.search semantics.
 *
 * 1. Every character set becomes a small deterministic byte automaton (for
 *    str patterns: the UTF-8 encodings of its code points, built block by
 *    block and hash-consed, so \w is a few hundred states, not thousands).
 * 2. Thompson NFA over bytes, with assertion states for ^ $ \A \Z \b \B.
 * 3. Subset construction over byte classes (the bytes no NFA edge tells
 *    apart), with a state cap.  A search starts a new thread at every byte;
 *    a thread reaching the end of the pattern makes the DFA state "match
 *    found", which absorbs everything after it.  Lookbehind (^ after \n,
 *    \b) is decided when the closure is taken, since the previous byte is
 *    known; lookahead ($, \Z, \b) becomes an obligation the thread carries
 *    and the next byte (or the end of the subject) settles.
 * 4. Minimization (Valmari and Lehtinen's partition refinement, O(m log n))
 *    of the states that can still match; everything else is state 0.
 * 5. Renumbering (0 dead, 1 match, the rest in breadth-first order from the
 *    start) and byte classes: bytes whose columns are equal share a class.
 */
#include "regex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"
#include "utf8.h"

#define NFA_MAX_STATES	200000u		/* checked before the subset construction */
#define SUBSET_FACTOR	4u		/* subset states allowed per final state */
#define WORK_MAX	(16u << 20)	/* threads the subset construction may visit and store */
#define NOBL		16u		/* obligations (lookahead) a thread can carry */
#define EXIT		UINT32_MAX	/* trie edge target: the character is complete */
#define NONE		UINT32_MAX

/* ---- growable arrays ------------------------------------------------------------------------- */

static bool reserve(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;
	void *n;

	if (need <= *cap)
		return true;
	ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

#define RESERVE(arr, cap, need) reserve((void **)&(arr), &(cap), (need), sizeof(*(arr)))

struct u32vec {
	uint32_t *v;
	size_t n, cap;
};

static bool vec_push(struct u32vec *v, uint32_t x)
{
	if (!RESERVE(v->v, v->cap, v->n + 1))
		return false;
	v->v[v->n++] = x;
	return true;
}

/* ---- interning of uint32 sequences (trie nodes, DFA states) ---------------------------------- */

struct interner {
	struct u32vec pool;	/* the keys, one after the other */
	uint32_t *off, *len;	/* per id */
	size_t n, off_cap, len_cap;
	uint32_t *slots;	/* open addressing: id + 1, 0 empty */
	size_t nslots;
};

static uint64_t key_hash(const uint32_t *k, uint32_t n)
{
	return hmap_hash_bytes(k, (size_t)n * sizeof(*k)) ^ n;
}

static bool interner_grow(struct interner *in)
{
	size_t ns = in->nslots ? in->nslots * 2 : 64;
	uint32_t *slots = calloc(ns, sizeof(*slots));

	if (!slots)
		return false;
	for (size_t id = 0; id < in->n; id++) {
		size_t h = (size_t)key_hash(in->pool.v + in->off[id], in->len[id]) & (ns - 1);

		while (slots[h])
			h = (h + 1) & (ns - 1);
		slots[h] = (uint32_t)id + 1;
	}
	free(in->slots);
	in->slots = slots;
	in->nslots = ns;
	return true;
}

/* The id of key[0..n) (new ids are consecutive from 0); -1 when out of memory. */
static int64_t intern(struct interner *in, const uint32_t *key, uint32_t n, bool *fresh)
{
	static const uint32_t none[1];
	size_t h;

	*fresh = false;
	if (!n)
		key = none;	/* never NULL for memcmp/memcpy */
	if ((in->n + 1) * 2 > in->nslots && !interner_grow(in))
		return -1;
	h = (size_t)key_hash(key, n) & (in->nslots - 1);
	for (; in->slots[h]; h = (h + 1) & (in->nslots - 1)) {
		uint32_t id = in->slots[h] - 1;

		if (in->len[id] == n && !memcmp(in->pool.v + in->off[id], key, n * sizeof(*key)))
			return id;
	}
	if (!RESERVE(in->off, in->off_cap, in->n + 1) ||
	    !RESERVE(in->len, in->len_cap, in->n + 1) ||
	    !RESERVE(in->pool.v, in->pool.cap, in->pool.n + n + 1))
		return -1;
	memcpy(in->pool.v + in->pool.n, key, n * sizeof(*key));
	in->off[in->n] = (uint32_t)in->pool.n;
	in->len[in->n] = n;
	in->pool.n += n;
	in->slots[h] = (uint32_t)in->n + 1;
	*fresh = true;
	return (int64_t)in->n++;
}

static void interner_free(struct interner *in)
{
	free(in->pool.v);
	free(in->off);
	free(in->len);
	free(in->slots);
	memset(in, 0, sizeof(*in));
}

/* ---- character sets as byte automata --------------------------------------------------------- */

/*
 * A trie is an interner whose keys are edge lists (lo, hi, target) with
 * target a node id or EXIT; node `root` reads the first byte.
 */
struct trie {
	struct interner nodes;
	uint32_t root;
	uint32_t full[4];	/* "any k continuation bytes" nodes, NONE until made */
	uint32_t owner;		/* the tree node that frees it (others share it) */
};

/* A code point set restricted to one UTF-8 length, with prefix sums for counting. */
struct cpset {
	const struct re_range *r;
	uint64_t *cum;		/* cum[i]: code points in r[0..i) */
	uint32_t n;
};

/*
 * Code points <= x.  *j is a cursor into the ranges: callers ask for
 * increasing x, so it only moves forward (start it at 0).
 */
static uint64_t count_upto(const struct cpset *s, uint32_t x, uint32_t *j)
{
	while (*j < s->n && s->r[*j].hi < x)
		(*j)++;
	if (*j == s->n)
		return s->cum[s->n];
	return s->cum[*j] + (x >= s->r[*j].lo ? (uint64_t)x - s->r[*j].lo + 1 : 0);
}

#define TRIE_DEAD (EXIT - 1)

static int64_t trie_node(struct trie *t, const uint32_t *edges, uint32_t nedges)
{
	bool fresh;

	return intern(&t->nodes, edges, nedges * 3, &fresh);
}

/* Appends an edge [b, b] -> to, merging with the previous one when it continues it. */
static bool edge_add(struct u32vec *e, uint32_t b, uint32_t to)
{
	if (to == TRIE_DEAD)
		return true;
	if (e->n && e->v[e->n - 1] == to && e->v[e->n - 2] + 1 == b) {
		e->v[e->n - 2] = b;
		return true;
	}
	return vec_push(e, b) && vec_push(e, b) && vec_push(e, to);
}

static int64_t trie_full(struct trie *t, int k)
{
	uint32_t e[3];
	int64_t below, id;

	if (k == 0)
		return EXIT;
	if (t->full[k] != NONE)
		return t->full[k];
	below = trie_full(t, k - 1);
	if (below < 0)
		return -1;
	e[0] = 0x80;
	e[1] = 0xbf;
	e[2] = (uint32_t)below;
	id = trie_node(t, e, 1);
	if (id >= 0)
		t->full[k] = (uint32_t)id;
	return id;
}

/*
 * The node reading k more continuation bytes for code points [base, base +
 * 64^k) of s; *j is the range cursor of count_upto(), positioned at or
 * before base.
 */
static int64_t trie_block(struct trie *t, const struct cpset *s, uint32_t base, int k, uint32_t *j)
{
	uint32_t size = 1u << (6 * k), sub = size >> 6, jj;
	uint64_t before, cov;
	struct u32vec e = { 0 };
	int64_t id;

	before = base ? count_upto(s, base - 1, j) : 0;
	jj = *j;
	cov = count_upto(s, base + size - 1, &jj) - before;
	if (!cov)
		return TRIE_DEAD;
	if (cov == size)
		return trie_full(t, k);
	for (uint32_t c = 0; c < 64; c++) {
		int64_t child = trie_block(t, s, base + c * sub, k - 1, j);

		if (child < 0 || !edge_add(&e, 0x80 + c, (uint32_t)child)) {
			free(e.v);
			return -1;
		}
	}
	id = trie_node(t, e.v, (uint32_t)(e.n / 3));
	free(e.v);
	return id;
}

/* s restricted to [lo, hi] without the surrogates, into out (ranges and sums allocated). */
static bool restrict_set(const struct re_set *s, uint32_t lo, uint32_t hi, struct cpset *out,
			 struct re_range **store)
{
	struct re_range *r = malloc(((size_t)s->n * 2 + 1) * sizeof(*r));
	uint32_t n = 0;

	out->cum = malloc(((size_t)s->n * 2 + 2) * sizeof(*out->cum));
	if (!r || !out->cum) {
		free(r);
		free(out->cum);
		out->cum = NULL;
		return false;
	}
	for (uint32_t i = 0; i < s->n; i++) {
		uint32_t a = s->r[i].lo < lo ? lo : s->r[i].lo;
		uint32_t b = s->r[i].hi > hi ? hi : s->r[i].hi;

		if (a > b)
			continue;
		if (a < 0xd800 && b > 0xdfff) {
			r[n++] = (struct re_range){ a, 0xd7ff };
			r[n++] = (struct re_range){ 0xe000, b };
		} else if (a >= 0xd800 && b <= 0xdfff) {
			continue;
		} else if (a >= 0xd800 && a <= 0xdfff) {
			r[n++] = (struct re_range){ 0xe000, b };
		} else if (b >= 0xd800 && b <= 0xdfff) {
			r[n++] = (struct re_range){ a, 0xd7ff };
		} else {
			r[n++] = (struct re_range){ a, b };
		}
	}
	out->cum[0] = 0;
	for (uint32_t i = 0; i < n; i++)
		out->cum[i + 1] = out->cum[i] + (r[i].hi - r[i].lo + 1);
	out->r = r;
	out->n = n;
	*store = r;
	return true;
}

static bool build_trie(const struct re_set *s, bool bytes, struct trie *t)
{
	static const uint32_t lim[5][2] = {
		{ 0, 0 }, { 0, 0x7f }, { 0x80, 0x7ff }, { 0x800, 0xffff }, { 0x10000, 0x10ffff },
	};
	struct cpset cs[5] = { { 0 } };
	struct re_range *store[5] = { 0 };
	struct u32vec e = { 0 };
	bool ok = false;
	int64_t id;

	memset(t, 0, sizeof(*t));
	for (int k = 0; k < 4; k++)
		t->full[k] = NONE;
	if (bytes) {
		for (uint32_t i = 0; i < s->n && s->r[i].lo <= 0xff; i++) {
			uint32_t hi = s->r[i].hi > 0xff ? 0xff : s->r[i].hi;

			if (!vec_push(&e, s->r[i].lo) || !vec_push(&e, hi) || !vec_push(&e, EXIT))
				goto out;
		}
	} else {
		for (int L = 1; L <= 4; L++)
			if (!restrict_set(s, lim[L][0], lim[L][1], &cs[L], &store[L]))
				goto out;
		uint32_t cur[5] = { 0 };

		for (uint32_t b = 0; b <= 0xf4; b++) {
			int64_t child;

			if (b < 0x80)
				child = trie_block(t, &cs[1], b, 0, &cur[1]);
			else if (b < 0xc2)
				continue;
			else if (b < 0xe0)
				child = trie_block(t, &cs[2], (b & 0x1f) << 6, 1, &cur[2]);
			else if (b < 0xf0)
				child = trie_block(t, &cs[3], (b & 0x0f) << 12, 2, &cur[3]);
			else
				child = trie_block(t, &cs[4], (b & 0x07) << 18, 3, &cur[4]);
			if (child < 0 || !edge_add(&e, b, (uint32_t)child))
				goto out;
		}
	}
	id = trie_node(t, e.v, (uint32_t)(e.n / 3));
	if (id < 0)
		goto out;
	t->root = (uint32_t)id;
	ok = true;
out:
	for (int L = 1; L <= 4; L++) {
		free(store[L]);
		free(cs[L].cum);
	}
	free(e.v);
	return ok;
}

/* ---- Thompson NFA ---------------------------------------------------------------------------- */

enum nkind { N_EPS, N_BYTES, N_ASSERT, N_MATCH };

struct nstate {
	uint8_t kind;
	uint8_t at;		/* N_ASSERT: enum re_assert */
	uint32_t out, out1;	/* N_EPS: one or two successors; N_ASSERT: out */
	uint32_t e0, ne;	/* N_BYTES: edges e0 .. e0 + ne */
};

struct nedge {
	uint8_t lo, hi;
	uint32_t to;
};

struct nfa {
	struct nstate *s;
	size_t n, cap;
	struct nedge *e;
	size_t ne, ecap;
	uint32_t start, match;
	bool too_big, nomem;
};

struct compiler {
	const struct re_ast *ast;
	struct nfa nfa;
	struct trie **tries;	/* per tree node, built on first use */
	bool word_boundaries;	/* the pattern has \b or \B */

	/* byte classes of the subset construction */
	uint8_t pre_class[256];
	uint8_t rep[256];	/* the first byte of each class */
	uint32_t npre;
	bool base_cut[257];	/* the class boundaries assertions need (\n, word characters) */

	/* obligations */
	struct obl {
		uint8_t kind;
		bool end_ok;
		uint64_t set[4];
	} obl[NOBL];
	uint32_t nobl;
	int8_t meet_cache[NOBL][NOBL];

	/* closure */
	uint8_t *useful;	/* per thread: a match is still possible from it */
	uint64_t work;		/* threads visited by closures so far */
	bool over_work;		/* the construction stopped at WORK_MAX */
	uint32_t *seen;		/* per thread: stamp */
	struct u32vec bucket[256];	/* the moves of a DFA state, per local class */
	uint32_t stamp;
	struct u32vec stack, out;
};

static uint32_t nfa_add(struct nfa *a, enum nkind kind)
{
	if (a->too_big || a->nomem)
		return 0;
	if (a->n >= NFA_MAX_STATES) {
		a->too_big = true;
		return 0;
	}
	if (!RESERVE(a->s, a->cap, a->n + 1)) {
		a->nomem = true;
		return 0;
	}
	memset(&a->s[a->n], 0, sizeof(a->s[0]));
	a->s[a->n].kind = (uint8_t)kind;
	a->s[a->n].out = a->s[a->n].out1 = NONE;
	return (uint32_t)a->n++;
}

static bool nfa_failed(const struct nfa *a)
{
	return a->too_big || a->nomem;
}

static uint32_t eps(struct nfa *a, uint32_t out, uint32_t out1)
{
	uint32_t s = nfa_add(a, N_EPS);

	if (!nfa_failed(a)) {
		a->s[s].out = out;
		a->s[s].out1 = out1;
	}
	return s;
}

/* A copy of the trie of a set, whose complete characters continue at out. */
static uint32_t build_set(struct compiler *c, uint32_t node, uint32_t out)
{
	struct nfa *a = &c->nfa;
	struct trie *t = c->tries[node];
	size_t base;

	if (!t) {
		const struct re_set *set = &c->ast->nodes[node].set;

		/* the same set elsewhere in the pattern (., \w, ...) has the same trie */
		for (uint32_t i = 0; i < c->ast->n && !t; i++) {
			const struct re_set *o = &c->ast->nodes[i].set;

			if (c->tries[i] && o->n == set->n &&
			    !memcmp(o->r, set->r, set->n * sizeof(*set->r)))
				t = c->tries[i];
		}
		if (!t) {
			t = calloc(1, sizeof(*t));
			if (!t || !build_trie(set, c->ast->bytes, t)) {
				if (t)
					interner_free(&t->nodes);
				free(t);
				a->nomem = true;
				return 0;
			}
			t->owner = node;
		}
		c->tries[node] = t;
	}
	base = a->n;
	if (a->n + t->nodes.n > NFA_MAX_STATES) {
		a->too_big = true;
		return 0;
	}
	for (size_t i = 0; i < t->nodes.n; i++)
		nfa_add(a, N_BYTES);
	if (nfa_failed(a))
		return 0;
	for (size_t i = 0; i < t->nodes.n; i++) {
		const uint32_t *k = t->nodes.pool.v + t->nodes.off[i];
		uint32_t ne = t->nodes.len[i] / 3;

		if (!RESERVE(a->e, a->ecap, a->ne + ne)) {
			a->nomem = true;
			return 0;
		}
		a->s[base + i].e0 = (uint32_t)a->ne;
		a->s[base + i].ne = ne;
		for (uint32_t j = 0; j < ne; j++) {
			struct nedge *ed = &a->e[a->ne++];

			ed->lo = (uint8_t)k[3 * j];
			ed->hi = (uint8_t)k[3 * j + 1];
			ed->to = k[3 * j + 2] == EXIT ? out : (uint32_t)base + k[3 * j + 2];
		}
	}
	return (uint32_t)base + t->root;
}

/* Builds node so that a match of it continues at state out; returns its entry. */
static uint32_t build(struct compiler *c, uint32_t node, uint32_t out)
{
	const struct re_node *n = &c->ast->nodes[node];
	struct nfa *a = &c->nfa;

	if (nfa_failed(a))
		return 0;
	switch (n->kind) {
	case RE_EMPTY:
		return out;
	case RE_SET:
		return build_set(c, node, out);
	case RE_ASSERT: {
		uint32_t s = nfa_add(a, N_ASSERT);

		if (!nfa_failed(a)) {
			a->s[s].at = (uint8_t)n->at;
			a->s[s].out = out;
		}
		return s;
	}
	case RE_CAT:
		for (uint32_t i = n->nkids; i-- > 0 && !nfa_failed(a);)
			out = build(c, n->kids[i], out);
		return out;
	case RE_ALT: {
		uint32_t s = build(c, n->kids[n->nkids - 1], out);

		for (uint32_t i = n->nkids - 1; i-- > 0 && !nfa_failed(a);)
			s = eps(a, build(c, n->kids[i], out), s);
		return s;
	}
	case RE_REPEAT: {
		uint32_t kid = n->kids[0], s = out;

		if (n->max == RE_INF) {
			uint32_t loop = eps(a, NONE, out);
			uint32_t body = build(c, kid, loop);

			if (nfa_failed(a))
				return 0;
			a->s[loop].out = body;
			s = loop;
		} else {
			for (uint32_t i = n->min; i < n->max && !nfa_failed(a); i++)
				s = eps(a, build(c, kid, s), out);
		}
		for (uint32_t i = 0; i < n->min && !nfa_failed(a); i++) {
			size_t before = a->n;

			s = build(c, kid, s);
			if (a->n == before)	/* it only matches "": once is enough */
				break;
		}
		return s;
	}
	}
	return 0;
}

/* ---- byte classes for the construction ------------------------------------------------------- */

static bool is_word_byte(uint32_t b)
{
	return (b >= '0' && b <= '9') || (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') ||
	       b == '_';
}

static void make_pre_classes(struct compiler *c)
{
	bool cut[257] = { false };
	uint32_t cls = 0;

	c->base_cut['\n'] = c->base_cut['\n' + 1] = true;
	if (c->word_boundaries) {
		static const char b[] = { '0', '9' + 1, 'A', 'Z' + 1, '_', '_' + 1, 'a', 'z' + 1 };

		for (size_t i = 0; i < sizeof(b); i++)
			c->base_cut[(uint8_t)b[i]] = true;
	}
	memcpy(cut, c->base_cut, sizeof(cut));
	for (size_t i = 0; i < c->nfa.ne; i++) {
		cut[c->nfa.e[i].lo] = true;
		cut[c->nfa.e[i].hi + 1] = true;
	}
	for (uint32_t b = 0; b < 256; b++) {
		if (b && cut[b])
			cls++;
		if (b == 0 || cut[b])
			c->rep[cls] = (uint8_t)b;
		c->pre_class[b] = (uint8_t)cls;
	}
	c->npre = cls + 1;
}

/* ---- obligations: what the rest of the subject must look like -------------------------------- */

enum { O_NONE, O_END, O_DOLLAR, O_NLEND, O_NEXT };
#define O_DEAD (-1)

static bool obl_has(const struct obl *o, uint32_t b)
{
	return o->set[b >> 6] >> (b & 63) & 1;
}

static int obl_intern(struct compiler *c, uint8_t kind, bool end_ok, const uint64_t set[4])
{
	struct obl o = { kind, end_ok, { 0 } };

	if (kind == O_NEXT) {
		memcpy(o.set, set, sizeof(o.set));
		if (!(set[0] | set[1] | set[2] | set[3]))
			return end_ok ? obl_intern(c, O_END, false, NULL) : O_DEAD;
	}
	for (uint32_t i = 0; i < c->nobl; i++)
		if (!memcmp(&c->obl[i], &o, sizeof(o)))
			return (int)i;
	if (c->nobl == NOBL)
		return O_DEAD;	/* cannot happen: at most 10 distinct ones */
	c->obl[c->nobl] = o;
	return (int)c->nobl++;
}

static int obl_next(struct compiler *c, bool word, bool end_ok)
{
	uint64_t set[4] = { 0 };

	for (uint32_t b = 0; b < 256; b++)
		if (is_word_byte(b) == word)
			set[b >> 6] |= 1ull << (b & 63);
	return obl_intern(c, O_NEXT, end_ok, set);
}

static int obl_newline(struct compiler *c)
{
	uint64_t set[4] = { 1ull << '\n', 0, 0, 0 };

	return obl_intern(c, O_NEXT, true, set);
}

/* Both obligations at once. */
static int obl_meet(struct compiler *c, int x, int y)
{
	const struct obl *a, *b;
	int r;

	if (x == O_DEAD || y == O_DEAD)
		return O_DEAD;
	if (c->meet_cache[x][y] != -2)
		return c->meet_cache[x][y];
	a = &c->obl[x];
	b = &c->obl[y];
	if (a->kind > b->kind) {
		const struct obl *t = a;

		a = b;
		b = t;
	}
	/* a->kind <= b->kind */
	if (a->kind == O_NONE) {
		r = b == &c->obl[x] ? x : y;
	} else if (a->kind == O_END) {
		if (b->kind == O_NLEND)
			r = O_DEAD;
		else if (b->kind == O_NEXT)
			r = b->end_ok ? obl_intern(c, O_END, false, NULL) : O_DEAD;
		else
			r = obl_intern(c, O_END, false, NULL);
	} else if (a->kind == O_DOLLAR) {
		if (b->kind == O_DOLLAR)
			r = obl_intern(c, O_DOLLAR, false, NULL);
		else if (b->kind == O_NLEND)
			r = obl_intern(c, O_NLEND, false, NULL);
		else if (obl_has(b, '\n'))
			r = obl_intern(c, b->end_ok ? O_DOLLAR : O_NLEND, false, NULL);
		else
			r = b->end_ok ? obl_intern(c, O_END, false, NULL) : O_DEAD;
	} else if (a->kind == O_NLEND) {
		if (b->kind == O_NLEND || obl_has(b, '\n'))
			r = obl_intern(c, O_NLEND, false, NULL);
		else
			r = O_DEAD;
	} else {
		uint64_t set[4];

		for (int i = 0; i < 4; i++)
			set[i] = a->set[i] & b->set[i];
		r = obl_intern(c, O_NEXT, a->end_ok && b->end_ok, set);
	}
	c->meet_cache[x][y] = (int8_t)r;
	return r;
}

/* The obligation left after reading byte b. */
static int obl_step(struct compiler *c, int o, uint32_t b)
{
	switch (c->obl[o].kind) {
	case O_NONE:
		return o;
	case O_END:
		return O_DEAD;
	case O_DOLLAR:
	case O_NLEND:
		return b == '\n' ? obl_intern(c, O_END, false, NULL) : O_DEAD;
	default:
		return obl_has(&c->obl[o], b) ? 0 : O_DEAD;
	}
}

static bool obl_end_ok(const struct compiler *c, int o)
{
	switch (c->obl[o].kind) {
	case O_NONE:
	case O_END:
	case O_DOLLAR:
		return true;
	case O_NLEND:
		return false;
	default:
		return c->obl[o].end_ok;
	}
}

/* ---- subset construction --------------------------------------------------------------------- */

#define THREAD(q, o) ((q) * NOBL + (uint32_t)(o))

/*
 * The obligation of a thread crossing assertion `at` at a position after
 * byte prev (at_start: the start of the subject), or O_DEAD when it cannot.
 */
static int assertion(struct compiler *c, uint8_t at, int o, bool at_start, uint32_t prev)
{
	switch (at) {
	case RE_AT_BEGIN:
		return at_start ? o : O_DEAD;
	case RE_AT_BEGIN_LINE:
		return at_start || prev == '\n' ? o : O_DEAD;
	case RE_AT_END:
		return obl_meet(c, o, obl_intern(c, O_END, false, NULL));
	case RE_AT_END_DOLLAR:
		return obl_meet(c, o, obl_intern(c, O_DOLLAR, false, NULL));
	case RE_AT_END_LINE:
		return obl_meet(c, o, obl_newline(c));
	default: {
		/* \b \B: sre says no on an empty subject; \b: the two sides differ */
		bool prev_word = !at_start && is_word_byte(prev);
		bool next_word = at == RE_AT_BOUNDARY ? !prev_word : prev_word;

		return obl_meet(c, o, obl_next(c, next_word, !next_word && !at_start));
	}
	}
}

/* The contexts that tell lookbehind assertions apart, and bytes that tell obligations apart. */
static const struct {
	bool at_start;
	uint8_t prev;
} contexts[] = { { true, 0 }, { false, '\n' }, { false, 'a' }, { false, ' ' } };
#define NCONTEXTS (sizeof(contexts) / sizeof(contexts[0]))
static const uint8_t byte_kinds[] = { '\n', 'a', ' ' };

static bool range_has_kind(uint32_t lo, uint32_t hi, uint8_t kind)
{
	if (kind == '\n')
		return lo <= '\n' && '\n' <= hi;
	for (uint32_t b = lo; b <= hi; b++)
		if (b != '\n' && is_word_byte(b) == (kind == 'a'))
			return true;
	return false;
}

/*
 * Marks the threads (NFA state, obligation) from which a match is still
 * possible, so that the construction drops the others (a thread looping in
 * \w* before an impossible \Zx would otherwise multiply the states).  An
 * over-approximation: lookbehind is taken as satisfiable in every context.
 * NFA edges mostly go to lower state ids (the NFA is built from the end of
 * the pattern), so a few sweeps in id order reach the fixpoint.
 */
/* Whether thread (q, o) leads to a thread already marked useful. */
static bool leads_to_useful(struct compiler *c, uint32_t q, int o)
{
	const struct nstate *s = &c->nfa.s[q];
	const uint8_t *useful = c->useful;

	switch (s->kind) {
	case N_MATCH:
		if (obl_end_ok(c, o))
			return true;
		for (size_t k = 0; k < sizeof(byte_kinds); k++) {
			int o2 = obl_step(c, o, byte_kinds[k]);

			if (o2 != O_DEAD && useful[THREAD(q, o2)])
				return true;
		}
		return false;
	case N_BYTES:
		for (uint32_t j = 0; j < s->ne; j++) {
			const struct nedge *e = &c->nfa.e[s->e0 + j];

			if (o == O_NONE) {	/* reading a byte keeps no obligation */
				if (useful[THREAD(e->to, O_NONE)])
					return true;
				continue;
			}
			for (size_t k = 0; k < sizeof(byte_kinds); k++) {
				int o2 = obl_step(c, o, byte_kinds[k]);

				if (o2 != O_DEAD && useful[THREAD(e->to, o2)] &&
				    range_has_kind(e->lo, e->hi, byte_kinds[k]))
					return true;
			}
		}
		return false;
	case N_EPS:
		return useful[THREAD(s->out, o)] || (s->out1 != NONE && useful[THREAD(s->out1, o)]);
	default:
		for (size_t k = 0; k < NCONTEXTS; k++) {
			int o2 = assertion(c, s->at, o, contexts[k].at_start, contexts[k].prev);

			if (o2 != O_DEAD && useful[THREAD(s->out, o2)])
				return true;
		}
		return false;
	}
}

static bool find_useful(struct compiler *c)
{
	const struct nfa *a = &c->nfa;
	uint32_t nobl;
	bool changed;

	/* every obligation a thread can carry */
	do {
		nobl = c->nobl;
		for (size_t q = 0; q < a->n; q++) {
			if (a->s[q].kind != N_ASSERT)
				continue;
			for (uint32_t o = 0; o < c->nobl; o++)
				for (size_t k = 0; k < NCONTEXTS; k++)
					assertion(c, a->s[q].at, (int)o, contexts[k].at_start,
						  contexts[k].prev);
		}
		for (uint32_t o = 0; o < c->nobl; o++)
			for (size_t k = 0; k < sizeof(byte_kinds); k++)
				obl_step(c, (int)o, byte_kinds[k]);
	} while (nobl != c->nobl);
	c->useful = calloc(a->n * NOBL, 1);
	if (!c->useful)
		return false;
	do {
		changed = false;
		for (uint32_t q = 0; q < a->n; q++) {
			for (uint32_t o = 0; o < nobl; o++) {
				if (!c->useful[THREAD(q, o)] && leads_to_useful(c, q, (int)o)) {
					c->useful[THREAD(q, o)] = 1;
					changed = true;
				}
			}
		}
	} while (changed);
	return true;
}


static int cmp_u32(const void *x, const void *y)
{
	uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;

	return a < b ? -1 : a > b;
}

/*
 * Follows the empty moves from the threads on c->stack; at_start and prev
 * (the byte just read) decide the lookbehind assertions.  Leaves the byte-
 * reading and match threads, sorted, in c->out; returns true when a thread
 * has matched with nothing left to check.
 */
static bool closure(struct compiler *c, bool at_start, uint32_t prev, bool *matched)
{
	const struct nfa *a = &c->nfa;

	*matched = false;
	c->out.n = 0;
	if (++c->stamp == 0) {
		memset(c->seen, 0, a->n * NOBL * sizeof(*c->seen));
		c->stamp = 1;
	}
	while (c->stack.n) {
		uint32_t t = c->stack.v[--c->stack.n], q = t / NOBL;
		int o = (int)(t % NOBL), o2 = o;
		const struct nstate *s;

		if (c->seen[t] == c->stamp || !c->useful[t])
			continue;
		c->seen[t] = c->stamp;
		c->work++;
		s = &a->s[q];
		switch (s->kind) {
		case N_MATCH:
			if (o == O_NONE) {
				*matched = true;
				c->stack.n = 0;
				return true;
			}
			/* fall through */
		case N_BYTES:
			if (!vec_push(&c->out, t))
				return false;
			continue;
		case N_EPS:
			if (!vec_push(&c->stack, THREAD(s->out, o)) ||
			    (s->out1 != NONE && !vec_push(&c->stack, THREAD(s->out1, o))))
				return false;
			continue;
		case N_ASSERT:
			break;
		}
		o2 = assertion(c, s->at, o, at_start, prev);
		if (o2 != O_DEAD && !vec_push(&c->stack, THREAD(s->out, o2)))
			return false;
	}
	if (c->out.n > 24) {
		qsort(c->out.v, c->out.n, sizeof(*c->out.v), cmp_u32);
	} else {
		for (size_t i = 1; i < c->out.n; i++) {
			uint32_t x = c->out.v[i];
			size_t j = i;

			for (; j && c->out.v[j - 1] > x; j--)
				c->out.v[j] = c->out.v[j - 1];
			c->out.v[j] = x;
		}
	}
	return true;
}

/*
 * The subset DFA: id 0 is dead (nothing can match any more), id 1 is match
 * found; the others are sets of threads.  An empty set is not dead: a new
 * thread starts at every byte, and (?m)^ may let it through later.
 */
struct subset {
	struct interner states;	/* thread sets (0 and 1: keys no thread set has) */
	uint32_t *trans;	/* n * npre */
	size_t trans_cap;
	uint8_t *ate;		/* accepts at end */
	size_t ate_cap;
	uint32_t n;
};

/* The DFA state for the threads in c->out (or match); -1 out of memory, -2 too many. */
static int64_t subset_state(struct compiler *c, struct subset *d, bool matched, uint32_t cap)
{
	static const uint32_t match_key[1] = { UINT32_MAX };
	bool fresh;
	int64_t id;

	if (matched)
		id = intern(&d->states, match_key, 1, &fresh);
	else
		id = intern(&d->states, c->out.v, (uint32_t)c->out.n, &fresh);
	if (id < 0)
		return -1;
	if (!fresh)
		return id;
	if ((uint32_t)id >= cap)
		return -2;
	if (d->states.pool.n > WORK_MAX)
		return -3;
	if (!RESERVE(d->ate, d->ate_cap, (size_t)id + 1))
		return -1;
	d->ate[id] = 0;
	if (!matched) {
		for (size_t i = 0; i < c->out.n; i++) {
			uint32_t t = c->out.v[i];

			if (t / NOBL == c->nfa.match && obl_end_ok(c, (int)(t % NOBL)))
				d->ate[id] = 1;
		}
	}
	d->n = (uint32_t)id + 1;
	return id;
}

/*
 * The local byte classes of a DFA state: only the edges of its threads (and
 * \n, and word characters for \b) tell bytes apart, so one closure per
 * local class is enough.
 */
struct local_classes {
	uint32_t n;
	uint8_t rep[256];	/* the first byte of each */
	uint8_t of[256];	/* the class of each byte */
};

static void local_classes(const struct compiler *c, const struct u32vec *cur,
			  struct local_classes *lc)
{
	const struct nfa *a = &c->nfa;
	bool cut[257];

	memcpy(cut, c->base_cut, sizeof(cut));
	for (size_t i = 0; i < cur->n; i++) {
		const struct nstate *ns = &a->s[cur->v[i] / NOBL];

		for (uint32_t j = 0; j < ns->ne; j++) {
			cut[a->e[ns->e0 + j].lo] = true;
			cut[a->e[ns->e0 + j].hi + 1] = true;
		}
	}
	lc->n = 0;
	for (uint32_t b = 0; b < 256; b++) {
		if (b == 0 || cut[b])
			lc->rep[lc->n++] = (uint8_t)b;
		lc->of[b] = (uint8_t)(lc->n - 1);
	}
}

/* Each thread's moves on a byte of each local class, into c->bucket[class]. */
static bool sort_moves(struct compiler *c, const struct u32vec *cur, const struct local_classes *lc)
{
	const struct nfa *a = &c->nfa;

	for (uint32_t l = 0; l < lc->n; l++)
		c->bucket[l].n = 0;
	for (size_t i = 0; i < cur->n; i++) {
		uint32_t q = cur->v[i] / NOBL;
		int o = (int)(cur->v[i] % NOBL);
		const struct nstate *ns = &a->s[q];

		if (ns->kind == N_MATCH) {	/* matched, waiting for its lookahead */
			for (uint32_t l = 0; l < lc->n; l++) {
				int o2 = obl_step(c, o, lc->rep[l]);

				if (o2 != O_DEAD && !vec_push(&c->bucket[l], THREAD(q, o2)))
					return false;
			}
			continue;
		}
		for (uint32_t j = 0; j < ns->ne; j++) {
			const struct nedge *e = &a->e[ns->e0 + j];

			for (uint32_t l = lc->of[e->lo]; l <= lc->of[e->hi]; l++) {
				int o2 = o == O_NONE ? O_NONE : obl_step(c, o, lc->rep[l]);

				if (o2 != O_DEAD && !vec_push(&c->bucket[l], THREAD(e->to, o2)))
					return false;
			}
		}
	}
	return true;
}

static enum wf_regex_status subset_construct(struct compiler *c, struct subset *d, uint32_t cap,
					     uint32_t *start)
{
	static const uint32_t dead_key[1] = { UINT32_MAX - 1 };
	const struct nfa *a = &c->nfa;
	struct local_classes lc;
	struct u32vec cur = { 0 };
	enum wf_regex_status st = WF_REGEX_NOMEM;
	uint32_t lid[256];
	bool matched, fresh;
	int64_t id;

	/* ids 0 and 1: dead (a key no thread set has) and match */
	if (intern(&d->states, dead_key, 1, &fresh) != 0 || subset_state(c, d, true, cap) != 1 ||
	    !RESERVE(d->ate, d->ate_cap, 2))
		goto out;
	d->ate[0] = 0;
	c->stack.n = 0;
	if (!vec_push(&c->stack, THREAD(a->start, O_NONE)) || !closure(c, true, 0, &matched))
		goto out;
	id = subset_state(c, d, matched, cap);
	if (id < 0)
		goto fail_id;
	*start = (uint32_t)id;
	for (uint32_t s = 0; s < d->n; s++) {
		if (!RESERVE(d->trans, d->trans_cap, ((size_t)s + 1) * c->npre))
			goto out;
		if (s == 0 || s == 1) {
			for (uint32_t k = 0; k < c->npre; k++)
				d->trans[(size_t)s * c->npre + k] = s;
			continue;
		}
		/* the threads of s (the pool may move while interning) */
		cur.n = 0;
		for (uint32_t i = 0; i < d->states.len[s]; i++)
			if (!vec_push(&cur, d->states.pool.v[d->states.off[s] + i]))
				goto out;
		local_classes(c, &cur, &lc);
		if (!sort_moves(c, &cur, &lc))
			goto out;
		for (uint32_t l = 0; l < lc.n; l++) {
			struct u32vec *bk = &c->bucket[l];

			/* the moves, and a new thread: the search starts at every byte */
			if (!RESERVE(c->stack.v, c->stack.cap, bk->n + 1))
				goto out;
			if (bk->n)
				memcpy(c->stack.v, bk->v, bk->n * sizeof(*bk->v));
			c->stack.n = bk->n;
			if (!vec_push(&c->stack, THREAD(a->start, O_NONE)) ||
			    !closure(c, false, lc.rep[l], &matched))
				goto out;
			id = subset_state(c, d, matched, cap);
			if (id >= 0 && c->work > WORK_MAX)
				id = -3;
			if (id < 0)
				goto fail_id;
			lid[l] = (uint32_t)id;
		}
		for (uint32_t k = 0; k < c->npre; k++)
			d->trans[(size_t)s * c->npre + k] = lid[lc.of[c->rep[k]]];
	}
	st = WF_REGEX_OK;
	goto out;
fail_id:
	st = id == -1 ? WF_REGEX_NOMEM : WF_REGEX_TOO_BIG;
	c->over_work = id == -3;
out:
	free(cur.v);
	return st;
}

/*
 * Merges the byte classes whose columns are equal in the whole subset DFA
 * (the construction's classes are finer than needed), so that minimization
 * handles fewer transitions.
 */
static bool merge_columns(struct compiler *c, struct subset *d)
{
	uint32_t k = c->npre, n = d->n, nm = 0, cmap[256], *t;
	uint64_t h[256];

	for (uint32_t j = 0; j < k; j++) {
		h[j] = 0;
		for (uint32_t i = 2; i < n; i++)
			h[j] = hmap_hash_u64(h[j] + d->trans[(size_t)i * k + j]);
		cmap[j] = NONE;
		for (uint32_t j2 = 0; j2 < j && cmap[j] == NONE; j2++) {
			bool eq = h[j] == h[j2];

			for (uint32_t i = 2; i < n && eq; i++)
				eq = d->trans[(size_t)i * k + j] == d->trans[(size_t)i * k + j2];
			if (eq)
				cmap[j] = cmap[j2];
		}
		if (cmap[j] == NONE)
			cmap[j] = nm++;
	}
	if (nm == k)
		return true;
	t = malloc((size_t)n * nm * sizeof(*t));
	if (!t)
		return false;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < k; j++)
			t[(size_t)i * nm + cmap[j]] = d->trans[(size_t)i * k + j];
	free(d->trans);
	d->trans = t;
	d->trans_cap = (size_t)n * nm;
	for (uint32_t b = 0; b < 256; b++)
		c->pre_class[b] = (uint8_t)cmap[c->pre_class[b]];
	c->npre = nm;
	return true;
}

/* ---- minimization (Valmari & Lehtinen, "Fast brief practical DFA minimization", 2012) -------- */

struct partition {
	uint32_t z;
	uint32_t *E, *L, *S, *F, *P;
};

struct refiner {
	uint32_t *M, *W;
	uint32_t w;
};

static bool part_init(struct partition *B, uint32_t n)
{
	size_t k = n ? n : 1;

	B->E = malloc(k * sizeof(uint32_t));
	B->L = malloc(k * sizeof(uint32_t));
	B->S = malloc(k * sizeof(uint32_t));
	B->F = malloc(k * sizeof(uint32_t));
	B->P = malloc(k * sizeof(uint32_t));
	if (!B->E || !B->L || !B->S || !B->F || !B->P)
		return false;
	B->z = n > 0;
	for (uint32_t i = 0; i < n; i++) {
		B->E[i] = B->L[i] = i;
		B->S[i] = 0;
	}
	if (B->z) {
		B->F[0] = 0;
		B->P[0] = n;
	}
	return true;
}

static void part_free(struct partition *B)
{
	free(B->E);
	free(B->L);
	free(B->S);
	free(B->F);
	free(B->P);
}

static void mark(struct partition *B, struct refiner *r, uint32_t e)
{
	uint32_t s = B->S[e], i = B->L[e], j = B->F[s] + r->M[s];

	B->E[i] = B->E[j];
	B->L[B->E[i]] = i;
	B->E[j] = e;
	B->L[e] = j;
	if (!r->M[s]++)
		r->W[r->w++] = s;
}

static void split(struct partition *B, struct refiner *r)
{
	while (r->w) {
		uint32_t s = r->W[--r->w], j = B->F[s] + r->M[s], z = B->z;

		if (j == B->P[s]) {
			r->M[s] = 0;
			continue;
		}
		if (r->M[s] <= B->P[s] - j) {
			B->F[z] = B->F[s];
			B->P[z] = B->F[s] = j;
		} else {
			B->P[z] = B->P[s];
			B->F[z] = B->P[s] = j;
		}
		for (uint32_t i = B->F[z]; i < B->P[z]; i++)
			B->S[B->E[i]] = z;
		r->M[s] = r->M[z] = 0;
		B->z++;
	}
}

/*
 * Minimizes the live part of the subset DFA (states that can still reach a
 * match or accept at the end; the others are dead).  block[s] receives the
 * block of each live state, NONE for the others; returns the block count or
 * -1 when out of memory.
 */
static int64_t minimize(const struct subset *d, uint32_t npre, uint32_t *block)
{
	uint32_t n = d->n, m = 0, *T = NULL, *Lb = NULL, *H = NULL, *A = NULL, *Fa = NULL;
	uint32_t *live_id = NULL, nl = 0, *rev = NULL, *rev0 = NULL;
	struct partition B = { 0 }, C = { 0 };
	struct refiner r = { 0 };
	bool *live = calloc(n, sizeof(*live));
	int64_t result = -1;
	struct u32vec q = { 0 };

	if (!live)
		return -1;
	/* reverse reachability from the accepting states */
	rev0 = calloc((size_t)n + 1, sizeof(*rev0));
	if (!rev0)
		goto out;
	for (uint32_t s = 2; s < n; s++)
		for (uint32_t k = 0; k < npre; k++)
			rev0[d->trans[(size_t)s * npre + k] + 1]++;
	for (uint32_t s = 0; s < n; s++)
		rev0[s + 1] += rev0[s];
	rev = malloc(((size_t)rev0[n] + 1) * sizeof(*rev));
	if (!rev)
		goto out;
	{
		uint32_t *fill = malloc(((size_t)n + 1) * sizeof(*fill));

		if (!fill)
			goto out;
		memcpy(fill, rev0, ((size_t)n + 1) * sizeof(*fill));
		for (uint32_t s = 2; s < n; s++)
			for (uint32_t k = 0; k < npre; k++)
				rev[fill[d->trans[(size_t)s * npre + k]]++] = s;
		free(fill);
	}
	for (uint32_t s = 1; s < n; s++) {
		if (s == 1 || d->ate[s]) {
			live[s] = true;
			if (!vec_push(&q, s))
				goto out;
		}
	}
	while (q.n) {
		uint32_t s = q.v[--q.n];

		for (uint32_t i = rev0[s]; i < rev0[s + 1]; i++) {
			if (!live[rev[i]]) {
				live[rev[i]] = true;
				if (!vec_push(&q, rev[i]))
					goto out;
			}
		}
	}
	/* live states renumbered 0..nl-1, transitions between them */
	live_id = malloc((size_t)n * sizeof(*live_id));
	if (!live_id)
		goto out;
	for (uint32_t s = 0; s < n; s++)
		live_id[s] = live[s] ? nl++ : NONE;
	for (uint32_t s = 1; s < n; s++)
		for (uint32_t k = 0; live[s] && k < npre; k++)
			m += live[d->trans[(size_t)s * npre + k]];
	T = malloc(((size_t)m + 1) * sizeof(*T));
	Lb = malloc(((size_t)m + 1) * sizeof(*Lb));
	H = malloc(((size_t)m + 1) * sizeof(*H));
	A = malloc(((size_t)m + 1) * sizeof(*A));
	Fa = calloc((size_t)nl + 1, sizeof(*Fa));
	r.M = calloc((size_t)(m > nl ? m : nl) + 1, sizeof(*r.M));
	r.W = malloc(((size_t)(m > nl ? m : nl) + 1) * sizeof(*r.W));
	if (!T || !Lb || !H || !A || !Fa || !r.M || !r.W)
		goto out;
	m = 0;
	for (uint32_t s = 1; s < n; s++) {
		for (uint32_t k = 0; live[s] && k < npre; k++) {
			uint32_t t = d->trans[(size_t)s * npre + k];

			if (!live[t])
				continue;
			T[m] = live_id[s];
			Lb[m] = k;
			H[m] = live_id[t];
			m++;
		}
	}
	if (!part_init(&B, nl) || !part_init(&C, m))
		goto out;
	/* initial partition: the match state, states accepting at the end, the others */
	for (uint32_t s = 1; s < n; s++)
		if (live[s] && s == 1)
			mark(&B, &r, live_id[s]);
	split(&B, &r);
	for (uint32_t s = 2; s < n; s++)
		if (live[s] && d->ate[s])
			mark(&B, &r, live_id[s]);
	split(&B, &r);
	/* transitions grouped by label (counting sort) */
	if (m) {
		uint32_t *cnt = calloc((size_t)npre + 1, sizeof(*cnt));

		if (!cnt)
			goto out;
		for (uint32_t t = 0; t < m; t++)
			cnt[Lb[t] + 1]++;
		for (uint32_t k = 0; k < npre; k++)
			cnt[k + 1] += cnt[k];
		for (uint32_t t = 0; t < m; t++) {
			uint32_t pos = cnt[Lb[t]]++;

			C.E[pos] = t;
			C.L[t] = pos;
		}
		free(cnt);
		C.z = 0;
		for (uint32_t i = 0; i < m; i++) {
			uint32_t t = C.E[i];

			if (i == 0 || Lb[t] != Lb[C.E[i - 1]]) {
				if (i)
					C.P[C.z++] = i;
				C.F[C.z] = i;
			}
			C.S[t] = C.z;
		}
		C.P[C.z++] = m;
	}
	/* incoming transitions per state */
	for (uint32_t t = 0; t < m; t++)
		Fa[H[t] + 1]++;
	for (uint32_t s = 0; s < nl; s++)
		Fa[s + 1] += Fa[s];
	{
		uint32_t *fill = malloc(((size_t)nl + 1) * sizeof(*fill));

		if (!fill)
			goto out;
		memcpy(fill, Fa, ((size_t)nl + 1) * sizeof(*fill));
		for (uint32_t t = 0; t < m; t++)
			A[fill[H[t]]++] = t;
		free(fill);
	}
	{
		uint32_t b = 1, cc = 0;

		while (cc < C.z) {
			for (uint32_t i = C.F[cc]; i < C.P[cc]; i++)
				mark(&B, &r, T[C.E[i]]);
			split(&B, &r);
			cc++;
			while (b < B.z) {
				for (uint32_t i = B.F[b]; i < B.P[b]; i++)
					for (uint32_t j = Fa[B.E[i]]; j < Fa[B.E[i] + 1]; j++)
						mark(&C, &r, A[j]);
				split(&C, &r);
				b++;
			}
		}
	}
	for (uint32_t s = 0; s < n; s++)
		block[s] = live[s] ? B.S[live_id[s]] : NONE;
	result = B.z;
out:
	free(live);
	free(rev0);
	free(rev);
	free(q.v);
	free(live_id);
	free(T);
	free(Lb);
	free(H);
	free(A);
	free(Fa);
	free(r.M);
	free(r.W);
	part_free(&B);
	part_free(&C);
	return result;
}

/* ---- output ---------------------------------------------------------------------------------- */

static enum wf_regex_status emit(struct compiler *c, const struct subset *d, uint32_t start,
				 uint32_t max_states, struct wf_dfa *out, char *err, size_t errsz)
{
	uint32_t *block = malloc((size_t)d->n * sizeof(*block)), *newid = NULL, *rep = NULL;
	uint32_t *order = NULL, nb, n = 2, k = c->npre, *tbl = NULL;
	int64_t z = -1;
	enum wf_regex_status st = WF_REGEX_NOMEM;
	int32_t cls_of[256];
	uint64_t colhash[256];
	uint32_t ncls = 0;

	if (block)
		z = minimize(d, c->npre, block);
	if (z < 0)
		goto out;
	nb = (uint32_t)z;
	newid = malloc(((size_t)nb + 1) * sizeof(*newid));
	rep = malloc(((size_t)nb + 1) * sizeof(*rep));
	order = malloc(((size_t)nb + 2) * sizeof(*order));
	if (!newid || !rep || !order)
		goto out;
	for (uint32_t b = 0; b < nb; b++)
		newid[b] = NONE;
	for (uint32_t s = d->n; s-- > 0;)
		if (block[s] != NONE)
			rep[block[s]] = s;
	/* 0 dead, 1 match, then breadth-first from the start */
	if (block[1] != NONE)
		newid[block[1]] = 1;
	order[0] = 0;
	order[1] = 1;
	if (block[start] != NONE && newid[block[start]] == NONE) {
		newid[block[start]] = n;
		order[n++] = rep[block[start]];
	}
	for (uint32_t i = 2; i < n; i++) {
		for (uint32_t j = 0; j < k; j++) {
			uint32_t t = d->trans[(size_t)order[i] * k + j];

			if (block[t] != NONE && newid[block[t]] == NONE) {
				newid[block[t]] = n;
				order[n++] = rep[block[t]];
			}
		}
	}
	if (n > max_states) {
		snprintf(err, errsz,
			 "regex too large for the in-kernel matcher: "
			 "its DFA has %u states (limit %u)",
			 n, max_states);
		st = WF_REGEX_TOO_BIG;
		goto out;
	}
	tbl = malloc((size_t)n * k * sizeof(*tbl));
	if (!tbl)
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		for (uint32_t j = 0; j < k; j++) {
			uint32_t t = i < 2 ? i : d->trans[(size_t)order[i] * k + j];

			if (i >= 2)
				t = block[t] == NONE ? 0 : newid[block[t]];
			tbl[(size_t)i * k + j] = t;
		}
	}
	/* final classes: pre-classes whose columns are equal */
	for (uint32_t j = 0; j < k; j++) {
		int32_t same = -1;

		colhash[j] = 0;
		for (uint32_t i = 2; i < n; i++)
			colhash[j] = hmap_hash_u64(colhash[j] ^ tbl[(size_t)i * k + j]);
		for (uint32_t j2 = 0; j2 < j && same < 0; j2++) {
			bool eq = colhash[j] == colhash[j2] && cls_of[j2] >= (int32_t)0;

			for (uint32_t i = 2; i < n && eq; i++)
				eq = tbl[(size_t)i * k + j] == tbl[(size_t)i * k + j2];
			if (eq)
				same = cls_of[j2];
		}
		cls_of[j] = same >= 0 ? same : (int32_t)ncls++;
	}
	out->n_states = n;
	out->n_classes = ncls;
	out->start = block[start] == NONE ? 0 : newid[block[start]];
	for (uint32_t b = 0; b < 256; b++)
		out->byte_class[b] = (uint8_t)cls_of[c->pre_class[b]];
	out->next = calloc((size_t)n * ncls, sizeof(*out->next));
	out->accept = calloc(n, 1);
	out->accept_at_end = calloc(n, 1);
	if (!out->next || !out->accept || !out->accept_at_end)
		goto out;
	for (uint32_t i = 0; i < n; i++)
		for (uint32_t j = 0; j < k; j++)
			out->next[(size_t)i * ncls + (uint32_t)cls_of[j]] =
				(uint16_t)tbl[(size_t)i * k + j];
	out->accept[1] = 1;
	for (uint32_t i = 2; i < n; i++)
		out->accept_at_end[i] = d->ate[order[i]];
	st = WF_REGEX_OK;
out:
	if (st == WF_REGEX_NOMEM)
		snprintf(err, errsz, "out of memory");
	free(block);
	free(newid);
	free(rep);
	free(order);
	free(tbl);
	return st;
}

/* ---- literal fast path ----------------------------------------------------------------------- */

struct lit_scan {
	struct u32vec text;	/* bytes */
	bool anchored, ok, started, nomem;
};

static void scan_literal(const struct re_ast *ast, uint32_t node, struct lit_scan *ls)
{
	const struct re_node *n = &ast->nodes[node];

	if (!ls->ok)
		return;
	switch (n->kind) {
	case RE_EMPTY:
		return;
	case RE_CAT:
		for (uint32_t i = 0; i < n->nkids; i++)
			scan_literal(ast, n->kids[i], ls);
		return;
	case RE_ASSERT:
		if (n->at == RE_AT_BEGIN && !ls->started) {
			ls->anchored = true;
			return;
		}
		break;
	case RE_SET:
		if (n->set.n == 1 && n->set.r[0].lo == n->set.r[0].hi) {
			uint32_t cp = n->set.r[0].lo;
			uint8_t b[UTF8_MAX_LEN];
			size_t k = 1;

			if (ast->bytes) {
				b[0] = (uint8_t)cp;
			} else {
				if (cp >= 0xd800 && cp <= 0xdfff)
					break;
				k = utf8_encode(cp, b);
			}
			for (size_t i = 0; i < k; i++) {
				if (!vec_push(&ls->text, b[i])) {
					ls->nomem = true;
					break;
				}
			}
			ls->started = true;
			return;
		}
		break;
	default:
		break;
	}
	ls->ok = false;
}

static bool literal_path(const struct re_ast *ast, struct wf_dfa *out)
{
	struct lit_scan ls = { .ok = true };

	scan_literal(ast, ast->root, &ls);
	if (ls.nomem) {
		free(ls.text.v);
		return false;
	}
	if (ls.ok) {
		out->literal = malloc(ls.text.n ? ls.text.n : 1);
		if (!out->literal) {
			free(ls.text.v);
			return false;
		}
		for (size_t i = 0; i < ls.text.n; i++)
			out->literal[i] = (uint8_t)ls.text.v[i];
		out->literal_len = (uint32_t)ls.text.n;
		out->literal_anchored = ls.anchored;
		out->is_literal = true;
	}
	free(ls.text.v);
	return true;
}

/* ---- the API --------------------------------------------------------------------------------- */

static void compiler_free(struct compiler *c)
{
	if (c->tries) {
		for (uint32_t i = 0; i < c->ast->n; i++) {
			if (c->tries[i] && c->tries[i]->owner == i) {
				interner_free(&c->tries[i]->nodes);
				free(c->tries[i]);
			}
		}
	}
	free(c->tries);
	free(c->nfa.s);
	free(c->nfa.e);
	free(c->seen);
	free(c->useful);
	for (int i = 0; i < 256; i++)
		free(c->bucket[i].v);
	free(c->stack.v);
	free(c->out.v);
}

enum wf_regex_status wf_regex_compile(const void *pattern, size_t len, enum wf_regex_kind kind,
				      const struct wf_regex_opts *opts, struct wf_dfa *dfa,
				      char *err, size_t errsz)
{
	uint32_t max_states = opts && opts->max_states ? opts->max_states : WF_REGEX_MAX_STATES;
	struct compiler c = { 0 };
	struct subset d = { 0 };
	struct re_ast ast;
	enum wf_regex_status st;
	uint32_t start = 0;

	memset(dfa, 0, sizeof(*dfa));
	if (max_states > UINT16_MAX)
		max_states = UINT16_MAX;
	if (max_states < 2)
		max_states = 2;
	st = re_parse(pattern, len, kind == WF_REGEX_BYTES, &ast, err, errsz);
	if (st != WF_REGEX_OK)
		goto out;
	st = WF_REGEX_NOMEM;
	snprintf(err, errsz, "out of memory");
	c.ast = &ast;
	c.tries = calloc(ast.n ? ast.n : 1, sizeof(*c.tries));
	if (!c.tries)
		goto out;
	for (uint32_t i = 0; i < ast.n; i++)
		if (ast.nodes[i].kind == RE_ASSERT && (ast.nodes[i].at == RE_AT_BOUNDARY ||
						       ast.nodes[i].at == RE_AT_NON_BOUNDARY))
			c.word_boundaries = true;
	memset(c.meet_cache, -2, sizeof(c.meet_cache));
	obl_intern(&c, O_NONE, false, NULL);
	c.nfa.match = nfa_add(&c.nfa, N_MATCH);
	c.nfa.start = build(&c, ast.root, c.nfa.match);
	if (c.nfa.too_big) {
		snprintf(err, errsz,
			 "regex too large for the in-kernel matcher: more than %u NFA states",
			 NFA_MAX_STATES);
		st = WF_REGEX_TOO_BIG;
		goto out;
	}
	if (c.nfa.nomem)
		goto out;
	make_pre_classes(&c);
	c.seen = calloc(c.nfa.n * NOBL, sizeof(*c.seen));
	if (!c.seen || !find_useful(&c))
		goto out;
	st = subset_construct(&c, &d, max_states * SUBSET_FACTOR, &start);
	if (st == WF_REGEX_TOO_BIG && c.over_work) {
		snprintf(err, errsz,
			 "regex too large for the in-kernel matcher: "
			 "its DFA construction is over the work limit");
		goto out;
	}
	if (st == WF_REGEX_TOO_BIG) {
		snprintf(err, errsz,
			 "regex too large for the in-kernel matcher: "
			 "more than %u DFA states before minimization (limit %u after)",
			 max_states * SUBSET_FACTOR, max_states);
		goto out;
	}
	if (st != WF_REGEX_OK)
		goto out;
	if (!merge_columns(&c, &d))
		goto out;
	st = emit(&c, &d, start, max_states, dfa, err, errsz);
	if (st == WF_REGEX_OK && !literal_path(&ast, dfa)) {
		st = WF_REGEX_NOMEM;
		snprintf(err, errsz, "out of memory");
	}
	if (st == WF_REGEX_OK && errsz)
		err[0] = '\0';
out:
	compiler_free(&c);
	interner_free(&d.states);
	free(d.trans);
	free(d.ate);
	re_ast_free(&ast);
	if (st != WF_REGEX_OK)
		wf_dfa_free(dfa);
	return st;
}

void wf_dfa_free(struct wf_dfa *dfa)
{
	free(dfa->next);
	free(dfa->accept);
	free(dfa->accept_at_end);
	free(dfa->literal);
	memset(dfa, 0, sizeof(*dfa));
}

bool wf_dfa_search(const struct wf_dfa *dfa, const uint8_t *s, size_t n)
{
	uint32_t st = dfa->start;

	for (size_t i = 0; i < n; i++) {
		if (st <= 1)
			return st == 1;
		st = dfa->next[(size_t)st * dfa->n_classes + dfa->byte_class[s[i]]];
	}
	return dfa->accept[st] || dfa->accept_at_end[st];
}

bool wf_dfa_literal_search(const struct wf_dfa *dfa, const uint8_t *s, size_t n)
{
	if (!dfa->literal_len)
		return true;
	if (n < dfa->literal_len)
		return false;
	if (dfa->literal_anchored)
		return !memcmp(s, dfa->literal, dfa->literal_len);
	return memmem(s, n, dfa->literal, dfa->literal_len) != NULL;
}
