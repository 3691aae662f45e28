// SPDX-License-Identifier: GPL-2.0
#include "pipeline_publish.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "mono_clock.h"

int wf_pipe_publisher_init(struct wf_pipe_publisher *pp, int pipelines_fd, int pool_fd,
			   int current_fd)
{
	void *m;

	memset(pp, 0, sizeof(*pp));
	m = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED,
		 current_fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	pp->pipelines_fd = pipelines_fd;
	pp->pool_fd = pool_fd;
	pp->current = m;
	pp->generation = __atomic_load_n(&pp->current->word, __ATOMIC_ACQUIRE) >> 1;
	return 0;
}

void wf_pipe_publisher_fini(struct wf_pipe_publisher *pp)
{
	if (pp->current)
		munmap(pp->current, (size_t)sysconf(_SC_PAGESIZE));
	pp->current = NULL;
}

/* The slot a packet may still be reading must not be rewritten under it. */
static void wait_slot_retired(struct wf_pipe_publisher *pp, uint32_t slot)
{
	uint64_t ready = pp->retired_ns[slot] + (uint64_t)WF_PIPE_SLOT_REUSE_MS * 1000000u;
	uint64_t now = wf_now_ns();

	if (pp->retired_ns[slot] && now < ready) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(ready - now) };

		nanosleep(&ts, NULL);
	}
}

static void switch_to(struct wf_pipe_publisher *pp, uint32_t word)
{
	uint32_t old = __atomic_load_n(&pp->current->word, __ATOMIC_ACQUIRE);

	__atomic_store_n(&pp->current->word, word, __ATOMIC_RELEASE);
	if (old)
		pp->retired_ns[old & 1] = wf_now_ns();
}

int wf_pipe_publish(struct wf_pipe_publisher *pp, struct wf_pipe_compiled *pc, char *err,
		    size_t errsz)
{
	uint32_t old = __atomic_load_n(&pp->current->word, __ATOMIC_ACQUIRE);
	uint32_t slot = old ? (old & 1) ^ 1 : 0, gen = pp->generation + 1;

	if (gen >= (1u << 31))	/* the word has 31 bits for it; never 0 */
		gen = 1;
	wait_slot_retired(pp, slot);
	pc->pipe.generation = gen;
	if (bpf_map_update_elem(pp->pool_fd, &slot, pc->pool, BPF_ANY) ||
	    bpf_map_update_elem(pp->pipelines_fd, &slot, &pc->pipe, BPF_ANY)) {
		int e = -errno;

		snprintf(err, errsz, "cannot write the pipeline into the kernel's maps: %s",
			 strerror(-e));
		return e;
	}
	pp->generation = gen;
	switch_to(pp, wf_pipe_word(gen, slot));
	return 0;
}

void wf_pipe_unpublish(struct wf_pipe_publisher *pp)
{
	switch_to(pp, 0);
}
