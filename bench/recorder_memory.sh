#!/usr/bin/env bash
# Loader memory under recording: RSS of `wirefault run` after N small chunks
# (pgbench, one SELECT per transaction: one client chunk and one server chunk
# each) and after one result of N DataRow messages, before and after a dump.
# Usage (root): bench/recorder_memory.sh [N=100000]
set -euo pipefail
n=${1:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
wf=$root/build/wirefault
pgbin=/usr/lib/postgresql/15/bin
port=56700
[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
tmp=$(mktemp -d /tmp/wf-bench.XXXXXX); chmod 755 "$tmp"; chown postgres: "$tmp"
wf_pid=
finish() {
	[ -n "$wf_pid" ] && { kill "$wf_pid"; wait "$wf_pid" || true; }
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -m immediate -w stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap finish EXIT
runuser -u postgres -- "$pgbin/initdb" -D "$tmp/data" -A trust -U postgres --no-sync >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/log" -w \
	-o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
"$wf" run --port $port --fifo "$tmp/fifo" --ready-file "$tmp/ready" 2>"$tmp/wf.log" &
wf_pid=$!
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
rss() { awk '/^VmRSS|^VmHWM/ { printf "%s %s kB  ", $1, $2 }' "/proc/$wf_pid/status"; echo; }
conn="host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=disable"

printf 'start:                          '; rss
echo 'SELECT 1;' >"$tmp/select1.sql"
"$pgbin/pgbench" -n -c 1 -t $((n / 2)) -f "$tmp/select1.sql" "$conn" >/dev/null
sleep 0.2
printf 'after %d small chunks:      ' "$n"; rss
"$wf" send --fifo "$tmp/fifo" 'recorder.dump()' | wc -l | sed 's/^/  rows dumped: /'
printf 'after the dump:                 '; rss
psql "$conn" -X -q -c "SELECT generate_series(1, $n)" >/dev/null
sleep 0.2
printf 'after %d DataRow messages:  ' "$n"; rss
"$wf" send --fifo "$tmp/fifo" 'recorder.dump()' | wc -c | sed 's/^/  dump bytes: /'
printf 'after the dump:                 '; rss
"$wf" status | grep -E 'REC_(PIECES|LOST_PIECES|BYTES)'
