# Helpers of the tests that inject faults between a coordinator (CPORT, with
# citus.mitmproxy()) and a worker (WPORT) started by lib.sh.  Source it after
# pg_start/setup_coordinator; it defines the clients, the assertions on what
# clients, the worker's log and the sockets show, and fault_setup_coordinator.

W="host=127.0.0.1 port=$WPORT user=postgres dbname=postgres sslmode=disable"
WLOG=$WF_TMP/worker/server.log
LOST="server closed the connection unexpectedly"

# A client that dies with its connection must not hang a test: every client has a deadline.
psql_at() {
	local port=$1; shift
	timeout 15 psql "host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=disable connect_timeout=5" \
		-X -q -A -t -v ON_ERROR_STOP=1 "$@"
}
coord() { psql_at $CPORT -c "$*"; }
worker() { psql_at $WPORT -c "$*"; }

# mitm COMMAND: send COMMAND through citus.mitmproxy(), print its answer lines.
mitm() { coord "SELECT result FROM citus.mitmproxy(\$wf\$$1\$wf\$)"; }
# accept COMMAND: the answer of an accepted pipeline is exactly one empty line.
accept() {
	assert_eq "$(coord "SELECT count(*) || ':' || string_agg(result, '|') FROM citus.mitmproxy(\$wf\$$1\$wf\$)")" \
		"1:" "answer to $1"
}

# From the coordinator, through dblink (TARGET: a connection string or a
# named connection), the query's single column as text, rows joined by ',',
# or "ERROR: " and the first line of the error message.
try_q() { coord "SELECT try_q(\$t\$$1\$t\$, \$q\$$2\$q\$)"; }
try_exec() { coord "SELECT try_exec(\$t\$$1\$t\$, \$q\$$2\$q\$)"; }

# expect_lost WHAT OUTPUT: OUTPUT is the error of a connection the client saw die.
expect_lost() {
	assert_contains "$2" "ERROR: $LOST" "$1 must fail with a lost connection"
}

# fails_with_lost WHAT CMD...: CMD (a client) fails, in time, saying the server closed the connection.
fails_with_lost() {
	local what=$1 rc=0 out; shift
	out=$("$@" 2>&1) || rc=$?
	[ $rc -ne 124 ] || fail "$what: the client hung (timeout)"
	[ $rc -ne 0 ] || fail "$what: expected the connection to be killed, got: $out"
	assert_contains "$out" "$LOST" "$what"
	LAST_ERR=$out
}

log_mark() { stat -c %s "$WLOG"; }
log_since() { tail -c +$(($1 + 1)) "$WLOG"; }

# wait_backends MARK N: at least N connections reached the worker since MARK
# and every one of them has ended (its backend logged its disconnection).
wait_backends() {
	local mark=$1 n=$2 out pids pid ended
	for _ in $(seq 1 100); do
		out=$(log_since "$mark")
		pids=$(sed -n 's/.* \[\([0-9]*\)\] LOG:  connection authorized:.*/\1/p' <<<"$out")
		ended=0
		for pid in $pids; do
			grep -q " \[$pid\] LOG:  disconnection:" <<<"$out" && ended=$((ended + 1))
		done
		[ "$ended" -ge "$n" ] && [ "$ended" -eq "$(wc -w <<<"$pids")" ] && return 0
		sleep 0.05
	done
	echo "$out"
	fail "expected $n connections to the worker, all ended, since the mark"
}

# assert_clean_log MARK WHAT [PATTERN]: nothing in the worker's log since MARK
# matches PATTERN (default: any connection error, any error at all).
assert_clean_log() {
	local out pattern=${3:-'reset by peer|could not (receive|send)|broken pipe|ERROR:|FATAL:|unexpected EOF'}
	out=$(log_since "$1")
	if grep -Ei "$pattern" <<<"$out"; then
		echo "$out"
		fail "$2: the worker logged a connection error"
	fi
}

# No socket of the worker port may stay half closed (a peer that never learnt about the kill).
assert_no_half_closed() {
	local out
	for _ in $(seq 1 40); do
		out=$(ss -tanH state last-ack state close-wait "( sport = :$WPORT or dport = :$WPORT )")
		[ -z "$out" ] && return 0
		sleep 0.05
	done
	ss -tan "( sport = :$WPORT or dport = :$WPORT )"
	fail "$1: sockets of port $WPORT stay in LAST-ACK/CLOSE-WAIT"
}

# The coordinator's dblink wrappers that turn an error into its first line.
fault_setup_coordinator() {
	coord "CREATE FUNCTION try_q(target text, query text) RETURNS text LANGUAGE plpgsql AS \$\$
		BEGIN
			RETURN (SELECT coalesce(string_agg(x, ','), '') FROM dblink(target, query) AS t(x text));
		EXCEPTION WHEN OTHERS THEN
			RETURN 'ERROR: ' || split_part(SQLERRM, E'\n', 1);
		END \$\$;
		CREATE FUNCTION try_exec(target text, command text) RETURNS text LANGUAGE plpgsql AS \$\$
		BEGIN
			RETURN dblink_exec(target, command);
		EXCEPTION WHEN OTHERS THEN
			RETURN 'ERROR: ' || split_part(SQLERRM, E'\n', 1);
		END \$\$;"
}
