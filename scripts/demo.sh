#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL 15, wirefault attached to its port, a
# command sent over the FIFO exactly as Citus' SQL helper sends it, a query,
# what the client saw, the recorder's dump, and proof that nothing stays.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
wf=$root/build/wirefault
pgbin=/usr/lib/postgresql/15/bin
port=${WF_DEMO_PORT:-56500}

[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (wirefault loads BPF programs)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/wirefault-demo.XXXXXX)
chmod 755 "$tmp"
fifo=$tmp/wirefault.fifo
wf_pid=
finish() {
	[ -n "$wf_pid" ] && { kill -TERM "$wf_pid" 2>/dev/null; wait "$wf_pid" 2>/dev/null || true; }
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}
trap finish EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
psql_demo() { psql "host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=disable" -X "$@"; }

say "starting a throwaway PostgreSQL 15 on 127.0.0.1:$port"
chown postgres: "$tmp"
runuser -u postgres -- "$pgbin/initdb" -D "$tmp/data" -A trust -U postgres --no-sync >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
	-o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null

say "wirefault run --port $port --fifo $fifo"
"$wf" run --port "$port" --fifo "$fifo" --ready-file "$tmp/ready" 2>"$tmp/wirefault.log" &
wf_pid=$!
for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
[ -e "$tmp/ready" ] || { cat "$tmp/wirefault.log"; exit 1; }
"$wf" status | sed -n '1,4p'

say "command: conn.allow()   (answer: one empty line = accepted)"
"$wf" send --fifo "$fifo" 'conn.allow()' && echo "(accepted)"

say "command: conn.onQuery(query=\"^COMMIT\").kill()   (parsed; applying it needs the kernel pipeline, next milestone)"
"$wf" send --fifo "$fifo" 'conn.onQuery(query="^COMMIT").kill()' || echo "(refused: the previous pipeline stays active)"

"$wf" send --fifo "$fifo" 'recorder.reset()'
say "the client runs a query through the followed port"
psql_demo -c "SELECT 1 AS one, 'wire' AS two"

say "recorder.dump()   (conn, source, messages of each TCP segment)"
"$wf" send --fifo "$fifo" 'recorder.dump()'

say "stopping wirefault (SIGTERM)"
kill -TERM "$wf_pid"; wait "$wf_pid"; wf_pid=
cat "$tmp/wirefault.log"
echo "pinned maps left: $(ls /sys/fs/bpf/wirefault 2>/dev/null | wc -l); links left: $(bpftool link show | grep -c 'name wf_' || true)"
