#!/usr/bin/env bash
# probability(p) with a seed, times(n), delay(ms, jitter): random faults that
# a run with the same seed and workload repeats exactly (the decisions, and
# so what the clients see), counted faults that stop after n, and delays
# that vary around their mean.
source "$(dirname "$0")/lib.sh"

PORT=56491
pg_start server $PORT
S="host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable"
RANDOM_KILL="conn.onQuery(query=\"^SELECT 'r'\").probability(0.3).kill()"

# The workload: 12 connections one after the other, each named, each sending
# 6 queries; prints per connection how many answers it got before its kill.
workload() {
	local i out
	for i in $(seq 1 12); do
		out=$(psql "$S application_name=rand$i" -X -q -A -t -c "SELECT 'r', 1" -c "SELECT 'r', 2" \
			-c "SELECT 'r', 3" -c "SELECT 'r', 4" -c "SELECT 'r', 5" -c "SELECT 'r', 6" 2>/dev/null) || true
		echo "rand$i $(grep -c . <<<"$out" || true)"
	done
}
# decisions GEN: what names each decision of pipeline generation GEN, sorted
decisions() {
	"$WF" decisions --json | jq -r --argjson g "$1" \
		'select(.gen == $g) | [.seed, .ident, .direction, .message, .filter, .passed] | @tsv' | sort
}
current_gen() { "$WF" status | sed -n 's/^  generation \([0-9]*\),.*/\1/p'; }

step "run 1: --seed 42, probability(0.3) kills"
wf_start --port $PORT --seed 42
"$WF" send --fifo "$WF_FIFO" "$RANDOM_KILL" >/dev/null
gen1=$(current_gen)
seen1=$(workload)
dec1=$(decisions "$gen1")
n=$(wc -l <<<"$dec1"); passed=$(grep -c 'true$' <<<"$dec1" || true)
echo "run 1: $n decisions, $passed passed (killed); answers per connection: $(cut -d' ' -f2 <<<"$seen1" | tr '\n' ' ')"
[ "$n" -ge 20 ] || fail "only $n decisions logged"
[ "$passed" -ge 3 ] && [ "$passed" -le $((n * 6 / 10)) ] || fail "$passed of $n passed at p = 0.3"
# the clients saw exactly the kills the log names: one lost connection per passed decision
lost=$(awk '$2 < 6' <<<"$seen1" | wc -l)
assert_eq "$lost" "$passed" "connections cut short vs decisions that passed"
st=$("$WF" status)
assert_contains "$st" "seed 42: random decisions repeat"
assert_eq "$(sed -n 's/^  VERDICT_KILL *\([0-9]*\) .*/\1/p' <<<"$st")" "$passed" "chunks killed"
assert_contains "$("$WF" decisions | head -1)" " seed 42 ident "

step "run 2: the same command again, the same workload: the same decisions, the same outcome"
"$WF" send --fifo "$WF_FIFO" "$RANDOM_KILL" >/dev/null
gen2=$(current_gen)
seen2=$(workload)
assert_eq "$(decisions "$gen2")" "$dec1" "decisions of the replay (generation $gen2 vs $gen1)"
assert_eq "$seen2" "$seen1" "what the clients saw"
wf_stop

step "run 3: a new loader with --seed 42 replays it too; --seed 43 does not"
wf_start --port $PORT --seed 42
"$WF" send --fifo "$WF_FIFO" "$RANDOM_KILL" >/dev/null
seen3=$(workload)
assert_eq "$(decisions "$(current_gen)")" "$dec1" "decisions after a restart with the same seed"
assert_eq "$seen3" "$seen1" "what the clients saw after a restart"
"$WF" send --fifo "$WF_FIFO" "conn.seed(43).onQuery(query=\"^SELECT 'r'\").probability(0.3).kill()" >/dev/null
seen4=$(workload)
dec4=$(decisions "$(current_gen)")
[ "$(cut -f2- <<<"$dec4")" != "$(cut -f2- <<<"$dec1")" ] || fail "seed 43 made the same decisions as seed 42"
echo "seed 43: answers per connection: $(cut -d' ' -f2 <<<"$seen4" | tr '\n' ' ')"
wf_stop

step "without --seed the loader draws one, logs it, and status shows it"
wf_start --port $PORT
"$WF" send --fifo "$WF_FIFO" "$RANDOM_KILL" >/dev/null
drawn=$(wf_log | sed -n 's/.*random decisions: seed \([0-9]*\) (drawn.*/\1/p' | tail -1)
[ -n "$drawn" ] || fail "the drawn seed is not logged"
assert_contains "$("$WF" status)" "seed $drawn: random decisions repeat"

step "times(2): the first two matching queries are killed, then everything passes"
"$WF" send --fifo "$WF_FIFO" "conn.onQuery(query=\"^SELECT 't'\").times(2).kill()" >/dev/null
outcomes=
for i in 1 2 3 4; do
	if psql "$S" -X -q -A -t -c "SELECT 't'" >/dev/null 2>&1; then outcomes+="ok "; else outcomes+="lost "; fi
done
assert_eq "$outcomes" "lost lost ok ok " "four connections under times(2)"
assert_contains "$("$WF" status)" "(2 of 2 times used)"
"$WF" send --fifo "$WF_FIFO" "conn.onQuery(query=\"^SELECT 't'\").times(2).kill()" >/dev/null
psql "$S" -X -q -A -t -c "SELECT 't'" >/dev/null 2>&1 && fail "a new command did not start times() over"

step "delay(200, 150): each matching query held 50..350 ms, not all the same"
"$WF" send --fifo "$WF_FIFO" "conn.onQuery(query=\"^SELECT 'j'\").delay(200, 150)" >/dev/null
assert_contains "$("$WF" status)" "pipeline: conn.onQuery(query=\"^SELECT 'j'\").delay(200, 150)"
# one connection, 12 queries: psql's own timing of each
times=$(psql "$S" -X -A -t <<<"\\timing on
$(for i in $(seq 12); do echo "SELECT 'j';"; done)" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p')
echo "held: $(tr '\n' ' ' <<<"$times")ms"
assert_eq "$(wc -l <<<"$times")" "12" "timed queries"
awk '{ if ($1 < 40 || $1 > 400) bad = bad " " $1 } END { if (bad) { print "out of 50..350 ms (+ slack):" bad; exit 1 } }' \
	<<<"$times" || fail "a jittered delay out of range"
spread=$(sort -n <<<"$times" | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%d", hi - lo }')
echo "spread: $spread ms"
[ "$spread" -ge 60 ] || fail "12 jittered delays spread over $spread ms only"
wf_stop
assert_no_trace "at the end"
echo ok
