/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loader's side of held chunks (include/wf_hold.h): on each hold event
 * it sends cancel()'s SIGINT, and it releases every held chunk when its
 * time has come: 100 ms after the signal for cancel() (fluent.py signals,
 * sleeps 0.1 s, then forwards), the requested delay for connect_delay()
 * and delay(), the end of the port's stall for a chunk held behind a
 * cancel() or connect_delay().  cancel()s and connect_delay()s are taken
 * one at a time, as fluent.py's single thread takes them (the program
 * queues them in the port's stall): a queued cancel gets its SIGINT when
 * the hold before it is forwarded, and is forwarded 100 ms later; a queued
 * one whose pipeline was replaced before its turn goes at its turn, and the
 * stall is shortened by its sleep.
 * On exit everything still held is released at once (fail open).
 */
#ifndef WF_HOLD_KEEPER_H
#define WF_HOLD_KEEPER_H

#include <stdint.h>

#include "wf_event.h"

struct wf_hold_keeper;
struct wf_packet_sender;

struct wf_hold_keeper_opts {
	int holds_fd;		/* the BPF holds map (mmapped) */
	int port_stalls_fd;	/* the BPF port_stalls map (mmapped) */
	int counters_fd;	/* for the loader's counters */
	int pipe_current_fd;	/* the pipeline switch, read when a queued cancel's
				 * or connect_delay's turn comes (-1: never checked) */
	const unsigned int *ports;	/* the followed ports, as in wf_config.ports[] */
	int n_ports;
	struct wf_packet_sender *ps;
};

struct wf_hold_keeper *wf_hold_keeper_new(const struct wf_hold_keeper_opts *o);
void wf_hold_keeper_free(struct wf_hold_keeper *k);	/* releases what is still held */

void wf_hold_keeper_on_event(struct wf_hold_keeper *k, const struct wf_event *ev);

/* Milliseconds until the next release is due (0: now), -1 if nothing is held. */
int wf_hold_keeper_timeout_ms(struct wf_hold_keeper *k);

/* Releases what is due; adopts held slots whose event was lost. */
void wf_hold_keeper_service(struct wf_hold_keeper *k);

/* Holds under way (for status and tests). */
unsigned int wf_hold_keeper_pending(const struct wf_hold_keeper *k);

#endif /* WF_HOLD_KEEPER_H */
