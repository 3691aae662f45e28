// SPDX-License-Identifier: GPL-2.0
/*
 * bank: a Jepsen-style bank workload for PostgreSQL, to run through a port
 * that wirefault faults.
 *
 * T threads each run K transfers between N accounts, one after the other,
 * each transfer one transaction: BEGIN; debit; credit (the two rows updated in
 * id order, so that no two transactions deadlock); a row in the `transfers`
 * log; COMMIT.  The transfers of thread t come from a PRNG seeded with
 * (--seed, t) only: which accounts and amounts never depend on timing or on
 * what the faults did.
 *
 * Each connection is named application_name=bank-<thread>-<n>, n counting the
 * thread's connection attempts, so every StartupMessage of a run is distinct
 * and the same in every replay of it.  A transfer whose connection is lost is
 * classified as the client knows it, never more:
 *
 *   failed         the connection was lost (or the server refused) before
 *                  COMMIT was sent: certainly not applied;
 *   indeterminate  COMMIT was sent and no answer came: applied or not, the
 *                  client cannot know (the checker assumes neither);
 *   declined       the debit would have made the balance negative: rolled back.
 *
 * and the thread reconnects (bounded backoff) and goes on with its next
 * transfer.  Client-side deadlines (every statement is awaited at most
 * --timeout + 500 ms), tcp_user_timeout, statement_timeout and
 * idle_in_transaction_session_timeout make sure that a delayed or blackholed
 * connection costs time, never a hang.
 *
 * --check then reads the bank through a direct connection and verifies:
 * the total is N x the initial balance, no balance is negative, every
 * account's balance is its initial one plus the credits minus the debits
 * the transfers log holds (a transfer's updates and its row commit together),
 * and, for the run just made, that the log holds every committed transfer,
 * no failed or declined one, and so between committed and committed +
 * indeterminate transfers.  Exit 1 when anything does not hold.
 */
#include <argp.h>
#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

const char *argp_program_version = "bank (wirefault tests) 0.1";

#define MAX_THREADS	64
#define MAX_TRANSFERS	1000000UL
#define MAX_ACCOUNTS	1000000UL
#define MAX_MONEY	1000000000000UL	/* 10^12: sums of many stay far from overflow */
#define RUN_LABEL_MAX	32

enum outcome { OUT_NOT_RUN, OUT_COMMITTED, OUT_FAILED, OUT_INDETERMINATE, OUT_DECLINED, OUT__N };
static const char *const outcome_name[OUT__N] = {
	[OUT_NOT_RUN] = "not-run",
	[OUT_COMMITTED] = "committed",
	[OUT_FAILED] = "failed",
	[OUT_INDETERMINATE] = "indeterminate",
	[OUT_DECLINED] = "declined",
};

struct opts {
	const char *conninfo;		/* the workload's connections (through the faulted port) */
	const char *check_conninfo;	/* --init, the bank's size, --check (default: conninfo) */
	char *port_conninfo;		/* --port: "host=127.0.0.1 port=P " + --conninfo */
	unsigned long port;
	unsigned long accounts, balance;
	bool accounts_set;
	unsigned long threads, transfers, max_amount;
	unsigned long seed;
	const char *run;
	char run_default[RUN_LABEL_MAX + 1];
	unsigned long timeout_ms, max_retries, max_connect_attempts;
	const char *history;
	bool init, check, plan, verbose;
};

enum {
	OPT_CONNINFO = 1000, OPT_CHECK_CONNINFO, OPT_PORT, OPT_ACCOUNTS, OPT_BALANCE, OPT_THREADS,
	OPT_TRANSFERS, OPT_MAX_AMOUNT, OPT_SEED, OPT_RUN, OPT_TIMEOUT, OPT_MAX_RETRIES,
	OPT_MAX_CONNECT, OPT_HISTORY, OPT_INIT, OPT_CHECK, OPT_PLAN,
};

static const struct argp_option options[] = {
	{ NULL, 0, NULL, 0, "Connections:", 1 },
	{ "conninfo", OPT_CONNINFO, "CONNINFO", 0, "libpq connection string of the workload "
	  "(through the faulted port)", 1 },
	{ "port", OPT_PORT, "PORT", 0, "shorthand: host=127.0.0.1 port=PORT, then --conninfo", 1 },
	{ "check-conninfo", OPT_CHECK_CONNINFO, "CONNINFO", 0, "a direct, unfaulted connection for "
	  "--init, reading the bank's size and --check (default: the workload's)", 1 },
	{ "timeout", OPT_TIMEOUT, "MS", 0, "statement_timeout, idle_in_transaction_session_timeout "
	  "and tcp_user_timeout of the workload's connections; the client waits MS + 500 for any "
	  "answer before it gives the connection up (default 2000)", 1 },
	{ NULL, 0, NULL, 0, "The bank:", 2 },
	{ "init", OPT_INIT, NULL, 0, "(re)create the tables: N accounts of the initial balance, "
	  "an empty transfers log", 2 },
	{ "accounts", OPT_ACCOUNTS, "N", 0, "accounts (--init; default 10)", 2 },
	{ "balance", OPT_BALANCE, "B", 0, "initial balance of every account (--init; default 1000)", 2 },
	{ NULL, 0, NULL, 0, "The workload:", 3 },
	{ "transfers", OPT_TRANSFERS, "K", 0, "run the workload: K transfers per thread", 3 },
	{ "threads", OPT_THREADS, "T", 0, "concurrent threads, one connection each (default 4)", 3 },
	{ "seed", OPT_SEED, "S", 0, "the workload's seed: thread t's transfers depend only on S and t "
	  "(default 1)", 3 },
	{ "max-amount", OPT_MAX_AMOUNT, "A", 0, "amounts are 1..A (default 100)", 3 },
	{ "run", OPT_RUN, "LABEL", 0, "the run's label in the transfers log, [A-Za-z0-9_-], unused "
	  "so far (default seed-S)", 3 },
	{ "max-retries", OPT_MAX_RETRIES, "R", 0, "retries of a transfer after a serialization "
	  "failure or deadlock (default 10)", 3 },
	{ "max-connect-attempts", OPT_MAX_CONNECT, "C", 0, "consecutive failed connection attempts "
	  "after which a thread gives up (default 10; backoff 10 ms doubling to 1 s)", 3 },
	{ "history", OPT_HISTORY, "FILE", 0, "write every transfer and its outcome to FILE: "
	  "'thread seq from to amount outcome connection', in thread and seq order", 3 },
	{ "plan", OPT_PLAN, NULL, 0, "print the transfers the workload would run "
	  "('thread seq from to amount'; --accounts N) and exit, connecting to nothing", 3 },
	{ "verbose", 'v', NULL, 0, "print every lost connection, retry and failed connection attempt",
	  3 },
	{ NULL, 0, NULL, 0, "Checking:", 4 },
	{ "check", OPT_CHECK, NULL, 0, "verify the invariants (after the workload, if any)", 4 },
	{ 0 },
};

static int parse_num(struct argp_state *state, const char *name, const char *arg,
		     unsigned long min, unsigned long max, unsigned long *out)
{
	if (wf_parse_uint(arg, min, max, out))
		argp_error(state, "invalid %s '%s': expected %lu..%lu", name, arg, min, max);
	return 0;
}

static bool valid_label(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > RUN_LABEL_MAX)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	return true;
}

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct opts *o = state->input;

	switch (key) {
	case OPT_CONNINFO:
		o->conninfo = arg;
		break;
	case OPT_CHECK_CONNINFO:
		o->check_conninfo = arg;
		break;
	case OPT_PORT:
		parse_num(state, "port", arg, 1, 65535, &o->port);
		break;
	case OPT_TIMEOUT:
		parse_num(state, "--timeout", arg, 100, 3600000, &o->timeout_ms);
		break;
	case OPT_INIT:
		o->init = true;
		break;
	case OPT_ACCOUNTS:
		parse_num(state, "--accounts", arg, 2, MAX_ACCOUNTS, &o->accounts);
		o->accounts_set = true;
		break;
	case OPT_BALANCE:
		parse_num(state, "--balance", arg, 0, MAX_MONEY, &o->balance);
		break;
	case OPT_TRANSFERS:
		parse_num(state, "--transfers", arg, 1, MAX_TRANSFERS, &o->transfers);
		break;
	case OPT_THREADS:
		parse_num(state, "--threads", arg, 1, MAX_THREADS, &o->threads);
		break;
	case OPT_SEED:
		parse_num(state, "--seed", arg, 0, ULONG_MAX, &o->seed);
		break;
	case OPT_MAX_AMOUNT:
		parse_num(state, "--max-amount", arg, 1, MAX_MONEY, &o->max_amount);
		break;
	case OPT_RUN:
		if (!valid_label(arg))
			argp_error(state, "invalid --run '%s': 1..%d characters of [A-Za-z0-9_-]", arg,
				   RUN_LABEL_MAX);
		o->run = arg;
		break;
	case OPT_MAX_RETRIES:
		parse_num(state, "--max-retries", arg, 0, 1000, &o->max_retries);
		break;
	case OPT_MAX_CONNECT:
		parse_num(state, "--max-connect-attempts", arg, 1, 1000, &o->max_connect_attempts);
		break;
	case OPT_HISTORY:
		o->history = arg;
		break;
	case OPT_PLAN:
		o->plan = true;
		break;
	case OPT_CHECK:
		o->check = true;
		break;
	case 'v':
		o->verbose = true;
		break;
	case ARGP_KEY_ARG:
		argp_error(state, "unexpected argument '%s'", arg);
		break;
	case ARGP_KEY_END:
		if (!o->init && !o->transfers && !o->check && !o->plan)
			argp_error(state, "nothing to do: give --init, --transfers K, --check or --plan");
		if (o->plan && (o->init || o->check))
			argp_error(state, "--plan connects to nothing: no --init or --check with it");
		if (o->plan && !o->transfers)
			argp_error(state, "--plan needs --transfers K");
		if (o->history && !o->transfers)
			argp_error(state, "--history needs the workload (--transfers K)");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp bank_argp = {
	options, parse_opt, NULL,
	"A Jepsen-style bank workload: concurrent transfers between accounts of a PostgreSQL "
	"database, through a port that wirefault faults, and a checker of what must survive any "
	"fault: the total balance, no negative balance, and every acknowledged commit.\n"
	"\n"
	"Tables (public schema): accounts(id, balance), transfers(run, thread, seq, from_id, "
	"to_id, amount), bank_config(accounts, initial_balance). Each transfer is BEGIN; two "
	"UPDATEs in id order; an INSERT into transfers; COMMIT, as simple Query messages (so "
	"onQuery() filters see them). A lost connection makes the transfer failed (before COMMIT "
	"was sent) or indeterminate (COMMIT sent, no answer); the thread reconnects and goes on.\n"
	"\n"
	"USAGE:\n"
	"  bank --check-conninfo DIRECT --init [--accounts N] [--balance B]\n"
	"  bank --conninfo FAULTED --check-conninfo DIRECT --transfers K [--threads T] [--seed S] "
	"[--run LABEL] [--check]\n"
	"\n"
	"EXAMPLES:\n"
	"  bank --port 5432 --conninfo 'user=postgres' --init --accounts 8\n"
	"  bank --port 5432 --conninfo 'user=postgres' --check-conninfo 'host=/tmp port=5432 "
	"user=postgres' --transfers 40 --threads 4 --seed 7 --run kill --check\n"
	"  bank --plan --transfers 5 --threads 2 --seed 7 --accounts 8\n"
	"\v"
	"Output: one line per thread and a total, 'committed=N failed=N indeterminate=N declined=N "
	"retries=N reconnects=N elapsed_ms=N', then one 'check:' line per invariant.\n"
	"Exit status: 0 success, 1 an invariant does not hold or the workload could not run, "
	"2 usage error.",
	NULL, NULL, NULL,
};

/* ---- the plan: thread t's transfers from (seed, t) ---------------------------------------- */

struct transfer {
	unsigned int from, to;	/* account ids 1..N, distinct */
	unsigned long amount;	/* 1..max_amount */
};

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Exactly three draws per transfer, whatever happens to it: the plan is fixed up front. */
static void plan_thread(uint64_t seed, unsigned int thread, unsigned long accounts,
			unsigned long max_amount, unsigned long k, struct transfer *out)
{
	uint64_t state = seed ^ ((uint64_t)(thread + 1) * 0xd1342543de82ef95ULL);

	splitmix64(&state);
	for (unsigned long i = 0; i < k; i++) {
		unsigned long from = splitmix64(&state) % accounts;
		unsigned long step = 1 + splitmix64(&state) % (accounts - 1);

		out[i].from = (unsigned int)from + 1;
		out[i].to = (unsigned int)((from + step) % accounts) + 1;
		out[i].amount = 1 + splitmix64(&state) % max_amount;
	}
}

/* ---- statements with a deadline ------------------------------------------------------------ */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

enum exec_rc {
	EX_OK,		/* the statement succeeded */
	EX_ERROR,	/* the server refused it; the connection is fine */
	EX_LOST,	/* the connection is gone, or no answer came in time */
};

struct reply {
	char sqlstate[6];
	char cmd_status[32];
	long tuples;		/* rows a command affected or a query returned */
	char msg[256];		/* first line of the error */
};

static void set_msg(struct reply *r, const char *text)
{
	size_t n = strcspn(text, "\n");

	if (n >= sizeof(r->msg))
		n = sizeof(r->msg) - 1;
	memcpy(r->msg, text, n);
	r->msg[n] = '\0';
}

/*
 * One simple Query, awaited at most timeout_ms.  keep: if not NULL and the
 * statement succeeded, its last result (the caller clears it).
 */
static enum exec_rc exec_stmt(PGconn *pc, const char *sql, unsigned long timeout_ms,
			      struct reply *r, PGresult **keep)
{
	int64_t deadline = now_ms() + (int64_t)timeout_ms;
	PGresult *last = NULL, *res;
	enum exec_rc rc;

	memset(r, 0, sizeof(*r));
	if (keep)
		*keep = NULL;
	if (!PQsendQuery(pc, sql)) {
		set_msg(r, PQerrorMessage(pc));
		return PQstatus(pc) == CONNECTION_BAD ? EX_LOST : EX_ERROR;
	}
	for (;;) {
		while (!PQisBusy(pc)) {
			res = PQgetResult(pc);
			if (!res)
				goto done;
			PQclear(last);
			last = res;
		}
		int64_t left = deadline - now_ms();
		struct pollfd pfd = { .fd = PQsocket(pc), .events = POLLIN };
		int n = left > 0 ? poll(&pfd, 1, (int)left) : 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			snprintf(r->msg, sizeof(r->msg), "no answer within %lu ms", timeout_ms);
			PQclear(last);
			return EX_LOST;
		}
		if (n < 0 || !PQconsumeInput(pc)) {
			set_msg(r, n < 0 ? strerror(errno) : PQerrorMessage(pc));
			PQclear(last);
			return EX_LOST;
		}
	}
done:
	if (!last) {
		set_msg(r, "no result");
		return EX_LOST;
	}
	switch (PQresultStatus(last)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK: {
		const char *t = PQcmdTuples(last);

		rc = EX_OK;
		r->tuples = PQresultStatus(last) == PGRES_TUPLES_OK ? PQntuples(last) : (*t ? atol(t) : 0);
		snprintf(r->cmd_status, sizeof(r->cmd_status), "%s", PQcmdStatus(last));
		break;
	}
	default: {
		const char *state = PQresultErrorField(last, PG_DIAG_SQLSTATE);
		const char *msg = PQresultErrorField(last, PG_DIAG_MESSAGE_PRIMARY);

		snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", state ? state : "");
		set_msg(r, msg ? msg : PQresultErrorMessage(last));
		/* libpq reports a lost connection as a result too: the connection says which it is */
		rc = PQstatus(pc) == CONNECTION_BAD || !state ? EX_LOST : EX_ERROR;
		break;
	}
	}
	if (rc == EX_OK && keep)
		*keep = last;
	else
		PQclear(last);
	return rc;
}

/* ---- connections ---------------------------------------------------------------------------- */

/* The workload's settings come first so that the user's conninfo may override them. */
static PGconn *connect_named(const struct opts *o, const char *conninfo, const char *app)
{
	char connect_timeout[24], user_timeout[24], pg_options[160];

	/* libpq's connect_timeout is in whole seconds, at least 2 */
	snprintf(connect_timeout, sizeof(connect_timeout), "%lu",
		 o->timeout_ms / 1000 + 2);
	snprintf(user_timeout, sizeof(user_timeout), "%lu", o->timeout_ms);
	snprintf(pg_options, sizeof(pg_options),
		 "-c statement_timeout=%lu -c idle_in_transaction_session_timeout=%lu",
		 o->timeout_ms, o->timeout_ms);
	const char *const keys[] = { "connect_timeout", "tcp_user_timeout", "options", "dbname",
				     "application_name", NULL };
	const char *const vals[] = { connect_timeout, user_timeout, pg_options, conninfo, app, NULL };

	return PQconnectdbParams(keys, vals, 1);
}

/* The direct connection (init, size, check): fails the program if it cannot be made. */
static PGconn *connect_admin(const struct opts *o)
{
	const char *ci = o->check_conninfo ? o->check_conninfo : o->conninfo;
	PGconn *pc = connect_named(o, ci, "bank-check");

	if (PQstatus(pc) != CONNECTION_OK) {
		fprintf(stderr, "bank: cannot connect (%s): %s", ci, PQerrorMessage(pc));
		PQfinish(pc);
		return NULL;
	}
	return pc;
}

/* A statement of the direct connection that must succeed. */
static PGresult *admin_query(const struct opts *o, PGconn *pc, const char *sql)
{
	struct reply r;
	PGresult *res;
	enum exec_rc rc = exec_stmt(pc, sql, o->timeout_ms + 500, &r, &res);

	if (rc != EX_OK) {
		fprintf(stderr, "bank: %s: %s\n", sql, r.msg);
		return NULL;
	}
	return res;
}

/* ---- a thread of the workload ---------------------------------------------------------------- */

struct counts {
	unsigned long outcome[OUT__N];
	unsigned long retries, reconnects, connect_failures;
};

struct worker {
	const struct opts *o;
	unsigned int id;
	unsigned long accounts;
	const char *run;
	struct transfer *plan;		/* [transfers] */
	enum outcome *result;		/* [transfers] */
	unsigned int *conn_no;		/* [transfers]: n of bank-<thread>-<n> that decided it */
	struct counts c;
	unsigned int connections;	/* attempts so far: the next n */
	int64_t elapsed_ms;
	bool gave_up;
	pthread_t tid;
};

static void vlog(const struct worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vlog(const struct worker *w, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!w->o->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "bank: thread %u: %s\n", w->id, line);	/* one call: lines never interleave */
}

/* What the server says outside an answer (a FATAL before it closes the connection): -v only. */
static void worker_notice(void *arg, const char *message)
{
	const struct worker *w = arg;

	vlog(w, "server: %.*s", (int)strcspn(message, "\n"), message);
}

/* A connection, after as many attempts as allowed (backoff 10 ms doubling up to 1 s). */
static PGconn *worker_connect(struct worker *w)
{
	unsigned long backoff = 10;

	for (unsigned long attempt = 0; attempt < w->o->max_connect_attempts; attempt++) {
		char app[48];
		PGconn *pc;

		if (attempt) {
			sleep_ms(backoff);
			backoff = backoff * 2 > 1000 ? 1000 : backoff * 2;
		}
		snprintf(app, sizeof(app), "bank-%u-%u", w->id, w->connections++);
		pc = connect_named(w->o, w->o->conninfo, app);
		if (PQstatus(pc) == CONNECTION_OK) {
			PQsetNoticeProcessor(pc, worker_notice, w);
			return pc;
		}
		w->c.connect_failures++;
		vlog(w, "connection %s failed: %.*s", app, (int)strcspn(PQerrorMessage(pc), "\n"),
		     PQerrorMessage(pc));
		PQfinish(pc);
	}
	return NULL;
}

enum tx_rc {
	TX_COMMITTED,
	TX_DECLINED,
	TX_FAILED,		/* certainly not applied */
	TX_RETRY,		/* serialization failure or deadlock: not applied, try again */
	TX_INDETERMINATE,	/* COMMIT sent, no answer */
};

static bool retryable(const char *sqlstate)
{
	return !strcmp(sqlstate, "40001") || !strcmp(sqlstate, "40P01");
}

/*
 * One attempt of transfer seq.  *lost: the connection must be replaced
 * (whatever the outcome).
 */
static enum tx_rc try_transfer(struct worker *w, PGconn *pc, unsigned long seq, bool *lost)
{
	const struct transfer *t = &w->plan[seq];
	unsigned long timeout = w->o->timeout_ms + 500;
	char debit[128], credit[128], log_row[256];
	const char *steps[5];
	struct reply r;
	enum exec_rc rc;
	enum tx_rc out;

	snprintf(debit, sizeof(debit),
		 "UPDATE accounts SET balance = balance - %lu WHERE id = %u AND balance >= %lu",
		 t->amount, t->from, t->amount);
	snprintf(credit, sizeof(credit), "UPDATE accounts SET balance = balance + %lu WHERE id = %u",
		 t->amount, t->to);
	snprintf(log_row, sizeof(log_row),
		 "INSERT INTO transfers (run, thread, seq, from_id, to_id, amount) "
		 "VALUES ('%s', %u, %lu, %u, %u, %lu)", w->run, w->id, seq, t->from, t->to, t->amount);
	/* rows locked in id order: two transfers never wait for each other in a cycle */
	steps[0] = "BEGIN";
	steps[1] = t->from < t->to ? debit : credit;
	steps[2] = t->from < t->to ? credit : debit;
	steps[3] = log_row;
	steps[4] = "COMMIT";

	*lost = false;
	for (int i = 0; i < 5; i++) {
		bool is_commit = i == 4;

		rc = exec_stmt(pc, steps[i], timeout, &r, NULL);
		if (rc == EX_LOST) {
			*lost = true;
			vlog(w, "transfer %lu: connection lost %s COMMIT was sent (%s): %s", seq,
			     is_commit ? "after" : "before", r.msg,
			     is_commit ? "indeterminate" : "failed");
			return is_commit ? TX_INDETERMINATE : TX_FAILED;
		}
		if (rc == EX_ERROR) {
			out = retryable(r.sqlstate) ? TX_RETRY : TX_FAILED;
			vlog(w, "transfer %lu: %s: %s (%s)", seq, is_commit ? "COMMIT" : "statement",
			     r.msg, out == TX_RETRY ? "retry" : "failed");
			goto rollback;
		}
		if (is_commit && strcmp(r.cmd_status, "COMMIT")) {
			/* the server rolled back instead (an error we did not see) */
			vlog(w, "transfer %lu: COMMIT answered %s: failed", seq, r.cmd_status);
			return TX_FAILED;
		}
		if (steps[i] == debit && r.tuples == 0) {
			out = TX_DECLINED;	/* balance < amount: nothing changed */
			goto rollback;
		}
		if ((steps[i] == debit || steps[i] == credit) && r.tuples != 1) {
			vlog(w, "transfer %lu: account missing (%ld rows updated): failed", seq, r.tuples);
			out = TX_FAILED;
			goto rollback;
		}
	}
	return TX_COMMITTED;

rollback:
	/* nothing was committed; the connection is only needed again if ROLLBACK answers */
	if (exec_stmt(pc, "ROLLBACK", timeout, &r, NULL) != EX_OK) {
		*lost = true;
		vlog(w, "transfer %lu: ROLLBACK: %s: reconnecting", seq, r.msg);
	}
	return out;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int64_t start = now_ms();
	PGconn *pc = NULL;
	bool had_connection = false;

	for (unsigned long seq = 0; seq < w->o->transfers; seq++) {
		unsigned long attempts = 0;
		enum outcome out;

		for (;;) {
			bool lost;
			enum tx_rc rc;

			if (!pc) {
				pc = worker_connect(w);
				if (!pc) {
					w->gave_up = true;
					fprintf(stderr, "bank: thread %u gave up at transfer %lu: %lu "
						"connection attempts in a row failed\n", w->id, seq,
						w->o->max_connect_attempts);
					goto out;
				}
				if (had_connection)
					w->c.reconnects++;
				had_connection = true;
			}
			rc = try_transfer(w, pc, seq, &lost);
			w->conn_no[seq] = w->connections - 1;
			if (lost) {
				PQfinish(pc);
				pc = NULL;
			}
			if (rc == TX_RETRY && attempts < w->o->max_retries) {
				attempts++;
				w->c.retries++;
				continue;
			}
			out = rc == TX_COMMITTED ? OUT_COMMITTED :
			      rc == TX_DECLINED ? OUT_DECLINED :
			      rc == TX_INDETERMINATE ? OUT_INDETERMINATE : OUT_FAILED;
			break;
		}
		w->result[seq] = out;
		w->c.outcome[out]++;
	}
out:
	PQfinish(pc);
	w->elapsed_ms = now_ms() - start;
	return NULL;
}

static void print_counts(const char *who, const struct counts *c, int64_t elapsed_ms)
{
	printf("%s: committed=%lu failed=%lu indeterminate=%lu declined=%lu retries=%lu "
	       "reconnects=%lu connect_failures=%lu elapsed_ms=%" PRId64 "\n", who,
	       c->outcome[OUT_COMMITTED], c->outcome[OUT_FAILED], c->outcome[OUT_INDETERMINATE],
	       c->outcome[OUT_DECLINED], c->retries, c->reconnects, c->connect_failures, elapsed_ms);
}

static int write_history(const struct opts *o, struct worker *ws)
{
	FILE *f = fopen(o->history, "w");

	if (!f) {
		fprintf(stderr, "bank: cannot write %s: %s\n", o->history, strerror(errno));
		return -1;
	}
	for (unsigned long t = 0; t < o->threads; t++)
		for (unsigned long s = 0; s < o->transfers; s++) {
			const struct worker *w = &ws[t];
			const struct transfer *tr = &w->plan[s];

			fprintf(f, "%lu %lu %u %u %lu %s", t, s, tr->from, tr->to, tr->amount,
				outcome_name[w->result[s]]);
			if (w->result[s] != OUT_NOT_RUN)
				fprintf(f, " bank-%lu-%u", t, w->conn_no[s]);
			fputc('\n', f);
		}
	if (fclose(f)) {
		fprintf(stderr, "bank: cannot write %s: %s\n", o->history, strerror(errno));
		return -1;
	}
	return 0;
}

/* ---- init, size, check ------------------------------------------------------------------------ */

static int bank_init(const struct opts *o, PGconn *pc)
{
	char sql[1024];
	PGresult *res;

	/* one simple Query: one implicit transaction, all or nothing */
	snprintf(sql, sizeof(sql),
		 "SET client_min_messages = warning;"
		 "DROP TABLE IF EXISTS transfers, accounts, bank_config;"
		 "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL CHECK (balance >= 0));"
		 "CREATE TABLE transfers (run text NOT NULL, thread int NOT NULL, seq int NOT NULL,"
		 " from_id int NOT NULL, to_id int NOT NULL, amount bigint NOT NULL CHECK (amount > 0),"
		 " PRIMARY KEY (run, thread, seq));"
		 "CREATE TABLE bank_config (accounts int NOT NULL, initial_balance bigint NOT NULL);"
		 "INSERT INTO bank_config VALUES (%lu, %lu);"
		 "INSERT INTO accounts SELECT g, %lu FROM generate_series(1, %lu) g",
		 o->accounts, o->balance, o->balance, o->accounts);
	res = admin_query(o, pc, sql);
	if (!res)
		return -1;
	PQclear(res);
	printf("init: %lu accounts of balance %lu, total %lu; transfers log empty\n", o->accounts,
	       o->balance, o->accounts * o->balance);
	return 0;
}

struct bank_size {
	unsigned long accounts, initial_balance;
};

static int bank_read_size(const struct opts *o, PGconn *pc, struct bank_size *sz)
{
	PGresult *res = admin_query(o, pc, "SELECT accounts, initial_balance FROM bank_config");

	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		fprintf(stderr, "bank: bank_config has %d rows, not 1: run --init\n", PQntuples(res));
		PQclear(res);
		return -1;
	}
	sz->accounts = strtoul(PQgetvalue(res, 0, 0), NULL, 10);
	sz->initial_balance = strtoul(PQgetvalue(res, 0, 1), NULL, 10);
	PQclear(res);
	if (o->accounts_set && !o->init && o->accounts != sz->accounts) {
		fprintf(stderr, "bank: the bank has %lu accounts, not %lu (--accounts only matters "
			"with --init)\n", sz->accounts, o->accounts);
		return -1;
	}
	return 0;
}

static int violations;

static void verdict(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verdict(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("check: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(": %s\n", ok ? "ok" : "VIOLATED");
	if (!ok)
		violations++;
}

/* A query whose single row of numbers is wanted; -1 on error. */
static int query_longs(const struct opts *o, PGconn *pc, const char *sql, long long *out, int n)
{
	PGresult *res = admin_query(o, pc, sql);

	if (!res)
		return -1;
	if (PQntuples(res) != 1 || PQnfields(res) != n) {
		fprintf(stderr, "bank: %s: %d rows of %d columns\n", sql, PQntuples(res), PQnfields(res));
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < n; i++)
		out[i] = PQgetisnull(res, 0, i) ? 0 : strtoll(PQgetvalue(res, 0, i), NULL, 10);
	PQclear(res);
	return 0;
}

/* The run just made, against the log: every committed transfer there, nothing failed or declined. */
static int check_run(const struct opts *o, PGconn *pc, struct worker *ws)
{
	struct counts total = { 0 };
	unsigned long unexpected = 0, missing = 0, wrong = 0, ind_applied = 0, logged = 0;
	char sql[256];
	PGresult *res;
	bool *seen;

	snprintf(sql, sizeof(sql),
		 "SELECT thread, seq, from_id, to_id, amount FROM transfers WHERE run = '%s'", o->run);
	res = admin_query(o, pc, sql);
	if (!res)
		return -1;
	seen = calloc(o->threads * o->transfers, sizeof(*seen));
	if (!seen) {
		PQclear(res);
		return -1;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		unsigned long t = strtoul(PQgetvalue(res, i, 0), NULL, 10);
		unsigned long s = strtoul(PQgetvalue(res, i, 1), NULL, 10);
		const struct transfer *tr;

		logged++;
		if (t >= o->threads || s >= o->transfers) {
			unexpected++;
			fprintf(stderr, "bank: logged transfer %lu/%lu was never planned\n", t, s);
			continue;
		}
		seen[t * o->transfers + s] = true;
		tr = &ws[t].plan[s];
		if (strtoul(PQgetvalue(res, i, 2), NULL, 10) != tr->from ||
		    strtoul(PQgetvalue(res, i, 3), NULL, 10) != tr->to ||
		    strtoul(PQgetvalue(res, i, 4), NULL, 10) != tr->amount) {
			wrong++;
			fprintf(stderr, "bank: logged transfer %lu/%lu is not the planned one\n", t, s);
		}
		switch (ws[t].result[s]) {
		case OUT_COMMITTED:
			break;
		case OUT_INDETERMINATE:
			ind_applied++;
			break;
		default:
			unexpected++;
			fprintf(stderr, "bank: transfer %lu/%lu is logged but was %s\n", t, s,
				outcome_name[ws[t].result[s]]);
		}
	}
	PQclear(res);
	for (unsigned long t = 0; t < o->threads; t++) {
		for (int k = 0; k < OUT__N; k++)
			total.outcome[k] += ws[t].c.outcome[k];
		for (unsigned long s = 0; s < o->transfers; s++)
			if (ws[t].result[s] == OUT_COMMITTED && !seen[t * o->transfers + s]) {
				missing++;
				fprintf(stderr, "bank: transfer %lu/%lu was acknowledged but is not in "
					"the log\n", t, s);
			}
	}
	free(seen);
	unsigned long committed = total.outcome[OUT_COMMITTED];
	unsigned long ind = total.outcome[OUT_INDETERMINATE];

	verdict(logged >= committed && logged <= committed + ind,
		"run '%s': %lu transfers logged, within [committed %lu, committed + indeterminate %lu]"
		" (%lu of %lu indeterminate applied)", o->run, logged, committed, committed + ind,
		ind_applied, ind);
	verdict(!missing && !unexpected && !wrong,
		"run '%s': every acknowledged commit logged (%lu missing), no failed or declined "
		"transfer logged (%lu), rows as planned (%lu differ)", o->run, missing, unexpected,
		wrong);
	printf("check-run: run=%s logged=%lu committed=%lu indeterminate=%lu "
	       "indeterminate_applied=%lu\n", o->run, logged, committed, ind, ind_applied);
	return 0;
}

static int bank_check(const struct opts *o, PGconn *pc, struct worker *ws)
{
	struct bank_size sz;
	long long v[4];

	if (bank_read_size(o, pc, &sz))
		return -1;
	if (query_longs(o, pc, "SELECT count(*), min(id), max(id), sum(balance) FROM accounts", v, 4))
		return -1;
	long long expected = (long long)sz.accounts * (long long)sz.initial_balance;

	verdict(v[0] == (long long)sz.accounts && v[1] == 1 && v[2] == (long long)sz.accounts,
		"%lld accounts, ids %lld..%lld (the bank was made with %lu)", v[0], v[1], v[2],
		sz.accounts);
	verdict(v[3] == expected, "total balance %lld = %lu accounts x %lu = %lld", v[3],
		sz.accounts, sz.initial_balance, expected);
	if (query_longs(o, pc, "SELECT min(balance), count(*) FILTER (WHERE balance < 0) FROM accounts",
			v, 2))
		return -1;
	verdict(v[1] == 0, "no negative balance (lowest %lld, %lld below 0)", v[0], v[1]);
	if (query_longs(o, pc,
			"SELECT count(*), (SELECT count(*) FROM transfers) FROM accounts a"
			" CROSS JOIN bank_config c"
			" WHERE a.balance <> c.initial_balance"
			" + coalesce((SELECT sum(amount) FROM transfers WHERE to_id = a.id), 0)"
			" - coalesce((SELECT sum(amount) FROM transfers WHERE from_id = a.id), 0)",
			v, 2))
		return -1;
	verdict(v[0] == 0, "every balance = initial + credits - debits of the %lld logged transfers "
		"(%lld accounts differ)", v[1], v[0]);
	if (ws && check_run(o, pc, ws))
		return -1;
	return 0;
}

/* ---- main ------------------------------------------------------------------------------------- */

static int run_plan(const struct opts *o)
{
	struct transfer *plan = calloc(o->transfers, sizeof(*plan));

	if (!plan)
		return 1;
	for (unsigned long t = 0; t < o->threads; t++) {
		plan_thread(o->seed, (unsigned int)t, o->accounts, o->max_amount, o->transfers, plan);
		for (unsigned long s = 0; s < o->transfers; s++)
			printf("%lu %lu %u %u %lu\n", t, s, plan[s].from, plan[s].to, plan[s].amount);
	}
	free(plan);
	return 0;
}

/* -1: it could not start (ws unusable); 1: it ran, but a thread gave up or the history failed. */
static int run_workload(const struct opts *o, const struct bank_size *sz, struct worker *ws)
{
	struct counts total = { 0 };
	int64_t start = now_ms();
	int rc = 0;

	printf("run '%s': %lu threads x %lu transfers between %lu accounts, seed %lu, amounts 1..%lu\n",
	       o->run, o->threads, o->transfers, sz->accounts, o->seed, o->max_amount);
	fflush(stdout);
	for (unsigned long t = 0; t < o->threads; t++) {
		struct worker *w = &ws[t];

		w->o = o;
		w->id = (unsigned int)t;
		w->accounts = sz->accounts;
		w->run = o->run;
		w->plan = calloc(o->transfers, sizeof(*w->plan));
		w->result = calloc(o->transfers, sizeof(*w->result));
		w->conn_no = calloc(o->transfers, sizeof(*w->conn_no));
		if (!w->plan || !w->result || !w->conn_no) {
			fprintf(stderr, "bank: out of memory\n");
			return -1;
		}
		plan_thread(o->seed, w->id, sz->accounts, o->max_amount, o->transfers, w->plan);
	}
	for (unsigned long t = 0; t < o->threads; t++) {
		int err = pthread_create(&ws[t].tid, NULL, worker_main, &ws[t]);

		if (err) {
			fprintf(stderr, "bank: cannot start a thread: %s\n", strerror(err));
			/* the threads already started run to their end */
			for (unsigned long j = 0; j < t; j++)
				pthread_join(ws[j].tid, NULL);
			return -1;
		}
	}
	for (unsigned long t = 0; t < o->threads; t++)
		pthread_join(ws[t].tid, NULL);
	for (unsigned long t = 0; t < o->threads; t++) {
		char who[32];

		snprintf(who, sizeof(who), "thread %lu", t);
		print_counts(who, &ws[t].c, ws[t].elapsed_ms);
		for (int k = 0; k < OUT__N; k++)
			total.outcome[k] += ws[t].c.outcome[k];
		total.retries += ws[t].c.retries;
		total.reconnects += ws[t].c.reconnects;
		total.connect_failures += ws[t].c.connect_failures;
		if (ws[t].gave_up)
			rc = 1;
	}
	print_counts("total", &total, now_ms() - start);
	if (o->history && write_history(o, ws))
		rc = 1;
	return rc;
}

static void free_workers(struct worker *ws, unsigned long n)
{
	if (!ws)
		return;
	for (unsigned long t = 0; t < n; t++) {
		free(ws[t].plan);
		free(ws[t].result);
		free(ws[t].conn_no);
	}
	free(ws);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.conninfo = "",
		.accounts = 10,
		.balance = 1000,
		.threads = 4,
		.max_amount = 100,
		.seed = 1,
		.timeout_ms = 2000,
		.max_retries = 10,
		.max_connect_attempts = 10,
	};
	struct worker *ws = NULL;
	struct bank_size sz;
	PGconn *admin = NULL;
	int rc = 1, wrc;

	argp_err_exit_status = 2;
	if (argp_parse(&bank_argp, argc, argv, 0, NULL, &o))
		return 2;
	if (!o.run) {
		snprintf(o.run_default, sizeof(o.run_default), "seed-%lu", o.seed);
		o.run = o.run_default;
	}
	if (o.port) {
		size_t n = strlen(o.conninfo) + 48;

		o.port_conninfo = malloc(n);
		if (!o.port_conninfo)
			return 1;
		snprintf(o.port_conninfo, n, "host=127.0.0.1 port=%lu %s", o.port, o.conninfo);
		o.conninfo = o.port_conninfo;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.plan) {
		rc = run_plan(&o);
		goto out;
	}

	admin = connect_admin(&o);
	if (!admin)
		goto out;
	if (o.init && bank_init(&o, admin))
		goto out;
	if (bank_read_size(&o, admin, &sz))
		goto out;
	if (o.transfers) {
		long long used;
		char sql[128];

		snprintf(sql, sizeof(sql), "SELECT count(*) FROM transfers WHERE run = '%s'", o.run);
		if (query_longs(&o, admin, sql, &used, 1))
			goto out;
		if (used) {
			fprintf(stderr, "bank: run '%s' is in the transfers log already (%lld rows): "
				"give another --run\n", o.run, used);
			goto out;
		}
		/* the direct connection is not needed during the run: faults may not touch it */
		PQfinish(admin);
		admin = NULL;
		ws = calloc(o.threads, sizeof(*ws));
		if (!ws)
			goto out;
		wrc = run_workload(&o, &sz, ws);
		if (wrc < 0)
			goto out;
		rc = wrc;
	} else {
		rc = 0;
	}
	if (o.check) {
		if (!admin)
			admin = connect_admin(&o);
		if (!admin || bank_check(&o, admin, o.transfers ? ws : NULL)) {
			fprintf(stderr, "bank: the check could not be made\n");
			rc = 1;
		} else if (violations) {
			fprintf(stderr, "bank: INVARIANT VIOLATED: %d check%s failed (see above)\n",
				violations, violations == 1 ? "" : "s");
			rc = 1;
		}
	}
out:
	PQfinish(admin);
	free_workers(ws, o.threads);
	free(o.port_conninfo);
	return rc;
}
