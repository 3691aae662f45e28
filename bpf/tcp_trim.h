/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Cutting the data segment in hand short (truncate(), truncate.h): its
 * first `keep` payload bytes stay behind its own headers, options
 * included, with a FIN right after them or none; the IPv4 total length or
 * IPv6 payload length follows, and the TCP checksum is summed afresh over
 * the pseudo-header, the header and the kept payload, an odd last byte
 * padded with a zero as TCP specifies (RFC 9293 3.1).  Afresh, not
 * updated: on lo the checksum field of a CHECKSUM_PARTIAL skb holds only
 * the pseudo-header's sum, so there is no right checksum to update.
 *
 * bpf_skb_change_tail() refuses any length above SKB_MAX_ALLOC (16064
 * bytes with 4 KiB pages and 17 fragments per skb, less with more
 * fragments), whatever the skb was before: a cut keeps at most
 * wf_trim_frame_max bytes of frame, and truncate.h delivers a longer kept
 * part in several goes.
 */
#ifndef WF_BPF_TCP_TRIM_H
#define WF_BPF_TCP_TRIM_H

#include "counters.h"
#include "packet.h"
#include "tcp_inject.h"

/* SKB_MAX_ALLOC with room for CONFIG_MAX_SKB_FRAGS up to 45. */
#define WF_TRIM_FRAME_MAX	15360u
/* bpf_csum_diff() sums at most 512 bytes a call. */
#define WF_CSUM_PIECE		512u

/*
 * Largest frame a cut keeps, a load-time knob: the loader keeps
 * WF_TRIM_FRAME_MAX; the BPF tests lower it to reach the several-goes path
 * with BPF_PROG_TEST_RUN's one-page packets.
 */
const volatile __u32 wf_trim_frame_max = WF_TRIM_FRAME_MAX;

/* Payload bytes of packet p one cut can keep. */
static __always_inline __u32 wf_trim_keep_max(const struct wf_pkt *p)
{
	__u32 fm = wf_trim_frame_max;

	if (!fm || fm > WF_TRIM_FRAME_MAX)
		fm = WF_TRIM_FRAME_MAX;
	return fm > p->payload_off ? fm - p->payload_off : 0;
}

/* Per-CPU room for one piece being summed (kept off the stack). */
struct wf_csum_buf {
	__u32 w[WF_CSUM_PIECE / 4];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wf_csum_buf);
} csum_scratch SEC(".maps");

struct wf_csum_walk {
	struct __sk_buff *skb;
	struct wf_csum_buf *buf;
	__u32 off;		/* skb offset of the next piece */
	__u32 end;		/* skb offset after the last byte summed */
	__u32 sum;		/* 32-bit partial sum so far (bpf_csum_diff's) */
	__u32 err;
};

/*
 * One piece of at most WF_CSUM_PIECE bytes.  Pieces start at even distances
 * from the TCP header (multiples of WF_CSUM_PIECE), so their 16-bit words
 * are the segment's and the partial sums add up.
 */
static long wf_csum_piece(__u32 i, void *data)
{
	struct wf_csum_walk *w = data;
	__u32 n, m;

	if (w->off >= w->end)
		return 1;
	n = w->end - w->off;
	if (n > WF_CSUM_PIECE)
		n = WF_CSUM_PIECE;
	/* n - 1 in 0..WF_CSUM_PIECE-1, in a form the verifier keeps (as in recorder.h) */
	m = n - 1;
	asm volatile("" : "+r"(m));
	m &= WF_CSUM_PIECE - 1;
	/* The piece's last word is zeroed first: the bytes the load does not
	 * cover sum as the zero padding of an odd or short tail. */
	w->buf->w[m >> 2] = 0;
	if (bpf_skb_load_bytes(w->skb, w->off, w->buf->w, m + 1)) {
		w->err = 1;
		return 1;
	}
	w->sum = (__u32)bpf_csum_diff(0, 0, (__be32 *)w->buf->w, ((m >> 2) + 1) * 4, w->sum);
	w->off += m + 1;
	return 0;
}

/*
 * Keeps the first `keep` payload bytes of the segment ctl was loaded from
 * (wf_tcp_ctl_load(); its payload starts at skb offset payload_off), with
 * FIN set (fin != 0) or cleared.  payload_off + keep must not exceed
 * wf_trim_frame_max.  0, or -1 with the packet in an unknown state.  Not
 * inlined: the walk gets a stack frame of its own.
 */
static __noinline int wf_tcp_trim_data(struct __sk_buff *skb, const struct wf_tcp_ctl *ctl,
				       __u32 payload_off, __u32 keep, __u32 fin)
{
	__u32 zero = 0, len = payload_off + keep, l4len = len - ctl->l4;
	struct wf_csum_walk w = { .skb = skb, .off = ctl->l4, .end = len };
	__u8 flags = ((const __u8 *)&ctl->th)[13];
	/* pseudo-header: protocol and TCP length as one word (l4len < 64 KiB
	 * here, so IPv6's 32-bit length sums the same) */
	__be32 proto_len = bpf_htonl(WF_IPPROTO_TCP << 16 | l4len);
	__be16 iplen, check = 0;

	w.buf = bpf_map_lookup_elem(&csum_scratch, &zero);
	if (!w.buf || bpf_skb_change_tail(skb, len, 0))
		return -1;
	flags = fin ? flags | WF_TCP_FIN : flags & ~WF_TCP_FIN;
	if (bpf_skb_store_bytes(skb, ctl->l4 + 13, &flags, 1, 0) ||
	    bpf_skb_store_bytes(skb, ctl->l4 + 16, &check, sizeof(check), 0))
		return -1;
	if (ctl->family == WF_FAMILY_IPV4) {
		iplen = bpf_htons(len - WF_ETH_HLEN);
		if (bpf_skb_store_bytes(skb, WF_ETH_HLEN + 2, &iplen, sizeof(iplen), 0) ||
		    bpf_l3_csum_replace(skb, WF_ETH_HLEN + 10, ctl->ip4.tot_len, iplen, sizeof(iplen)))
			return -1;
		/* saddr and daddr follow each other in the header */
		w.sum = (__u32)bpf_csum_diff(0, 0, (__be32 *)&ctl->ip4.saddr, 8, 0);
	} else {
		iplen = bpf_htons(len - WF_ETH_HLEN - WF_IPV6_HLEN);
		if (bpf_skb_store_bytes(skb, WF_ETH_HLEN + 4, &iplen, sizeof(iplen), 0))
			return -1;
		w.sum = (__u32)bpf_csum_diff(0, 0, (__be32 *)&ctl->ip6.saddr, 32, 0);
	}
	w.sum = (__u32)bpf_csum_diff(0, 0, &proto_len, sizeof(proto_len), w.sum);
	bpf_loop((l4len + WF_CSUM_PIECE - 1) / WF_CSUM_PIECE, wf_csum_piece, &w, 0);
	if (w.err || w.off != len)
		return -1;
	check = wf_csum_fold(w.sum);
	return bpf_skb_store_bytes(skb, ctl->l4 + 16, &check, sizeof(check), 0) ? -1 : 0;
}

#endif /* WF_BPF_TCP_TRIM_H */
