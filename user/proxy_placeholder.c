// SPDX-License-Identifier: GPL-2.0
#include "proxy_placeholder.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

/* Warnings about connections from outside the hooked cgroup: at most this many. */
#define STRAY_WARNINGS_MAX 5

static int bind_port(unsigned int port)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	int one = 1, zero = 0, err;
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool v6 = fd >= 0;

	if (!v6 && errno == EAFNOSUPPORT)
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* SO_REUSEADDR only skips TIME-WAIT leftovers: a listener still conflicts. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    (v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero))) ||
	    (v6 ? bind(fd, (struct sockaddr *)&a6, sizeof(a6)) : bind(fd, (struct sockaddr *)&a4, sizeof(a4)))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Inodes of the listening sockets on port, from /proc/net/tcp or tcp6. */
static int listener_inodes(const char *table, unsigned int port, unsigned long *inodes, int max, int n)
{
	FILE *f = fopen(table, "re");
	char line[512];

	if (!f)
		return n;
	while (n < max && fgets(line, sizeof(line), f)) {
		unsigned int lport, state;
		unsigned long inode;
		char local[64];

		/* "  0: 00000000:2364 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000 0 12345 ..." */
		if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*u %*d %lu", local, &lport, &state,
			   &inode) == 4 &&
		    lport == port && state == 0x0A /* TCP_LISTEN */ && inode)
			inodes[n++] = inode;
	}
	fclose(f);
	return n;
}

/* "pid 123 (mitmdump)" for the process holding a listener on port, if we may see it. */
static bool port_owner(unsigned int port, char *buf, size_t size)
{
	unsigned long inodes[8];
	int n = listener_inodes("/proc/net/tcp", port, inodes, 8, 0);
	DIR *proc;
	struct dirent *de;
	bool found = false;

	n = listener_inodes("/proc/net/tcp6", port, inodes, 8, n);
	if (!n || !(proc = opendir("/proc")))
		return false;
	while (!found && (de = readdir(proc))) {
		char path[64], link[64], comm[64] = "?";
		struct dirent *fe;
		int pid = atoi(de->d_name);
		DIR *fds;

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", pid);
		fds = opendir(path);
		if (!fds)
			continue;
		while (!found && (fe = readdir(fds))) {
			char fdpath[96];
			unsigned long ino;
			ssize_t len;

			snprintf(fdpath, sizeof(fdpath), "%s/%d", path, atoi(fe->d_name));
			len = readlink(fdpath, link, sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = '\0';
			if (sscanf(link, "socket:[%lu]", &ino) != 1)
				continue;
			for (int i = 0; i < n; i++)
				found |= ino == inodes[i];
		}
		closedir(fds);
		if (found) {
			FILE *c;

			snprintf(path, sizeof(path), "/proc/%d/comm", pid);
			if ((c = fopen(path, "re"))) {
				if (fgets(comm, sizeof(comm), c))
					comm[strcspn(comm, "\n")] = '\0';
				fclose(c);
			}
			snprintf(buf, size, "pid %d (%.63s)", pid, comm);
		}
	}
	closedir(proc);
	return found;
}

/* The holder keeps no privilege: under sudo it becomes the invoking user. */
static void drop_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];
	const char *sudo_uid = getenv("SUDO_UID"), *sudo_gid = getenv("SUDO_GID");

	if (getuid() == 0 && sudo_uid && sudo_gid) {
		uid_t uid = (uid_t)strtoul(sudo_uid, NULL, 10);
		gid_t gid = (gid_t)strtoul(sudo_gid, NULL, 10);

		if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
			wf_warn("proxy placeholder: cannot become uid %u: %s", (unsigned int)uid, strerror(errno));
	}
	memset(none, 0, sizeof(none));
	if (syscall(SYS_capset, &hdr, none))
		wf_warn("proxy placeholder: cannot drop capabilities: %s", strerror(errno));
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	/* now lsof run by the same user may read our /proc/PID/fd */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
}

/* Closes every descriptor but keep_a, keep_b and keep_c (and stdio). */
static void close_other_fds(int keep_a, int keep_b, int keep_c)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (fd > 2 && fd != keep_a && fd != keep_b && fd != keep_c && fd != dirfd(d))
			close(fd);
	}
	closedir(d);
}

static void __attribute__((noreturn))
holder_main(int lfd, int alive_fd, int go_fd, pid_t loader, unsigned int port)
{
	int warnings = 0;
	sigset_t none;
	char go;

	close_other_fds(lfd, alive_fd, go_fd);
	/* The loader stops us; SIGINT/SIGTERM to the process group (Citus'
	 * harness) are the loader's to handle. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	drop_privileges();
	/* after the credential change, which would clear it */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (getppid() != loader)
		_exit(0);
	prctl(PR_SET_NAME, "wirefault-vport", 0, 0, 0);
	/* The loader says when the socket listens (EOF: it gave up). */
	if (read(go_fd, &go, 1) != 1)
		_exit(0);
	close(go_fd);

	for (;;) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		struct sockaddr_in6 from;
		socklen_t len = sizeof(from);
		int c;

		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			_exit(1);
		c = accept4(lfd, (struct sockaddr *)&from, &len, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		if (warnings < STRAY_WARNINGS_MAX) {
			warnings++;
			wf_warn("a connection to proxy port %u came from outside the hooked cgroup and was "
				"closed (not redirected, not faulted); run the client in wirefault's cgroup "
				"or use --cgroup%s",
				port, warnings == STRAY_WARNINGS_MAX ? " (further ones are closed silently)" : "");
		}
		close(c);
	}
}

int wf_placeholder_start(struct wf_placeholder *ph, unsigned int port)
{
	int alive[2], go[2], lfd;
	pid_t loader = getpid(), pid;
	char owner[128];

	ph->pid = 0;
	ph->watch_fd = ph->listen_fd = ph->go_fd = -1;
	ph->port = port;
	lfd = bind_port(port);
	if (lfd == -EADDRINUSE) {
		if (port_owner(port, owner, sizeof(owner)))
			wf_err("proxy port %u is in use by %s: wirefault never redirects a port another "
			       "program owns; stop it or choose another --proxy-port", port, owner);
		else
			wf_err("proxy port %u is in use by another program (`lsof -i :%u` as root names "
			       "it): wirefault never redirects a port another program owns; stop it or "
			       "choose another --proxy-port", port, port);
		return lfd;
	}
	if (lfd < 0) {
		wf_err("cannot bind proxy port %u: %s", port, strerror(-lfd));
		return lfd;
	}
	if (pipe2(alive, O_CLOEXEC) < 0) {
		int err = -errno;

		wf_err("pipe failed: %s", strerror(-err));
		close(lfd);
		return err;
	}
	if (pipe2(go, O_CLOEXEC) < 0) {
		int err = -errno;

		wf_err("pipe failed: %s", strerror(-err));
		close(lfd);
		close(alive[0]);
		close(alive[1]);
		return err;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		wf_err("cannot start the proxy placeholder process: %s", strerror(-err));
		close(lfd);
		close(alive[0]);
		close(alive[1]);
		close(go[0]);
		close(go[1]);
		return err;
	}
	if (pid == 0) {
		close(alive[0]);
		close(go[1]);
		holder_main(lfd, alive[1], go[0], loader, port);
	}
	close(alive[1]);
	close(go[0]);
	ph->pid = pid;
	ph->watch_fd = alive[0];
	ph->listen_fd = lfd;
	ph->go_fd = go[1];
	wf_debug("proxy port %u: bound; placeholder process pid %d", port, (int)pid);
	return 0;
}

int wf_placeholder_listen(struct wf_placeholder *ph)
{
	int err = 0;

	if (listen(ph->listen_fd, 64) < 0) {
		err = -errno;
		wf_err("cannot listen on proxy port %u: %s", ph->port, strerror(-err));
	} else if (write(ph->go_fd, "g", 1) != 1) {
		err = -errno;
		wf_err("the proxy placeholder process is gone: %s", strerror(-err));
	}
	/* from now on the holder alone keeps the socket */
	close(ph->listen_fd);
	close(ph->go_fd);
	ph->listen_fd = ph->go_fd = -1;
	return err;
}

void wf_placeholder_stop(struct wf_placeholder *ph)
{
	if (ph->pid > 0) {
		kill(ph->pid, SIGKILL);
		while (waitpid(ph->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	if (ph->watch_fd >= 0)
		close(ph->watch_fd);
	if (ph->listen_fd >= 0)
		close(ph->listen_fd);
	if (ph->go_fd >= 0)
		close(ph->go_fd);
	ph->pid = 0;
	ph->watch_fd = ph->listen_fd = ph->go_fd = -1;
}
