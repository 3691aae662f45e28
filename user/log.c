// SPDX-License-Identifier: GPL-2.0
#include "log.h"

#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>

static int verbosity;

void wf_log_set_verbosity(int v)
{
	verbosity = v;
}

int wf_log_verbosity(void)
{
	return verbosity;
}

void wf_log(enum wf_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (verbosity < 0)	/* quiet: the caller reports failures itself */
		return;
	if (level == WF_LOG_DEBUG && verbosity < 1)
		return;
	va_start(ap, fmt);
	fputs(level == WF_LOG_ERROR ? "wirefault: error: " :
	      level == WF_LOG_WARN  ? "wirefault: warning: " : "wirefault: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf's messages are multi-line verifier logs and hints: pass them
	 * through untouched, but only when asked for (warnings always). */
	if (level == LIBBPF_DEBUG && verbosity < 2)
		return 0;
	if (level == LIBBPF_INFO && verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

void wf_log_setup_libbpf(void)
{
	libbpf_set_print(libbpf_print);
}
