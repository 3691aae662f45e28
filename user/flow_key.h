/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A flow key (include/wf_flow.h) as people read it in logs and in
 * `wirefault status`: "127.0.0.1:51234 -> 127.0.0.1:5432",
 * "[::1]:51234 -> [::1]:5432", always client -> server.
 */
#ifndef WF_FLOW_KEY_H
#define WF_FLOW_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "wf_flow.h"

/* Room for the text of any well-formed key: two bracketed IPv6 addresses with ports, and the NUL. */
#define WF_FLOW_KEY_TEXT_MAX	112

/*
 * Writes the key as text into buf (size bytes, truncated to fit, always
 * NUL-terminated when size > 0) and returns buf, so that it can be used as
 * a printf argument.  A key that is not well formed still prints what it
 * holds: an IPv4 key whose addresses are not v4-mapped shows them as IPv6,
 * an unknown family is shown as "family N" in front of IPv6 addresses.
 */
const char *wf_flow_key_format(const struct wf_flow_key *key, char *buf, size_t size);

/* One end of the key, "127.0.0.1:5432" or "[::1]:5432", the same way. */
const char *wf_flow_key_endpoint(const struct wf_flow_key *key, bool server, char *buf, size_t size);

#endif /* WF_FLOW_KEY_H */
