/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Replays a capture file as the chunks the kernel would record: the TCP
 * connections whose server port is `port`, followed like the tc program
 * follows them.  Powers `wirefault decode FILE.pcap --port PORT` and the
 * golden tests.
 *
 *  - Link types: Ethernet (with VLAN tags), BSD loopback (NULL/LOOP),
 *    Linux cooked (SLL, SLL2), raw IP; IPv4 and IPv6 (extension headers
 *    skipped; fragments ignored).
 *  - A SYN to the port starts a connection; its first payload chunk, in
 *    either direction, is initial.  A connection whose SYN is not in the
 *    capture is followed from its first payload, and its chunks are
 *    unframed (the kernel's "unsynced" flows).
 *  - Each segment delivers only bytes not delivered before: retransmitted
 *    bytes are skipped, a partial overlap delivers only the new tail.  A
 *    sequence gap (bytes never captured, a segment cut by the snapshot
 *    length) makes the rest of that direction unframed.
 *  - FIN in both directions or RST ends a connection (close callback).
 */
#ifndef WF_PCAP_SOURCE_H
#define WF_PCAP_SOURCE_H

#include <stdint.h>

#include "recorder.h"
#include "wf_flow.h"

/* Where a chunk came from (for --json and diagnostics). */
struct wf_pcap_packet {
	uint64_t ts_ns;			/* capture time */
	const struct wf_flow_key *flow;	/* client/server addresses and ports */
	uint32_t seq;			/* TCP seq of the chunk's first byte */
};

struct wf_pcap_handlers {
	/* One chunk; a non-zero return stops the replay and is returned. */
	int (*chunk)(void *ctx, const struct wf_chunk *chunk, const struct wf_pcap_packet *pkt);
	/* The connection ended; optional. */
	void (*close)(void *ctx, uint64_t conn_id);
	void *ctx;
};

struct wf_pcap_stats {
	uint64_t packets;		/* records in the file */
	uint64_t segments;		/* TCP segments to or from the port */
	uint64_t connections;		/* connections followed (conn ids handed out) */
	uint64_t unsynced;		/* ... of which without their SYN in the capture */
	uint64_t chunks;		/* chunks delivered */
	uint64_t bytes;			/* payload bytes delivered */
	uint64_t retransmits;		/* segments whose bytes were all delivered before */
	uint64_t gaps;			/* directions that became unframed */
	uint64_t skipped;		/* not TCP on the port: other ports, non-IP, fragments, cut headers */
};

/*
 * Reads `path` and calls the handlers in capture order.  Connection ids
 * count from 1 in order of appearance.  0, the handler's non-zero return,
 * or -1 when the file cannot be read (reported with wf_err).
 */
int wf_pcap_replay(const char *path, uint16_t port, const struct wf_pcap_handlers *h,
		   struct wf_pcap_stats *stats);

/* wf_pcap_replay into a recorder (chunks added, closed connections released). */
int wf_pcap_record(const char *path, uint16_t port, struct wf_recorder *rec,
		   struct wf_pcap_stats *stats);

#endif /* WF_PCAP_SOURCE_H */
