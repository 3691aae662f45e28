#!/usr/bin/env bash
# make demo-bank: a Jepsen-style bank on a throwaway PostgreSQL 15 behind wirefault.
# Concurrent transfers (build/tests/bank/bank) run through the faulted port in
# rounds; each round wirefault injects a fault drawn from the seed (kills and
# resets of COMMITs, killed COMMIT answers, killed UPDATEs, delays), and the
# bank is checked through the server's Unix socket, which wirefault never
# touches.  The same seed replays the same faults and the same transfers:
#
#   WF_BANK_SEED=7 make demo-bank      (default seed 1; WF_DEMO_PORT, default 56810)
source "$(dirname "$0")/demo-lib.sh"

bank=$root/build/tests/bank/bank
seed=${WF_BANK_SEED:-1}
threads=4 transfers=24 accounts=8 balance=100000

demo_setup demo-bank "${WF_DEMO_PORT:-56810}"
[ -x "$bank" ] || { echo "demo-bank: $bank is missing: make bank" >&2; exit 1; }
faulted="host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=disable"
direct="host=$tmp port=$port user=postgres dbname=postgres"
send() { "$wf" send --fifo "$fifo" "$1" >/dev/null; }
counter() { sed -n "s/^  $1 *\([0-9]*\) .*/\1/p" <<<"$2"; }
field() { grep "^$2" <<<"$out" | grep -o "\b$1=[0-9]*" | cut -d= -f2; }

say "a throwaway PostgreSQL 15 on 127.0.0.1:$port, wirefault on its port"
demo_start_pg
demo_start_wf --seed "$seed"
"$wf" status | sed -n '1,2p'
"$bank" --check-conninfo "$direct" --init --accounts $accounts --balance $balance

# The faults: every kind once, in an order drawn from the seed; which COMMITs, answers or UPDATEs
# they hit is decided in the kernel by probability(p), reproducibly from `wirefault run --seed`
# and each connection's name (bank-<thread>-<n>): `wirefault decisions` logs every decision.
RANDOM=$seed
kinds=(kill reset acklost update delay)
for ((i = ${#kinds[@]} - 1; i > 0; i--)); do
	j=$((RANDOM % (i + 1))); t=${kinds[i]}; kinds[i]=${kinds[j]}; kinds[j]=$t
done
describe() {	# KIND N -> "COMMAND|what it does"
	local p
	printf -v p '0.%02d' "$2"
	case $1 in
	kill) echo "conn.onQuery(query=\"^COMMIT\").probability($p).kill()|each COMMIT is killed (FIN both ways) before the server sees it, with probability $p" ;;
	reset) echo "conn.onQuery(query=\"^COMMIT\").probability($p).reset()|each COMMIT is reset (RST both ways) before the server sees it, with probability $p" ;;
	acklost) echo "conn.onCommandComplete(command=\"^COMMIT\").probability($p).kill()|the server commits, but the answer is killed, with probability $p" ;;
	update) echo "conn.onQuery(query=\"^UPDATE\").probability($p).kill()|each UPDATE is killed with probability $p: its transaction never reaches COMMIT" ;;
	delay) echo "conn.onQuery().delay($2, $(($2 / 2)))|every Query is held $2 ms, give or take $(($2 / 2)) (drawn per Query)" ;;
	esac
}
# decisions made by pipeline generation GEN: "N decisions, K passed"
decisions_of() {
	"$wf" decisions | awk -v g="$1" '$2 == "gen" && $3 == g { n++; if ($NF == "pass") k++ }
		END { printf "%d random decisions, %d passed", n, k }'
}

say "the workload: $threads threads x $transfers transfers per round between $accounts accounts of $balance; seed $seed"
echo "each transfer: BEGIN; UPDATE (debit); UPDATE (credit), in account-id order; INSERT INTO transfers; COMMIT"
echo "a lost connection makes a transfer 'failed' (lost before COMMIT was sent: certainly not applied)"
echo "or 'indeterminate' (COMMIT sent, no answer: the client cannot know); the thread reconnects and goes on"

round=0 ind_applied=0 ind_lost=0
for kind in calm "${kinds[@]}"; do
	case $kind in
	calm) cmd='conn.allow()'; what="no fault: the baseline" ;;
	delay) n=$((10 + RANDOM % 21)) ;;		# drawn here: a subshell would reseed RANDOM
	*) n=$((5 + RANDOM % 16)) ;;		# p = 0.05 .. 0.20
	esac
	[ "$kind" = calm ] || IFS='|' read -r cmd what <<<"$(describe "$kind" "$n")"
	say "round $round: $what"
	echo "   $cmd"
	send "$cmd"
	before=$("$wf" status)
	gen=$(sed -n 's/^  generation \([0-9]*\),.*/\1/p' <<<"$before")
	rc=0
	out=$("$bank" --conninfo "$faulted" --check-conninfo "$direct" --threads $threads \
		--transfers $transfers --seed $((seed * 100 + round)) --run "round-$round" --check -v \
		2>"$tmp/events") || rc=$?
	after=$("$wf" status)
	send 'conn.allow()'
	c=$(field committed total) f=$(field failed total) i=$(field indeterminate total)
	d=$(field declined total) r=$(field reconnects total) ms=$(field elapsed_ms total)
	printf '   transfers: %s committed, %s failed, %s indeterminate, %s declined; %s reconnects; %s ms\n' \
		"$c" "$f" "$i" "$d" "$r" "$ms"
	# the lowest thread's first loss (the threads' order in time varies, their transfers do not)
	ev=$(grep 'connection lost' "$tmp/events" | sort -s -t' ' -k3,3n | head -n 1 || true)
	[ -z "$ev" ] || echo "   e.g. ${ev#bank: }"
	verdicts=
	for v in KILL:killed RESET:reset HOLD:held; do
		n=$(( $(counter VERDICT_${v%:*} "$after") - $(counter VERDICT_${v%:*} "$before") ))
		[ "$n" -eq 0 ] || verdicts+="${verdicts:+, }$n ${v#*:}"
	done
	echo "   wirefault: ${verdicts:-nothing done} (chunks, from wirefault status)"
	case $kind in kill | reset | acklost | update) echo "   $(decisions_of "$gen") (wirefault decisions)" ;; esac
	grep '^check: run' <<<"$out" | sed -n '1p' | sed 's/^check: run [^:]*: /   Jepsen check: /'
	applied=$(field indeterminate_applied check-run)
	ind_applied=$((ind_applied + applied)) ind_lost=$((ind_lost + i - applied))
	grep '^check: total' <<<"$out" | sed 's/^check: /   invariant: /'
	if [ $rc -ne 0 ]; then
		echo "$out"; cat "$tmp/events"
		echo "demo-bank: the bank reported a problem (exit $rc)" >&2
		exit 1
	fi
	round=$((round + 1))
done

say "the whole bank after $round rounds, read through the Unix socket"
"$bank" --check-conninfo "$direct" --check | sed 's/^check: /   /'
echo "   indeterminate transfers: $ind_applied were applied, $ind_lost were not: a checker that took"
echo "   them all for failed, or all for committed, would have been wrong"
echo "   replay: WF_BANK_SEED=$seed make demo-bank draws the same faults, the same transfers and"
echo "   the same kernel decisions (wirefault run --seed $seed; connections named bank-<thread>-<n>)"

say "stopping wirefault (SIGTERM): nothing stays"
demo_stop_wf
