#!/usr/bin/env bash
# The virtual proxy port end to end, in a Citus-like topology: a coordinator
# reaches a worker through port VPORT (dblink, postgres_fdw, psql; IPv4 and
# IPv6) while direct connections to the worker's real port stay untouched.
# Commands go through the SQL function on the coordinator.  Checks: what
# applications see (the server port, getpeername()), that kill, reset,
# cancel and killall reach only connections made through VPORT, that the
# dump holds only those, the placeholder listener (a taken port is refused,
# a connect() from outside the hooked cgroup reaches the placeholder and is
# closed), and that nothing stays attached.
#
# The test runs in a cgroup of its own, as Citus' harness would: wirefault's
# hooks attach to the loader's cgroup, and that is this one.
source "$(dirname "$0")/lib.sh"

CPORT=56711
WPORT=56712
VPORT=56719
TAKEN_PORT=56718
W2PORT=56713
V2PORT=56720

CG2=$(findmnt -n -o TARGET -t cgroup2 | head -n1)
[ -n "$CG2" ] || skip "no cgroup v2 hierarchy mounted (the virtual port needs cgroup hooks)"
PARENT_CG=$CG2$(sed -n 's/^0:://p' /proc/self/cgroup)
PARENT_CG=${PARENT_CG%/}
TEST_CG=$PARENT_CG/wf-e2e-vport-$$
mkdir "$TEST_CG"
echo $$ >"$TEST_CG/cgroup.procs"

leave_cgroup() {
	echo $$ >"$PARENT_CG/cgroup.procs" 2>/dev/null || true
	for _ in $(seq 1 100); do
		rmdir "$TEST_CG" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "warning: could not remove $TEST_CG: $(cat "$TEST_CG/cgroup.procs" 2>/dev/null | tr '\n' ' ')" >&2
}
trap 'cleanup_harness; leave_cgroup' EXIT

# outside CMD...: run CMD in the parent cgroup, where the hooks do not apply.
outside() { bash -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$PARENT_CG" "$@"; }

pg_start coordinator $CPORT
pg_start worker $WPORT
setup_coordinator coordinator worker
source "$(dirname "$0")/faults.sh"
fault_setup_coordinator
V="host=127.0.0.1 port=$VPORT user=postgres dbname=postgres sslmode=disable"
V6="host=::1 port=$VPORT user=postgres dbname=postgres sslmode=disable"
coord "CREATE SERVER worker_v FOREIGN DATA WRAPPER postgres_fdw
		OPTIONS (host '127.0.0.1', port '$VPORT', dbname 'postgres', sslmode 'disable');
	CREATE USER MAPPING FOR postgres SERVER worker_v OPTIONS (user 'postgres');
	CREATE FOREIGN TABLE items_v (id int, name text) SERVER worker_v OPTIONS (table_name 'items');
	CREATE FOREIGN TABLE items_d (id int, name text) SERVER worker OPTIONS (table_name 'items');"
worker "CREATE TABLE items (id int, name text); INSERT INTO items VALUES (1, 'one'), (2, 'two');"
vpsql() { timeout 15 psql "$V connect_timeout=5" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
vpsql6() { timeout 15 psql "$V6 connect_timeout=5" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
# peer_port HOST PORT: the peer port getpeername() reports for a connection to HOST:PORT.
peer_port() {
	python3 -c 'import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5)
print(s.getpeername()[1])' "$1" "$2"
}

step "a taken proxy port is refused before anything is attached"
python3 -c 'import socket, time
s = socket.socket(); s.bind(("127.0.0.1", '$TAKEN_PORT')); s.listen(); time.sleep(30)' &
squatter=$!
for _ in $(seq 1 100); do ss -ltnH "( sport = :$TAKEN_PORT )" | grep -q . && break; sleep 0.05; done
rc=0
out=$("$WF" run --port $WPORT --proxy-port $TAKEN_PORT --fifo "$WF_TMP/refused.fifo" 2>&1) || rc=$?
echo "$out"
assert_eq "$rc" "1" "exit status with the proxy port taken"
assert_contains "$out" "proxy port $TAKEN_PORT is in use by pid $squatter (python3)"
assert_not_contains "$out" "ready:"
assert_no_trace "after the refused start"
kill $squatter; wait $squatter 2>/dev/null || true
rc=0
out=$("$WF" run --port $WPORT --proxy-port $WPORT 2>&1) || rc=$?
assert_eq "$rc" "2" "exit status for --proxy-port = --port"
assert_contains "$out" "--proxy-port $WPORT is also a --port: a virtual port must differ from every followed port"

wf_start --port $WPORT --proxy-port $VPORT
assert_contains "$(wf_log)" "ready: faulting connections made to port $VPORT (redirected to port $WPORT) by processes of cgroup $TEST_CG"
status=$("$WF" status)
assert_contains "$status" "virtual proxy port: $VPORT, redirected to port $WPORT for the processes of cgroup $TEST_CG"
ss -ltnH "( sport = :$VPORT )" | grep -q . || fail "nothing listens on the proxy port"
assert_contains "$(lsof -nP -i :$VPORT)" "wirefault"

step "connections through the virtual port reach the worker; applications still see the virtual port"
assert_eq "$(vpsql -c 'SELECT inet_server_port()')" "$WPORT" "psql to 127.0.0.1:$VPORT reaches the worker"
assert_eq "$(vpsql6 -c 'SELECT inet_server_port()')" "$WPORT" "psql to [::1]:$VPORT reaches the worker"
assert_eq "$(try_q "$V" 'SELECT inet_server_port()::text')" "$WPORT" "dblink through $VPORT"
assert_eq "$(coord 'SELECT string_agg(name, $$,$$ ORDER BY id) FROM items_v')" "one,two" "postgres_fdw through $VPORT"
assert_eq "$(peer_port 127.0.0.1 $VPORT)" "$VPORT" "getpeername() over IPv4"
assert_eq "$(peer_port ::1 $VPORT)" "$VPORT" "getpeername() over IPv6"
assert_eq "$(peer_port 127.0.0.1 $WPORT)" "$WPORT" "getpeername() of a direct connection"

step "scripts/wirefault-helpers.sql: the SQL functions for users outside Citus"
psql_at $CPORT -q -f "$WF_ROOT/scripts/wirefault-helpers.sql" >/dev/null
assert_eq "$(coord "SELECT count(*) || ':' || coalesce(string_agg(l, '|'), '') FROM wirefault.send('conn.allow()') l")" \
	"1:" "wirefault.send() of an accepted command"
out=$(coord "SELECT wirefault.apply('conn.onQuery(query=\"x\").bogus()')" 2>&1) && fail "apply() of a bad command: $out"
assert_contains "$out" "wirefault refused conn.onQuery"
out=$(psql_at $CPORT -c "SET wirefault.fifo = '/nonexistent.fifo'" -c "SELECT wirefault.clear()" 2>&1) &&
	fail "clear() with a missing FIFO: $out"
assert_contains "$out" "no FIFO at /nonexistent.fifo"
assert_contains "$out" 'Is "wirefault run --fifo /nonexistent.fifo" running?'
assert_eq "$(psql_at $CPORT -c "BEGIN" -c "SELECT wirefault.apply('conn.allow()')" -c "SELECT wirefault.apply('conn.allow()')" -c "COMMIT" | tr '\n' ' ')" \
	"  " "two commands in one transaction"

step "kill() reaches only connections made through the virtual port"
coord "SELECT wirefault.apply('conn.onQuery(query=\"^SELECT 42\").kill()')" >/dev/null
mark=$(log_mark)
expect_lost "dblink SELECT 42 through $VPORT" "$(try_q "$V" 'SELECT 42')"
fails_with_lost "psql SELECT 42 through $VPORT" vpsql -c 'SELECT 42'
fails_with_lost "psql SELECT 42 through [::1]:$VPORT" vpsql6 -c 'SELECT 42'
assert_eq "$(try_q "$W" 'SELECT 42')" "42" "dblink SELECT 42 straight to $WPORT"
assert_eq "$(worker 'SELECT 42')" "42" "psql SELECT 42 straight to $WPORT"
wait_backends "$mark" 5
assert_clean_log "$mark" "kill() through the virtual port"
assert_no_half_closed "kill() through the virtual port"

step "reset() of postgres_fdw's cursor: only the foreign server behind the virtual port"
accept 'conn.onParse(query="FROM public.items").reset()'
out=$(coord 'SELECT count(*) FROM items_v' 2>&1) && fail "postgres_fdw through $VPORT survived reset(): $out"
assert_contains "$out" "$LOST"
assert_eq "$(coord 'SELECT count(*) FROM items_d')" "2" "postgres_fdw straight to $WPORT"
accept 'conn.allow()'
assert_eq "$(coord 'SELECT count(*) FROM items_v')" "2" "postgres_fdw through $VPORT after conn.allow()"

step "cancel() holds and cancels only through the virtual port"
out=$(psql_at $CPORT \
	-c "SELECT result FROM citus.mitmproxy('conn.onQuery(query=\"^SELECT 7\").cancel(' || pg_backend_pid() || ')')" \
	-c "SELECT 'direct ' || try_q('$W', 'SELECT 7')" \
	-c "SELECT 'virtual ' || try_q('$V', 'SELECT 7')" 2>&1) || true
echo "$out"
assert_contains "$out" "direct 7"
assert_contains "$out" "canceling statement due to user request"
assert_not_contains "$out" "virtual 7"
accept 'conn.allow()'

step "killall(): idle connections through the virtual port die, direct ones live"
( rc=0; (sleep 3; echo "SELECT 'idle virtual';") | vpsql >"$WF_TMP/idle_v.out" 2>&1 || rc=$?
  echo $rc >"$WF_TMP/idle_v.rc" ) &
idle_v=$!
( rc=0; (sleep 3; echo "SELECT 'idle direct';") | psql_at $WPORT >"$WF_TMP/idle_d.out" 2>&1 || rc=$?
  echo $rc >"$WF_TMP/idle_d.rc" ) &
idle_d=$!
for _ in $(seq 1 100); do
	[ "$(ss -tanH state established "( sport = :$WPORT )" | wc -l)" -ge 2 ] && break
	sleep 0.05
done
accept 'conn.onQuery(query="killme").killall()'
fails_with_lost "the matching query through $VPORT" vpsql -c "SELECT 'killme'"
assert_eq "$(worker "SELECT 'killme direct'")" "killme direct" "a direct connection under killall()"
wait $idle_v $idle_d || true
assert_eq "$(cat "$WF_TMP/idle_v.rc")" "2" "idle session through $VPORT"
assert_contains "$(cat "$WF_TMP/idle_v.out")" "$LOST"
assert_eq "$(cat "$WF_TMP/idle_d.rc")" "0" "idle direct session"
assert_eq "$(cat "$WF_TMP/idle_d.out")" "idle direct" "idle direct session's answer"
grep -q "killall: probed 1 established connection" "$WF_TMP/wirefault.log" ||
	fail "the killall sweep must probe exactly the one idle connection made through the virtual port"
accept 'conn.allow()'

step "the dump holds only connections made through the virtual port"
coord 'SELECT wirefault.clear()' >/dev/null
assert_eq "$(vpsql -c 'SELECT 101')" "101"
assert_eq "$(worker 'SELECT 202')" "202"
assert_eq "$(try_q "$W" 'SELECT 303')" "303"
dump=$(coord 'SELECT conn || $$ $$ || source || $$ $$ || message FROM wirefault.dump()')
echo "$dump"
assert_contains "$dump" "Query(query=SELECT 101)"
assert_not_contains "$dump" "SELECT 202"
assert_not_contains "$dump" "SELECT 303"
# the dump's own COPYs between coordinator and FIFO are not wire traffic; only one connection was made
assert_eq "$(grep -c 'initial message' <<<"$dump")" "1" "connections in the dump"

step "a connect() from outside the hooked cgroup reaches the placeholder, which closes it"
rc=0
out=$(outside timeout 10 psql "$V connect_timeout=5" -X -A -t -c 'SELECT 1' 2>&1) || rc=$?
echo "$out"
[ $rc -ne 0 ] || fail "a client outside the cgroup reached the worker through $VPORT"
assert_contains "$out" "$LOST"
for _ in $(seq 1 40); do grep -q "came from outside the hooked cgroup" "$WF_TMP/wirefault.log" && break; sleep 0.05; done
assert_contains "$(wf_log)" "a connection to proxy port $VPORT came from outside the hooked cgroup and was closed"
assert_eq "$(outside psql "$W" -X -A -t -c 'SELECT 5')" "5" "direct connections from outside the cgroup"

step "counters, then a clean stop"
status=$("$WF" status)
grep -E 'VPORT_|VERDICT_(KILL|RESET|HOLD)|KILLALL_PROBES' <<<"$status"
grep -Eq 'VPORT_REDIRECTS +[1-9]' <<<"$status" || fail "no redirect counted"
grep -Eq 'VPORT_PEERNAMES +[1-9]' <<<"$status" || fail "no getpeername() rewrite counted"
grep -Eq 'VPORT_DIRECT +[1-9]' <<<"$status" || fail "no direct packet counted"
holder=$(pgrep -x wirefault-vport || true)
wf_stop
assert_no_trace "after the stop"
ss -ltnH "( sport = :$VPORT )" | grep -q . && fail "the placeholder still listens"
[ -z "$holder" ] || ! kill -0 $holder 2>/dev/null || fail "the placeholder process outlived the loader"

step "kill -9 of the loader: the placeholder goes with it, traffic flows"
wf_start --port $WPORT --proxy-port $VPORT
kill -9 $WF_PID; wait $WF_PID 2>/dev/null || true; WF_PID=
for _ in $(seq 1 40); do ss -ltnH "( sport = :$VPORT )" | grep -q . || break; sleep 0.05; done
ss -ltnH "( sport = :$VPORT )" | grep -q . && fail "the placeholder outlived a killed loader"
[ -z "$(wf_links)" ] || fail "links stayed attached after kill -9"
assert_eq "$(worker 'SELECT 9')" "9" "direct traffic after kill -9"
"$WF" cleanup >/dev/null
assert_no_trace "after kill -9 and cleanup"

step "two virtual ports, each in front of its own worker: a pipeline per virtual port"
rc=0
out=$("$WF" run --port $WPORT --port $W2PORT --proxy-port $VPORT 2>&1) || rc=$?
assert_eq "$rc" "2" "exit status for two --port and one --proxy-port"
assert_contains "$out" "each --proxy-port stands in front of the --port given in the same place: 2 --port, 1 --proxy-port"
pg_start worker2 $W2PORT
V2="host=127.0.0.1 port=$V2PORT user=postgres dbname=postgres sslmode=disable"
v2psql() { timeout 15 psql "$V2 connect_timeout=5" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
wf_start --port $WPORT --proxy-port $VPORT --port $W2PORT --proxy-port $V2PORT
assert_contains "$(wf_log)" "ready: faulting connections made to ports $VPORT,$V2PORT (redirected to ports $WPORT,$W2PORT)"
assert_contains "$("$WF" status)" "virtual proxy ports: $VPORT,$V2PORT, redirected to ports $WPORT,$W2PORT (in order)"
assert_eq "$(vpsql -c 'SELECT inet_server_port()')" "$WPORT" "psql to $VPORT reaches the first worker"
assert_eq "$(v2psql -c 'SELECT inet_server_port()')" "$W2PORT" "psql to $V2PORT reaches the second worker"
assert_eq "$(peer_port 127.0.0.1 $V2PORT)" "$V2PORT" "getpeername() through the second virtual port"
out=$(mitm "conn(port=9).kill()")
assert_contains "$out" "conn(port=9): port 9 is not followed; this loader follows ports $WPORT, $W2PORT through virtual ports $VPORT, $V2PORT (in that order)"
accept "conn(port=$V2PORT).onQuery(query=\"^SELECT 42\").kill()"
accept "conn(port=$VPORT).onQuery(query=\"^SELECT 42\").reset()"
fails_with_lost "psql SELECT 42 through $V2PORT (its scope: kill)" v2psql -c 'SELECT 42'
fails_with_lost "psql SELECT 42 through $VPORT (its scope: reset)" vpsql -c 'SELECT 42'
assert_eq "$(psql_at $W2PORT -c 'SELECT 42')" "42" "psql SELECT 42 straight to $W2PORT"
status=$("$WF" status)
grep -Eq 'VERDICT_KILL +1( |$)' <<<"$status" || fail "one kill expected: $(grep VERDICT_KILL <<<"$status")"
grep -Eq 'VERDICT_RESET +1( |$)' <<<"$status" || fail "one reset expected: $(grep VERDICT_RESET <<<"$status")"
accept "conn(port=$V2PORT).allow()"
assert_eq "$(v2psql -c 'SELECT 42')" "42" "$V2PORT healed by conn(port=$V2PORT).allow()"
fails_with_lost "psql SELECT 42 through $VPORT, still reset" vpsql -c 'SELECT 42'
accept 'conn.allow()'
assert_eq "$(vpsql -c 'SELECT 42')" "42" "$VPORT healed by conn.allow()"
wf_stop
assert_no_trace "after two virtual ports"
for p in $VPORT $V2PORT; do
	ss -ltnH "( sport = :$p )" | grep -q . && fail "a placeholder still listens on $p"
done
echo "ok"
