# Shared harness of the end-to-end tests: real PostgreSQL 15 servers run as
# the postgres user in a temporary directory, the real wirefault loader, real
# clients (psql, dblink, postgres_fdw).  Source it; it cleans up on exit.
#
# A test exits 0 on success, 77 (with the reason as its last line) when a
# prerequisite is missing, anything else on failure.

set -euo pipefail

WF_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WF=$WF_ROOT/build/wirefault
PGBIN=/usr/lib/postgresql/15/bin

skip() { echo "skipped: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

[ "$(id -u)" -eq 0 ] || skip "needs root (BPF, tc, running servers as postgres)"
[ -x "$PGBIN/postgres" ] || skip "PostgreSQL 15 server not installed ($PGBIN)"
id postgres >/dev/null 2>&1 || skip "no postgres user"
[ -x "$WF" ] || fail "build/wirefault is missing: run make"

WF_TMP=$(mktemp -d /tmp/wf-e2e.XXXXXX)
chmod 755 "$WF_TMP"
export WF_FIFO=$WF_TMP/wirefault.fifo
WF_PID=
declare -A PG_PORT=()

as_postgres() { runuser -u postgres -- "$@"; }

# The tests' server ports (56000-57999) lie in Linux's ephemeral range: a client socket that
# lingers from an earlier test (a blackholed one retransmits its FIN for minutes) can hold one
# as its local port, and a server started on it then listens on ::1 alone ("could not bind IPv4
# address ... Address already in use"). While a test runs, the range is kept out of ephemeral
# use; the setting is put back on exit.
TEST_PORTS=56000-57999
RESERVED_PORTS_BEFORE=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
echo "${RESERVED_PORTS_BEFORE:+$RESERVED_PORTS_BEFORE,}$TEST_PORTS" >/proc/sys/net/ipv4/ip_local_reserved_ports

# pg_start NAME PORT [postgres -c options...]: a fresh cluster, trust auth, logging connections.
pg_start() {
	local name=$1 port=$2; shift 2
	local dir=$WF_TMP/$name
	mkdir -p "$dir" && chown postgres: "$dir"
	as_postgres "$PGBIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log"; fail "initdb $name"; }
	local opts="-p $port -k $dir -c listen_addresses=127.0.0.1,::1 -c log_connections=on"
	opts+=" -c log_disconnections=on -c fsync=off -c citus.mitmfifo=$WF_FIFO"
	for o in "$@"; do opts+=" -c $o"; done
	as_postgres "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -o "$opts" -w -t 30 start >/dev/null ||
		{ cat "$dir/server.log"; fail "start $name"; }
	PG_PORT[$name]=$port
	# a server that could bind only some of its addresses starts all the same
	if grep -q "could not bind" "$dir/server.log"; then
		grep "could not bind" "$dir/server.log"
		ss -tanp "( sport = :$port )" || true
		fail "server $name could not listen on every address of port $port"
	fi
}

pg_log() { cat "$WF_TMP/$1/server.log"; }

pg_stop_all() {
	local name
	for name in "${!PG_PORT[@]}"; do
		as_postgres "$PGBIN/pg_ctl" -D "$WF_TMP/$name/data" -m immediate -w stop >/dev/null 2>&1 || true
	done
}

# sql NAME SQL: run SQL over TCP as postgres, unaligned tuples-only output.
sql() {
	local name=$1; shift
	psql "host=127.0.0.1 port=${PG_PORT[$name]} user=postgres dbname=postgres sslmode=disable" \
		-X -q -A -t -v ON_ERROR_STOP=1 -c "$*"
}

# The coordinator gets Citus' FIFO helper functions and dblink/postgres_fdw to reach the worker.
setup_coordinator() {
	local name=$1 worker=$2
	psql "host=127.0.0.1 port=${PG_PORT[$name]} user=postgres dbname=postgres" -X -q -v ON_ERROR_STOP=1 \
		-f "$WF_ROOT/tests/sql/mitmproxy_helpers.sql" >/dev/null
	sql "$name" "CREATE EXTENSION dblink; CREATE EXTENSION postgres_fdw;
		CREATE SERVER worker FOREIGN DATA WRAPPER postgres_fdw
			OPTIONS (host '127.0.0.1', port '${PG_PORT[$worker]}', dbname 'postgres', sslmode 'disable');
		CREATE USER MAPPING FOR postgres SERVER worker OPTIONS (user 'postgres');" >/dev/null
}

# wf_start ARGS...: start the loader in the background and wait until it is attached.
wf_start() {
	local ready=$WF_TMP/ready
	rm -f "$ready"
	"$WF" run --fifo "$WF_FIFO" --ready-file "$ready" "$@" >>"$WF_TMP/wirefault.log" 2>&1 &
	WF_PID=$!
	for _ in $(seq 1 200); do
		[ -e "$ready" ] && return 0
		kill -0 "$WF_PID" 2>/dev/null || { cat "$WF_TMP/wirefault.log"; fail "wirefault run exited early"; }
		sleep 0.05
	done
	cat "$WF_TMP/wirefault.log"
	fail "wirefault run did not become ready"
}

# wf_stop [SIGNAL]: stop the loader and wait for it; returns its exit status.
wf_stop() {
	local sig=${1:-TERM} rc=0
	[ -n "$WF_PID" ] || return 0
	kill -s "$sig" "$WF_PID" 2>/dev/null || true
	wait "$WF_PID" || rc=$?
	WF_PID=
	return $rc
}

wf_log() { cat "$WF_TMP/wirefault.log"; }

# Ids of BPF links whose program is one of ours (bpftool 7.1 prints no program names for links).
wf_links() {
	local ours
	ours=$(bpftool prog show 2>/dev/null | sed -n 's/^\([0-9]*\): .* name \(wf_[a-z_0-9]*\) .*/\1/p')
	[ -n "$ours" ] || return 0
	bpftool link show 2>/dev/null | awk -v ours=" $(echo $ours) " '
		match($0, /prog [0-9]+/) { p = substr($0, RSTART + 5, RLENGTH - 5); if (index(ours, " " p " ")) print $1 }'
}

# Nothing of ours may stay attached or pinned.
assert_no_trace() {
	local what=${1:-}
	[ ! -e /sys/fs/bpf/wirefault ] || fail "$what: /sys/fs/bpf/wirefault still exists"
	[ ! -e /run/wirefault.sock ] || fail "$what: the control socket /run/wirefault.sock still exists"
	if [ -n "$(wf_links)" ]; then
		bpftool link show
		fail "$what: a BPF link of wirefault is still attached"
	fi
	if grep -q ' name wf_' <<<"$(bpftool prog show 2>/dev/null)"; then
		bpftool prog show | grep -A3 ' name wf_'
		fail "$what: a BPF program of wirefault is still loaded"
	fi
	if grep -q 'wf_' <<<"$(bpftool cgroup tree 2>/dev/null)"; then
		fail "$what: a cgroup program of wirefault is still attached"
	fi
	if grep -q bpf <<<"$(tc filter show dev lo ingress 2>/dev/null; tc filter show dev lo egress 2>/dev/null)"; then
		fail "$what: a tc filter is attached to lo"
	fi
	if grep -q clsact <<<"$(tc qdisc show dev lo)"; then
		fail "$what: a clsact qdisc exists on lo"
	fi
}

assert_eq() {
	[ "$1" == "$2" ] || fail "${3:-values differ}: expected [$2], got [$1]"
}

assert_contains() {
	grep -qF -- "$2" <<<"$1" || fail "${3:-missing text}: [$2] not found in: $1"
}

assert_not_contains() {
	! grep -qF -- "$2" <<<"$1" || fail "${3:-unexpected text}: [$2] found in: $1"
}

cleanup_harness() {
	local rc=$?
	if [ -n "$WF_PID" ]; then
		kill -TERM "$WF_PID" 2>/dev/null || true
		wait "$WF_PID" 2>/dev/null || true
	fi
	pg_stop_all
	if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
		echo "--- wirefault log"; cat "$WF_TMP/wirefault.log" 2>/dev/null || true
	fi
	rm -rf "$WF_TMP"
	"$WF" cleanup >/dev/null 2>&1 || true
	echo "$RESERVED_PORTS_BEFORE" >/proc/sys/net/ipv4/ip_local_reserved_ports || true
}
trap cleanup_harness EXIT
