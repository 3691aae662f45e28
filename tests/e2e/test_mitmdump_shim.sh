#!/usr/bin/env bash
# scripts/mitmdump as Citus' harness (pg_regress_multi.pl) uses it, after
# `make install`, started by a non-root user: `mitmdump --version`, then
# Citus' exact command line in a process group of its own with output to
# proxy.output; `lsof -i :9060` run by that user must see a listener within a
# second; commands work (also one sent before the loader is ready: it waits);
# a connection to 9060 reaches the worker on 57638; SIGINT to the process
# group (what the harness sends) and SIGTERM stop it and leave nothing
# attached; a taken port 9060 and bad options fail clearly.
source "$(dirname "$0")/lib.sh"

VPORT=9060	# Citus' harness: fixed ports
WPORT=57638
SHIM_USER=wfshim
PREFIX=$WF_TMP/prefix
RUN=$WF_TMP/run	# the harness's working directory (proxy.output, the FIFO)

command -v setcap >/dev/null || skip "setcap missing (libcap2-bin)"
command -v lsof >/dev/null || skip "lsof missing"
for p in $VPORT $WPORT; do
	[ -z "$(ss -tanH "( sport = :$p )")" ] || skip "port $p is in use on this machine"
done

# what this test adds to the machine goes again at the end
getent group wirefault >/dev/null && had_group=1 || had_group=0
id "$SHIM_USER" >/dev/null 2>&1 && had_user=1 || had_user=0
remove_accounts() {
	[ $had_user -eq 1 ] || userdel "$SHIM_USER" 2>/dev/null || true
	[ $had_group -eq 1 ] || groupdel wirefault 2>/dev/null || true
}
trap 'cleanup_harness; remove_accounts' EXIT

step "make install PREFIX=$PREFIX"
make -s -C "$WF_ROOT" install PREFIX="$PREFIX" >"$WF_TMP/install.log" 2>&1 || { cat "$WF_TMP/install.log"; fail "make install"; }
cat "$WF_TMP/install.log"
getcap "$PREFIX/bin/wirefault" | grep -q 'cap_bpf' || fail "no file capabilities on the installed binary"
assert_eq "$(stat -c '%U:%G %a' "$PREFIX/bin/wirefault")" "root:wirefault 750" "owner and mode of the installed binary"
grep -q "^WIREFAULT_INSTALLED=$PREFIX/bin/wirefault\$" "$PREFIX/libexec/wirefault/mitmdump" ||
	fail "the installed shim does not name the installed binary"
[ -f "$PREFIX/share/wirefault/wirefault-helpers.sql" ] || fail "SQL helpers not installed"

id "$SHIM_USER" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$SHIM_USER"
usermod -aG wirefault "$SHIM_USER"
mkdir -p "$RUN" && chown "$SHIM_USER": "$RUN"
FIFO=$RUN/mitmproxy.fifo
# as the harness does: mkfifo(0777) (under the user's umask)
as_shim() { setpriv --reuid="$SHIM_USER" --regid="$SHIM_USER" --init-groups -- env -u WIREFAULT HOME="$RUN" \
	PATH="$PREFIX/libexec/wirefault:$PATH" "$@"; }
as_shim mkfifo -m 0777 "$FIFO"

step "mitmdump --version (the harness's first check) and bad command lines"
out=$(as_shim mitmdump --version) || fail "mitmdump --version failed: $out"
assert_contains "$out" "wirefault mitmdump shim (wirefault "
rc=0; out=$(as_shim mitmdump --rawtcp -p $VPORT --mode reverse:tcp://localhost:$WPORT --web-port 8081 2>&1) || rc=$?
assert_eq "$rc" "2" "exit status of an unknown option"
assert_contains "$out" "mitmdump (wirefault shim): unsupported option '--web-port'"
rc=0; out=$(as_shim mitmdump --rawtcp -p $VPORT --mode reverse:tcp://db.example.com:5432 2>&1) || rc=$?
assert_eq "$rc" "2" "exit status of a remote server"
assert_contains "$out" "wirefault faults local servers only"
rc=0; out=$(as_shim mitmdump --rawtcp --mode reverse:tcp://localhost:$WPORT 2>&1) || rc=$?
assert_eq "$rc" "2" "exit status without -p"
assert_contains "$out" "missing -p VPORT"

pg_start worker $WPORT

SHIM_PID=
# start_shim: Citus' exact command line, in a new process group, as the harness runs it.
start_shim() {
	(cd "$RUN" && exec setsid setpriv --reuid="$SHIM_USER" --regid="$SHIM_USER" --init-groups -- \
		env -u WIREFAULT PATH="$PREFIX/libexec/wirefault:$PATH" sh -c \
		"exec mitmdump --rawtcp -p $VPORT --mode reverse:tcp://localhost:$WPORT -s /nonexistent/mitmscripts/fluent.py --set fifo=$FIFO --set flow_detail=0 --set termlog_verbosity=warn --set connection_strategy=lazy >proxy.output 2>&1") &
	SHIM_PID=$!
}
# stop_shim SIGNAL: signal the process group like the harness (kill(-2, pid)); the exit status.
stop_shim() {
	local rc=0
	kill -s "$1" -- "-$SHIM_PID"
	for _ in $(seq 1 100); do kill -0 "$SHIM_PID" 2>/dev/null || break; sleep 0.05; done
	kill -0 "$SHIM_PID" 2>/dev/null && fail "the shim did not stop within 5 s of SIG$1"
	wait "$SHIM_PID" || rc=$?
	SHIM_PID=
	return $rc
}
shim_cleanup() { [ -z "$SHIM_PID" ] || kill -KILL -- "-$SHIM_PID" 2>/dev/null || true; }
trap 'shim_cleanup; cleanup_harness; remove_accounts' EXIT

for sig in INT TERM; do
	step "started like the harness starts it; stopped with SIG$sig to its process group"
	start_shim
	# the readiness race: a command sent at once waits for the loader, then is answered
	as_shim "$PREFIX/bin/wirefault" send --fifo "$FIFO" --timeout 15000 'conn.allow()' >"$WF_TMP/early.out" 2>&1 &
	early=$!
	t0=${EPOCHREALTIME/./}
	until as_shim lsof -i :$VPORT >/dev/null 2>&1; do
		[ $(((${EPOCHREALTIME/./} - t0) / 1000)) -lt 1000 ] || { cat "$RUN/proxy.output"; fail "lsof -i :$VPORT (as $SHIM_USER) saw no listener within 1 s"; }
		kill -0 "$SHIM_PID" 2>/dev/null || { cat "$RUN/proxy.output"; fail "the shim exited early"; }
		sleep 0.02
	done
	echo "lsof -i :$VPORT as $SHIM_USER sees the listener after $(((${EPOCHREALTIME/./} - t0) / 1000)) ms:"
	as_shim lsof -i :$VPORT
	wait $early || { cat "$WF_TMP/early.out"; fail "the command sent before the loader was ready failed"; }
	assert_eq "$(cat "$WF_TMP/early.out")" "" "answer to the early conn.allow()"

	assert_eq "$(sql worker 'SELECT 1')" "1"
	assert_eq "$(psql "host=localhost port=$VPORT user=postgres dbname=postgres sslmode=disable" -X -A -t \
		-c 'SELECT inet_server_port()')" "$WPORT" "a connection to $VPORT reaches the worker"
	assert_eq "$(as_shim "$PREFIX/bin/wirefault" send --fifo "$FIFO" 'conn.onQuery(query="^SELECT 42").kill()')" "" \
		"a command from the non-root user"
	rc=0; out=$(timeout 10 psql "host=127.0.0.1 port=$VPORT user=postgres dbname=postgres sslmode=disable" -X -A -t \
		-c 'SELECT 42' 2>&1) || rc=$?
	[ $rc -ne 0 ] || fail "SELECT 42 through $VPORT was not killed"
	assert_contains "$out" "server closed the connection unexpectedly"
	assert_eq "$(sql worker 'SELECT 42')" "42" "straight to $WPORT"
	dump=$(as_shim "$PREFIX/bin/wirefault" send --fifo "$FIFO" 'recorder.dump()')
	assert_contains "$dump" "Query(query=SELECT 42)"

	rc=0; stop_shim $sig || rc=$?
	cat "$RUN/proxy.output"
	assert_eq "$rc" "0" "exit status after SIG$sig"
	assert_contains "$(cat "$RUN/proxy.output")" "received"
	assert_no_trace "after SIG$sig"
	[ -z "$(ss -ltnH "( sport = :$VPORT )")" ] || fail "something still listens on $VPORT"
	[ -p "$FIFO" ] || fail "the harness's FIFO was removed"
	rm -f "$RUN/proxy.output"
done

step "port $VPORT taken: the shim fails at once, naming the port, and attaches nothing"
python3 -c 'import socket, time
s = socket.socket(socket.AF_INET6); s.bind(("::", '$VPORT')); s.listen(); time.sleep(30)' &
squatter=$!
for _ in $(seq 1 100); do [ -n "$(ss -ltnH "( sport = :$VPORT )")" ] && break; sleep 0.05; done
start_shim
rc=0; wait $SHIM_PID || rc=$?; SHIM_PID=
cat "$RUN/proxy.output"
assert_eq "$rc" "1" "exit status with the port taken"
assert_contains "$(cat "$RUN/proxy.output")" "proxy port $VPORT is in use"
assert_no_trace "after the refused start"
kill $squatter; wait $squatter 2>/dev/null || true
echo "ok"
