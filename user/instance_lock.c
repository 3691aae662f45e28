// SPDX-License-Identifier: GPL-2.0
#include "instance_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

const char *wf_lock_path(void)
{
	const char *p = getenv("WIREFAULT_LOCK");

	return p && *p ? p : WF_LOCK_PATH_DEFAULT;
}

static void parse_info(int fd, struct wf_instance_info *info)
{
	char buf[2048];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	memset(info, 0, sizeof(*info));
	if (n <= 0)
		return;
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq++ = '\0';
		if (!strcmp(line, "pid"))
			info->pid = (pid_t)strtol(eq, NULL, 10);
		else if (!strcmp(line, "port"))
			info->port = (unsigned int)strtoul(eq, NULL, 10);
		else if (!strcmp(line, "ports"))
			snprintf(info->ports, sizeof(info->ports), "%s", eq);
		else if (!strcmp(line, "proxy_port"))
			info->proxy_port = (unsigned int)strtoul(eq, NULL, 10);
		else if (!strcmp(line, "proxy_ports"))
			snprintf(info->proxy_ports, sizeof(info->proxy_ports), "%s", eq);
		else if (!strcmp(line, "cgroup"))
			snprintf(info->cgroup, sizeof(info->cgroup), "%s", eq);
		else if (!strcmp(line, "control"))
			snprintf(info->control, sizeof(info->control), "%s", eq);
		else if (!strcmp(line, "pcap"))
			snprintf(info->pcap, sizeof(info->pcap), "%s", eq);
		else if (!strcmp(line, "fifo"))
			snprintf(info->fifo, sizeof(info->fifo), "%s", eq);
		else if (!strcmp(line, "fifo_created"))
			info->fifo_created = !strcmp(eq, "1");
		else if (!strcmp(line, "ifaces"))
			snprintf(info->ifaces, sizeof(info->ifaces), "%s", eq);
		else if (!strcmp(line, "started"))
			info->started = strtoll(eq, NULL, 10);
	}
}

int wf_instance_lock(struct wf_instance_info *holder)
{
	int fd = open(wf_lock_path(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	/* Read first: on success this is what a dead loader left behind. */
	if (holder)
		parse_info(fd, holder);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		if (holder && err == -EBUSY)
			parse_info(fd, holder);	/* the holder may have written meanwhile */
		close(fd);
		return err;
	}
	return fd;
}

int wf_instance_publish(int lock_fd, const struct wf_instance_info *info)
{
	char buf[2048];
	int n = snprintf(buf, sizeof(buf),
			 "pid=%d\nport=%u\nports=%s\nproxy_port=%u\nproxy_ports=%s\ncgroup=%s\ncontrol=%s\npcap=%s\nfifo=%s\nfifo_created=%d\nifaces=%s\nstarted=%lld\n",
			 (int)info->pid, info->port, info->ports[0] ? info->ports : "", info->proxy_port, info->proxy_ports, info->cgroup, info->control,
			 info->pcap, info->fifo,
			 info->fifo_created ? 1 : 0, info->ifaces, info->started);

	if (ftruncate(lock_fd, 0) < 0 || pwrite(lock_fd, buf, (size_t)n, 0) != n)
		return -errno;
	return 0;
}

int wf_instance_probe(struct wf_instance_info *info)
{
	int fd = open(wf_lock_path(), O_RDONLY | O_CLOEXEC);
	int running;

	memset(info, 0, sizeof(*info));
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	parse_info(fd, info);
	/* A shared lock is granted only when no loader holds the exclusive one. */
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		running = 0;
	} else {
		running = errno == EWOULDBLOCK ? 1 : -errno;
	}
	close(fd);
	return running;
}

void wf_instance_unlock(int lock_fd)
{
	if (lock_fd < 0)
		return;
	if (ftruncate(lock_fd, 0) < 0) {
		/* nothing useful to do: the lock is released by close() anyway */
	}
	flock(lock_fd, LOCK_UN);
	close(lock_fd);
}
