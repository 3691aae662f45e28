// SPDX-License-Identifier: GPL-2.0
#include "killall_sweep.h"

#include <bpf/bpf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "loader_counters.h"
#include "log.h"
#include "packet_send.h"
#include "sock_diag.h"
#include "tcp_frame.h"
#include "wf_vport.h"

/* With a virtual proxy port, only connections made through it are killall()'s. */
static bool followed(int vconns_fd, const struct wf_flow_key *key)
{
	struct wf_vconn vc;

	return vconns_fd < 0 || bpf_map_lookup_elem(vconns_fd, key, &vc) == 0;
}

int wf_killall_sweep(struct wf_packet_sender *ps, unsigned int port, unsigned int ifindex,
		     int counters_fd, int vconns_fd)
{
	struct wf_flow_key *keys;
	size_t n;
	int err, probed = 0;

	err = wf_sock_diag_established((uint16_t)port, &keys, &n);
	if (err)
		return err;
	wf_counter_add(counters_fd, WF_CNT_KILLALL_SWEEPS, 1);
	for (size_t i = 0; i < n; i++) {
		uint8_t frame[WF_TCP_SYN_FRAME_MAX];
		uint32_t seq = 0;
		int len;

		if (!followed(vconns_fd, &keys[i]))
			continue;
		/* Any seq will do: an established socket answers every SYN with a
		 * challenge ACK; a random one cannot collide with a real ISN by design. */
		if (getrandom(&seq, sizeof(seq), GRND_NONBLOCK) != (ssize_t)sizeof(seq))
			seq = (uint32_t)rand();
		len = wf_tcp_frame_build_syn(frame, sizeof(frame), &keys[i], seq);
		if (len < 0) {
			wf_warn("killall: cannot build a probe: %s", strerror(-len));
			continue;
		}
		err = wf_packet_send_frame(ps, (int)ifindex, frame, (size_t)len);
		if (err) {
			wf_warn("killall: sending a probe failed: %s", strerror(-err));
			continue;
		}
		probed++;
	}
	free(keys);
	wf_counter_add(counters_fd, WF_CNT_KILLALL_PROBES, (uint64_t)probed);
	wf_info("killall: probed %d established connection(s) of port %u", probed, port);
	return probed;
}
