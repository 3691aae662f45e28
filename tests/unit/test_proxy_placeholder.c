// SPDX-License-Identifier: GPL-2.0
/*
 * The placeholder listener of the virtual proxy port (user/proxy_placeholder.c):
 * a taken port is refused (and its owner named), the port is bound but
 * refuses connections until wf_placeholder_listen(), then the holder process
 * accepts and closes them; the holder has no capabilities, is dumpable (so
 * its owner's lsof sees the socket), ignores SIGINT/SIGTERM (the loader's to
 * handle) and dies with its loader; stopping frees the port.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxy_placeholder.h"

/* A port nobody listens on right now (bound by the kernel's choice, then freed). */
static unsigned int free_port(void)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin6_port);
}

/* connect() to 127.0.0.1:port or [::1]:port: 0 or -errno. */
static int try_connect(int family, unsigned int port, int *fd_out)
{
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	int fd = socket(family, SOCK_STREAM, 0), rc;

	assert_true(fd >= 0);
	rc = family == AF_INET ? connect(fd, (struct sockaddr *)&a4, sizeof(a4))
			       : connect(fd, (struct sockaddr *)&a6, sizeof(a6));
	if (rc < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

/* The holder closes what it accepts: the client reads EOF within a second. */
static void assert_closed_by_peer(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char c;

	assert_int_equal(poll(&p, 1, 1000), 1);
	assert_int_equal(read(fd, &c, 1), 0);
	close(fd);
}

/* A line of /proc/PID/status, e.g. "CapEff:\t0000000000000000". */
static void proc_status(pid_t pid, const char *field, char *out, size_t size)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	out[0] = '\0';
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field))) {
			snprintf(out, size, "%s", line + strlen(field));
			out[strcspn(out, "\n")] = '\0';
		}
	fclose(f);
}

static void test_bind_listen_accept_stop(void **state)
{
	struct wf_placeholder ph;
	unsigned int port = free_port();
	char buf[64], path[64];
	int fd;

	assert_int_equal(wf_placeholder_start(&ph, port), 0);
	assert_true(ph.pid > 0);
	/* bound, not listening: refused, over IPv4 and IPv6 */
	assert_int_equal(try_connect(AF_INET, port, &fd), -ECONNREFUSED);
	assert_int_equal(try_connect(AF_INET6, port, &fd), -ECONNREFUSED);
	assert_int_equal(wf_placeholder_listen(&ph), 0);
	assert_int_equal(ph.listen_fd, -1);
	assert_int_equal(try_connect(AF_INET, port, &fd), 0);
	assert_closed_by_peer(fd);
	assert_int_equal(try_connect(AF_INET6, port, &fd), 0);
	assert_closed_by_peer(fd);

	/* the holder: no capabilities, dumpable (its /proc/PID/fd belongs to its uid) */
	proc_status(ph.pid, "CapEff:\t", buf, sizeof(buf));
	assert_string_equal(buf, "0000000000000000");
	proc_status(ph.pid, "CapPrm:\t", buf, sizeof(buf));
	assert_string_equal(buf, "0000000000000000");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)ph.pid);
	{
		FILE *f = fopen(path, "re");

		assert_non_null(f);
		assert_non_null(fgets(buf, sizeof(buf), f));
		fclose(f);
		assert_string_equal(buf, "wirefault-vport\n");
	}
	/* SIGINT/SIGTERM (the harness signals the whole process group) do not stop it */
	kill(ph.pid, SIGINT);
	kill(ph.pid, SIGTERM);
	usleep(50000);
	assert_int_equal(kill(ph.pid, 0), 0);
	assert_int_equal(try_connect(AF_INET, port, &fd), 0);
	assert_closed_by_peer(fd);

	wf_placeholder_stop(&ph);
	assert_int_equal(ph.pid, 0);
	assert_int_equal(try_connect(AF_INET, port, &fd), -ECONNREFUSED);
	/* and the port can be bound again */
	assert_int_equal(wf_placeholder_start(&ph, port), 0);
	wf_placeholder_stop(&ph);
}

static void test_taken_port(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct wf_placeholder ph;
	unsigned int port = free_port();
	int squatter = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_port = htons((uint16_t)port);
	assert_int_equal(bind(squatter, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(squatter, 1), 0);
	/* a listener on one address only still makes the port taken */
	assert_int_equal(wf_placeholder_start(&ph, port), -EADDRINUSE);
	assert_int_equal(ph.pid, 0);
	assert_int_equal(ph.watch_fd, -1);
	wf_placeholder_stop(&ph);	/* harmless after a failed start */
	close(squatter);
}

/* Running (not gone, not a zombie waiting for whoever inherited it). */
static bool alive(pid_t pid)
{
	char path[64], line[256];
	bool running = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;	/* gone */
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "State:\t", 7))
			running = line[7] != 'Z' && line[7] != 'X';
	fclose(f);
	return running;
}

/* The loader (here: a child that started the placeholder) dies: so does the holder. */
static void test_holder_dies_with_loader(void **state)
{
	unsigned int port = free_port();
	int pipefd[2], fd, status;
	pid_t loader, holder = 0;

	assert_int_equal(pipe(pipefd), 0);
	loader = fork();
	assert_true(loader >= 0);
	if (loader == 0) {
		struct wf_placeholder ph;

		if (wf_placeholder_start(&ph, port) || wf_placeholder_listen(&ph))
			_exit(1);
		if (write(pipefd[1], &ph.pid, sizeof(ph.pid)) != (ssize_t)sizeof(ph.pid))
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(pipefd[0], &holder, sizeof(holder)), (ssize_t)sizeof(holder));
	assert_int_equal(try_connect(AF_INET, port, &fd), 0);
	assert_closed_by_peer(fd);
	kill(loader, SIGKILL);
	assert_int_equal(waitpid(loader, &status, 0), loader);
	for (int i = 0; i < 100 && alive(holder); i++)
		usleep(10000);
	assert_false(alive(holder));
	assert_int_equal(try_connect(AF_INET, port, &fd), -ECONNREFUSED);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* The loader learns when the holder dies (its watch fd becomes readable). */
static void test_watch_fd(void **state)
{
	struct wf_placeholder ph;
	struct pollfd p;

	assert_int_equal(wf_placeholder_start(&ph, free_port()), 0);
	assert_int_equal(wf_placeholder_listen(&ph), 0);
	p = (struct pollfd){ .fd = ph.watch_fd, .events = POLLIN };
	assert_int_equal(poll(&p, 1, 0), 0);
	kill(ph.pid, SIGKILL);
	assert_int_equal(poll(&p, 1, 1000), 1);
	wf_placeholder_stop(&ph);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bind_listen_accept_stop),
		cmocka_unit_test(test_taken_port),
		cmocka_unit_test(test_holder_dies_with_loader),
		cmocka_unit_test(test_watch_fd),
	};

	if (geteuid() != 0) {
		/* capset() to nothing works unprivileged too, but the test reads
		 * CapPrm of a process that had capabilities: root only */
		printf("skipped: needs root\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
