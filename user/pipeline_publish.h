/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Publishing a compiled pipeline into the kernel's maps, atomically
 * (include/wf_pipeline.h "Publishing"): the inactive slot of the command's
 * scope is written completely (DFA pool, then the pipeline with its new
 * generation), then the scope's word in pipe_current is switched with one
 * aligned 32-bit store through the map's mmap.  A slot is rewritten only
 * WF_PIPE_SLOT_REUSE_MS after it stopped being current (waiting if commands
 * come faster than that).  A failure leaves the current pipelines in place.
 *
 * Scopes: the default (index 0) and up to WF_PIPE_SCOPES - 1 others, each
 * named by its selector (struct wf_pipe_scope's port, has_client,
 * client_addr; its word is ignored in arguments).  One generation counter
 * serves them all, so generations are unique over the scopes.
 */
#ifndef WF_PIPELINE_PUBLISH_H
#define WF_PIPELINE_PUBLISH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pipeline_compile.h"

struct wf_pipe_publisher {
	int pipelines_fd, pool_fd;
	struct wf_pipe_current *current;	/* mmap of pipe_current */
	uint32_t generation;			/* last published, over every scope */
	uint64_t retired_ns[WF_PIPE_SLOTS];	/* CLOCK_MONOTONIC when each slot stopped being current */
	uint64_t cleared_ns[WF_PIPE_SCOPES];	/* when each scope was last cleared */
};

/* 0 or -errno (current_fd's map must be BPF_F_MMAPABLE). */
int wf_pipe_publisher_init(struct wf_pipe_publisher *pp, int pipelines_fd, int pool_fd,
			   int current_fd);
void wf_pipe_publisher_fini(struct wf_pipe_publisher *pp);

/* Makes pc the default scope's pipeline (pc->pipe.generation is set).  0 or -errno, err says why. */
int wf_pipe_publish(struct wf_pipe_publisher *pp, struct wf_pipe_compiled *pc, char *err,
		    size_t errsz);

/*
 * Makes pc the pipeline of the scope with selector sel (the default scope
 * if sel selects nothing), taking a free scope if none has it.  Returns
 * the scope's index, or -ENOSPC when WF_PIPE_SCOPES are in force already,
 * or another -errno; err says why.
 */
int wf_pipe_publish_scope(struct wf_pipe_publisher *pp, const struct wf_pipe_scope *sel,
			  struct wf_pipe_compiled *pc, char *err, size_t errsz);

/* No pipeline in any scope: every chunk is allowed (what conn.allow() with no filters means). */
void wf_pipe_unpublish(struct wf_pipe_publisher *pp);

/* The scope with selector sel is cleared (its connections fall back to the default
 * pipeline); its index, or -ENOENT if no scope has that selector. */
int wf_pipe_unpublish_scope(struct wf_pipe_publisher *pp, const struct wf_pipe_scope *sel);

/* The index of the scope in force with selector sel (0 for the default), or -ENOENT. */
int wf_pipe_scope_find(const struct wf_pipe_publisher *pp, const struct wf_pipe_scope *sel);

/* The word of scope s (0 = the default) in pipe_current cur. */
static inline uint32_t wf_pipe_scope_word(const struct wf_pipe_current *cur, int s)
{
	return s == 0 ? cur->word : cur->scoped[s - 1].word;
}

#endif /* WF_PIPELINE_PUBLISH_H */
