#!/usr/bin/env bash
# Leave no trace and fail open: SIGTERM, SIGKILL + cleanup, SIGKILL + restart.
source "$(dirname "$0")/lib.sh"

pg_start worker 56302
q() { psql "host=127.0.0.1 port=56302 user=postgres dbname=postgres sslmode=disable" -X -A -t -c "$1"; }

assert_no_trace "before the test"

step "without privileges, run names what is missing and changes nothing"
rc=0; err=$(setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all "$WF" run --port 56302 \
	--fifo "$WF_TMP/nobody.fifo" 2>&1) || rc=$?
assert_eq "$rc" "1"
assert_contains "$err" "wirefault run needs root or these capabilities, which this process lacks: CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN"
[ ! -e "$WF_TMP/nobody.fifo" ] || fail "a refused loader must not create its FIFO"
assert_no_trace "after an unprivileged attempt"

step "SIGTERM removes links and pins"
wf_start --port 56302
[ -d /sys/fs/bpf/wirefault ] || fail "maps must be pinned while running"
[ -n "$(wf_links)" ] || fail "the tcx link must be listed by bpftool"
assert_eq "$(q 'SELECT 1')" "1"
wf_stop TERM || fail "exit status after SIGTERM"
assert_no_trace "after SIGTERM"

step "kill -9: traffic keeps flowing, the kernel drops the links"
wf_start --port 56302
kill -9 "$WF_PID"; wait "$WF_PID" 2>/dev/null || true; WF_PID=
assert_eq "$(q 'SELECT 2')" "2" "fail open"
[ -z "$(wf_links)" ] || fail "links must vanish with the process"
[ -d /sys/fs/bpf/wirefault ] || fail "expected the pins of the killed loader to remain until cleanup"
[ -S /run/wirefault.sock ] || fail "expected the killed loader's control socket to remain until cleanup"
rc=0; err=$("$WF" dump 2>&1) || rc=$?
assert_eq "$rc" "1" "dump without a loader"
assert_contains "$err" "no wirefault loader is running"
rc=0; st=$("$WF" status) || rc=$?
assert_eq "$rc" "3" "status after a crash"
assert_contains "$st" "run 'wirefault cleanup'"

step "wirefault cleanup removes the leftovers"
out=$("$WF" cleanup) || fail "cleanup failed"
echo "$out"
assert_contains "$out" "removed /sys/fs/bpf/wirefault"
assert_contains "$out" "removed control socket /run/wirefault.sock"
[ ! -e "$WF_FIFO" ] || fail "cleanup must remove the FIFO the dead loader had created"
assert_no_trace "after cleanup"
assert_eq "$("$WF" cleanup)" "nothing to clean up"

step "kill -9 then a new run: leftovers are swept, the new loader works"
wf_start --port 56302
kill -9 "$WF_PID"; wait "$WF_PID" 2>/dev/null || true; WF_PID=
wf_start --port 56302 -v
grep -q "removed leftovers of an earlier run" <<<"$(wf_log)" || fail "the new run must report the sweep"
"$WF" send --fifo "$WF_FIFO" 'recorder.reset()' >/dev/null
assert_eq "$(q 'SELECT 3')" "3"
out=$("$WF" send --fifo "$WF_FIFO" 'recorder.dump()')
assert_contains "$out" "coordinator	['Query(query=SELECT 3)']"

step "WIREFAULT_PIPELINE: a pipeline in force before the first connection"
wf_stop TERM
export WIREFAULT_PIPELINE='conn.onQuery(query="^SELECT 77").kill()'
wf_start --port 56302
unset WIREFAULT_PIPELINE
grep -q 'WIREFAULT_PIPELINE applied before the first connection' <<<"$(wf_log)" || fail "not applied"
rc=0; err=$(q 'SELECT 77' 2>&1) || rc=$?
assert_eq "$rc" "2" "psql's status for a lost connection"
assert_contains "$err" "server closed the connection unexpectedly"
assert_eq "$(q 'SELECT 1')" "1"
assert_contains "$("$WF" status)" 'pipeline: conn.onQuery(query="^SELECT 77").kill()'
wf_stop TERM
rc=0; err=$(WIREFAULT_PIPELINE='conn.onQuery(' "$WF" run --port 56302 --fifo "$WF_TMP/bad.fifo" 2>&1) || rc=$?
assert_eq "$rc" "1" "a refused WIREFAULT_PIPELINE stops the start"
assert_contains "$err" "WIREFAULT_PIPELINE refused: '(' was never closed"
assert_no_trace "after a refused WIREFAULT_PIPELINE"
wf_start --port 56302

step "cleanup refuses while a loader runs"
rc=0; err=$("$WF" cleanup 2>&1) || rc=$?
assert_eq "$rc" "1"
assert_contains "$err" "a wirefault loader is running (pid $WF_PID"
wf_stop TERM
assert_no_trace "at the end"
echo "ok"
