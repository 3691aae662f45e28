/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Subcommands of the wirefault program (one file each: cmd_NAME.c) and the
 * exit statuses they share.
 */
#ifndef WF_CLI_H
#define WF_CLI_H

enum wf_exit {
	WF_EXIT_OK = 0,
	WF_EXIT_FAILURE = 1,	/* the operation failed (error printed) */
	WF_EXIT_USAGE = 2,	/* bad command line */
	WF_EXIT_NOT_RUNNING = 3,	/* status: no loader is running */
};

#define WF_FIFO_DEFAULT "/tmp/wirefault.fifo"

int wf_cmd_run(int argc, char **argv);
int wf_cmd_send(int argc, char **argv);
int wf_cmd_status(int argc, char **argv);
int wf_cmd_cleanup(int argc, char **argv);
int wf_cmd_check(int argc, char **argv);
int wf_cmd_dump(int argc, char **argv);
int wf_cmd_watch(int argc, char **argv);
int wf_cmd_decisions(int argc, char **argv);
int wf_cmd_decode(int argc, char **argv);

/* Strict number parsing for options: the whole string, within [min, max]. */
int wf_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);

/*
 * argp parser of the commands whose one option is --json/-j ('j') and
 * which take no argument (watch, decisions): state->input is a bool *.
 */
struct argp_state;
int wf_json_flag_parse(int key, char *arg, struct argp_state *state);

#endif /* WF_CLI_H */
