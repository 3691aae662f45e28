/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A connection's name for random decisions (struct wf_flow.ident,
 * include/wf_random.h): what stays the same when a workload runs again.
 * conn_id follows the order in which connections happen to start, ports and
 * sequence numbers are random; the StartupMessage (user, database,
 * application_name, ...) is what the client chose.  Connections with the
 * same StartupMessage are told apart by their rank since the pipeline was
 * published (the `idents` map counts them per generation), so two identical
 * clients do not make identical decisions, and the ranks start over with
 * each command.
 */
#ifndef WF_BPF_IDENTITY_H
#define WF_BPF_IDENTITY_H

#include "counters.h"
#include "maps.h"
#include "wf_random.h"

struct wf_ident_key {
	__u64 startup_hash;
	__u32 generation;	/* of the pipeline in force when the connection began */
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, struct wf_ident_key);
	__type(value, __u64);	/* connections seen with this StartupMessage */
} idents SEC(".maps");

struct wf_ident_hash {
	const __u8 *bytes;	/* the chunk's first bytes, in the recorder scratch slot */
	__u32 n;
	__u64 h;
};

/* One byte of FNV-1a; a bpf_loop callback (verified once, whatever the length). */
static long wf_ident_hash_byte(__u32 i, struct wf_ident_hash *c)
{
	if (i >= c->n || i >= WF_IDENT_BYTES)
		return 1;
	c->h = (c->h ^ c->bytes[i]) * WF_FNV_PRIME;
	return 0;
}

/*
 * Names the connection from its client's first chunk longer than 8 bytes
 * (shorter ones are SSLRequest or GSSENCRequest), read into this CPU's
 * recorder scratch slot, which no record is using at this point.
 */
static __noinline void wf_flow_identify(struct __sk_buff *skb, struct wf_flow *f, __u32 off,
					__u32 len, __u32 generation)
{
	struct wf_ident_key key = { .generation = generation };
	__u32 cpu = bpf_get_smp_processor_id();
	struct wf_ident_hash c = { .h = WF_FNV_OFFSET, .n = len };
	struct wf_rec_slot *slot;
	__u64 one = 1, rank = 0, *seen;

	if (len <= 8 || f->ident)
		return;
	slot = bpf_map_lookup_elem(&rec_scratch, &cpu);
	if (!slot)
		return;
	if (c.n > WF_IDENT_BYTES)
		c.n = WF_IDENT_BYTES;
	if (bpf_skb_load_bytes(skb, off, slot->data, c.n))
		return;
	c.bytes = slot->data;
	bpf_loop(WF_IDENT_BYTES, wf_ident_hash_byte, &c, 0);
	key.startup_hash = c.h;
	seen = bpf_map_lookup_elem(&idents, &key);
	if (seen)
		rank = __sync_fetch_and_add(seen, 1);
	else if (bpf_map_update_elem(&idents, &key, &one, BPF_NOEXIST))
		/* another CPU inserted it first */
		if ((seen = bpf_map_lookup_elem(&idents, &key)))
			rank = __sync_fetch_and_add(seen, 1);
	f->ident = wf_ident_of(c.h, rank);
}

#endif /* WF_BPF_IDENTITY_H */
