#!/usr/bin/env bash
# cancel() one at a time, as fluent.py's single thread does it: when a second
# connection's chunk matches while a cancel is under way, its SIGINT goes out
# when the first chunk is forwarded (100 ms later) and it is forwarded 100 ms
# after that; the port stalls meanwhile, so the first query's answer, coming
# at 100 ms, waits for the second sleep too.  A queued cancel whose pipeline
# was replaced meanwhile sends no signal and does not sleep (fluent evaluates
# a message with the handler of the moment).
# Citus' failure_truncate and failure_create_distributed_table_non_empty
# depend on the spacing (docs/citus.md).
source "$(dirname "$0")/lib.sh"

PORT=56471
pg_start server $PORT
S="host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable"
wf_start --port $PORT -v

# The process cancel() signals: records when each SIGINT arrives.
/usr/bin/python3 -c '
import signal, sys, time
out = open(sys.argv[1], "a", buffering=1)
signal.signal(signal.SIGINT, lambda *a: out.write(f"{time.monotonic():.6f}\n"))
while True:
    time.sleep(1)
' "$WF_TMP/sigints" &
TARGET=$!
trap 'kill $TARGET 2>/dev/null || true; cleanup_harness' EXIT
sleep 0.3

# two clients, connected first, then both send the matching query at once
# (pgbench -c 2 -j 1 connects both before the first transaction); per-client
# latencies in microseconds from pgbench -l
echo "SELECT 'serial';" >"$WF_TMP/serial.sql"
mkdir -p "$WF_TMP/pgb" && chown postgres: "$WF_TMP/pgb"
run_pair() {
	: >"$WF_TMP/sigints"
	rm -f "$WF_TMP"/pgb/*
	"$WF" send --fifo "$WF_FIFO" "conn.onQuery(query=\"^SELECT 'serial\").cancel($TARGET)" >/dev/null
	( cd "$WF_TMP/pgb" && as_postgres /usr/lib/postgresql/15/bin/pgbench -n -c 2 -j 1 -t 1 \
		-f "$WF_TMP/serial.sql" -l --log-prefix="$WF_TMP/pgb/lat" "$S" >/dev/null 2>&1 ) &
	PAIR=$!
}

step "two matches at once: signals 100 ms apart, chunks forwarded 100 and 200 ms late, answers at 200 ms"
run_pair
wait $PAIR
sleep 0.2
mapfile -t sig <"$WF_TMP/sigints"
echo "SIGINTs at: ${sig[*]}"
assert_eq "${#sig[@]}" "2" "one SIGINT per match"
gap=$(python3 -c "print(round((${sig[1]} - ${sig[0]}) * 1000))")
echo "gap between the signals: $gap ms"
[ "$gap" -ge 90 ] && [ "$gap" -le 160 ] || fail "the second SIGINT came $gap ms after the first, not ~100"
mapfile -t lat < <(cat "$WF_TMP"/pgb/lat* | awk '{ print int($3 / 1000) }' | sort -n)
echo "the two queries took ${lat[*]} ms"
# the first chunk goes at 100 ms, but its answer waits behind the second sleep, as in fluent.py
# (without the stall: ~100 ms; without the queue: both ~100 ms)
for l in "${lat[@]}"; do
	[ "$l" -ge 180 ] && [ "$l" -le 280 ] || fail "a query took $l ms, not ~200"
done
grep -q "the port is stalled; this one signals in" <<<"$(wf_log)" || fail "the loader did not queue the second cancel"

step "a queued cancel whose pipeline was replaced sends no signal"
run_pair
for _ in $(seq 400); do	# the first cancel is under way: its SIGINT arrived
	[ -s "$WF_TMP/sigints" ] && break
	sleep 0.005
done
"$WF" send --fifo "$WF_FIFO" 'conn.allow()' >/dev/null	# the test moves on
wait $PAIR
sleep 0.3
mapfile -t sig <"$WF_TMP/sigints"
assert_eq "${#sig[@]}" "1" "only the cancel that was under way signals"
grep -q "the pipeline changed while this one waited" <<<"$(wf_log)" || fail "no note of the skipped signal"
mapfile -t lat < <(cat "$WF_TMP"/pgb/lat* | awk '{ print int($3 / 1000) }' | sort -n)
echo "the two queries took ${lat[*]} ms"
[ "${lat[1]}" -le 170 ] || fail "the unsignalled chunk waited ${lat[1]} ms: it should go when its turn came"
wf_stop
assert_no_trace "at the end"
echo ok
