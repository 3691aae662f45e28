// SPDX-License-Identifier: GPL-2.0
#include "actions.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hold_keeper.h"
#include "killall_sweep.h"
#include "log.h"
#include "loader_counters.h"
#include "packet_send.h"
#include "unreachable.h"
#include "wf_config.h"

struct wf_actions {
	struct ring_buffer *events;
	struct wf_packet_sender ps;
	struct wf_hold_keeper *holds;
	int counters_fd;
	unsigned int ports[WF_MAX_PORTS];
	int n_ports;
	unsigned int probe_ifindex;
	int vconns_fd;
};

static int on_event(void *ctx, void *data, size_t len)
{
	struct wf_actions *a = ctx;
	struct wf_event ev;

	if (len < sizeof(ev)) {
		wf_warn("short event (%zu bytes) from the kernel ignored", len);
		return 0;
	}
	memcpy(&ev, data, sizeof(ev));
	switch (ev.kind) {
	case WF_EVENT_HOLD:
		wf_hold_keeper_on_event(a->holds, &ev);
		break;
	case WF_EVENT_KILLALL:
		wf_info("killall() in force (pipeline generation %u): killing idle connections of %s %u%s",
			ev.pipe_gen, a->n_ports > 1 ? "ports" : "port", a->ports[0],
			a->n_ports > 1 ? " and the others followed" : "");
		for (int i = 0; i < a->n_ports; i++)
			wf_killall_sweep(&a->ps, a->ports[i], a->probe_ifindex, a->counters_fd,
					 a->vconns_fd);
		break;
	case WF_EVENT_UNREACHABLE: {
		int err = wf_unreachable_answer(&a->ps, &ev, (int)a->probe_ifindex);

		if (err) {
			wf_debug("unreachable(): no ICMP for a dropped segment: %s", strerror(-err));
			wf_counter_add(a->counters_fd, WF_CNT_UNREACHABLE_FAILED, 1);
		} else {
			wf_counter_add(a->counters_fd, WF_CNT_UNREACHABLE_ICMPS, 1);
		}
		break;
	}
	default:
		wf_warn("unknown event %u from the kernel ignored", ev.kind);
	}
	return 0;
}

struct wf_actions *wf_actions_new(const struct wf_actions_opts *o)
{
	struct wf_actions *a = calloc(1, sizeof(*a));
	int err;

	if (!a)
		return NULL;
	a->counters_fd = o->counters_fd;
	a->n_ports = o->n_ports < WF_MAX_PORTS ? o->n_ports : WF_MAX_PORTS;
	memcpy(a->ports, o->ports, (size_t)a->n_ports * sizeof(a->ports[0]));
	a->probe_ifindex = o->probe_ifindex;
	a->vconns_fd = o->vconns_fd;
	a->ps.packet_fd = a->ps.icmp4_fd = a->ps.icmp6_fd = -1;
	err = wf_packet_sender_open(&a->ps);
	if (err) {
		err = -err;
		goto fail;
	}
	a->holds = wf_hold_keeper_new(&(struct wf_hold_keeper_opts){
		.holds_fd = o->holds_fd,
		.port_stalls_fd = o->port_stalls_fd,
		.counters_fd = o->counters_fd,
		.pipe_current_fd = o->pipe_current_fd,
		.ports = o->ports,
		.n_ports = o->n_ports,
		.ps = &a->ps,
	});
	if (!a->holds) {
		err = errno;
		wf_err("failed to map the holds and port_stalls maps: %s", strerror(err));
		goto fail;
	}
	a->events = ring_buffer__new(o->events_fd, on_event, a, NULL);
	if (!a->events) {
		err = errno;
		wf_err("failed to open the events ring: %s", strerror(err));
		goto fail;
	}
	return a;
fail:
	wf_actions_free(a);
	errno = err;
	return NULL;
}

void wf_actions_free(struct wf_actions *a)
{
	if (!a)
		return;
	/* Events still queued are not acted on (no signal at exit); the
	 * keeper releases every held slot whether its event was read or not. */
	ring_buffer__free(a->events);
	wf_hold_keeper_free(a->holds);
	wf_packet_sender_close(&a->ps);
	free(a);
}

int wf_actions_fd(const struct wf_actions *a)
{
	return ring_buffer__epoll_fd(a->events);
}

int wf_actions_timeout_ms(struct wf_actions *a)
{
	return wf_hold_keeper_timeout_ms(a->holds);
}

void wf_actions_service(struct wf_actions *a)
{
	int n = ring_buffer__consume(a->events);

	if (n < 0 && n != -EINTR)
		wf_warn("reading the events ring failed: %s", strerror(-n));
	wf_hold_keeper_service(a->holds);
}
