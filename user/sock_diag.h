/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The established TCP connections to the server port, as the kernel's socket
 * table holds them: what `ss -tn state established '( sport = :PORT )'`
 * prints, read through a NETLINK_SOCK_DIAG inet_diag dump.
 *
 * killall() needs it to reach connections that send nothing: the tc program
 * only learns about a connection from its packets, and a connection opened
 * before the loader attached may have no flow entry at all (DESIGN.md,
 * proto/datapath2 Q4).  The dump needs no privilege.
 */
#ifndef WF_SOCK_DIAG_H
#define WF_SOCK_DIAG_H

#include <stddef.h>
#include <stdint.h>

#include "wf_flow.h"

/*
 * Lists the ESTABLISHED TCP sockets whose local port is `port` (the server
 * ends of the connections to it), IPv4 and IPv6, in this network namespace.
 * Each comes out as the flow key the tc program uses for it: client (the
 * remote end) -> server, IPv4 in the v4-mapped form, family 4 also for an
 * IPv4 client accepted by a dual-stack IPv6 socket (its packets are IPv4 on
 * the wire), ports in host order, pad zeroed.
 *
 * On success returns 0 with *keys a malloc'ed array of *count keys (NULL
 * when there are none; free() it either way).  On failure reports it with
 * wf_err and returns -errno, with *keys NULL and *count 0.  A kernel without
 * IPv6 is not a failure.  The list is a snapshot: connections that open or
 * close while it is taken may or may not be in it.
 */
int wf_sock_diag_established(uint16_t port, struct wf_flow_key **keys, size_t *count);

#endif /* WF_SOCK_DIAG_H */
