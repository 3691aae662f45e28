#!/usr/bin/env bash
# delay(ms): every matching chunk is held for ms, then delivered, in either
# direction; other chunks and other connections are not slowed down.
source "$(dirname "$0")/lib.sh"

PORT=56481
pg_start server $PORT
S="host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable"
wf_start --port $PORT
# milliseconds one psql run takes (connection included)
timed() { local t0; t0=$(date +%s%N); psql "$S" -X -q -A -t -c "$1" >"$WF_TMP/out"; echo $(( ($(date +%s%N) - t0) / 1000000 )); }

step "a matching Query is held 300 ms, each time; others pass at once"
"$WF" send --fifo "$WF_FIFO" "conn.onQuery(query=\"^SELECT 'slow'\").delay(300)" >/dev/null
base=$(timed "SELECT 'fast'")
slow=$(timed "SELECT 'slow'")
assert_eq "$(cat "$WF_TMP/out")" "slow" "delivered, not dropped"
slow2=$(timed "SELECT 'slow'")
echo "unmatched $base ms, matched $slow ms and $slow2 ms"
[ "$slow" -ge $((base + 250)) ] && [ "$slow" -le $((base + 600)) ] || fail "delay(300) took $slow ms (unmatched $base)"
[ "$slow2" -ge $((base + 250)) ] || fail "the second matching Query was not held ($slow2 ms)"

step "another connection is not slowed by a held chunk"
( timed "SELECT 'slow'" >"$WF_TMP/slow_ms" ) &
held=$!
sleep 0.05
other=$(timed "SELECT 'other'")
wait $held
echo "during a hold: another connection took $other ms; the held one $(cat "$WF_TMP/slow_ms") ms"
[ "$other" -le $((base + 150)) ] || fail "another connection took $other ms while a chunk was held"

step "the server's direction: DataRows delayed"
"$WF" send --fifo "$WF_FIFO" 'conn.onDataRow().delay(200)' >/dev/null
rows=$(timed "SELECT generate_series(1, 3)")
assert_eq "$(tr '\n' , <"$WF_TMP/out")" "1,2,3," "the rows arrive whole and in order"
echo "a result with DataRows: $rows ms"
[ "$rows" -ge $((base + 150)) ] || fail "DataRows were not held ($rows ms)"
st=$("$WF" status)
assert_contains "$st" 'pipeline: conn.onDataRow().delay(200)'
hold=$(sed -n 's/^  VERDICT_HOLD *\([0-9]*\) .*/\1/p' <<<"$st")
[ "$hold" -ge 4 ] || fail "VERDICT_HOLD is $hold"
assert_contains "$("$WF" dump --json | jq -r 'select(.verdict == "delay") | .type' | sort -u | tr '\n' ,)" "DataRow"
wf_stop
assert_no_trace "at the end"
echo ok
