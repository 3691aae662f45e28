// SPDX-License-Identifier: GPL-2.0
#include "control_client.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "control_server.h"
#include "instance_lock.h"
#include "log.h"

static int read_line(int fd, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		if (buf[n] == '\n') {
			buf[n] = '\0';
			return 0;
		}
		n++;
	}
	return -EPROTO;
}

int wf_control_request(const char *request)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct wf_instance_info info;
	const char *path = wf_control_path();
	char status[512];
	int fd, err, running = wf_instance_probe(&info);

	if (running == 1 && info.control[0])
		path = info.control;
	else if (running == 1)
		wf_info("the running loader (pid %d) published no control socket; trying %s",
			(int)info.pid, path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		wf_err("socket: %s", strerror(errno));
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		err = errno;
		if (running == 0)
			wf_err("no wirefault loader is running (start one with 'wirefault run --port PORT')");
		else if (err == EACCES || err == EPERM)
			wf_err("cannot connect to %s: %s (the loader's user or root only)", path,
			       strerror(err));
		else
			wf_err("cannot connect to the loader's control socket %s: %s", path, strerror(err));
		close(fd);
		return -1;
	}
	if (dprintf(fd, "%s\n", request) < 0) {
		wf_err("cannot send to %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	err = read_line(fd, status, sizeof(status));
	if (err) {
		wf_err("the loader did not answer: %s", strerror(-err));
		close(fd);
		return -1;
	}
	if (strcmp(status, "ok")) {
		wf_err("the loader refused: %s", !strncmp(status, "error: ", 7) ? status + 7 : status);
		close(fd);
		return -1;
	}
	return fd;
}

int wf_control_print(const char *request, int line_buffered, const char *what)
{
	int fd = wf_control_request(request), err;

	if (fd < 0)
		return WF_EXIT_FAILURE;
	if (line_buffered)
		setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_DFL);
	err = wf_control_copy(fd, stdout);
	close(fd);
	if (err && err != -EINTR) {
		wf_err("%s: %s", what, strerror(-err));
		return WF_EXIT_FAILURE;
	}
	return WF_EXIT_OK;
}

int wf_control_copy(int fd, FILE *out)
{
	char buf[65536];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return fflush(out) ? -errno : 0;
		if (fwrite(buf, 1, (size_t)n, out) != (size_t)n)
			return -errno ? -errno : -EIO;
	}
}

int wf_control_read_section(FILE *in, const char *name, FILE *out)
{
	size_t name_len = strlen(name);
	unsigned long long len;
	char header[64], *end;
	char buf[65536];

	if (!fgets(header, sizeof(header), in) || strncmp(header, name, name_len) ||
	    header[name_len] != ' ')
		return -EPROTO;
	errno = 0;
	len = strtoull(header + name_len + 1, &end, 10);
	if (errno || *end != '\n')
		return -EPROTO;
	while (len) {
		size_t n = fread(buf, 1, len < sizeof(buf) ? (size_t)len : sizeof(buf), in);

		if (!n)
			return -EPROTO;
		if (fwrite(buf, 1, n, out) != n)
			return -EIO;
		len -= n;
	}
	return fflush(out) ? -errno : 0;
}
