#!/usr/bin/env bash
# Scopes: several pipelines at once, each on its own connections
# (docs/commands.md "Several pipelines: scopes").  Servers A and B on two
# followed ports (`run --port A --port B`), C on a port wirefault does not
# follow.  conn(port=A) kills, conn(port=B) resets, plain conn's pipeline
# applies to neither; then a partition: both ports blackholed, dblink from
# A to B and from B to A included, while C passes; conn(port=A).allow()
# heals A only, conn.allow() heals all.  Last, conn(client="::1") faults a
# psql over ::1, not one over 127.0.0.1.
source "$(dirname "$0")/lib.sh"

A=56901
B=56902
C=56903
pg_start a $A
pg_start b $B
pg_start c $C
RESET_LOG='could not receive data from client: Connection reset by peer'

conninfo() { echo "host=${2:-127.0.0.1} port=$1 user=postgres dbname=postgres sslmode=disable connect_timeout=3 tcp_user_timeout=1500"; }
# try PORT SQL [HOST]: psql's output and errors; its exit status in $TRY_RC
try() { TRY_RC=0; TRY_OUT=$(timeout 20 psql "$(conninfo "$1" "${3:-}")" -X -q -A -t -c "$2" 2>&1) || TRY_RC=$?; }
ok() { try "$@"; [ "$TRY_RC" -eq 0 ] || fail "port $1 '$2' ${3:+over $3 }failed: $TRY_OUT"; echo "$TRY_OUT"; }
accept() {
	local out
	out=$("$WF" send --fifo "$WF_FIFO" "$1") || fail "send $1"
	assert_eq "$out" "" "answer to $1"
}
# the client gave up by its own timer (connect_timeout or tcp_user_timeout), nobody answered it
timed_out() { grep -qE "timeout expired|timed out" <<<"$1" || fail "no timeout: $1"; }
log_lines() { grep -c -- "$2" "$WF_TMP/$1/server.log" || true; }

for s in a b c; do
	sql $s "CREATE EXTENSION dblink" >/dev/null
done

wf_start --port $A --port $B
st=$("$WF" status)
assert_contains "$st" "ports $A,$B"

step "a port that is not followed is refused, naming the followed ones"
out=$("$WF" send --fifo "$WF_FIFO" "conn(port=$C).kill()" 2>&1) && fail "conn(port=$C) accepted"
assert_contains "$out" "conn(port=$C): port $C is not followed; this loader follows ports $A, $B"

step "conn(port=A) kills, conn(port=B) resets, plain conn's pipeline applies to neither"
accept "conn.onQuery(query=\"^SELECT 'y'\").kill()"
accept "conn(port=$A).onQuery(query=\"^SELECT 'x'\").kill()"
accept "conn(port=$B).onQuery(query=\"^SELECT 'x'\").reset()"
st=$("$WF" status)
assert_contains "$st" "conn(port=$A).onQuery(query=\"^SELECT 'x'\").kill()"
assert_contains "$st" "conn(port=$B).onQuery(query=\"^SELECT 'x'\").reset()"
assert_contains "$st" "scope 1, conn(port=$A):"
resets_b=$(log_lines b "$RESET_LOG")
resets_a=$(log_lines a "$RESET_LOG")
try $A "SELECT 'x'"
echo "A: psql exit $TRY_RC: $TRY_OUT"
[ "$TRY_RC" -ne 0 ] || fail "SELECT 'x' on A passed"
assert_contains "$TRY_OUT" "server closed the connection unexpectedly"
try $B "SELECT 'x'"
echo "B: psql exit $TRY_RC: $TRY_OUT"
[ "$TRY_RC" -ne 0 ] || fail "SELECT 'x' on B passed"
sleep 0.5
assert_eq "$(log_lines b "$RESET_LOG")" "$((resets_b + 1))" "B's backend read the reset"
assert_eq "$(log_lines a "$RESET_LOG")" "$resets_a" "A's backend read a clean close"
# plain conn's kill of SELECT 'y' is for connections no scope takes: none here
assert_eq "$(ok $A "SELECT 'y'")" "y" "A: default scope does not apply"
assert_eq "$(ok $B "SELECT 'y'")" "y" "B: default scope does not apply"
assert_eq "$(ok $C "SELECT 'x'")" "x" "C (not followed) passes"

step "a partition: conn(port=A).blackhole() and conn(port=B).blackhole()"
accept "conn(port=$A).blackhole()"
accept "conn(port=$B).blackhole()"
for p in $A $B; do
	t0=${EPOCHREALTIME/./}
	try $p "SELECT 1"
	ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
	echo "port $p: psql exit $TRY_RC after $ms ms: $TRY_OUT"
	[ "$TRY_RC" -ne 0 ] || fail "port $p answered during the partition"
	timed_out "$TRY_OUT"
done
# dblink from C (not followed) into the partition: cut as well
for p in $A $B; do
	rc=0; out=$(timeout 20 psql "$(conninfo $C)" -X -q -A -t -c \
		"SELECT * FROM dblink('$(conninfo $p)', 'SELECT 1') AS t(x int)" 2>&1) || rc=$?
	echo "dblink from C to $p: exit $rc: $out"
	[ "$rc" -ne 0 ] || fail "dblink to $p answered during the partition"
	timed_out "$out"
done
assert_eq "$(ok $C "SELECT 'c passes'")" "c passes" "C during the partition"

# dblink_cut FROM_NAME FROM_PORT TO_NAME TO_PORT: a dblink query from one server to the other,
# whose port is blackholed, fails by timing out
dblink_cut() {
	local rc=0 out
	out=$(timeout 20 psql "$(conninfo $2)" -X -q -A -t -c \
		"SELECT * FROM dblink('$(conninfo $4)', 'SELECT 1') AS t(x int)" 2>&1) || rc=$?
	echo "dblink from $1 to $3: exit $rc: $out"
	[ "$rc" -ne 0 ] || fail "dblink from $1 to $3 answered while $3 is blackholed"
	timed_out "$out"
}

step "conn(port=A).allow() heals A only: dblink from A to B is cut"
accept "conn(port=$A).allow()"
assert_eq "$(ok $A "SELECT 'a healed'")" "a healed"
try $B "SELECT 1"
[ "$TRY_RC" -ne 0 ] || fail "B answered though its scope still blackholes"
timed_out "$TRY_OUT"
dblink_cut A $A B $B

step "the other way: B healed, A blackholed: dblink from B to A is cut"
accept "conn(port=$A).blackhole()"
accept "conn(port=$B).allow()"
dblink_cut B $B A $A

step "conn.allow() heals all"
accept "conn.allow()"
assert_eq "$(ok $A "SELECT * FROM dblink('$(conninfo $B)', 'SELECT 7') AS t(x int)")" "7" "dblink A -> B"
assert_eq "$(ok $B "SELECT * FROM dblink('$(conninfo $A)', 'SELECT 8') AS t(x int)")" "8" "dblink B -> A"
st=$("$WF" status)
assert_not_contains "$st" "scope 1"

step "conn(client=\"::1\"): a psql over ::1 is faulted, one over 127.0.0.1 is not"
accept "conn(client=\"::1\").onQuery(query=\"^SELECT 'v6'\").kill()"
try $A "SELECT 'v6'" ::1
echo "over ::1: psql exit $TRY_RC: $TRY_OUT"
[ "$TRY_RC" -ne 0 ] || fail "SELECT 'v6' over ::1 passed"
assert_contains "$TRY_OUT" "server closed the connection unexpectedly"
assert_eq "$(ok $A "SELECT 'v6'")" "v6" "over 127.0.0.1"
assert_eq "$(ok $B "SELECT 'v6'")" "v6" "over 127.0.0.1 to B"
accept "conn.allow()"
assert_eq "$(ok $A "SELECT 'v6'" ::1)" "v6" "over ::1 after conn.allow()"

wf_stop
assert_no_trace "after the test"
echo ok
