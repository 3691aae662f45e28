/* SPDX-License-Identifier: GPL-2.0 */
/* Outcome counters (include/wf_counters.h): one per-CPU slot per counter. */
#ifndef WF_BPF_COUNTERS_H
#define WF_BPF_COUNTERS_H

#include "maps.h"

static __always_inline void wf_count_n(enum wf_counter c, __u64 n)
{
	__u32 key = c;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);

	/* Per-CPU: no other writer, a plain add is exact. */
	if (v)
		*v += n;
}

static __always_inline void wf_count(enum wf_counter c)
{
	wf_count_n(c, 1);
}

#endif /* WF_BPF_COUNTERS_H */
