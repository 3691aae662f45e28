// SPDX-License-Identifier: GPL-2.0
#include "hold_keeper.h"
#include "pipeline_compile.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "hold_release.h"
#include "loader_counters.h"
#include "log.h"
#include "mono_clock.h"
#include "pipeline_publish.h"
#include "wf_hold.h"
#include "wf_pipeline.h"

struct pending_release {
	bool active;
	uint32_t gen;		/* the slot's generation when it was scheduled */
	uint64_t due_ns;	/* CLOCK_MONOTONIC */
	uint64_t turn_ns;	/* queued behind the port's stall: when its sleep
				 * would begin (a cancel's SIGINT goes then, if its
				 * pipeline is still in force), 0 once begun */
	/* cancel(), connect_delay(): the sleep fluent.py would take, from
	 * start_ns for span_ns, in the port's stall (include/wf_hold.h) */
	uint64_t start_ns;
	uint64_t span_ns;
};

struct wf_hold_keeper {
	struct wf_hold *slots;	/* the holds map, mmapped */
	size_t map_len;
	struct wf_port_stall *stalls;	/* the port_stalls map, mmapped */
	size_t stalls_len;
	struct wf_config ports;	/* only the ports, for wf_config_port_index() */
	int counters_fd;
	struct wf_packet_sender *ps;
	/*
	 * cancel() and connect_delay() one at a time, as fluent.py does them:
	 * its handler sleeps in mitmproxy's only thread, so a second matching
	 * message (another connection's) is handled only after the first was
	 * forwarded, with the handler of that moment: a cancel's SIGINT comes
	 * 100 ms after the previous one's and its chunk 100 ms after that.
	 * Citus' tests depend on the spacing (two signals at once are one
	 * interrupt to the backend).  The program queues them in the port's
	 * stall (release_ns); the keeper signals at each turn, and lets a
	 * queued one go without its sleep if its pipeline was replaced.
	 */
	struct pending_release due[WF_HOLD_SLOTS];
	int pipe_current_fd;
};

/*
 * Is the pipeline that held the chunk still the active one?  fluent.py
 * evaluates a message with the handler of the moment it gets to it: a
 * queued cancel whose pipeline was replaced meanwhile (the test has moved
 * on) must not signal.
 */
static bool pipeline_still_active(const struct wf_hold_keeper *k, uint32_t pipe_gen)
{
	struct wf_pipe_current cur;
	__u32 zero = 0;

	if (k->pipe_current_fd < 0 || bpf_map_lookup_elem(k->pipe_current_fd, &zero, &cur))
		return true;
	/* generations are unique over the scopes: the hold's scope is the one
	 * whose word names it, if that pipeline is still in force there */
	for (int s = 0; s < WF_PIPE_SCOPES; s++) {
		uint32_t w = wf_pipe_scope_word(&cur, s);

		if (w && (w >> 1) == pipe_gen)
			return true;
	}
	return false;
}

/* An array map's values are laid out back to back, each rounded up to 8 bytes. */
static void *map_array(int fd, size_t value_size, unsigned int n, size_t *len)
{
	void *m;

	*len = (size_t)n * ((value_size + 7) & ~(size_t)7);
	m = mmap(NULL, *len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

struct wf_hold_keeper *wf_hold_keeper_new(const struct wf_hold_keeper_opts *o)
{
	struct wf_hold_keeper *k = calloc(1, sizeof(*k));
	int err;

	if (!k)
		return NULL;
	k->slots = map_array(o->holds_fd, sizeof(struct wf_hold), WF_HOLD_SLOTS, &k->map_len);
	k->stalls = map_array(o->port_stalls_fd, sizeof(struct wf_port_stall), WF_PORT_STALLS,
			      &k->stalls_len);
	if (!k->slots || !k->stalls) {
		err = errno;
		if (k->slots)
			munmap(k->slots, k->map_len);
		if (k->stalls)
			munmap(k->stalls, k->stalls_len);
		free(k);
		errno = err;
		return NULL;
	}
	for (int i = 0; i < o->n_ports && i < WF_MAX_PORTS; i++)
		k->ports.ports[i] = (__u16)o->ports[i];
	k->ports.port = k->ports.ports[0];
	k->ports.nports = (__u32)(o->n_ports < WF_MAX_PORTS ? o->n_ports : WF_MAX_PORTS);
	k->counters_fd = o->counters_fd;
	k->pipe_current_fd = o->pipe_current_fd;
	k->ps = o->ps;
	return k;
}

/* Hands the slot's chunk to its receiver and the slot back to the program. */
static void release(struct wf_hold_keeper *k, uint32_t slot)
{
	struct wf_hold *h = &k->slots[slot];
	uint32_t expected = WF_HOLD_HELD;
	uint64_t now = wf_now_ns();
	int method;

	k->due[slot].active = false;
	if (h->gen != k->due[slot].gen ||
	    !__atomic_compare_exchange_n(&h->state, &expected, WF_HOLD_RELEASING, false, __ATOMIC_ACQ_REL,
					 __ATOMIC_ACQUIRE))
		return;	/* not the hold we scheduled any more */
	method = wf_hold_release(k->ps, h, now);
	if (method < 0) {
		wf_warn("%s: releasing the held chunk failed: %s; its sender will retransmit it",
			wf_pipe_action_name(h->action), strerror(-method));
		wf_counter_add(k->counters_fd, WF_CNT_HOLD_RELEASE_FAILED, 1);
	} else {
		wf_debug("%s: released the held chunk (%u bytes) after %.1f ms by %s", wf_pipe_action_name(h->action),
			 h->len, (double)(now - h->held_ns) / 1e6, wf_release_method_name(method));
		wf_counter_add(k->counters_fd, method == WF_RELEASE_ICMP ? WF_CNT_HOLDS_RELEASED_ICMP
									     : WF_CNT_HOLDS_RELEASED, 1);
	}
	/* From here on the program lets the direction's segments through. */
	__atomic_store_n(&h->gen, h->gen + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&h->state, WF_HOLD_FREE, __ATOMIC_RELEASE);
}

/* cancel(pid): SIGINT now; false if the signal could not be sent. */
static bool send_cancel(struct wf_hold_keeper *k, int64_t pid)
{
	if (pid <= 0 || pid > INT32_MAX || kill((pid_t)pid, SIGINT) < 0) {
		int err = pid <= 0 || pid > INT32_MAX ? ESRCH : errno;

		wf_warn("cancel(%lld): cannot send SIGINT: %s; the chunk is delivered now", (long long)pid,
			strerror(err));
		wf_counter_add(k->counters_fd, WF_CNT_CANCEL_SIGNAL_FAILED, 1);
		return false;
	}
	wf_info("cancel(%lld): sent SIGINT", (long long)pid);
	wf_counter_add(k->counters_fd, WF_CNT_CANCEL_SIGNALS, 1);
	return true;
}

/* The port's stall entry of a hold's connection, NULL if not followed. */
static struct wf_port_stall *stall_of(struct wf_hold_keeper *k, const struct wf_hold *h)
{
	int i = wf_config_port_index(&k->ports, h->key.server_port);

	return i < 0 || i >= WF_PORT_STALLS ? NULL : &k->stalls[i];
}

/*
 * A hold whose sleep does not happen (a queued one whose pipeline was
 * replaced before its turn, a cancel whose signal could not be sent): it
 * goes now, and the port's stall loses its sleep: the stall's end and every
 * hold of the port due after the sleep's start come span earlier.
 */
static void skip_sleep(struct wf_hold_keeper *k, uint32_t slot, uint64_t now)
{
	const struct wf_hold *h = &k->slots[slot];
	struct pending_release *d = &k->due[slot];
	uint64_t start = d->start_ns, span = d->span_ns, old, shorter;
	struct wf_port_stall *st = stall_of(k, h);

	d->due_ns = now;
	d->turn_ns = 0;
	d->span_ns = 0;
	if (!span)
		return;
	for (uint32_t j = 0; j < WF_HOLD_SLOTS; j++) {
		struct pending_release *o = &k->due[j];

		if (j == slot || !o->active || k->slots[j].key.server_port != h->key.server_port)
			continue;
		if (o->due_ns > start)
			o->due_ns = o->due_ns - start > span ? o->due_ns - span : start;
		if (o->turn_ns > start)
			o->turn_ns = o->turn_ns - start > span ? o->turn_ns - span : start;
		if (o->start_ns > start)
			o->start_ns = o->start_ns - start > span ? o->start_ns - span : start;
	}
	if (st) {
		old = __atomic_load_n(&st->until_ns, __ATOMIC_ACQUIRE);
		do {
			shorter = old > start + span ? old - span : old > start ? start : old;
		} while (!__atomic_compare_exchange_n(&st->until_ns, &old, shorter, false, __ATOMIC_ACQ_REL,
						      __ATOMIC_ACQUIRE));
	}
	wf_debug("%s: no sleep after all: delivered now, the port's stall %.0f ms shorter",
		 wf_pipe_action_name(h->action), (double)span / 1e6);
}

/*
 * When the slot's chunk goes.  cancel() and connect_delay() go when the
 * program said (release_ns: their turn in the port's stall, then their
 * sleep); a queued one waits for its turn (a cancel's signal, a
 * connect_delay's check of its pipeline).  A cancel without its signal
 * (signal_sent false: it failed, or a sweep adopted the slot) goes now.
 */
static void schedule(struct wf_hold_keeper *k, uint32_t slot, uint32_t gen, bool signal_sent)
{
	const struct wf_hold *h = &k->slots[slot];
	struct pending_release *d = &k->due[slot];
	uint64_t ms = 0;

	if (h->action == WF_PIPE_A_CONNECT_DELAY || h->action == WF_PIPE_A_DELAY)
		ms = h->action_arg > 0 ? (uint64_t)h->action_arg : 0;
	else if (h->action == WF_PIPE_A_CANCEL)
		ms = WF_CANCEL_HOLD_MS;
	memset(d, 0, sizeof(*d));
	d->active = true;
	d->gen = gen;
	d->due_ns = h->release_ns ? h->release_ns : h->held_ns + ms * 1000000u;
	if (h->action == WF_PIPE_A_STALL) {
		/* the stall may have been shortened since (skip_sleep) */
		const struct wf_port_stall *st = stall_of(k, h);
		uint64_t until = st ? __atomic_load_n(&st->until_ns, __ATOMIC_ACQUIRE) : 0;

		if (until < d->due_ns)
			d->due_ns = until;
		return;
	}
	if ((h->action != WF_PIPE_A_CANCEL && h->action != WF_PIPE_A_CONNECT_DELAY) || !h->release_ns)
		return;
	d->span_ns = ms * 1000000u;
	d->start_ns = d->due_ns - d->span_ns;
	if (h->action == WF_PIPE_A_CANCEL && !signal_sent)
		skip_sleep(k, slot, wf_now_ns());
}

void wf_hold_keeper_on_event(struct wf_hold_keeper *k, const struct wf_event *ev)
{
	const struct wf_hold *h = ev->slot < WF_HOLD_SLOTS ? &k->slots[ev->slot] : NULL;
	struct pending_release *d = h ? &k->due[ev->slot] : NULL;

	if (!h) {
		/* every slot was busy: the program let the chunk through */
		if (ev->action == WF_PIPE_A_CANCEL)
			send_cancel(k, ev->action_arg);
		wf_warn("%s: no free hold slot (%d in use): the chunk was delivered without delay",
			wf_pipe_action_name(ev->action), WF_HOLD_SLOTS);
		return;
	}
	if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) != WF_HOLD_HELD || h->gen != ev->gen)
		return;	/* already released (adopted by a sweep) */
	schedule(k, ev->slot, ev->gen, true);
	if (d->start_ns > h->held_ns) {
		/* queued behind the port's stall: its turn decides */
		d->turn_ns = d->start_ns;
		if (h->action == WF_PIPE_A_CANCEL)
			wf_debug("cancel(%lld): the port is stalled; this one signals in %.1f ms",
				 (long long)h->action_arg, (double)(d->turn_ns - wf_now_ns()) / 1e6);
	} else if (h->action == WF_PIPE_A_CANCEL && !send_cancel(k, ev->action_arg)) {
		skip_sleep(k, ev->slot, wf_now_ns());
	}
	if (d->due_ns <= wf_now_ns())
		release(k, ev->slot);
}

int wf_hold_keeper_timeout_ms(struct wf_hold_keeper *k)
{
	uint64_t now = wf_now_ns(), next = UINT64_MAX;

	for (uint32_t i = 0; i < WF_HOLD_SLOTS; i++) {
		if (k->due[i].active && k->due[i].due_ns < next)
			next = k->due[i].due_ns;
		if (k->due[i].active && k->due[i].turn_ns && k->due[i].turn_ns < next)
			next = k->due[i].turn_ns;
	}
	if (next == UINT64_MAX)
		return -1;
	/* round up: waking early would only mean another wait */
	return next <= now ? 0 : (int)((next - now + 999999u) / 1000000u);
}

void wf_hold_keeper_service(struct wf_hold_keeper *k)
{
	uint64_t now = wf_now_ns();

	for (uint32_t i = 0; i < WF_HOLD_SLOTS; i++) {
		struct wf_hold *h = &k->slots[i];

		if (k->due[i].active && k->due[i].turn_ns && k->due[i].turn_ns <= now) {
			/* its turn: the hold before it was forwarded */
			k->due[i].turn_ns = 0;
			if (!pipeline_still_active(k, h->pipe_gen)) {
				wf_debug("%s: the pipeline changed while this one waited",
					 wf_pipe_action_name(h->action));
				skip_sleep(k, i, now);
			} else if (h->action == WF_PIPE_A_CANCEL && !send_cancel(k, h->action_arg)) {
				skip_sleep(k, i, now);	/* delivered at once */
			}
		}
		if (k->due[i].active) {
			/* a stalled chunk goes after the holds that ended the stall
			 * (fluent.py forwards the message it slept on, then handles
			 * the others): second pass, below */
			if (k->due[i].due_ns <= now && h->action != WF_PIPE_A_STALL)
				release(k, i);
		} else if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == WF_HOLD_HELD &&
			   now - h->held_ns > 1000000000u) {
			/* Held for a second with no event seen (the event ring was
			 * full): release on the pipeline's schedule, no signal. */
			schedule(k, i, h->gen, false);
		}
	}
	for (uint32_t i = 0; i < WF_HOLD_SLOTS; i++)
		if (k->due[i].active && k->due[i].due_ns <= now && k->slots[i].action == WF_PIPE_A_STALL)
			release(k, i);
}

unsigned int wf_hold_keeper_pending(const struct wf_hold_keeper *k)
{
	unsigned int n = 0;

	for (uint32_t i = 0; i < WF_HOLD_SLOTS; i++)
		n += k->due[i].active;
	return n;
}

void wf_hold_keeper_free(struct wf_hold_keeper *k)
{
	if (!k)
		return;
	for (uint32_t i = 0; i < WF_HOLD_SLOTS; i++) {
		struct wf_hold *h = &k->slots[i];

		if (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) == WF_HOLD_HELD) {
			k->due[i].gen = h->gen;
			release(k, i);
		}
	}
	munmap(k->slots, k->map_len);
	munmap(k->stalls, k->stalls_len);
	free(k);
}
