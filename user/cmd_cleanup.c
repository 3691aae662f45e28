// SPDX-License-Identifier: GPL-2.0
/*
 * `wirefault cleanup`: remove what a crashed loader left (pins, links that
 * somebody else's fd kept alive, a FIFO it had created).  Refuses while a
 * loader runs: those objects are in use.
 */
#include <argp.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "control_server.h"
#include "instance_lock.h"
#include "leftovers.h"
#include "log.h"

static const struct argp cleanup_argp = {
	NULL, NULL, NULL,
	"Remove everything a crashed wirefault loader left behind: pinned maps under " WF_PIN_DIR ", "
	"BPF links of wirefault's programs, and the FIFO it had created.\n"
	"\v"
	"Exit status: 0 when nothing of wirefault's remains, 1 if a loader is running or removal failed.",
	NULL, NULL, NULL,
};

int wf_cmd_cleanup(int argc, char **argv)
{
	struct wf_instance_info dead;
	int lock_fd, links, pins, sock;
	struct stat st;

	if (argp_parse(&cleanup_argp, argc, argv, 0, NULL, NULL))
		return WF_EXIT_USAGE;
	/* Holding the lock guarantees no loader starts while we sweep. */
	lock_fd = wf_instance_lock(&dead);
	if (lock_fd == -EBUSY) {
		wf_err("a wirefault loader is running (pid %d, port %u): stop it instead (it cleans up after itself)",
		       (int)dead.pid, dead.port);
		return WF_EXIT_FAILURE;
	}
	if (lock_fd < 0) {
		wf_err("failed to take the instance lock %s: %s%s", wf_lock_path(), strerror(-lock_fd),
		       lock_fd == -EACCES ? " (wirefault cleanup needs root)" : "");
		return WF_EXIT_FAILURE;
	}
	links = wf_links_detach_all();
	pins = wf_pins_remove();
	if (dead.pid && dead.fifo_created && stat(dead.fifo, &st) == 0 && S_ISFIFO(st.st_mode) &&
	    unlink(dead.fifo) == 0)
		printf("removed FIFO %s\n", dead.fifo);
	sock = wf_control_remove_stale(dead.control[0] ? dead.control : wf_control_path());
	if (sock > 0)
		printf("removed control socket %s\n", dead.control[0] ? dead.control : wf_control_path());
	wf_instance_unlock(lock_fd);
	if (links < 0)
		wf_err("failed to list BPF links: %s%s", strerror(-links), links == -EPERM ? " (need root)" : "");
	else if (links > 0)
		printf("detached %d link(s)\n", links);
	if (pins < 0)
		wf_err("failed to remove %s: %s", WF_PIN_DIR, strerror(-pins));
	else if (pins > 0)
		printf("removed %s (%d object(s))\n", WF_PIN_DIR, pins - 1);
	if (links == 0 && pins == 0 && sock <= 0)
		printf("nothing to clean up\n");
	return links < 0 || pins < 0 ? WF_EXIT_FAILURE : WF_EXIT_OK;
}
