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

static uint32_t *scope_word(struct wf_pipe_publisher *pp, int s)
{
	return s == 0 ? &pp->current->word : &pp->current->scoped[s - 1].word;
}

static bool selector_is_default(const struct wf_pipe_scope *sel)
{
	return !sel->port && !sel->has_client;
}

static bool selector_equal(const struct wf_pipe_scope *a, const struct wf_pipe_scope *b)
{
	return a->port == b->port && a->has_client == b->has_client &&
	       (!a->has_client || !memcmp(a->client_addr, b->client_addr, sizeof(a->client_addr)));
}

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
	for (int s = 0; s < WF_PIPE_SCOPES; s++) {
		uint32_t gen = __atomic_load_n(scope_word(pp, s), __ATOMIC_ACQUIRE) >> 1;

		if (gen > pp->generation)
			pp->generation = gen;
	}
	return 0;
}

void wf_pipe_publisher_fini(struct wf_pipe_publisher *pp)
{
	if (pp->current)
		munmap(pp->current, (size_t)sysconf(_SC_PAGESIZE));
	pp->current = NULL;
}

/* The slot a packet may still be reading must not be rewritten under it. */
static void wait_until(uint64_t since_ns)
{
	uint64_t ready = since_ns + (uint64_t)WF_PIPE_SLOT_REUSE_MS * 1000000u;
	uint64_t now = wf_now_ns();

	if (since_ns && now < ready) {
		struct timespec ts = { .tv_sec = 0, .tv_nsec = (long)(ready - now) };

		nanosleep(&ts, NULL);
	}
}

static void switch_to(struct wf_pipe_publisher *pp, int s, uint32_t word)
{
	uint32_t *w = scope_word(pp, s);
	uint32_t old = __atomic_load_n(w, __ATOMIC_ACQUIRE);

	__atomic_store_n(w, word, __ATOMIC_RELEASE);
	if (old)
		pp->retired_ns[2 * s + (old & 1)] = wf_now_ns();
	if (!word && old)
		pp->cleared_ns[s] = wf_now_ns();
}

int wf_pipe_scope_find(const struct wf_pipe_publisher *pp, const struct wf_pipe_scope *sel)
{
	if (selector_is_default(sel))
		return 0;
	for (int s = 1; s < WF_PIPE_SCOPES; s++) {
		const struct wf_pipe_scope *sc = &pp->current->scoped[s - 1];

		if (__atomic_load_n(&sc->word, __ATOMIC_ACQUIRE) && selector_equal(sc, sel))
			return s;
	}
	return -ENOENT;
}

int wf_pipe_publish_scope(struct wf_pipe_publisher *pp, const struct wf_pipe_scope *sel,
			  struct wf_pipe_compiled *pc, char *err, size_t errsz)
{
	int s = wf_pipe_scope_find(pp, sel);
	uint32_t old, slot, gen = pp->generation + 1;

	if (s < 0) {
		/* a free scope: its word is 0, so no packet reads its selector */
		for (s = 1; s < WF_PIPE_SCOPES; s++)
			if (!__atomic_load_n(&pp->current->scoped[s - 1].word, __ATOMIC_ACQUIRE))
				break;
		if (s == WF_PIPE_SCOPES) {
			snprintf(err, errsz, "at most %d scoped pipelines are in force at once, besides "
				 "plain conn's: clear one with conn(...).allow(), or all with conn.allow()",
				 WF_PIPE_SCOPES - 1);
			return -ENOSPC;
		}
		/* a packet that read the old word may still be comparing the old selector */
		wait_until(pp->cleared_ns[s]);
		struct wf_pipe_scope *sc = &pp->current->scoped[s - 1];

		sc->port = sel->port;
		sc->has_client = sel->has_client;
		memcpy(sc->client_addr, sel->client_addr, sizeof(sc->client_addr));
	}
	old = __atomic_load_n(scope_word(pp, s), __ATOMIC_ACQUIRE);
	slot = 2 * (uint32_t)s + (old ? (old & 1) ^ 1 : 0);
	if (gen >= (1u << 31))	/* the word has 31 bits for it; never 0 */
		gen = 1;
	wait_until(pp->retired_ns[slot]);
	pc->pipe.generation = gen;
	if (bpf_map_update_elem(pp->pool_fd, &slot, pc->pool, BPF_ANY) ||
	    bpf_map_update_elem(pp->pipelines_fd, &slot, &pc->pipe, BPF_ANY)) {
		int e = -errno;

		snprintf(err, errsz, "cannot write the pipeline into the kernel's maps: %s",
			 strerror(-e));
		return e;
	}
	pp->generation = gen;
	switch_to(pp, s, wf_pipe_word(gen, slot));
	return s;
}

int wf_pipe_publish(struct wf_pipe_publisher *pp, struct wf_pipe_compiled *pc, char *err,
		    size_t errsz)
{
	const struct wf_pipe_scope def = { 0 };
	int s = wf_pipe_publish_scope(pp, &def, pc, err, errsz);

	return s < 0 ? s : 0;
}

void wf_pipe_unpublish(struct wf_pipe_publisher *pp)
{
	for (int s = 0; s < WF_PIPE_SCOPES; s++)
		switch_to(pp, s, 0);
}

int wf_pipe_unpublish_scope(struct wf_pipe_publisher *pp, const struct wf_pipe_scope *sel)
{
	int s = wf_pipe_scope_find(pp, sel);

	if (s >= 0)
		switch_to(pp, s, 0);
	return s;
}
