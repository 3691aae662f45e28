/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loader's side of held chunks (include/wf_hold.h): on each hold event
 * it sends cancel()'s SIGINT, and it releases every held chunk when its
 * time has come: 100 ms after the hold for cancel() (fluent.py signals,
 * sleeps 0.1 s, then forwards), the requested delay for connect_delay().
 * cancel()s are taken one at a time as fluent.py's single thread takes
 * them: a chunk that matches while another cancel is under way gets its
 * SIGINT when that one is forwarded, and is forwarded 100 ms later.
 * On exit everything still held is released at once (fail open).
 */
#ifndef WF_HOLD_KEEPER_H
#define WF_HOLD_KEEPER_H

#include <stdint.h>

#include "wf_event.h"

/* fluent.py's CancelHandler sleeps this long after the signal. */
#define WF_CANCEL_HOLD_MS 100

struct wf_hold_keeper;
struct wf_packet_sender;

/*
 * holds_fd: the BPF holds map (mmapped); counters_fd for the loader's
 * counters; pipe_current_fd: the pipeline switch, read when a queued
 * cancel's turn comes (-1: never checked).
 */
struct wf_hold_keeper *wf_hold_keeper_new(int holds_fd, int counters_fd, int pipe_current_fd,
					  struct wf_packet_sender *ps);
void wf_hold_keeper_free(struct wf_hold_keeper *k);	/* releases what is still held */

void wf_hold_keeper_on_event(struct wf_hold_keeper *k, const struct wf_event *ev);

/* Milliseconds until the next release is due (0: now), -1 if nothing is held. */
int wf_hold_keeper_timeout_ms(struct wf_hold_keeper *k);

/* Releases what is due; adopts held slots whose event was lost. */
void wf_hold_keeper_service(struct wf_hold_keeper *k);

/* Holds under way (for status and tests). */
unsigned int wf_hold_keeper_pending(const struct wf_hold_keeper *k);

#endif /* WF_HOLD_KEEPER_H */
