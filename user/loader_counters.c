// SPDX-License-Identifier: GPL-2.0
#include "loader_counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdlib.h>

void wf_counter_add(int counters_fd, enum wf_counter c, uint64_t n)
{
	int ncpus = libbpf_num_possible_cpus();
	__u32 key = (__u32)c;
	__u64 *percpu;

	if (counters_fd < 0 || ncpus <= 0)
		return;
	percpu = calloc((size_t)ncpus, sizeof(*percpu));
	if (!percpu)
		return;
	if (bpf_map_lookup_elem(counters_fd, &key, percpu) == 0) {
		percpu[0] += n;
		bpf_map_update_elem(counters_fd, &key, percpu, BPF_EXIST);
	}
	free(percpu);
}
