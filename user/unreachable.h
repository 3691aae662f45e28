/* SPDX-License-Identifier: GPL-2.0 */
/*
 * unreachable(): the loader's half.  The tc program drops the segment (and
 * every later one of the connection, as blackhole() does) and reports each
 * dropped data segment (WF_EVENT_UNREACHABLE); this answers its sender as a
 * router without a route would: ICMP type 3 code 1 (host unreachable) or
 * ICMPv6 type 1 code 3 (address unreachable), quoting the segment's headers.
 *
 * What the sender's TCP makes of it (tcp_v4_err/tcp_v6_err): on an
 * established connection the error is soft (sk_err_soft = EHOSTUNREACH)
 * unless the socket asked for IP_RECVERR; the retransmissions go on (each
 * answered again) until the connection's timeout, which then reports
 * EHOSTUNREACH ("No route to host") instead of ETIMEDOUT.  A client with
 * tcp_user_timeout=1500 fails that way after 1.5 s.
 */
#ifndef WF_UNREACHABLE_H
#define WF_UNREACHABLE_H

#include "packet_send.h"
#include "wf_event.h"

/* Answers the segment ev names.  0, or -errno. */
int wf_unreachable_answer(struct wf_packet_sender *s, const struct wf_event *ev, int ifindex);

#endif /* WF_UNREACHABLE_H */
