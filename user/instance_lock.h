/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One loader per machine: the BPF programs, pins and FIFO are global, so a
 * second `wirefault run` must refuse instead of fighting the first.
 *
 * The lock is an flock() on /run/wirefault.lock (like iptables' xtables.lock
 * the file itself stays; the kernel drops the lock when the holder dies, even
 * by SIGKILL).  The holder writes its description into the file so that
 * `wirefault status`, `cleanup` and a refused second loader can name it.
 */
#ifndef WF_INSTANCE_LOCK_H
#define WF_INSTANCE_LOCK_H

#include <stdbool.h>
#include <sys/types.h>

#define WF_LOCK_PATH_DEFAULT "/run/wirefault.lock"

/* What a running loader publishes about itself. */
struct wf_instance_info {
	pid_t pid;
	unsigned int port;	/* the first followed port */
	char ports[64];		/* every followed port, comma-separated */
	unsigned int proxy_port;	/* virtual proxy port, 0 if none */
	char proxy_ports[64];	/* every virtual port, comma-separated, in front of ports' */
	char cgroup[512];	/* where the cgroup programs are attached, "" if none */
	char control[108];	/* the control socket (dump, watch), "" if none */
	char pcap[256];		/* the live capture (run --pcap), "" if none */
	char fifo[256];
	bool fifo_created;	/* the loader created the FIFO and will remove it */
	char ifaces[256];	/* comma-separated */
	long long started;	/* unix time */
};

/* Path of the lock file (env WIREFAULT_LOCK overrides, for tests). */
const char *wf_lock_path(void);

/*
 * Take the lock.  Returns an fd (keep it open for the life of the loader),
 * -EBUSY if another loader holds it, or another -errno.  *holder receives the
 * description in the file: the running loader's on -EBUSY, what a dead
 * loader left on success (pid 0 if nothing).
 */
int wf_instance_lock(struct wf_instance_info *holder);

/* Publish our description into the held lock file. */
int wf_instance_publish(int lock_fd, const struct wf_instance_info *info);

/*
 * Is a loader running?  1 yes (and *info filled), 0 no (and *info holds the
 * last description a dead loader left, if any: info->pid != 0), -errno.
 */
int wf_instance_probe(struct wf_instance_info *info);

/* Release: empty the description and unlock. */
void wf_instance_unlock(int lock_fd);

#endif /* WF_INSTANCE_LOCK_H */
