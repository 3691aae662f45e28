/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Publishing a compiled pipeline into the kernel's maps, atomically
 * (include/wf_pipeline.h "Publishing"): the inactive slot is written
 * completely (DFA pool, then the pipeline with its new generation), then
 * pipe_current's word is switched with one aligned 32-bit store through the
 * map's mmap.  A slot is rewritten only WF_PIPE_SLOT_REUSE_MS after it
 * stopped being current (waiting if commands come faster than that).
 * A failure leaves the current pipeline in place.
 */
#ifndef WF_PIPELINE_PUBLISH_H
#define WF_PIPELINE_PUBLISH_H

#include <stddef.h>
#include <stdint.h>

#include "pipeline_compile.h"

struct wf_pipe_publisher {
	int pipelines_fd, pool_fd;
	struct wf_pipe_current *current;	/* mmap of pipe_current */
	uint32_t generation;			/* last published */
	uint64_t retired_ns[WF_PIPE_SLOTS];	/* CLOCK_MONOTONIC when each slot stopped being current */
};

/* 0 or -errno (current_fd's map must be BPF_F_MMAPABLE). */
int wf_pipe_publisher_init(struct wf_pipe_publisher *pp, int pipelines_fd, int pool_fd,
			   int current_fd);
void wf_pipe_publisher_fini(struct wf_pipe_publisher *pp);

/* Makes pc the active pipeline (pc->pipe.generation is set).  0 or -errno, err says why. */
int wf_pipe_publish(struct wf_pipe_publisher *pp, struct wf_pipe_compiled *pc, char *err,
		    size_t errsz);

/* No pipeline: every chunk is allowed (what conn.allow() with no filters means). */
void wf_pipe_unpublish(struct wf_pipe_publisher *pp);

#endif /* WF_PIPELINE_PUBLISH_H */
