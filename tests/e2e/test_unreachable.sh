#!/usr/bin/env bash
# unreachable(): the third way a connection dies (FIN: kill(), RST: reset()).
# The matching query and everything after it on that connection are dropped
# both ways, as blackhole() drops them, but each dropped data segment is
# answered with an ICMP host unreachable (ICMPv6 no route) to its sender, as
# a router that lost its route would: the client's socket fails with
# EHOSTUNREACH ("No route to host") when its timer runs out, where a
# blackholed one reports a timeout.  IPv4 and IPv6.
source "$(dirname "$0")/lib.sh"

PORT=56471
pg_start server $PORT
q() { psql "host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable" -X -q -A -t -c "$1"; }
counter() { sed -n "s/^  $1 *\([0-9]*\) .*/\1/p" <<<"$("$WF" status)"; }
wf_start --port $PORT
"$WF" send --fifo "$WF_FIFO" "conn.onQuery(query=\"^SELECT 'gone'\").unreachable()" >/dev/null

for host in 127.0.0.1 ::1; do
	step "over $host: the query vanishes, the client's socket fails with EHOSTUNREACH"
	icmps=$(counter UNREACHABLE_ICMPS)
	t0=$(date +%s%N)
	rc=0; err=$(psql "host=$host port=$PORT user=postgres dbname=postgres sslmode=disable \
		application_name=victim tcp_user_timeout=1500" -X -q -A -t \
		-c "SELECT 1" -c "SELECT 'gone'" 2>&1) || rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	echo "psql exit $rc after $ms ms: $err"
	[ "$rc" -ne 0 ] || fail "the unreachable query succeeded"
	assert_contains "$err" "No route to host"
	assert_not_contains "$err" "timed out"
	[ "$ms" -ge 1000 ] || fail "the client gave up after $ms ms: it should wait for its own timer"
	now=$(counter UNREACHABLE_ICMPS)
	echo "ICMP unreachables sent: $((now - icmps)) (the query and its retransmissions)"
	[ "$now" -gt "$icmps" ] || fail "no ICMP unreachable was sent"
	assert_eq "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'victim'")" "1" \
		"the server never heard of it: the session is still there"

	step "the server's goodbye is dropped and answered too"
	icmps=$(counter UNREACHABLE_ICMPS)
	q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'victim'" >/dev/null
	for _ in $(seq 50); do [ "$(counter UNREACHABLE_ICMPS)" -gt "$icmps" ] && break; sleep 0.1; done
	[ "$(counter UNREACHABLE_ICMPS)" -gt "$icmps" ] || fail "the terminated backend's error got no ICMP"
done

step "other connections pass; counters and the dump name it"
assert_eq "$(q "SELECT 'other connections pass'")" "other connections pass"
assert_eq "$(counter VERDICT_UNREACHABLE)" "2" "chunks made unreachable"
assert_eq "$(counter UNREACHABLE_FAILED)" "0" "ICMPs that could not be sent"
assert_contains "$("$WF" status)" "unreachable 2 ("
assert_eq "$("$WF" dump --json | jq -r 'select(.verdict == "unreachable") | .fields.query')" \
	"SELECT 'gone'
SELECT 'gone'" "the dump's verdicts"
wf_stop
assert_no_trace "at the end"
echo ok
