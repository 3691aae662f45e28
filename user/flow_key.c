// SPDX-License-Identifier: GPL-2.0
#include "flow_key.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* ::ffff:0:0/96, the prefix of the v4-mapped form. */
static bool is_v4_mapped(const __u8 addr[16])
{
	static const __u8 prefix[12] = { [10] = 0xff, [11] = 0xff };

	return memcmp(addr, prefix, sizeof(prefix)) == 0;
}

/* One end: "a.b.c.d:port" or "[v6]:port". */
static void format_end(const __u8 addr[16], __u16 port, bool as_v4, char *out, size_t size)
{
	char text[INET6_ADDRSTRLEN];

	/* inet_ntop cannot fail here: the families are valid and text is large
	 * enough for either; "?" only guards against the impossible. */
	if (as_v4) {
		if (!inet_ntop(AF_INET, addr + 12, text, sizeof(text)))
			strcpy(text, "?");
		snprintf(out, size, "%s:%u", text, port);
	} else {
		if (!inet_ntop(AF_INET6, addr, text, sizeof(text)))
			strcpy(text, "?");
		snprintf(out, size, "[%s]:%u", text, port);
	}
}

const char *wf_flow_key_endpoint(const struct wf_flow_key *key, bool server, char *buf, size_t size)
{
	bool as_v4 = key->family == WF_FAMILY_IPV4 && is_v4_mapped(key->client_addr) &&
		     is_v4_mapped(key->server_addr);

	if (size)
		format_end(server ? key->server_addr : key->client_addr,
			   server ? key->server_port : key->client_port, as_v4, buf, size);
	return buf;
}

const char *wf_flow_key_format(const struct wf_flow_key *key, char *buf, size_t size)
{
	char client[INET6_ADDRSTRLEN + 8], server[INET6_ADDRSTRLEN + 8], family[24] = "";
	bool as_v4 = key->family == WF_FAMILY_IPV4 && is_v4_mapped(key->client_addr) &&
		     is_v4_mapped(key->server_addr);

	if (key->family != WF_FAMILY_IPV4 && key->family != WF_FAMILY_IPV6)
		snprintf(family, sizeof(family), "family %u ", key->family);
	format_end(key->client_addr, key->client_port, as_v4, client, sizeof(client));
	format_end(key->server_addr, key->server_port, as_v4, server, sizeof(server));
	if (size)
		snprintf(buf, size, "%s%s -> %s", family, client, server);
	return buf;
}
