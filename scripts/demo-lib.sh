# Shared by scripts/demo.sh and scripts/demo-bank.sh (source it): a throwaway
# PostgreSQL 15 in a temporary directory, the wirefault loader on its port,
# and the proof at the end that nothing of wirefault stays.  Removes
# everything on exit, whatever happens.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
wf=$root/build/wirefault
pgbin=/usr/lib/postgresql/15/bin

# demo_setup NAME PORT: root check, the temporary directory, the cleanup.
demo_setup() {
	[ "$(id -u)" -eq 0 ] || { echo "$1: run as root (wirefault loads BPF programs)" >&2; exit 1; }
	port=$2
	tmp=$(mktemp -d "/tmp/wirefault-$1.XXXXXX")
	chmod 755 "$tmp"
	fifo=$tmp/wirefault.fifo
	wf_pid=
	trap demo_finish EXIT
}

demo_finish() {
	[ -n "$wf_pid" ] && { kill -TERM "$wf_pid" 2>/dev/null; wait "$wf_pid" 2>/dev/null || true; }
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$tmp"
}

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# demo_start_pg: a fresh cluster on 127.0.0.1:$port and the Unix socket in $tmp, trust auth.
demo_start_pg() {
	chown postgres: "$tmp"
	runuser -u postgres -- "$pgbin/initdb" -D "$tmp/data" -A trust -U postgres --no-sync >/dev/null
	runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
		-o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
}

# demo_start_wf [run options...]: the loader on $port, waited for until it is attached.
demo_start_wf() {
	"$wf" run --port "$port" --fifo "$fifo" --ready-file "$tmp/ready" "$@" 2>"$tmp/wirefault.log" &
	wf_pid=$!
	for _ in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
	[ -e "$tmp/ready" ] || { cat "$tmp/wirefault.log"; exit 1; }
}

# demo_stop_wf: SIGTERM, and what is left of wirefault afterwards (nothing).
demo_stop_wf() {
	kill -TERM "$wf_pid"; wait "$wf_pid"; wf_pid=
	local rc=0
	"$wf" status >/dev/null 2>&1 || rc=$?
	echo "wirefault status: exit $rc (3: no loader); pinned objects left:" \
		"$(ls /sys/fs/bpf/wirefault 2>/dev/null | wc -l); wirefault programs loaded:" \
		"$(bpftool prog show | grep -c ' name wf_' || true)"
}
