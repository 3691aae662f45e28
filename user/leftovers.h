/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What a loader owns in the kernel outside its own fds, found and removed by
 * `wirefault cleanup`, by `wirefault run` on start, and listed by `status`:
 * the pin directory /sys/fs/bpf/wirefault/ and any BPF link whose program is
 * one of ours (name prefix "wf_").  Links are fd-owned and vanish with the
 * process; one that is still there after its loader died means some other
 * process holds its fd (a debugger, a leaked fork) and is detached by id.
 */
#ifndef WF_LEFTOVERS_H
#define WF_LEFTOVERS_H

#include <stdbool.h>
#include <stdio.h>

#define WF_BPFFS_ROOT	"/sys/fs/bpf"
#define WF_PIN_DIR	WF_BPFFS_ROOT "/wirefault"
#define WF_PROG_PREFIX	"wf_"

/* Mount bpffs on /sys/fs/bpf if it is not there yet.  0 or -errno. */
int wf_bpffs_ensure(void);

/* Remove the pin directory and everything in it.  Returns the number of
 * objects removed (0 if there was none) or -errno. */
int wf_pins_remove(void);

struct wf_link_desc {
	unsigned int id;
	unsigned int type;	/* enum bpf_link_type: 11 = tcx, 3 = cgroup */
	unsigned int ifindex;	/* tcx links */
	char prog_name[16];
};

/* Call fn for every link of ours; returns how many, or -errno. */
int wf_links_foreach(void (*fn)(const struct wf_link_desc *link, void *ctx), void *ctx);

/* Detach every link of ours by id.  Returns how many were detached or -errno. */
int wf_links_detach_all(void);

/* Print one line per link of ours to out ("  link 12: tcx ingress on lo (wf_tc_ingress)"). */
void wf_links_print(FILE *out, const struct wf_link_desc *link);

#endif /* WF_LEFTOVERS_H */
