// SPDX-License-Identifier: GPL-2.0
#include "privileges.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Older uapi headers lack the capabilities split out of CAP_SYS_ADMIN in 5.8. */
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const struct {
	int cap;
	const char *name;
	bool mount_only;
} needed[] = {
	{ CAP_BPF, "CAP_BPF", false },			/* load programs, create maps */
	{ CAP_PERFMON, "CAP_PERFMON", false },		/* pointer arithmetic in the verifier, bpf_loop */
	{ CAP_NET_ADMIN, "CAP_NET_ADMIN", false },	/* tcx links, packet-rewriting helpers */
	{ CAP_DAC_OVERRIDE, "CAP_DAC_OVERRIDE", false },	/* pins in root's bpffs, /run lock */
	{ CAP_NET_RAW, "CAP_NET_RAW", false },		/* re-inject held segments, killall probes */
	{ CAP_KILL, "CAP_KILL", false },		/* cancel(pid) of another user's process */
	{ CAP_SYS_ADMIN, "CAP_SYS_ADMIN", true },	/* mount bpffs */
};

int wf_missing_capabilities(bool need_mount, char *buf, size_t size)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	size_t len = 0;
	int missing = 0;

	buf[0] = '\0';
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) < 0)
		return -errno;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		int c = needed[i].cap;

		if (needed[i].mount_only && !need_mount)
			continue;
		if (data[c / 32].effective & (1u << (c % 32)))
			continue;
		missing++;
		if (len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", needed[i].name);
	}
	return missing;
}
