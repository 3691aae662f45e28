/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The compiled pipeline: what a command such as
 *     conn.onQuery(query="^COMMIT").after(2).kill()
 * becomes once user/pipeline_compile.c has checked and compiled it, and what
 * the tc program evaluates for every chunk (TCP segment).  Both sides include
 * this file; it is the only definition of the encoding.
 *
 * Three maps carry it (pinned under /sys/fs/bpf/wirefault/):
 *   pipelines     array[WF_PIPE_SLOTS] of struct wf_pipeline
 *   dfa_pool      array[WF_PIPE_SLOTS] of struct wf_dfa_pool (the DFA tables
 *                 of the pipeline in the same slot)
 *   pipe_current  array[1] of struct wf_pipe_current, BPF_F_MMAPABLE
 *
 * Scopes (docs/commands.md "Several pipelines: scopes"): up to
 * WF_PIPE_SCOPES pipelines are in force at once, each for a subset of the
 * connections.  Scope 0 is the default (plain `conn`): its word is
 * pipe_current.word, its slots 0 and 1.  Scope s = 1..WF_PIPE_SCOPES-1 is
 * pipe_current.scoped[s - 1]: a selector (server port and/or client
 * address, conn(port=P, client="ADDR")) and its own word, naming slot
 * 2s + (word & 1).  A chunk is evaluated with the most specific scope whose
 * word is nonzero and whose selector matches its flow key (port+client >
 * client > port), else with the default.  Generations are unique over all
 * scopes.  A scope's selector is written while its word is 0, before the
 * word goes nonzero, and never changes while it is nonzero; a scope that
 * was cleared is given another selector only WF_PIPE_SLOT_REUSE_MS later.
 *
 * Publishing (double-buffered): the loader writes the whole new pipeline and
 * its tables into the slot that is not current, then stores the new
 * `word` (generation << 1 | slot) into pipe_current with one aligned 32-bit
 * store through the map's mmap.  A packet reads `word` once and evaluates
 * the slot it names, so it sees either the old or the new pipeline, never
 * half of one.  A slot is rewritten only after it has been out of use for
 * WF_PIPE_SLOT_REUSE_MS (a packet's evaluation takes microseconds), and the
 * program checks that the slot's generation is the one `word` names (else:
 * allow, counted).  word == 0: no pipeline, everything is allowed.
 *
 * Evaluation of one chunk (fluent.py's semantics, DESIGN.md §1):
 *   filters[0..nfilters) in order; the first that fails allows the chunk;
 *   if all pass, the action runs.
 *   ON       passes if, in this chunk, a PostgreSQL message of type
 *            type[dir] completed and every condition in `conds` that
 *            reads such a message (conds & on_conds[dir][type]) held for
 *            that one message (a field of a message sent both ways has a
 *            condition per direction).  Never on the connection's initial
 *            chunk, nor on a chunk whose framing is unknown.
 *   CONTAINS / MATCHES
 *            dfas[dfa] searched over the chunk's new bytes (contains(b"x")
 *            is compiled as the regex of the literal x).
 *   AFTER    the connection's after-counter (one per connection, shared by
 *            every AFTER, kept across pipelines): if >= after, passes;
 *            otherwise the counter goes up by one and the chunk is allowed.
 *   TIMES    passes the first `times` chunks that reach it, over every
 *            connection, then none: fired[i] of the pipeline's own slot
 *            counts them (the loader writes it as 0 with the pipeline, so a
 *            new command starts over).
 *   PROBABILITY
 *            passes if wf_draw(seed, flow ident, direction, message index,
 *            filter index) < threshold (include/wf_random.h): a decision
 *            that two runs of the same workload with the same seed repeat.
 *            Each decision is written to the ring (WF_REC_DECISION).
 *
 * A condition is one field="regex" of an onX(): the field of the message
 * under way in direction `dir` whose type is `type` is
 *   TEXT  the NUL-terminated string found by skipping `fixed_prefix` body
 *         bytes, then `text_index` NUL-terminated strings; searched with
 *         dfas[dfa], decided when its NUL is read (a message that ends
 *         first does not match);
 *   ENUM  the byte at body offset `fixed_prefix`; holds if bit (v & 7) of
 *         enum_match[v >> 3] is set, v the byte (the compiler set the bits
 *         of the values whose symbol, e.g. "idle", the regex finds).
 * A message split across segments is decided in the segment completing it.
 *
 * DFA tables (struct wf_pipe_dfa + the pool): state s reading byte b goes to
 *     pool.next[base + s * n_classes + byte_class[b]]
 * State 0 is dead (no match possible), state 1 is "match found"
 * (absorbing); the program stops at either.  The last class,
 * n_classes - 1, is never a byte's class: it is the end of the subject,
 * and its transition is 1 if the subject matches when it ends in s
 * (for $ and \Z), else 0.
 */
#ifndef WF_PIPELINE_H
#define WF_PIPELINE_H

#include "wf_types.h"
#include "wf_flow.h"

#define WF_PIPE_SCOPES		4	/* pipelines in force at once: the default + 3 */
#define WF_PIPE_SLOTS		(2 * WF_PIPE_SCOPES)	/* scope s: slots 2s, 2s + 1 */
#define WF_PIPE_MAX_FILTERS	16	/* filters of one pipeline */
#define WF_PIPE_MAX_CONDS	8	/* field conditions of all its onX() together */
#define WF_PIPE_MAX_DFAS	16	/* regexes (conditions, contains, matches) */
#define WF_PIPE_TYPE_SPACE	128	/* PostgreSQL type bytes are ASCII */
#define WF_DFA_MAX_CLASSES	257	/* 256 byte classes + the end class */
#define WF_DFA_POOL_CELLS	(1u << 18)	/* transitions per slot (512 KiB) */
#define WF_PIPE_SLOT_REUSE_MS	50

/* States every DFA has. */
#define WF_DFA_DEAD		0
#define WF_DFA_MATCH		1

enum wf_pipe_filter_kind {
	WF_PIPE_F_ON = 1,
	WF_PIPE_F_CONTAINS = 2,
	WF_PIPE_F_MATCHES = 3,
	WF_PIPE_F_AFTER = 4,
	WF_PIPE_F_TIMES = 5,
	WF_PIPE_F_PROBABILITY = 6,
};

enum wf_pipe_action_kind {
	WF_PIPE_A_ALLOW = 0,
	WF_PIPE_A_KILL = 1,
	WF_PIPE_A_RESET = 2,
	WF_PIPE_A_CANCEL = 3,
	WF_PIPE_A_KILLALL = 4,
	WF_PIPE_A_CONNECT_DELAY = 5,
	/* the chunk and every later packet of its connection, both ways,
	 * dropped without a word: a partition as the application sees it */
	WF_PIPE_A_BLACKHOLE = 6,
	/* every matching chunk held action_arg ms, then delivered (a hold, as
	 * connect_delay's, but not only for the initial chunk) */
	WF_PIPE_A_DELAY = 7,
	/* the chunk's direction delivers action_arg more bytes, counted from
	 * the chunk's first new byte, then both peers get a FIN, as kill()'s
	 * (the flow's trunc_* fields, include/wf_flow.h, carry the mark) */
	WF_PIPE_A_TRUNCATE = 8,
	/* as BLACKHOLE, and the loader answers the chunk, and every later
	 * data segment of the connection, with an ICMP host unreachable to
	 * its sender (WF_EVENT_UNREACHABLE) */
	WF_PIPE_A_UNREACHABLE = 9,
	/* never compiled from a command: why a hold (include/wf_hold.h) keeps
	 * a chunk that waits behind a cancel() or connect_delay() stall of its port */
	WF_PIPE_A_STALL = 10,
};

enum wf_pipe_cond_kind {
	WF_PIPE_C_TEXT = 1,
	WF_PIPE_C_ENUM = 2,
};

struct wf_pipe_filter {
	__u8 kind;		/* enum wf_pipe_filter_kind */
	__u8 dfa;		/* CONTAINS, MATCHES: index into dfas[] */
	__u8 conds;		/* ON: bit c = conds[c] must hold (0: the type suffices) */
	__u8 type[WF_DIR__COUNT];	/* ON: type byte per direction, 0 = not sent that way */
	__u8 pad[3];
	union {
		__u64 after;	/* AFTER: chunks let through first */
		__u64 times;	/* TIMES: chunks passed at most, all connections together */
		__u64 threshold;	/* PROBABILITY: p * 2^32, passes if the draw is below */
	};
};

struct wf_pipe_cond {
	__u8 kind;		/* enum wf_pipe_cond_kind */
	__u8 filter;		/* the onX filter it belongs to */
	__u8 dir;		/* enum wf_dir of the message it reads */
	__u8 type;		/* that message's type byte */
	__u8 dfa;		/* TEXT: index into dfas[] */
	__u8 pad[3];
	__u32 fixed_prefix;	/* see above */
	__u32 text_index;	/* TEXT */
	__u8 enum_match[32];	/* ENUM: 256-bit set of byte values that match */
};

struct wf_pipe_dfa {
	__u32 base;		/* first cell in the slot's pool */
	__u16 n_states;
	__u16 n_classes;	/* byte classes + 1 (the end class) */
	__u16 start;
	__u16 pad[3];
	__u8 byte_class[256];
};

struct wf_pipeline {
	__u32 generation;	/* the generation it was published as */
	__u8 nfilters;
	__u8 nconds;
	__u8 ndfas;
	__u8 action;		/* enum wf_pipe_action_kind */
	__s64 action_arg;	/* CANCEL: pid; CONNECT_DELAY, DELAY: milliseconds;
				 * TRUNCATE: bytes (0..2^31-1) */
	__u32 action_jitter;	/* DELAY: each hold is action_arg +- up to this many ms,
				 * drawn like a PROBABILITY decision */
	__u32 pad;
	__u64 seed;		/* of every draw (seed(n), else `run --seed`, else random) */
	struct wf_pipe_filter filters[WF_PIPE_MAX_FILTERS];
	struct wf_pipe_cond conds[WF_PIPE_MAX_CONDS];
	/* Per direction and type byte: the ON filters naming such a message
	 * (bit f = filters[f]) and the conditions that read it (bit c). */
	__u16 on_filters[WF_DIR__COUNT][WF_PIPE_TYPE_SPACE];
	__u8 on_conds[WF_DIR__COUNT][WF_PIPE_TYPE_SPACE];
	struct wf_pipe_dfa dfas[WF_PIPE_MAX_DFAS];
	/* TIMES: chunks passed so far by filters[i], counted by the program
	 * (atomically) in the slot's own copy; written as 0 by the loader */
	__u64 fired[WF_PIPE_MAX_FILTERS];
};

struct wf_dfa_pool {
	__u16 next[WF_DFA_POOL_CELLS];
};

/*
 * How far chunks get through the pipeline, per CPU (`wirefault status`
 * sums the CPUs), one entry per scope: a CPU that meets a newer generation starts its counts
 * over, so entries of an older generation are ignored by the reader.
 */
struct wf_filter_stats {
	__u32 generation;	/* the pipeline these counts are for */
	__u32 pad;
	__u64 evaluated;	/* chunks evaluated */
	__u64 passed[WF_PIPE_MAX_FILTERS];	/* chunks that passed filters 0..i */
	__u64 acted;		/* chunks that reached the action */
};

/* A scope other than the default: its selector and its word. */
struct wf_pipe_scope {
	__u32 word;		/* generation << 1 | b (slot 2s + b); 0 = not in force */
	__u16 port;		/* selector: server port, host order; 0 = any */
	__u8 has_client;	/* selector: the client address must be client_addr */
	__u8 pad;
	__u8 client_addr[16];	/* as flow keys hold it (IPv4 v4-mapped) */
};

struct wf_pipe_current {
	__u32 word;		/* the default scope's: generation << 1 | slot; 0 = no pipeline */
	/*
	 * killall(): the generation of the pipeline whose killall() fired.
	 * While it equals the current generation, every chunk of every
	 * connection is killed (fluent.py replaces its pipeline with kill());
	 * the next command publishes a new generation and so ends it.
	 * Generations are unique over the scopes, so killall() holds only in
	 * the scope whose pipeline fired it, until that scope's next command.
	 */
	__u32 killall_gen;
	struct wf_pipe_scope scoped[WF_PIPE_SCOPES - 1];	/* scopes 1.. */
};

/* Specificity of a scope's selector: port+client 3 > client 2 > port 1 > default 0. */
static inline int wf_pipe_scope_rank(const struct wf_pipe_scope *s)
{
	return (s->has_client ? 2 : 0) + (s->port ? 1 : 0);
}

static inline __u32 wf_pipe_word(__u32 generation, __u32 slot)
{
	return generation << 1 | (slot & 1);
}

#endif /* WF_PIPELINE_H */
