#!/usr/bin/env bash
# blackhole(): a partition as the application sees it.  The matching query
# and everything after it on that connection vanish both ways, without FIN or
# RST: the client finds out only by its own timer (tcp_user_timeout), and the
# server still believes the session is there.  Other connections pass.
source "$(dirname "$0")/lib.sh"

PORT=56461
pg_start server $PORT
S="host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable"
q() { psql "$S" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
wf_start --port $PORT
"$WF" send --fifo "$WF_FIFO" "conn.onQuery(query=\"^SELECT 'hole'\").blackhole()" >/dev/null

step "the client's query vanishes: its own tcp_user_timeout ends it, not the server"
t0=$(date +%s%N)
rc=0; err=$(psql "$S application_name=victim tcp_user_timeout=1500" -X -q -A -t \
	-c "SELECT 1" -c "SELECT 'hole'" 2>&1) || rc=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
echo "psql exit $rc after $ms ms: $err"
[ "$rc" -ne 0 ] || fail "the blackholed query succeeded"
assert_contains "$err" "timed out"
[ "$ms" -ge 1000 ] || fail "the client gave up after $ms ms: something answered it"
assert_not_contains "$err" "server closed the connection"

step "the server never heard of it: the session is still there"
assert_eq "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'victim'")" "1"
assert_eq "$(q "SELECT 'other connections pass'")" "other connections pass"
st=$("$WF" status)
assert_contains "$st" "VERDICT_BLACKHOLE                 1"
drops=$(sed -n 's/^  BLACKHOLE_DROPS *\([0-9]*\) .*/\1/p' <<<"$st")
[ "${drops:-0}" -ge 1 ] || fail "no packets of the blackholed connection dropped: $drops"
grep -q "BLACKHOLE\|blackhole" <<<"$("$WF" dump --json | jq -r 'select(.verdict == "blackhole") | .verdict')" ||
	fail "the dump does not show the blackhole verdict"

step "even the server's own goodbye is swallowed"
drops=$(sed -n 's/^  BLACKHOLE_DROPS *\([0-9]*\) .*/\1/p' <<<"$("$WF" status)")
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim'" >/dev/null
for _ in $(seq 50); do
	now=$(sed -n 's/^  BLACKHOLE_DROPS *\([0-9]*\) .*/\1/p' <<<"$("$WF" status)")
	[ "$now" -gt "$drops" ] && break
	sleep 0.1
done
echo "packets of the blackholed connection dropped: $drops, after the server's goodbye $now"
[ "$now" -gt "$drops" ] || fail "the terminated backend's goodbye (error, FIN) was not dropped"
wf_stop
assert_no_trace "after the test"
echo ok
