/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The flow table: one entry per TCP connection to the target port, keyed by
 * the connection's 4-tuple written client→server (so both directions find the
 * same entry), with one PostgreSQL stream state per direction.
 *
 * Read it with:  bpftool map dump pinned /sys/fs/bpf/wirefault/flows
 */
#ifndef WF_FLOW_H
#define WF_FLOW_H

#include "wf_types.h"
#include "wf_pg_proto.h"

/* Field conditions a message can be under way for (= WF_PIPE_MAX_CONDS). */
#define WF_STREAM_SCAN_CONDS	8

/* Directions, named as fluent.py's recorder names them. */
enum wf_dir {
	WF_DIR_FRONTEND = 0,	/* client → server ("coordinator") */
	WF_DIR_BACKEND = 1,	/* server → client ("worker") */
	WF_DIR__COUNT = 2,
};

enum wf_family {
	WF_FAMILY_IPV4 = 4,
	WF_FAMILY_IPV6 = 6,
};

/*
 * Addresses are stored as 16 bytes; IPv4 uses the v4-mapped form
 * ::ffff:a.b.c.d so that one key type serves both families.
 * Ports are in host byte order (readable in bpftool dumps).
 */
struct wf_flow_key {
	__u8 client_addr[16];
	__u8 server_addr[16];
	__u16 client_port;
	__u16 server_port;
	__u8 family;		/* enum wf_family */
	__u8 pad[3];		/* always zero: the key is hashed bytewise */
} __attribute__((aligned(8)));	/* copied as 5 words, not 20 halfwords (BPF stack) */

/* How far the framer follows one direction of a connection. */
enum wf_stream_state {
	/* No SYN seen (connection older than the loader): bytes are passed
	 * and recorded, but message boundaries are unknown until the server
	 * ends a segment with ReadyForQuery (then TYPED, see DESYNC). */
	WF_STREAM_UNSYNCED = 0,
	/* Client side before/while the StartupMessage: untyped packets. */
	WF_STREAM_STARTUP = 1,
	/* Ordinary typed messages. */
	WF_STREAM_TYPED = 2,
	/* Server side: the next byte is the one-byte answer to an
	 * SSLRequest/GSSENCRequest, then typed messages follow. */
	WF_STREAM_ONE_BYTE = 3,
	/* Encrypted (SSL/GSS accepted), CancelRequest sent, or not PostgreSQL:
	 * nothing more is framed on this direction. */
	WF_STREAM_OPAQUE = 4,
	/* A gap in the sequence space (a segment arrived ahead of one we never
	 * saw, or two CPUs raced on the direction): framing can no longer be
	 * trusted.  Counted and passed.  Framing resumes (like UNSYNCED) when
	 * the server ends a segment with ReadyForQuery: both directions are at
	 * a message boundary then. */
	WF_STREAM_DESYNC = 5,
};

enum wf_stream_flags {
	/* next_seq is meaningful.  Set by the SYN (client) or SYN-ACK (server),
	 * or by the first data segment of a direction first seen mid-stream:
	 * from then on retransmits are recognised even on unframed streams. */
	WF_STREAM_F_SEQ_KNOWN = 1u << 0,
};

/*
 * One CPU at a time follows a direction.  On lo, consecutive segments of one
 * direction are processed on two CPUs at once whenever the sender migrates
 * (measured: ~1 in 1000 bulk segments on 2 vCPUs), so the tc program claims
 * the direction (BUSY, atomically) before touching its framing state and
 * releases it after recording.  A segment that finds the direction busy is
 * not framed: it sets RACED and is recorded unframed, and the owner marks
 * the direction DESYNC on release.
 */
enum wf_stream_busy {
	WF_STREAM_BUSY = 1u << 0,
	WF_STREAM_RACED = 1u << 1,
};

struct wf_stream {
	__u32 next_seq;		/* TCP seq of the next byte not yet seen */
	__u32 busy;		/* enum wf_stream_busy, changed atomically only */
	__u32 body_left;	/* bytes of the current message body still to come */
	__u32 msg_len;		/* length field of the current message (0 for the
				 * one-byte SSL/GSS answer) */
	__u32 messages;		/* message headers parsed so far: a message counts
				 * once its whole header is in, body or not */
	__u8 state;		/* enum wf_stream_state */
	__u8 hdr_have;		/* header bytes collected in hdr[] */
	__u8 cur_type;		/* type byte of the current message, 0 if untyped */
	__u8 flags;		/* enum wf_stream_flags */
	__u8 hdr[WF_PG_HDR_MAX];	/* header carried across segments */
	/*
	 * Matching the message under way against the pipeline's field
	 * conditions (include/wf_pipeline.h), carried across segments so that
	 * a message is decided on the segment that completes it.
	 */
	__u32 scan_gen;		/* pipeline generation the message is matched with; 0: none */
	__u8 scan_todo;		/* conditions not decided yet (bit c = conds[c]) */
	__u8 scan_ok;		/* conditions that held */
	__u8 scan_nul[WF_STREAM_SCAN_CONDS];	/* per condition: strings ended before its field */
	__u16 scan_state[WF_STREAM_SCAN_CONDS];	/* per condition: DFA state */
	__u8 pad2[2];
};

enum wf_flow_flags {
	WF_FLOW_INITIAL_SEEN = 1u << 0,	/* the connection's first chunk went by */
	WF_FLOW_FIN_FRONTEND = 1u << 1,	/* FIN seen client → server */
	WF_FLOW_FIN_BACKEND = 1u << 2,	/* FIN seen server → client */
	WF_FLOW_RST = 1u << 3,		/* RST seen in either direction */
	WF_FLOW_CLOSE_REPORTED = 1u << 4,	/* close record already emitted */
	WF_FLOW_SYN = 1u << 5,		/* followed from the handshake (client ISN known) */
	WF_FLOW_SYNACK = 1u << 6,	/* server ISN known (SYN-ACK seen) */
	/* A pipeline killed the connection: later packets are dropped, and
	 * those that carry data or a FIN are answered with a RST so that no
	 * socket lingers (the peers behave as if a proxy had closed). */
	WF_FLOW_KILLED = 1u << 7,
	/* blackhole(): every later packet of the connection is dropped silently */
	WF_FLOW_BLACKHOLED = 1u << 8,
	/* truncate(n) marked the client's (FRONTEND) or the server's (BACKEND)
	 * direction: trunc_*[dir] below hold the mark.  BACKEND = FRONTEND << 1,
	 * so the bit of direction d is WF_FLOW_TRUNCATE_FRONTEND << d. */
	WF_FLOW_TRUNCATE_FRONTEND = 1u << 9,
	WF_FLOW_TRUNCATE_BACKEND = 1u << 10,
	/* unreachable(): blackholed, and each dropped data segment is
	 * answered with an ICMP host unreachable by the loader */
	WF_FLOW_UNREACHABLE = 1u << 11,
};

struct wf_flow {
	__u64 conn_id;		/* unique per loader run, in order of first sight */
	__u64 first_ns;		/* bpf_ktime_get_ns() of the first packet */
	__u32 flags;		/* enum wf_flow_flags */
	__u32 client_isn;	/* seq of the SYN that created the entry: a retransmitted
				 * SYN (same ISN) is not a new connection */
	__u64 after_count;	/* chunks counted by after(n) filters: one counter per
				 * connection, shared by every after() and kept across
				 * pipelines (fluent.py's flow._after_count) */
	struct wf_stream dir[WF_DIR__COUNT];
	/*
	 * A held chunk per direction (include/wf_hold.h): slot + 1 in the
	 * holds map (0: none) and the slot's generation at hold time.  While
	 * the slot still has that generation and is not free, every data
	 * segment of the direction is cut down to its ACK.
	 */
	__u32 hold_gen[WF_DIR__COUNT];
	__u8 hold_slot[WF_DIR__COUNT];
	__u8 pad[6];
	/*
	 * truncate(n), per direction while its WF_FLOW_TRUNCATE_* bit is set
	 * (bpf/truncate.h): trunc_end is the sequence number the direction's
	 * bytes stop at (the matching chunk's first new byte + n); trunc_have
	 * how far the receiver has, or is sure to get, every byte (the
	 * segment crossing trunc_end is cut only when it starts there or
	 * before, so that the FIN after the cut comes in order); trunc_gen the
	 * generation of the pipeline whose truncate() set the mark.
	 */
	__u32 trunc_end[WF_DIR__COUNT];
	__u32 trunc_have[WF_DIR__COUNT];
	__u32 trunc_gen[WF_DIR__COUNT];
	/*
	 * The connection's name for random decisions (include/wf_random.h):
	 * a hash of its StartupMessage and of its rank among the connections
	 * with the same StartupMessage since the pipeline was published.
	 * Unlike conn_id, ports or sequence numbers, it is the same when the
	 * workload runs again.  0 until the client's first chunk longer than
	 * 8 bytes (an SSLRequest is not a StartupMessage).
	 */
	__u64 ident;
};

/* Entries of the LRU flow table; old connections fall out first. */
#define WF_FLOW_TABLE_SIZE	16384

#endif /* WF_FLOW_H */
