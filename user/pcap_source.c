// SPDX-License-Identifier: GPL-2.0
#include "pcap_source.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "dlist.h"
#include "hmap.h"
#include "log.h"

/* Closed connections are kept this long (capture time) to swallow their
 * late packets; the table holds at most MAX_FLOWS connections. */
#define CLOSED_LINGER_NS	(60ull * 1000000000)
#define MAX_FLOWS		(4 * WF_FLOW_TABLE_SIZE)

#define ETH_P_IPV4	0x0800
#define ETH_P_IPV6	0x86dd
#define ETH_P_VLAN	0x8100
#define ETH_P_QINQ	0x88a8

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

struct flow_dir {
	bool seq_known;
	bool unframed;		/* a gap: the rest of this direction is unframed */
	bool fin;
	uint32_t next_seq;	/* next byte not delivered yet */
};

struct flow {
	struct hmap_node node;
	struct dlist lru;	/* least recently active first */
	struct wf_flow_key key;
	uint64_t conn_id;
	uint64_t last_ns;
	bool synced;		/* SYN seen: followed from the start */
	bool initial_done;	/* the first payload chunk went by */
	bool closed;
	struct flow_dir dir[WF_DIR__COUNT];
};

/* One TCP segment, parsed. */
struct segment {
	struct wf_flow_key key;
	enum wf_dir dir;
	uint32_t seq;
	uint8_t flags;
	const uint8_t *payload;
	size_t caplen;		/* payload bytes present in the capture */
	size_t len;		/* payload bytes on the wire */
};

struct replay {
	uint16_t port;
	const struct wf_pcap_handlers *h;
	struct wf_pcap_stats *st;
	struct hmap flows;
	struct dlist lru;
	uint64_t next_conn_id;
};

/* ---- packet parsing ------------------------------------------------------------------------ */

/* Parses TCP; addresses are in the key already, as source/destination. */
static bool parse_tcp(struct replay *r, const uint8_t *p, size_t caplen, size_t wirelen,
		      const uint8_t src[16], const uint8_t dst[16], uint8_t family,
		      struct segment *seg)
{
	uint16_t sport, dport;
	size_t hl;

	if (caplen < 20)
		return false;
	sport = wf_be16(p);
	dport = wf_be16(p + 2);
	hl = (size_t)(p[12] >> 4) * 4;
	if (hl < 20 || hl > caplen || hl > wirelen)
		return false;
	memset(&seg->key, 0, sizeof(seg->key));
	seg->key.family = family;
	if (dport == r->port) {
		seg->dir = WF_DIR_FRONTEND;
		memcpy(seg->key.client_addr, src, 16);
		memcpy(seg->key.server_addr, dst, 16);
		seg->key.client_port = sport;
	} else if (sport == r->port) {
		seg->dir = WF_DIR_BACKEND;
		memcpy(seg->key.client_addr, dst, 16);
		memcpy(seg->key.server_addr, src, 16);
		seg->key.client_port = dport;
	} else {
		return false;
	}
	seg->key.server_port = r->port;
	seg->seq = wf_be32(p + 4);
	seg->flags = p[13];
	seg->payload = p + hl;
	seg->caplen = caplen - hl;
	seg->len = wirelen - hl;
	if (seg->caplen > seg->len)	/* Ethernet padding */
		seg->caplen = seg->len;
	return true;
}

static bool parse_ipv4(struct replay *r, const uint8_t *p, size_t caplen, struct segment *seg)
{
	uint8_t src[16] = { [10] = 0xff, [11] = 0xff }, dst[16] = { [10] = 0xff, [11] = 0xff };
	size_t ihl, total;

	if (caplen < 20 || p[0] >> 4 != 4)
		return false;
	ihl = (size_t)(p[0] & 0x0f) * 4;
	total = wf_be16(p + 2);
	if (ihl < 20 || ihl > caplen || total < ihl)
		return false;
	if (p[9] != 6 /* TCP */ || (wf_be16(p + 6) & 0x3fff))	/* MF or an offset: fragment */
		return false;
	memcpy(src + 12, p + 12, 4);
	memcpy(dst + 12, p + 16, 4);
	caplen = caplen < total ? caplen : total;
	return parse_tcp(r, p + ihl, caplen - ihl, total - ihl, src, dst, WF_FAMILY_IPV4, seg);
}

static bool parse_ipv6(struct replay *r, const uint8_t *p, size_t caplen, struct segment *seg)
{
	size_t at = 40, total;
	uint8_t next;

	if (caplen < 40 || p[0] >> 4 != 6)
		return false;
	total = 40 + (size_t)wf_be16(p + 4);	/* jumbograms (payload length 0) are not followed */
	next = p[6];
	/* hop-by-hop, routing, destination options: skip; fragment: give up */
	while (next == 0 || next == 43 || next == 60) {
		if (at + 8 > caplen)
			return false;
		next = p[at];
		at += 8 + (size_t)p[at + 1] * 8;
	}
	if (next != 6 || at > caplen || at > total)
		return false;
	caplen = caplen < total ? caplen : total;
	return parse_tcp(r, p + at, caplen - at, total - at, p + 8, p + 24, WF_FAMILY_IPV6, seg);
}

static bool parse_ip(struct replay *r, const uint8_t *p, size_t caplen, struct segment *seg)
{
	if (caplen < 1)
		return false;
	switch (p[0] >> 4) {
	case 4:
		return parse_ipv4(r, p, caplen, seg);
	case 6:
		return parse_ipv6(r, p, caplen, seg);
	default:
		return false;
	}
}

static bool parse_ethertype(struct replay *r, uint16_t type, const uint8_t *p, size_t caplen,
			    struct segment *seg)
{
	while (type == ETH_P_VLAN || type == ETH_P_QINQ) {
		if (caplen < 4)
			return false;
		type = wf_be16(p + 2);
		p += 4;
		caplen -= 4;
	}
	if (type != ETH_P_IPV4 && type != ETH_P_IPV6)
		return false;
	return parse_ip(r, p, caplen, seg);
}

static bool parse_link(struct replay *r, int linktype, const uint8_t *p, size_t caplen,
		       struct segment *seg)
{
	switch (linktype) {
	case DLT_EN10MB:
		return caplen >= 14 && parse_ethertype(r, wf_be16(p + 12), p + 14, caplen - 14, seg);
	case DLT_NULL:
	case DLT_LOOP:
		/* a 4-byte address family in the capturing host's (or network)
		 * byte order, whose values differ between systems: the IP
		 * version nibble says more */
		return caplen >= 4 && parse_ip(r, p + 4, caplen - 4, seg);
	case DLT_LINUX_SLL:
		return caplen >= 16 && parse_ethertype(r, wf_be16(p + 14), p + 16, caplen - 16, seg);
	case DLT_LINUX_SLL2:
		return caplen >= 20 && parse_ethertype(r, wf_be16(p), p + 20, caplen - 20, seg);
	case DLT_RAW:
	case DLT_IPV4:
	case DLT_IPV6:
		return parse_ip(r, p, caplen, seg);
	default:
		return false;
	}
}

/* ---- connections --------------------------------------------------------------------------- */

static uint64_t key_hash(const struct wf_flow_key *k)
{
	return hmap_hash_bytes(k, sizeof(*k));
}

static struct flow *find_flow(struct replay *r, const struct wf_flow_key *k)
{
	struct hmap_node *n;

	for (n = hmap_first(&r->flows, key_hash(k)); n; n = hmap_next(n)) {
		struct flow *f = hmap_entry(n, struct flow, node);

		if (memcmp(&f->key, k, sizeof(*k)) == 0)
			return f;
	}
	return NULL;
}

static void close_flow(struct replay *r, struct flow *f)
{
	if (f->closed)
		return;
	f->closed = true;
	if (r->h->close)
		r->h->close(r->h->ctx, f->conn_id);
}

static void free_flow(struct replay *r, struct flow *f)
{
	close_flow(r, f);
	hmap_remove(&r->flows, &f->node);
	dlist_del(&f->lru);
	free(f);
}

/* Forgets connections closed long ago, and the least active one when full. */
static void reap_flows(struct replay *r, uint64_t now_ns)
{
	while (!dlist_empty(&r->lru)) {
		struct flow *f = dlist_entry(r->lru.next, struct flow, lru);

		if (r->flows.count < MAX_FLOWS &&
		    !(f->closed && now_ns - f->last_ns > CLOSED_LINGER_NS))
			break;
		free_flow(r, f);
	}
}

static struct flow *new_flow(struct replay *r, const struct wf_flow_key *k, bool synced)
{
	struct flow *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (hmap_insert(&r->flows, &f->node, key_hash(k))) {
		free(f);
		return NULL;
	}
	f->key = *k;
	f->conn_id = ++r->next_conn_id;
	f->synced = synced;
	dlist_add_tail(&r->lru, &f->lru);
	r->st->connections++;
	if (!synced)
		r->st->unsynced++;
	return f;
}

static int deliver(struct replay *r, struct flow *f, const struct segment *seg, size_t skip,
		   uint64_t ts_ns)
{
	struct flow_dir *d = &f->dir[seg->dir];
	struct wf_pcap_packet pkt = { .ts_ns = ts_ns, .flow = &f->key, .seq = seg->seq + (uint32_t)skip };
	struct wf_chunk chunk = {
		.conn_id = f->conn_id,
		.dir = seg->dir,
		.initial = f->synced && !f->initial_done,
		.unframed = !f->synced || d->unframed,
		.data = seg->payload + skip,
		.len = seg->caplen - skip,
		.ts_ns = ts_ns,
		.flow = &f->key,
		.seq = seg->seq + (uint32_t)skip,
	};

	f->initial_done = true;
	d->next_seq = seg->seq + (uint32_t)seg->len;
	if (seg->caplen < seg->len && !d->unframed) {
		/* the snapshot length cut this segment: what follows has a hole */
		d->unframed = true;
		r->st->gaps++;
	}
	if (chunk.len == 0)
		return 0;
	r->st->chunks++;
	r->st->bytes += chunk.len;
	return r->h->chunk(r->h->ctx, &chunk, &pkt);
}

static int handle_segment(struct replay *r, const struct segment *seg, uint64_t ts_ns)
{
	struct flow *f = find_flow(r, &seg->key);
	struct flow_dir *d;
	int32_t ahead;
	size_t skip = 0;
	int err = 0;

	if ((seg->flags & (TCP_SYN | TCP_ACK)) == TCP_SYN && seg->dir == WF_DIR_FRONTEND) {
		if (f && f->dir[WF_DIR_FRONTEND].seq_known && !f->initial_done &&
		    f->dir[WF_DIR_FRONTEND].next_seq == seg->seq + 1)
			return 0;	/* the SYN again */
		if (f)
			free_flow(r, f);	/* the 4-tuple is reused */
		f = new_flow(r, &seg->key, true);
		if (!f)
			return -ENOMEM;
		f->dir[WF_DIR_FRONTEND].seq_known = true;
		f->dir[WF_DIR_FRONTEND].next_seq = seg->seq + 1;
		f->last_ns = ts_ns;
		return 0;
	}
	if (!f) {
		if (seg->len == 0 || (seg->flags & (TCP_SYN | TCP_RST)))
			return 0;
		f = new_flow(r, &seg->key, false);
		if (!f)
			return -ENOMEM;
	}
	if (f->closed)
		return 0;	/* late packets of a finished connection */
	f->last_ns = ts_ns;
	dlist_move_tail(&r->lru, &f->lru);
	d = &f->dir[seg->dir];

	if (seg->flags & TCP_SYN) {		/* SYN-ACK */
		if (seg->dir == WF_DIR_BACKEND && !d->seq_known) {
			d->seq_known = true;
			d->next_seq = seg->seq + 1;
		}
		return 0;
	}
	if (seg->flags & TCP_RST) {
		close_flow(r, f);
		return 0;
	}
	if (seg->len) {
		if (!d->seq_known) {	/* no handshake seen for this direction */
			d->seq_known = true;
			d->next_seq = seg->seq;
		}
		ahead = (int32_t)(seg->seq - d->next_seq);
		if (ahead > 0 && !d->unframed) {
			d->unframed = true;	/* bytes we never saw: the kernel desyncs too */
			r->st->gaps++;
		}
		if (ahead < 0) {
			skip = (size_t)(-(int64_t)ahead);
			if (skip >= seg->len) {
				r->st->retransmits++;
				skip = seg->len;
			}
		}
		if (skip < seg->len) {
			if (skip > seg->caplen)
				skip = seg->caplen;
			err = deliver(r, f, seg, skip, ts_ns);
		}
	}
	if (seg->flags & TCP_FIN) {
		d->fin = true;
		if (f->dir[WF_DIR_FRONTEND].fin && f->dir[WF_DIR_BACKEND].fin)
			close_flow(r, f);
	}
	return err;
}

int wf_pcap_replay(const char *path, uint16_t port, const struct wf_pcap_handlers *h,
		   struct wf_pcap_stats *stats)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct wf_pcap_stats local;
	struct replay r = { .port = port, .h = h, .st = stats ? stats : &local };
	struct pcap_pkthdr *hdr;
	const u_char *data;
	struct segment seg;
	uint64_t ts_ns;
	pcap_t *pc;
	int linktype, rc, err = 0;

	memset(r.st, 0, sizeof(*r.st));
	dlist_init(&r.lru);
	pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!pc) {
		wf_err("cannot read capture: %s", errbuf);
		return -1;
	}
	linktype = pcap_datalink(pc);
	while (!err && (rc = pcap_next_ex(pc, &hdr, &data)) == 1) {
		r.st->packets++;
		if (!parse_link(&r, linktype, data, hdr->caplen, &seg)) {
			r.st->skipped++;
			continue;
		}
		r.st->segments++;
		ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000 + (uint64_t)hdr->ts.tv_usec;
		err = handle_segment(&r, &seg, ts_ns);
		if (r.st->segments % 4096 == 0)
			reap_flows(&r, ts_ns);
	}
	if (!err && rc == PCAP_ERROR) {
		wf_err("cannot read %s: %s", path, pcap_geterr(pc));
		err = -1;
	}
	pcap_close(pc);
	while (!dlist_empty(&r.lru))
		free_flow(&r, dlist_entry(r.lru.next, struct flow, lru));
	hmap_free(&r.flows);
	return err;
}

static int record_chunk(void *ctx, const struct wf_chunk *chunk, const struct wf_pcap_packet *pkt)
{
	return wf_recorder_add_chunk(ctx, chunk);
}

static void record_close(void *ctx, uint64_t conn_id)
{
	wf_recorder_close_conn(ctx, conn_id);
}

int wf_pcap_record(const char *path, uint16_t port, struct wf_recorder *rec,
		   struct wf_pcap_stats *stats)
{
	struct wf_pcap_handlers h = { .chunk = record_chunk, .close = record_close, .ctx = rec };

	return wf_pcap_replay(path, port, &h, stats);
}
