/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Counters the loader keeps in the tc program's counters map (the entries
 * after "counted by the loader" in include/wf_counters.h), so that
 * `wirefault status` and bpftool show one list.  The loader is the only
 * writer of those entries; it keeps its count in the first CPU's slot.
 */
#ifndef WF_LOADER_COUNTERS_H
#define WF_LOADER_COUNTERS_H

#include <stdint.h>

#include "wf_counters.h"

void wf_counter_add(int counters_fd, enum wf_counter c, uint64_t n);

#endif /* WF_LOADER_COUNTERS_H */
