/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CLOCK_MONOTONIC, the clock of bpf_ktime_get_ns() and of Linux's TCP
 * timestamps: times the kernel side writes compare with these directly.
 */
#ifndef WF_MONO_CLOCK_H
#define WF_MONO_CLOCK_H

#include <stdint.h>

uint64_t wf_now_ns(void);
long long wf_now_ms(void);

#endif /* WF_MONO_CLOCK_H */
