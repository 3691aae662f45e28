/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the kernel cannot do itself, done when the tc program asks through
 * its `events` ring (include/wf_event.h): cancel()'s signal and the release
 * of held chunks (hold_keeper.h), killall()'s sweep of idle connections
 * (killall_sweep.h).  Driven from the loader's poll loop.
 */
#ifndef WF_ACTIONS_H
#define WF_ACTIONS_H

struct wf_actions;

struct wf_actions_opts {
	int events_fd;		/* the events ring buffer map */
	int holds_fd;		/* the holds array map */
	int port_stalls_fd;	/* connect_delay()'s stalls, per port */
	int counters_fd;
	const unsigned int *ports;	/* the followed server ports */
	int n_ports;
	unsigned int probe_ifindex;	/* device killall() probes are sent on (lo) */
	int vconns_fd;		/* virtual-port connections map, -1 without a proxy port */
	int pipe_current_fd;	/* the pipeline switch (queued cancels check it), -1 if none */
};

/* NULL with errno set; prints its own error (naming a missing capability). */
struct wf_actions *wf_actions_new(const struct wf_actions_opts *o);
/* Releases every chunk still held (fail open), then frees. */
void wf_actions_free(struct wf_actions *a);

int wf_actions_fd(const struct wf_actions *a);	/* readable when events wait */
int wf_actions_timeout_ms(struct wf_actions *a);	/* -1: no deadline */
void wf_actions_service(struct wf_actions *a);	/* handle events, release what is due */

#endif /* WF_ACTIONS_H */
