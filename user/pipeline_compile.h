/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A parsed pipeline command (command.h) -> the compiled pipeline the tc
 * program evaluates (include/wf_pipeline.h, the only definition of that
 * encoding): filters in order, onX() field conditions, per-(direction, type)
 * tables, and every regex as a DFA copied into a transition pool.
 *
 *   conn.onQuery(query="^COMMIT").after(2).kill()
 *     -> filters [ON type[FE]='Q' conds=0b1, AFTER 2], action KILL,
 *        conds [TEXT FE 'Q' fixed_prefix 0 text_index 0 dfa 0],
 *        on_filters[FE]['Q'] = 0b1, on_conds[FE]['Q'] = 0b1,
 *        dfas [^COMMIT: n_states, n_classes (+1 end class), start, byte_class]
 *
 * - onX(field="regex"): one condition per field and per direction its
 *   message is sent in.  A text field is searched with its DFA (a str regex);
 *   an enum field becomes the set of byte values whose symbol name the regex
 *   finds (onReadyForQuery(state="idle") -> {'I'}), decided here.
 * - contains(b"x") is the bytes regex of the literal (every byte as \xHH),
 *   matches(b"re") the bytes regex; one regex compiler for everything.
 * - Identical (kind, pattern) pairs share one DFA.
 * - Pool layout: DFA i's state s, class c at base + s * n_classes + c, where
 *   n_classes counts the byte classes plus the end class (last); a
 *   transition into any accepting state goes to WF_DFA_MATCH (1).
 *
 * Nothing here needs privileges or the kernel (`wirefault check` uses it).
 */
#ifndef WF_PIPELINE_COMPILE_H
#define WF_PIPELINE_COMPILE_H

#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "wf_pipeline.h"

struct wf_pipe_compiled {
	struct wf_pipeline pipe;	/* generation 0: the publisher sets it */
	struct wf_dfa_pool *pool;	/* heap; cells [0, pool_used) hold the DFAs, the rest 0 */
	uint32_t pool_used;		/* cells used */
};

/*
 * Compiles cmd (a WF_CMD_PIPELINE) into *out (zeroed first; free it with
 * wf_pipe_compiled_free() whatever the result).
 * 0: compiled.
 * -EINVAL: refused, err says why: a regex the regex compiler refuses (its
 *   message unchanged, e.g. "missing ), unterminated subpattern at position
 *   0"), or a limit of the kernel's encoding (WF_PIPE_MAX_FILTERS filters,
 *   WF_PIPE_MAX_CONDS conditions, WF_PIPE_MAX_DFAS regexes,
 *   WF_DFA_POOL_CELLS cells, 65535 states per DFA), named in the message.
 * -ENOMEM: out of memory, err says so.
 * err (errsz bytes; 256 is always enough) may be NULL.
 */
int wf_pipeline_compile(const struct wf_command *cmd, struct wf_pipe_compiled *out, char *err,
			size_t errsz);

void wf_pipe_compiled_free(struct wf_pipe_compiled *pc);

/* probability(p) as the kernel compares draws: p * 2^32, rounded (wf_random.h). */
uint64_t wf_probability_threshold(double p);

/*
 * Command text (Python source, as the FIFO carries it) -> compiled pipeline:
 * wf_command_parse() then wf_pipeline_compile().  *out as for
 * wf_pipeline_compile().  0; -EBADMSG: the parser refused it (err holds its
 * message); otherwise wf_pipeline_compile()'s result.
 */
int wf_pipeline_compile_text(const char *src, size_t len, struct wf_pipe_compiled *out, char *err,
			     size_t errsz);

struct wf_dfa;

/*
 * One DFA in the kernel's layout (what wf_pipeline_compile() does for each;
 * public for tests): writes its n_states * (n_classes + 1) cells to
 * cells[0..] and describes it in *out, its first cell being pool cell
 * `base`.  Transitions into an accepting state become WF_DFA_MATCH, states 0
 * and 1 absorb, the end class holds 1 where accept or accept_at_end.
 * 0, or -EINVAL (err says why: over 65535 states, a malformed table).
 */
int wf_pipe_dfa_encode(const struct wf_dfa *dfa, uint32_t base, uint16_t *cells,
		       struct wf_pipe_dfa *out, char *err, size_t errsz);

/*
 * A one-line summary for logs and `wirefault check`, e.g.
 * "2 filters (on, after), 1 condition (text), 1 DFA (8x7), 56 of 262144 pool
 * cells" (each DFA as states x classes, the end class included).  Returns
 * what snprintf returns (buf may be NULL when size is 0).
 */
int wf_pipe_compiled_describe(const struct wf_pipe_compiled *pc, char *buf, size_t size);

/* The command-language name of an enum wf_pipe_action_kind ("kill", ...), "action N" if unknown. */
const char *wf_pipe_action_name(unsigned int action);

/* A compiled filter's kind as the command names it: "on", "after", "times", ...; "?" if unknown. */
const char *wf_pipe_filter_name(unsigned int kind);

#endif /* WF_PIPELINE_COMPILE_H */
