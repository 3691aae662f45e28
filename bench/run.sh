#!/usr/bin/env bash
# `make bench`: wirefault against no injector and against the proxy it
# replaces (mitmdump + Citus' fluent.py), side by side on this machine, in
# alternating rounds so that noise hits every side alike.  Writes
# docs/performance.md (the table), docs/performance.json (every number) and
# docs/performance.png (TPS per configuration).  Root; PostgreSQL 15 servers
# run as postgres in a temporary directory.
#
#   1. pgbench -S and the default TPC-B-like script (scale 10, -c 4 -j 2):
#      direct; wirefault (allow, recorder on); wirefault with a regex filter
#      that never matches; through the virtual proxy port; through mitmdump +
#      fluent.py; and pgbench to another port while wirefault runs.
#   2. Command round trip: Citus' SQL function citus.mitmproxy() (p50/p99)
#      against wirefault, a trivial FIFO responder (the protocol's floor) and
#      mitmdump, interleaved; and `wirefault send` alone.
#   3. Kernel cost per packet: BPF_PROG_TEST_RUN (bench/tc_*.c) and the
#      program's own run-time statistics under real traffic.
#   4. Loader RSS and ring-buffer loss over a long pgbench run, every loss
#      checked against what the dumps announced.
#
# Knobs (environment): BENCH_ROUNDS (3), BENCH_SECONDS per pgbench run (10),
# BENCH_RTT commands per target (1000), BENCH_LONG_SECONDS (300),
# BENCH_QUICK=1 (a smoke run: 1 round of 2 s, 50 commands, 10 s long run,
# results to $BENCH_OUT_DIR instead of docs/), CITUS_SRC (a Citus checkout
# holding src/test/regress/mitmscripts; else the fetched mirror is tried;
# fluent.py is read at benchmark time and never committed).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WF=$ROOT/build/wirefault
PGBIN=/usr/lib/postgresql/15/bin
QUICK=${BENCH_QUICK:-0}
if [ "$QUICK" = 1 ]; then
	ROUNDS=${BENCH_ROUNDS:-1}; SECS=${BENCH_SECONDS:-2}; RTT_N=${BENCH_RTT:-50}
	LONG=${BENCH_LONG_SECONDS:-10}; OUT_DIR=${BENCH_OUT_DIR:-$(mktemp -d /tmp/wf-bench-out.XXXXXX)}
else
	ROUNDS=${BENCH_ROUNDS:-3}; SECS=${BENCH_SECONDS:-10}; RTT_N=${BENCH_RTT:-1000}
	LONG=${BENCH_LONG_SECONDS:-300}; OUT_DIR=${BENCH_OUT_DIR:-$ROOT/docs}
fi
S1=56801 S2=56802 VPORT=56809 MPORT=56808

[ "$(id -u)" -eq 0 ] || { echo "bench: run as root (BPF, servers as postgres)" >&2; exit 1; }
[ -x "$WF" ] || { echo "bench: build/wirefault is missing: run make" >&2; exit 1; }
TMP=$(mktemp -d /tmp/wf-bench.XXXXXX)
chmod 755 "$TMP"
RES=$TMP/results.tsv
: >"$RES"
WF_PID= MITM_PID= RESP_PID=

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
as_pg() { runuser -u postgres -- "$@"; }
result() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$RES"; }	# section config round metric value

finish() {
	local rc=$?
	loader_stop
	mitm_stop
	[ -n "$RESP_PID" ] && { kill "$RESP_PID" 2>/dev/null || true; wait "$RESP_PID" 2>/dev/null || true; }
	for s in s1 s2; do
		as_pg "$PGBIN/pg_ctl" -D "$TMP/$s/data" -m immediate -w stop >/dev/null 2>&1 || true
	done
	sysctl -q kernel.bpf_stats_enabled=0 || true
	[ $rc -eq 0 ] || { echo "bench: failed; logs in $TMP" >&2; return; }
	rm -rf "$TMP"
}
trap finish EXIT

pg_start() {	# NAME PORT
	mkdir -p "$TMP/$1" && chown postgres: "$TMP/$1"
	as_pg "$PGBIN/initdb" -D "$TMP/$1/data" -A trust -U postgres --no-sync >/dev/null
	as_pg "$PGBIN/pg_ctl" -D "$TMP/$1/data" -l "$TMP/$1/log" -w -o "-p $2 -k $TMP/$1 \
		-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=50" \
		start >/dev/null
	as_pg "$PGBIN/pgbench" -i -q -s 10 "$(conn "$2")" >/dev/null 2>&1
}
conn() { echo "host=127.0.0.1 port=$1 user=postgres dbname=postgres sslmode=disable"; }

loader_start() {	# ARGS...: wirefault run, waits until ready
	rm -f "$TMP/ready"
	"$WF" run --fifo "$TMP/wf.fifo" --ready-file "$TMP/ready" "$@" >>"$TMP/wirefault.log" 2>&1 &
	WF_PID=$!
	for _ in $(seq 200); do
		[ -e "$TMP/ready" ] && return 0
		kill -0 "$WF_PID" 2>/dev/null || { cat "$TMP/wirefault.log" >&2; exit 1; }
		sleep 0.05
	done
	echo "bench: the loader did not become ready" >&2
	exit 1
}
loader_stop() {
	[ -n "$WF_PID" ] || return 0
	kill -TERM "$WF_PID" 2>/dev/null || true
	wait "$WF_PID" 2>/dev/null || true
	WF_PID=
}

# pgbench MODE PORT: prints TPS.  MODE select (-S) or tpcb (the default script).
pgb() {
	local flags=(-n -c 4 -j 2 -T "$SECS")
	[ "$1" = select ] && flags+=(-S)
	as_pg "$PGBIN/pgbench" "${flags[@]}" "$(conn "$2")" 2>&1 | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# ---- fluent.py, read from Citus at benchmark time -----------------------------------------
MITM_NOTE=
find_fluent() {
	local dir=$TMP/mitmscripts mirror=/work/.mirror/citusdata+citus/repo
	mkdir -p "$dir"
	if [ -n "${CITUS_SRC:-}" ] && [ -f "$CITUS_SRC/src/test/regress/mitmscripts/fluent.py" ]; then
		cp "$CITUS_SRC"/src/test/regress/mitmscripts/{fluent,structs}.py "$dir/"
	elif git -C "$mirror" rev-parse -q --verify v13.2.2 >/dev/null 2>&1; then
		for f in fluent structs; do
			git -C "$mirror" show "v13.2.2:src/test/regress/mitmscripts/$f.py" >"$dir/$f.py"
		done
	else
		MITM_NOTE="mitmdump side skipped: Citus' fluent.py not found (set CITUS_SRC to a Citus checkout)"
		return 1
	fi
	command -v mitmdump >/dev/null || { MITM_NOTE="mitmdump side skipped: Debian's mitmproxy is not installed"; return 1; }
	/usr/bin/python3 -c 'import construct' 2>/dev/null ||
		{ MITM_NOTE="mitmdump side skipped: python3-construct is not installed"; return 1; }
	return 0
}

mitm_start() {	# FIFO: Citus' harness's command line (pg_regress_multi.pl)
	rm -f "$1"; mkfifo -m 0666 "$1"
	# setsid: its own process group, as the harness does (no fork: we are not a group leader)
	setsid mitmdump --rawtcp -p $MPORT --mode reverse:127.0.0.1:$S1 \
		-s "$TMP/mitmscripts/fluent.py" --set fifo="$1" --set flow_detail=0 \
		--set termlog_verbosity=warn >>"$TMP/mitmdump.log" 2>&1 &
	MITM_PID=$!
	for _ in $(seq 100); do
		ss -ltn "sport = :$MPORT" | grep -q LISTEN && return 0
		sleep 0.1
	done
	echo "bench: mitmdump did not listen" >&2
	cat "$TMP/mitmdump.log" >&2
	exit 1
}
mitm_stop() {
	[ -n "$MITM_PID" ] || return 0
	# TERM: a background job of a script starts with SIGINT ignored, and Python keeps it so
	kill -TERM -- -"$MITM_PID" 2>/dev/null || kill -TERM "$MITM_PID" 2>/dev/null || true
	wait "$MITM_PID" 2>/dev/null || true
	MITM_PID=
}

# ---- setup --------------------------------------------------------------------------------
log "servers (pgbench scale 10) on $S1 and $S2"
pg_start s1 $S1
pg_start s2 $S2
HAVE_MITM=0
find_fluent && HAVE_MITM=1 || log "$MITM_NOTE"
{
	echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel=$(uname -r)"
	echo "cpu=$(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
	echo "cpus=$(nproc)"
	echo "mem=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "postgres=$("$PGBIN/postgres" --version)"
	echo "wirefault=$("$WF" --version) $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || true)"
	echo "mitmproxy=$(mitmdump --version 2>/dev/null | head -1 || true)"
	echo "rounds=$ROUNDS"; echo "seconds=$SECS"; echo "rtt_n=$RTT_N"; echo "long_seconds=$LONG"
	echo "mitm_note=$MITM_NOTE"
} >"$TMP/meta"

# ---- 1. throughput, alternating rounds --------------------------------------------------
configs=(direct wirefault regex vport nontarget)
[ $HAVE_MITM = 1 ] && configs+=(mitmdump)
run_config() {	# CONFIG MODE ROUND
	local tps
	case $1 in
	direct)
		tps=$(pgb "$2" $S1) ;;
	wirefault)
		loader_start --port $S1
		tps=$(pgb "$2" $S1); loader_stop ;;
	regex)
		loader_start --port $S1
		"$WF" send --fifo "$TMP/wf.fifo" 'conn.onQuery(query="FROM never_a_table").kill()' >/dev/null
		tps=$(pgb "$2" $S1); loader_stop ;;
	vport)
		loader_start --port $S1 --proxy-port $VPORT
		tps=$(pgb "$2" $VPORT); loader_stop ;;
	nontarget)	# measured right after the same port without wirefault: the pair is what counts
		result "$2" direct2 "$3" tps "$(pgb "$2" $S2)"
		loader_start --port $S1
		tps=$(pgb "$2" $S2); loader_stop ;;
	mitmdump)
		mitm_start "$TMP/mitm.fifo"
		tps=$(pgb "$2" $MPORT); mitm_stop ;;
	esac
	result "$2" "$1" "$3" tps "$tps"
	log "  $2 round $3 $1: $tps tps"
}
for mode in select tpcb; do
	for r in $(seq 1 "$ROUNDS"); do
		n=${#configs[@]}
		for i in $(seq 0 $((n - 1))); do	# rotate the order every round
			run_config "${configs[$(((i + r - 1) % n))]}" $mode "$r"
		done
	done
done

# ---- 2. command round trip ----------------------------------------------------------------
log "command round trip ($RTT_N commands per target)"
psql "$(conn $S1)" -X -q -v ON_ERROR_STOP=1 -f "$ROOT/tests/sql/mitmproxy_helpers.sql" >/dev/null
echo "SELECT citus.mitmproxy('conn.allow()');" >"$TMP/rtt.sql"
chmod 644 "$TMP/rtt.sql"
rm -f "$TMP/trivial.fifo"; mkfifo -m 0666 "$TMP/trivial.fifo"
# The floor of this protocol: read the command until the writer closes, answer an empty line.
/usr/bin/python3 -c '
import sys
p = sys.argv[1]
while True:
    with open(p, "rb") as f:
        f.read()
    with open(p, "wb") as f:
        f.write(b"\n")
' "$TMP/trivial.fifo" &
RESP_PID=$!
loader_start --port $S1
targets=(wirefault trivial)
[ $HAVE_MITM = 1 ] && { mitm_start "$TMP/mitm.fifo"; targets+=(mitmdump); }
fifo_of() { case $1 in wirefault) echo "$TMP/wf.fifo" ;; trivial) echo "$TMP/trivial.fifo" ;; mitmdump) echo "$TMP/mitm.fifo" ;; esac; }
batches=10; per=$((RTT_N / batches)); [ $per -ge 1 ] || per=1
mkdir -p "$TMP/rtt" && chown postgres: "$TMP/rtt"	# pgbench -l writes as postgres
for b in $(seq 1 $batches); do
	for t in "${targets[@]}"; do
		( cd "$TMP/rtt" && PGOPTIONS="-c citus.mitmfifo=$(fifo_of "$t")" as_pg "$PGBIN/pgbench" -n -c 1 \
			-t $per -f "$TMP/rtt.sql" -l --log-prefix="$TMP/rtt/${t}_$b" "$(conn $S1)" >/dev/null 2>&1 ) ||
			{ echo "bench: round trip through $t failed" >&2; exit 1; }
	done
done
for t in "${targets[@]}"; do
	cat "$TMP"/rtt/"${t}"_* | awk -v t="$t" '{ printf "rtt\t%s\t0\tus\t%s\n", t, $3 }' >>"$RES"
done
mitm_stop
kill "$RESP_PID" 2>/dev/null || true; wait "$RESP_PID" 2>/dev/null || true; RESP_PID=
# `wirefault send` alone: the CLI's own round trip
/usr/bin/python3 - "$WF" "$TMP/wf.fifo" "$RTT_N" >>"$RES" <<'PY'
import subprocess, sys, time
wf, fifo, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
# interleaved with the process alone (`wirefault --version`): the floor of any CLI call
for _ in range(n):
    t0 = time.perf_counter()
    subprocess.run([wf, "send", "--fifo", fifo, "conn.allow()"], check=True, stdout=subprocess.DEVNULL)
    t1 = time.perf_counter()
    subprocess.run([wf, "--version"], check=True, stdout=subprocess.DEVNULL)
    t2 = time.perf_counter()
    print(f"rtt\tsend\t0\tus\t{(t1 - t0) * 1e6:.1f}")
    print(f"rtt\texec\t0\tus\t{(t2 - t1) * 1e6:.1f}")
PY
loader_stop

# ---- 3. kernel cost per packet --------------------------------------------------------------
log "kernel cost per packet"
make -s -C "$ROOT" bench-build >/dev/null
runs=$([ "$QUICK" = 1 ] && echo 5000 || echo 100000)
"$ROOT/build/bench/tc_allow_path" $runs >"$TMP/allow.txt" 2>&1
"$ROOT/build/bench/tc_regex_filter" >"$TMP/regex.txt" 2>&1
num() { sed -n "s/^$1 *\([0-9.]*\).*/\1/p" "$2" | head -1; }
result kernel allow_repeat 0 ns "$(num 'Query segment, repeat (duplicate after run 1), rec on' "$TMP/allow.txt")"
result kernel ack_repeat 0 ns "$(num 'bare ACK of an established flow (repeat)' "$TMP/allow.txt")"
result kernel other_port_repeat 0 ns "$(num 'other port (repeat)' "$TMP/allow.txt")"
result kernel allow_new_bytes 0 ns "$(sed -n 's/^Query segment, new bytes each run, recording on.*(program ~\([0-9]*\)).*/\1/p' "$TMP/allow.txt")"
result kernel result_new_bytes 0 ns "$(sed -n 's/^result segment (T D C Z), new each run, recording on.*(program ~\([0-9]*\)).*/\1/p' "$TMP/allow.txt")"
result kernel regex_1k 0 ns "$(awk '/^conn.onQuery\(query="zzz\$"\)/ { print $(NF-2) }' "$TMP/regex.txt")"
result kernel matches_1k 0 ns "$(awk '/^conn.matches\(b"zzz\$"\)/ { print $(NF-2) }' "$TMP/regex.txt")"
# The program's own statistics under real traffic (kernel.bpf_stats_enabled)
prog_stats() { bpftool prog show name wf_tc_ingress -j | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin); d = d[0] if isinstance(d, list) else d
print(d.get("run_time_ns", 0), d.get("run_cnt", 0))'; }
per_packet() {	# BEFORE AFTER
	/usr/bin/python3 -c 'import sys; b0, b1, a0, a1 = map(int, sys.argv[1:]); print(f"{(a0 - b0) / max(1, a1 - b1):.0f}")' $1 $2
}
loader_start --port $S1
sysctl -q kernel.bpf_stats_enabled=1
before=$(prog_stats); pgb select $S1 >/dev/null; after=$(prog_stats)
result kernel live_pgbench_select 0 ns "$(per_packet "$before" "$after")"
before=$(prog_stats)
psql "$(conn $S1)" -X -q -c "COPY (SELECT repeat('x', 200) FROM generate_series(1, 300000)) TO STDOUT" >/dev/null
after=$(prog_stats)
result kernel live_64k_datarows 0 ns "$(per_packet "$before" "$after")"
result kernel live_64k_packets 0 n "$(( $(echo "$after" | cut -d' ' -f2) - $(echo "$before" | cut -d' ' -f2) ))"
sysctl -q kernel.bpf_stats_enabled=0
loader_stop

# ---- 4. a long run: loader memory and ring-buffer loss ------------------------------------
log "long run: ${LONG}s of pgbench -S with default bounds"
loader_start --port $S1
as_pg "$PGBIN/pgbench" -n -S -c 4 -j 2 -T "$LONG" "$(conn $S1)" >"$TMP/long.out" 2>&1 &
pgb_pid=$!
announced=0 t=0
while kill -0 $pgb_pid 2>/dev/null; do
	sleep 5; t=$((t + 5))
	result long wirefault "$t" rss_kb "$(awk '/^VmRSS/ { print $2 }' /proc/$WF_PID/status)"
	if [ $((t % 30)) -eq 0 ]; then	# what a test suite does: dump now and then
		n=$("$WF" send --fifo "$TMP/wf.fifo" 'recorder.dump()' |
			sed -n 's/^-1\twirefault\t\[kernel lost \([0-9]*\) recorder pieces.*/\1/p')
		announced=$((announced + ${n:-0}))
	fi
done
wait $pgb_pid || true
n=$("$WF" send --fifo "$TMP/wf.fifo" 'recorder.dump()' | sed -n 's/^-1\twirefault\t\[kernel lost \([0-9]*\) recorder pieces.*/\1/p')
announced=$((announced + ${n:-0}))
st=$("$WF" status)
lost=$(sed -n 's/.* written, \([0-9]*\) pieces (.*) lost.*/\1/p' <<<"$st")
written=$(sed -n 's/.*ring buffer: \([0-9]*\) pieces.*/\1/p' <<<"$st")
result long wirefault 0 hwm_kb "$(awk '/^VmHWM/ { print $2 }' /proc/$WF_PID/status)"
result long wirefault 0 ring_pieces "$written"
result long wirefault 0 ring_lost "$lost"
result long wirefault 0 ring_lost_announced "$announced"
result long wirefault 0 tps "$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$TMP/long.out")"
loader_stop

# ---- report -------------------------------------------------------------------------------
log "writing $OUT_DIR/performance.{md,json,png}"
mkdir -p "$OUT_DIR"
/usr/bin/python3 "$ROOT/bench/report.py" "$RES" "$TMP/meta" "$OUT_DIR"
log "done"
