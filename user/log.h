/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Diagnostics: short lower-case messages on stderr, prefixed "wirefault: ".
 * wf_debug() prints only with -v; libbpf's own log is routed here too.
 */
#ifndef WF_LOG_H
#define WF_LOG_H

#include <stdbool.h>

enum wf_log_level { WF_LOG_ERROR, WF_LOG_WARN, WF_LOG_INFO, WF_LOG_DEBUG };

void wf_log_set_verbosity(int verbosity);	/* -1 = silent, 0 = errors..info, 1 = +debug, 2 = +libbpf debug */
int wf_log_verbosity(void);
void wf_log(enum wf_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define wf_err(...)   wf_log(WF_LOG_ERROR, __VA_ARGS__)
#define wf_warn(...)  wf_log(WF_LOG_WARN, __VA_ARGS__)
#define wf_info(...)  wf_log(WF_LOG_INFO, __VA_ARGS__)
#define wf_debug(...) wf_log(WF_LOG_DEBUG, __VA_ARGS__)

/* Route libbpf's messages through wf_log (warnings always, debug with -vv). */
void wf_log_setup_libbpf(void);

#endif /* WF_LOG_H */
