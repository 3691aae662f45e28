// SPDX-License-Identifier: GPL-2.0
#include "leftovers.h"

#include <bpf/bpf.h>
#include <dirent.h>
#include <errno.h>
#include <linux/magic.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

int wf_bpffs_ensure(void)
{
	struct statfs st;

	if (statfs(WF_BPFFS_ROOT, &st) == 0 && st.f_type == BPF_FS_MAGIC)
		return 0;
	if (mkdir(WF_BPFFS_ROOT, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (mount("bpf", WF_BPFFS_ROOT, "bpf", 0, "mode=0700") < 0)
		return -errno;
	return 0;
}

int wf_pins_remove(void)
{
	DIR *d = opendir(WF_PIN_DIR);
	struct dirent *de;
	int removed = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	if (rmdir(WF_PIN_DIR) < 0)
		return -errno;
	return removed + 1;
}

static int describe_link(unsigned int id, struct wf_link_desc *desc)
{
	struct bpf_link_info info;
	struct bpf_prog_info pinfo;
	__u32 len = sizeof(info);
	int fd, pfd, err;

	fd = bpf_link_get_fd_by_id(id);
	if (fd < 0)
		return -errno;
	memset(&info, 0, sizeof(info));
	err = bpf_obj_get_info_by_fd(fd, &info, &len);
	close(fd);
	if (err)
		return -errno;
	memset(desc, 0, sizeof(*desc));
	desc->id = id;
	desc->type = info.type;
	/* tcx link info is { ifindex, attach_type } at the start of the union,
	 * where libbpf 1.1's headers (which predate tcx) have xdp.ifindex. */
	desc->ifindex = info.xdp.ifindex;
	pfd = bpf_prog_get_fd_by_id(info.prog_id);
	if (pfd < 0)
		return -errno;
	len = sizeof(pinfo);
	memset(&pinfo, 0, sizeof(pinfo));
	err = bpf_obj_get_info_by_fd(pfd, &pinfo, &len);
	close(pfd);
	if (err)
		return -errno;
	memcpy(desc->prog_name, pinfo.name, sizeof(desc->prog_name) - 1);
	return 0;
}

int wf_links_foreach(void (*fn)(const struct wf_link_desc *link, void *ctx), void *ctx)
{
	__u32 id = 0;
	int n = 0;

	for (;;) {
		struct wf_link_desc desc;

		if (bpf_link_get_next_id(id, &id)) {
			if (errno == ENOENT)
				break;
			return -errno;
		}
		if (describe_link(id, &desc) < 0)
			continue;	/* gone meanwhile, or not readable */
		if (strncmp(desc.prog_name, WF_PROG_PREFIX, strlen(WF_PROG_PREFIX)))
			continue;
		if (fn)
			fn(&desc, ctx);
		n++;
	}
	return n;
}

static void detach_one(const struct wf_link_desc *link, void *ctx)
{
	int *detached = ctx;
	int fd = bpf_link_get_fd_by_id(link->id);

	if (fd < 0)
		return;
	if (bpf_link_detach(fd) == 0)
		(*detached)++;
	close(fd);
}

int wf_links_detach_all(void)
{
	int detached = 0;
	int n = wf_links_foreach(detach_one, &detached);

	return n < 0 ? n : detached;
}

void wf_links_print(FILE *out, const struct wf_link_desc *link)
{
	char ifname[IF_NAMESIZE] = "?";

	if (link->type == 11 /* BPF_LINK_TYPE_TCX */) {
		if (!if_indextoname(link->ifindex, ifname))
			snprintf(ifname, sizeof(ifname), "ifindex %u", link->ifindex);
		fprintf(out, "  link %u: tcx ingress on %s (%s)\n", link->id, ifname, link->prog_name);
	} else if (link->type == 3 /* BPF_LINK_TYPE_CGROUP */) {
		fprintf(out, "  link %u: cgroup (%s)\n", link->id, link->prog_name);
	} else {
		fprintf(out, "  link %u: type %u (%s)\n", link->id, link->type, link->prog_name);
	}
}
