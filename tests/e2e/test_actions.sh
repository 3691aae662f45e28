#!/usr/bin/env bash
# The actions end to end, on real PostgreSQL: kill() and reset() on a Query,
# on a CommandComplete (server -> client), on the initial chunk and on
# AuthenticationOk, over IPv4 and IPv6; cancel(pid) of the coordinator's own
# backend (50 times) and the latency a hold adds; cancel() of a pid that does
# not exist; connect_delay(1400) and (500), and the port's stall; killall() with idle connections.
# Commands go through citus.mitmproxy() on the coordinator.  The test checks
# what psql, dblink (libpq inside the server), the worker's log and `ss`
# observe.
source "$(dirname "$0")/lib.sh"

CPORT=56601
WPORT=56602
pg_start coordinator $CPORT
pg_start worker $WPORT
setup_coordinator coordinator worker
source "$(dirname "$0")/faults.sh"
fault_setup_coordinator

W6="host=::1 port=$WPORT user=postgres dbname=postgres sslmode=disable connect_timeout=5"
psql6() { timeout 15 psql "$W6" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
RESET_LOG='could not receive data from client: Connection reset by peer'

# No socket of the worker port is left but listeners and TIME-WAITs of
# connections that ended normally: the faulted ones are gone altogether.
assert_no_sockets_left() {
	local out
	sleep 1
	out=$(ss -tanH "( sport = :$WPORT or dport = :$WPORT )" | grep -Ev '^(LISTEN|TIME-WAIT) ' || true)
	[ -z "$out" ] || { ss -tan "( sport = :$WPORT or dport = :$WPORT )"; fail "$1: sockets left: $out"; }
}

# ms_of CMD...: wall-clock milliseconds CMD takes (its output discarded, its failure fatal).
ms_of() {
	local s e
	s=${EPOCHREALTIME/./}
	"$@" >/dev/null || fail "$* failed"
	e=${EPOCHREALTIME/./}
	echo $(((e - s) / 1000))
}

# stats N...: "min/median/max"
stats() { tr ' ' '\n' <<<"$*" | sort -n | awk '{ v[NR] = $1 } END { printf "%d/%d/%d", v[1], v[int((NR + 1) / 2)], v[NR] }'; }

wf_start --port $WPORT

for action in kill reset; do
	step "$action() on a Query (psql, dblink, IPv4 and IPv6)"
	accept "conn.onQuery(query=\"^SELECT 42\").$action()"
	assert_eq "$(worker 'SELECT 1')" "1" "other queries pass"
	mark=$(log_mark)
	fails_with_lost "psql SELECT 42" worker "SELECT 42"
	expect_lost "dblink SELECT 42" "$(try_q "$W" 'SELECT 42')"
	fails_with_lost "psql over ::1 SELECT 42" psql6 -c "SELECT 42"
	wait_backends "$mark" 3
	if [ $action = kill ]; then
		assert_clean_log "$mark" "kill() of a Query"
	else
		# reset(): the backend was reading the Query and reads ECONNRESET, once per connection.
		assert_eq "$(log_since "$mark" | grep -c "$RESET_LOG")" "3" "worker log lines '$RESET_LOG'"
	fi
	assert_no_sockets_left "$action() of a Query"

	step "$action() on a CommandComplete (server -> client)"
	accept "conn.onCommandComplete(command=\"^SELECT 7\$\").$action()"
	assert_eq "$(worker 'SELECT generate_series(1, 3)' | wc -l)" "3" "SELECT 3 passes"
	mark=$(log_mark)
	fails_with_lost "psql SELECT 7 rows" worker "SELECT generate_series(1, 7)"
	expect_lost "dblink SELECT 7 rows" "$(try_q "$W" 'SELECT generate_series(1, 7)::text')"
	wait_backends "$mark" 2
	# The backend sent its answer and waits for the next query: it reads the
	# FIN (kill: a clean EOF) or the RST (reset) of the client.
	if [ $action = kill ]; then
		assert_clean_log "$mark" "kill() of a CommandComplete"
	else
		assert_eq "$(log_since "$mark" | grep -c "$RESET_LOG")" "2" "worker log lines '$RESET_LOG'"
	fi
	assert_no_sockets_left "$action() of a CommandComplete"

	step "$action() on the initial chunk (conn.$action()) and on AuthenticationOk"
	for cmd in "conn.$action()" "conn.onAuthenticationOk().$action()"; do
		accept "$cmd"
		mark=$(log_mark)
		fails_with_lost "psql under $cmd" worker "SELECT 1"
		fails_with_lost "psql over ::1 under $cmd" psql6 -c "SELECT 1"
		if [ "$cmd" = "conn.$action()" ]; then
			# The StartupMessage never arrived: the backend logs only the
			# connection (and, after reset, the reset) or nothing at all
			# when the postmaster saw the close before forking.
			assert_eq "$(log_since "$mark" | grep -c 'connection authorized')" "0" "no session under $cmd"
		else
			wait_backends "$mark" 2
		fi
		assert_no_sockets_left "$cmd"
	done
	accept 'conn.allow()'
	assert_eq "$(worker 'SELECT 1')" "1" "conn.allow() restores traffic"
	assert_eq "$(psql6 -c 'SELECT 1')" "1" "conn.allow() restores traffic over ::1"
done

# PostgreSQL 15's dblink waits for its result without checking for
# interrupts (PQexec), so the signalled backend notices the cancel once the
# held query has been delivered and answered: as with the reference, which
# signals, sleeps 0.1 s and forwards.
step 'cancel(pg_backend_pid()): the coordinator backend running a dblink query is cancelled (50 times)'
cancel_once() {
	psql_at $CPORT -v ON_ERROR_STOP=0 2>&1 <<-SQL
	SELECT result FROM citus.mitmproxy('conn.onQuery(query="cancelme").cancel(' || pg_backend_pid() || ')');
	SELECT x FROM dblink('$W', 'SELECT ''cancelme''') AS t(x text);
	SQL
}
times=()
for i in $(seq 1 50); do
	s=${EPOCHREALTIME/./}
	out=$(cancel_once)
	e=${EPOCHREALTIME/./}
	assert_contains "$out" "canceling statement due to user request" "repetition $i"
	ms=$(((e - s) / 1000))
	[ $ms -ge 100 ] || fail "repetition $i took $ms ms: the query was not held 100 ms"
	[ $ms -lt 2000 ] || fail "repetition $i took $ms ms"
	times+=($ms)
	accept 'conn.allow()'
done
echo "50 cancels, session time min/median/max ms: $(stats "${times[@]}")"
grep -q 'cancel([0-9]*): sent SIGINT' "$WF_TMP/wirefault.log" || fail "the loader did not log its signals"

step 'cancel(pid of a bystander): the query is held ~100 ms, then succeeds'
# The signalled process must outlive ten SIGINTs: one that ignores them.
bash -c 'trap "" INT; exec sleep 60' &
bystander=$!
base=() held=()
# pairs measured back to back, so that the machine's drift hits both alike
extras=()
for i in $(seq 1 10); do
	accept 'conn.allow()'
	b=$(ms_of worker 'SELECT pg_sleep(0.2)')
	accept "conn.onQuery(query=\"pg_sleep.0.2\").cancel($bystander)"
	h=$(ms_of worker 'SELECT pg_sleep(0.2)')
	base+=($b) held+=($h) extras+=($((h - b)))
done
kill -KILL $bystander; wait $bystander 2>/dev/null || true
accept 'conn.allow()'
echo "pg_sleep(0.2) ms min/median/max: without a hold $(stats "${base[@]}"), held $(stats "${held[@]}")"
extra=$(stats "${extras[@]}" | cut -d/ -f2)
echo "extra latency of the hold (median of the pairs): $extra ms"
# Asserted loosely: CI measured medians of 93 ms twice on 2 shared cores (the client's clock
# sees more than the kernel's 100 ms between the chunk's arrival and its release); a hold that
# did not happen adds ~0, one held twice ~200.
[ $extra -ge 80 ] && [ $extra -lt 400 ] || fail "a cancel() hold should add ~100 ms, added $extra ms"

step 'cancel(a pid that does not exist): logged, counted, the chunk delivered at once'
nopid=4194000
while kill -0 $nopid 2>/dev/null; do nopid=$((nopid - 1)); done
accept "conn.onQuery(query=\"^SELECT 5\").cancel($nopid)"
ms=$(ms_of worker 'SELECT 5')
[ $ms -lt 90 ] || fail "the chunk should go through at once, took $ms ms"
grep -q "cancel($nopid): cannot send SIGINT: No such process" "$WF_TMP/wirefault.log" ||
	fail "the loader did not log the failed signal"
grep -Eq 'CANCEL_SIGNAL_FAILED +[1-9]' <<<"$("$WF" status)" || fail "status does not count CANCEL_SIGNAL_FAILED"
accept 'conn.allow()'

for delay in 1400 500; do
	step "connect_delay($delay): each connection takes the delay more, no more"
	base=()
	for i in $(seq 1 10); do base+=($(ms_of worker 'SELECT 1')); done
	psql_at $WPORT -c 'SELECT pg_sleep(1)' -c "SELECT 'old'" >"$WF_TMP/old.out" &
	old_pid=$!
	# the older session's StartupMessage must be in before the command (it would be delayed, and
	# the first connection's delay would start only when its ends)
	for _ in $(seq 1 100); do
		[ "$(worker "SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(1)'")" = 1 ] && break
		sleep 0.02
	done
	accept "conn.connect_delay($delay)"
	times=()
	for i in $(seq 1 10); do times+=($(ms_of worker 'SELECT 1')); done
	echo "connect_delay($delay): psql times ms $(echo "${times[@]}") (without: $(stats "${base[@]}"))"
	max_base=$(stats "${base[@]}" | cut -d/ -f3)
	for t in "${times[@]}"; do
		[ $t -ge $delay ] || fail "a connection took $t ms < $delay"
		# 50 ms of slack: the loader's timer and a busy 2-core machine (CI), not the hold
		[ $t -le $((delay + max_base + 50)) ] || fail "a connection took $t ms > $delay + $max_base + 50"
	done
	# A session opened before the command is not cut off (only initial chunks are held; its
	# answers may wait for the port's stall, below).
	wait $old_pid || fail "the older session failed"
	assert_eq "$(tail -n 1 "$WF_TMP/old.out")" "old" "the older session's queries"
	accept 'conn.allow()'
done

# start_pair: two psql connections at once; wait_pair: their times in ms, in $first and $second
start_pair() {
	ms_of worker 'SELECT 1' >"$WF_TMP/first.ms" &
	first_pid=$!
	ms_of worker 'SELECT 1' >"$WF_TMP/second.ms" &
	second_pid=$!
}
wait_pair() {
	wait $first_pid || fail "the first delayed connection failed"
	wait $second_pid || fail "the second delayed connection failed"
	first=$(cat "$WF_TMP/first.ms") second=$(cat "$WF_TMP/second.ms")
}

step 'connect_delay(1000) stalls the port as fluent.py sleeps: two connections both take 2 s, an open session waits'
# The open session speaks ~1.2 s after it starts: after the command and the two connections'
# StartupMessages, before the second one's delay is over.
( sleep 1.2; echo '\timing on'; echo "SELECT 'open'" ) | psql_at $WPORT >"$WF_TMP/open.out" 2>&1 &
open_pid=$!
accept 'conn.connect_delay(1000)'
start_pair
sleep 0.5
st=$("$WF" status)
grep -Eq "^stall: port $WPORT, [0-9]+ ms left" <<<"$st" || fail "status does not show the port's stall: $st"
[ "$(grep -c 'connect_delay 127.0.0.1' <<<"$st")" = 2 ] || fail "status should list two connect_delay holds: $st"
wait_pair
wait $open_pid || fail "the open session failed: $(cat "$WF_TMP/open.out")"
open_ms=$(sed -n 's/^Time: \([0-9]*\).*/\1/p' "$WF_TMP/open.out")
echo "connect_delay(1000): connections took $first and $second ms; the open session's query $open_ms ms"
[ -n "$open_ms" ] || fail "psql printed no timing: $(cat "$WF_TMP/open.out")"
# The second StartupMessage's second starts when the first's ends, and the server's answer to
# the first, coming at 1 s, waits for it as well (fluent.py: the answer is handled after the
# second sleep).  Without the stall both would take ~1000 ms.
for t in $first $second; do
	[ $t -ge 1900 ] && [ $t -lt 3000 ] || fail "a delayed connection took $t ms, not ~2000"
done
# the open session's query waits for the stall's end, ~2 s after the first StartupMessage:
# ~0.8 s; without a stall ~1 ms
[ $open_ms -ge 300 ] || fail "the open session's query took $open_ms ms: it did not wait for the stall"
grep -Eq 'STALL_HOLDS +[1-9]' <<<"$("$WF" status)" || fail "status does not count STALL_HOLDS"
accept 'conn.allow()'

step 'connect_delay(1000), replaced before the second connection'"'"'s turn: that one does not wait its second'
# fluent.py handles the second StartupMessage when its sleep for the first ends, with the
# handler of that moment: conn.allow() by then, so no second sleep.
accept 'conn.connect_delay(1000)'
start_pair
sleep 0.4
accept 'conn.allow()'
wait_pair
echo "connect_delay(1000) replaced after 0.4 s: connections took $first and $second ms"
for t in $first $second; do
	[ $t -ge 900 ] && [ $t -lt 1800 ] || fail "a connection took $t ms, not ~1000 (2000: the second delay was kept)"
done

step 'killall(): idle connections, the matching one and new ones all read EOF; conn.allow() restores'
for i in 1 2 3; do
	( rc=0; (sleep 3; echo "SELECT 'idle $i';") | psql_at $WPORT >"$WF_TMP/idle$i.out" 2>&1 || rc=$?
	  echo $rc >"$WF_TMP/idle$i.rc" ) &
	idle[$i]=$!
done
for _ in $(seq 1 100); do
	[ "$(ss -tanH state established "( sport = :$WPORT )" | wc -l)" -ge 3 ] && break
	sleep 0.05
done
mark=$(log_mark)
accept 'conn.onQuery(query="killme").killall()'
fails_with_lost "the matching query" worker "SELECT 'killme'"
# the idle sessions' backends read a clean EOF at once, long before they speak
for _ in $(seq 1 40); do
	[ "$(log_since "$mark" | grep -c 'disconnection: session time')" -ge 4 ] && break
	sleep 0.05
done
assert_eq "$(log_since "$mark" | grep -c 'disconnection: session time')" "4" "backends ended within 2 s"
assert_clean_log "$mark" "killall() of idle connections"
fails_with_lost "a new connection under killall()" worker "SELECT 'new'"
fails_with_lost "a new connection over ::1 under killall()" psql6 -c "SELECT 'new'"
for i in 1 2 3; do
	wait "${idle[$i]}" || true
	assert_eq "$(cat "$WF_TMP/idle$i.rc")" "2" "idle session $i exit status"
	assert_contains "$(cat "$WF_TMP/idle$i.out")" "$LOST" "idle session $i"
done
grep -q 'killall: probed [1-9][0-9]* established connection' "$WF_TMP/wirefault.log" ||
	fail "the loader did not sweep idle connections"
accept 'conn.allow()'
assert_eq "$(worker 'SELECT 1')" "1" "conn.allow() ends killall()"
assert_no_sockets_left "killall()"

step 'the loader stops cleanly and leaves nothing behind'
"$WF" status | grep -E 'VERDICT_(KILL|RESET|HOLD)|CANCEL_|HOLDS_RELEASED|KILLALL_|INJECT_FAILED|RTO_LOWERED'
grep -Eq 'INJECT_FAILED +0 ' <<<"$("$WF" status)" || fail "control segments failed to be built or sent"
grep -Eq 'HOLD_RELEASE_FAILED +0 ' <<<"$("$WF" status)" || fail "held chunks failed to be released"
wf_stop
assert_no_trace "after the action tests"
