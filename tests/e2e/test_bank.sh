#!/usr/bin/env bash
# A Jepsen-style bank under faults: concurrent transfers (tests/bank/bank.c)
# through the faulted port while wirefault kills, resets, delays and
# blackholes; after every phase the bank is checked through the server's Unix
# socket, which wirefault never touches: the total balance holds, no balance
# is negative, every acknowledged commit is in the transfers log, and nothing
# unacknowledged beyond the indeterminate transfers appeared.  The fault
# visibly happened (reconnects, wirefault's verdict counters), and a run
# replays exactly.
source "$(dirname "$0")/lib.sh"

# ---- the faults: the one place to change them ------------------------------------------------
# Which COMMITs are hit: each with probability 0.1, decided reproducibly from the seed (the bank
# names every connection bank-<thread>-<n>, so the decisions do not depend on the interleaving).
# Deterministic alternative: VICTIMS='after(3)'; WF_SEED= (every connection's 4th COMMIT).
VICTIMS='probability(0.1)'; WF_SEED=42
declare -A FAULT=(
	[calm]='conn.allow()'
	[kill]="conn.onQuery(query=\"^COMMIT\").$VICTIMS.kill()"
	[reset]="conn.onQuery(query=\"^COMMIT\").$VICTIMS.reset()"
	[acklost]="conn.onCommandComplete(command=\"^COMMIT\").$VICTIMS.kill()"
	[blackhole]="conn.onQuery(query=\"^COMMIT\").$VICTIMS.blackhole()"
	[delay]='conn.onQuery().delay(20)'
)
# ----------------------------------------------------------------------------------------------

BANK=$WF_ROOT/build/tests/bank/bank
[ -x "$BANK" ] || fail "$BANK is missing: run make bank (make test-e2e builds it)"
PORT=56801
THREADS=4
K=20			# transfers per thread and phase
ACCOUNTS=8
BALANCE=100000		# amounts are at most 100: no fault phase ever declines a transfer,
			# so what the faults hit does not depend on the threads' interleaving

pg_start bank $PORT
FAULTED="host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable"
DIRECT="host=$WF_TMP/bank port=$PORT user=postgres dbname=postgres"	# Unix socket: never faulted
wf_start --port $PORT ${WF_SEED:+--seed $WF_SEED}

counter() { sed -n "s/^  $1 *\([0-9]*\) .*/\1/p" <<<"$2"; }
# field KEY LINE-PREFIX: KEY=N of the output's line that starts with LINE-PREFIX
field() { grep "^$2" <<<"$OUT" | grep -o "\b$1=[0-9]*" | cut -d= -f2; }

# [THREADS=T K=N] phase LABEL FAULT SEED [bank options]: the fault in force, K transfers in each
# of THREADS threads through the faulted port, the checks through the socket, the fault lifted.  Sets OUT (the bank's output),
# GEN (the fault's pipeline generation), the totals (COMMITTED, FAILED, INDET, DECLINED,
# RECONNECTS, ELAPSED, APPLIED: indeterminate
# transfers found in the log) and D_<COUNTER>: how much wirefault's verdict counters moved.
phase() {
	local label=$1 fault=$2 seed=$3 before after rc=0 c; shift 3
	step "$label: ${FAULT[$fault]}"
	"$WF" send --fifo "$WF_FIFO" "${FAULT[$fault]}" >/dev/null || fail "$label: the fault was refused"
	before=$("$WF" status)
	GEN=$(sed -n 's/^  generation \([0-9]*\),.*/\1/p' <<<"$before")
	OUT=$("$BANK" --conninfo "$FAULTED" --check-conninfo "$DIRECT" --threads $THREADS --transfers $K \
		--seed "$seed" --run "$label" --history "$WF_TMP/$label.history" --check "$@" \
		2>"$WF_TMP/$label.err") || rc=$?
	after=$("$WF" status)
	"$WF" send --fifo "$WF_FIFO" 'conn.allow()' >/dev/null
	echo "$OUT"
	[ $rc -eq 0 ] || { cat "$WF_TMP/$label.err"; fail "$label: the bank exited $rc"; }
	assert_not_contains "$OUT" "VIOLATED" "$label: an invariant"
	COMMITTED=$(field committed total); FAILED=$(field failed total); INDET=$(field indeterminate total)
	DECLINED=$(field declined total); RECONNECTS=$(field reconnects total); ELAPSED=$(field elapsed_ms total)
	APPLIED=$(field indeterminate_applied check-run)
	assert_eq "$((COMMITTED + FAILED + INDET + DECLINED))" "$((THREADS * K))" "$label: every transfer has an outcome"
	for c in VERDICT_KILL VERDICT_RESET VERDICT_HOLD VERDICT_BLACKHOLE; do
		printf -v "D_$c" '%d' $(( $(counter $c "$after") - $(counter $c "$before") ))
	done
	echo "wirefault: killed $D_VERDICT_KILL, reset $D_VERDICT_RESET, held $D_VERDICT_HOLD," \
		"blackholed $D_VERDICT_BLACKHOLE chunks"
}

step "the plan: thread t's transfers depend on the seed and t only"
assert_eq "$("$BANK" --plan --seed 7 --threads 2 --transfers 50 --accounts $ACCOUNTS | grep '^1 ')" \
	"$("$BANK" --plan --seed 7 --threads 4 --transfers 50 --accounts $ACCOUNTS | grep '^1 ')" "thread 1's plan"
[ "$("$BANK" --plan --seed 7 --transfers 50 --accounts $ACCOUNTS)" != \
	"$("$BANK" --plan --seed 8 --transfers 50 --accounts $ACCOUNTS)" ] || fail "seeds 7 and 8 plan alike"

step "init: $ACCOUNTS accounts of $BALANCE"
"$BANK" --check-conninfo "$DIRECT" --init --accounts $ACCOUNTS --balance $BALANCE

phase calm calm 1
assert_eq "$COMMITTED" "$((THREADS * K))" "calm: every transfer commits"
assert_eq "$RECONNECTS" "0" "calm: no connection lost"
CALM_MS=$ELAPSED

# The COMMIT never reaches the server: the client cannot tell, so each is indeterminate, and none
# of them is applied.  One kill, one indeterminate transfer, and one reconnect (but after the last).
for f in kill reset; do
	phase $f $f 2
	[ "$RECONNECTS" -gt 0 ] || fail "$f: no connection was lost"
	[ "$INDET" -gt 0 ] || fail "$f: no transfer was indeterminate"
	assert_eq "$FAILED" "0" "$f: only COMMITs are hit"
	assert_eq "$APPLIED" "0" "$f: a COMMIT the server never received was applied"
	if [ $f = kill ]; then hit=$D_VERDICT_KILL; KILL_GEN=$GEN; else hit=$D_VERDICT_RESET; fi
	assert_eq "$hit" "$INDET" "$f: COMMITs hit by wirefault against indeterminate transfers"
	# after(3): the 4th, 8th, ... COMMIT of every connection, the same in each thread
	[ "$VICTIMS" != 'after(3)' ] || assert_eq "$INDET" "$((THREADS * (K / 4)))" "$f: after(3) victims"
done

# decisions GEN: what names each random decision of pipeline generation GEN, sorted
decisions() {
	"$WF" decisions --json | jq -r --argjson g "$1" \
		'select(.gen == $g) | [.seed, .ident, .direction, .message, .filter, .passed] | @tsv' | sort
}
step "replay: the kill phase again, same workload seed, same fault: the same decisions, the same history"
phase kill-replay kill 2
assert_eq "$(decisions "$GEN")" "$(decisions "$KILL_GEN")" "random decisions of the replay"
diff "$WF_TMP/kill.history" "$WF_TMP/kill-replay.history" || fail "the replay differs from the kill phase"
echo "identical: $(decisions "$GEN" | wc -l) decisions, $(grep -c ' indeterminate ' "$WF_TMP/kill.history")" \
	"indeterminate transfers at the same places"

# The server commits, its answer is killed: indeterminate again, and every one of them applied.
# A checker that took indeterminate for failed would be wrong here, one that took it for
# committed would be wrong in the kill phase.
phase acklost acklost 3
[ "$INDET" -gt 0 ] && [ "$RECONNECTS" -gt 0 ] || fail "acklost: no answer was lost"
assert_eq "$D_VERDICT_KILL" "$INDET" "acklost: VERDICT_KILL against indeterminate transfers"
assert_eq "$APPLIED" "$INDET" "acklost: every COMMIT whose answer was killed was applied"

# A silent partition: only the client's timers end it (tcp_user_timeout, its deadline), only the
# server's end the session holding the rows (idle_in_transaction_session_timeout).
K=8 phase blackhole blackhole 4 --timeout 1000
[ "$INDET" -gt 0 ] || fail "blackhole: no COMMIT vanished"
assert_eq "$D_VERDICT_BLACKHOLE" "$INDET" "blackhole: VERDICT_BLACKHOLE against indeterminate transfers"
assert_eq "$APPLIED" "0" "blackhole: a COMMIT that vanished was applied"
[ "$ELAPSED" -lt 15000 ] || fail "blackhole: the workload took $ELAPSED ms"

phase delay delay 5
assert_eq "$COMMITTED" "$((THREADS * K))" "delay: slower, but every transfer commits"
assert_eq "$RECONNECTS" "0" "delay: no connection lost"
# every Query of a transfer (BEGIN, two UPDATEs, INSERT, COMMIT) held 20 ms: >= 100 ms a transfer
min=$((CALM_MS + K * 5 * 20 * 8 / 10))
echo "calm phase $CALM_MS ms, delay phase $ELAPSED ms (at least $min expected)"
[ "$ELAPSED" -ge "$min" ] || fail "delay: $ELAPSED ms, not measurably longer than calm ($CALM_MS ms)"
[ "$D_VERDICT_HOLD" -ge $((5 * COMMITTED)) ] || fail "delay: only $D_VERDICT_HOLD chunks held"

step "contention: 8 threads, large amounts, no fault: declines, never a negative balance"
THREADS=8 K=40 phase contention calm 6 --max-amount 60000
[ "$DECLINED" -gt 0 ] || fail "contention: no transfer was declined"
assert_eq "$((FAILED + INDET))" "0" "contention: no failure without faults"

step "the checker catches a broken invariant"
psql "$DIRECT" -X -q -c "UPDATE accounts SET balance = balance + 1 WHERE id = 1"
rc=0; OUT=$("$BANK" --check-conninfo "$DIRECT" --check 2>&1) || rc=$?
echo "$OUT"
assert_eq "$rc" "1" "check of a broken bank"
assert_contains "$OUT" "INVARIANT VIOLATED"
psql "$DIRECT" -X -q -c "UPDATE accounts SET balance = balance - 1 WHERE id = 1"
OUT=$("$BANK" --check-conninfo "$DIRECT" --check) || fail "the repaired bank does not check"
echo "$OUT"
assert_not_contains "$OUT" "VIOLATED"

wf_stop
assert_no_trace "after the test"
echo ok
