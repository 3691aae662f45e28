/* SPDX-License-Identifier: GPL-2.0 */
/*
 * killall()'s reach to idle connections (bpf/killall.h, DESIGN.md §7): each
 * established connection of the port gets a bare SYN sent to its server
 * socket as if from its client.  The server's TCP answers it with a
 * challenge ACK (RFC 5961) carrying the exact sequence numbers and
 * timestamps of both ends, which the tc program, with killall() in force,
 * turns into the FIN pair.  A socket answers at most one challenge ACK per
 * 500 ms (tcp_invalid_ratelimit), plenty for one sweep per killall().
 */
#ifndef WF_KILLALL_SWEEP_H
#define WF_KILLALL_SWEEP_H

struct wf_packet_sender;

/*
 * Probes every established connection of `port` on device ifindex (with a
 * virtual proxy port, vconns_fd >= 0: only the connections made through it,
 * found in that map; the others are left alone); returns the number probed
 * or -errno (logged).
 */
int wf_killall_sweep(struct wf_packet_sender *ps, unsigned int port, unsigned int ifindex,
		     int counters_fd, int vconns_fd);

#endif /* WF_KILLALL_SWEEP_H */
