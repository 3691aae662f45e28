// SPDX-License-Identifier: GPL-2.0
#include "mono_clock.h"

#include <time.h>

uint64_t wf_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

long long wf_now_ms(void)
{
	return (long long)(wf_now_ns() / 1000000u);
}
