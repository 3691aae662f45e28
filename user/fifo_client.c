// SPDX-License-Identifier: GPL-2.0
#include "fifo_client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "copy_text.h"
#include "mono_clock.h"
#include "fifo_server.h"

static void on_alarm(int sig)
{
	(void)sig;	/* only interrupts a blocking open() */
}

/*
 * Blocking open, like COPY's: for the read end this waits until the server
 * opens its write end, which it does only after it has read our command to
 * EOF.  A non-blocking read end opened earlier could read our own command
 * back.  SIGALRM bounds the wait.
 */
static int open_with_timeout(const char *path, int flags, long long deadline_ms)
{
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	long long left = deadline_ms - wf_now_ms();
	int fd;

	if (left <= 0)
		return -ETIMEDOUT;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, &old);	/* no SA_RESTART: open() returns EINTR */
	alarm((unsigned int)((left + 999) / 1000));
	fd = open(path, flags | O_CLOEXEC);
	int err = errno;
	alarm(0);
	sigaction(SIGALRM, &old, NULL);
	if (fd < 0)
		return err == EINTR ? -ETIMEDOUT : -err;
	return fd;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int wf_fifo_send(const char *path, const char *command, int timeout_ms, char **answer, size_t *answer_len)
{
	long long deadline = wf_now_ms() + timeout_ms;
	char *encoded, *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int fd, err;

	*answer = NULL;
	*answer_len = 0;
	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISFIFO(st.st_mode))
		return -EINVAL;
	encoded = wf_copy_text_escape(command, strlen(command));
	if (!encoded)
		return -ENOMEM;
	fd = open_with_timeout(path, O_WRONLY, deadline);
	if (fd < 0) {
		free(encoded);
		return fd;
	}
	err = write_all(fd, encoded, strlen(encoded));
	if (!err)
		err = write_all(fd, "\n", 1);
	close(fd);
	free(encoded);
	if (err)
		return err;

	fd = open_with_timeout(path, O_RDONLY, deadline);
	if (fd < 0)
		return fd;
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? 2 * cap : 8192);

			if (!nb) {
				err = -ENOMEM;
				break;
			}
			buf = nb;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - wf_now_ms();

		if (left <= 0 || poll(&pfd, 1, (int)left) == 0) {
			err = -ETIMEDOUT;
			break;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	if (!buf && !(buf = malloc(1)))
		return -ENOMEM;
	buf[len] = '\0';
	*answer = buf;
	*answer_len = len;
	return 0;
}
