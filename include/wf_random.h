/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reproducible random decisions: probability(p) and the jitter of
 * delay(ms, jitter).  A decision is not taken from a generator whose state
 * depends on the order in which CPUs happen to evaluate chunks; it is a hash
 * of what names the chunk in any run of the same workload:
 *
 *   wf_draw(seed, ident, dir, message index, salt)
 *     seed     the pipeline's (seed(n), `wirefault run --seed N`, or random,
 *              always shown by `wirefault status`)
 *     ident    struct wf_flow.ident: the connection's StartupMessage and its
 *              rank among connections with the same one
 *     dir      direction of the chunk
 *     message  PostgreSQL messages the direction carried before the chunk
 *     salt     the filter's index (probability) or WF_DRAW_SALT_JITTER
 *
 * So the same seed and workload give the same decisions, connection by
 * connection, whatever the timing; the loader logs each one (`wirefault
 * decisions`) so that a failing run can be compared with its replay.
 * Both the tc program and the loader (tests, the decision log) include this.
 */
#ifndef WF_RANDOM_H
#define WF_RANDOM_H

#include "wf_types.h"

#define WF_DRAW_SALT_JITTER	0xff

/* splitmix64's finalizer: every input bit flips about half the output bits. */
static inline __u64 wf_mix64(__u64 z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A uniform 32-bit draw. */
static inline __u32 wf_draw(__u64 seed, __u64 ident, __u32 dir, __u32 message, __u32 salt)
{
	__u64 h = wf_mix64(seed + 0x9e3779b97f4a7c15ULL);

	h = wf_mix64(h ^ ident);
	h = wf_mix64(h ^ ((__u64)message << 16 | (__u64)(dir & 0xff) << 8 | (salt & 0xff)));
	return (__u32)(h >> 32);
}

/* probability(p) as the program compares it: passes if draw < threshold. */
#define WF_PROBABILITY_ONE	(1ULL << 32)

/* delay(ms, jitter): ms - jitter .. ms + jitter, never below 0. */
static inline __s64 wf_jittered_ms(__s64 ms, __u32 jitter, __u32 draw)
{
	__s64 v;

	if (!jitter)
		return ms;
	v = ms - (__s64)jitter + (__s64)(draw % (2 * (__u64)jitter + 1));
	return v < 0 ? 0 : v;
}

/* A StartupMessage's hash (FNV-1a over its first bytes), then its rank mixed in. */
/* A StartupMessage's bytes hashed: room for user, database, options and application_name
 * (libpq puts application_name last, after options that can be long) */
#define WF_IDENT_BYTES		2048
#define WF_FNV_OFFSET		0xcbf29ce484222325ULL
#define WF_FNV_PRIME		0x100000001b3ULL

static inline __u64 wf_ident_of(__u64 startup_hash, __u64 rank)
{
	return wf_mix64(startup_hash ^ wf_mix64(rank + 1)) | 1;
}

#endif /* WF_RANDOM_H */
