#!/usr/bin/env bash
# The FIFO server under awkward clients: silent openers, huge commands,
# clients that never read, invalid UTF-8, a second loader.
source "$(dirname "$0")/lib.sh"

pg_start worker 56202
wf_start --port 56202 --answer-timeout 500

step "wirefault send round trip"
out=$("$WF" send --fifo "$WF_FIFO" 'conn.allow()') || fail "send conn.allow() failed"
assert_eq "$out" ""
# The raw answer bytes, as COPY FROM reads them: exactly one empty line.
printf 'conn.allow()\n' >"$WF_FIFO"
assert_eq "$(od -An -c <"$WF_FIFO" | tr -d ' ')" '\n'

step "an opener that writes nothing is ignored"
: >"$WF_FIFO"
: >"$WF_FIFO"
"$WF" send --fifo "$WF_FIFO" --timeout 3000 'conn.allow()' || fail "server wedged by a silent opener"

step "a 1 MiB command gets an error answer"
head -c 1048576 /dev/zero | tr '\0' 'a' >"$WF_FIFO"
ans=$(timeout 10 cat "$WF_FIFO") || fail "no answer to a huge command"
[ -n "$ans" ] || fail "a huge command must be refused with a text"
[ "$(wc -l <<<"$ans")" -eq 1 ] || fail "the answer must be one line"
"$WF" send --fifo "$WF_FIFO" --timeout 3000 'conn.allow()' || fail "server wedged by a huge command"

step "a client that never reads its answer does not wedge the server"
printf 'recorder.dump()\n' >"$WF_FIFO"
sleep 0.8	# past --answer-timeout
"$WF" send --fifo "$WF_FIFO" --timeout 3000 'conn.allow()' || fail "server wedged by a client that never read"
grep -q "nobody read the answer" <<<"$(wf_log)" || fail "the abandoned answer must be logged"

step "invalid UTF-8 gets an error answer, and the server keeps serving"
printf 'conn.allow()\xff\n' >"$WF_FIFO"
ans=$(timeout 5 cat "$WF_FIFO")
assert_eq "$ans" "command is not valid UTF-8"
"$WF" send --fifo "$WF_FIFO" --timeout 3000 'conn.allow()' || fail "server stopped after invalid UTF-8"

step "an unsupported command fails wirefault send with the answer on stderr"
if err=$("$WF" send --fifo "$WF_FIFO" 'conn.kill(' 2>&1); then fail "send must exit non-zero on an error answer"; fi
[ -n "$err" ] || fail "the error answer must be printed"

step "malformed commands get the reference's texts; bad regexes are refused on arrival"
err=$("$WF" send --fifo "$WF_FIFO" 'conn.kill().kill()' 2>&1) && fail "must be refused"
assert_eq "$err" "'KillHandler' object has no attribute 'kill'"
err=$("$WF" send --fifo "$WF_FIFO" 'conn.matches(b"(").kill()' 2>&1) && fail "must be refused"
assert_eq "$err" "missing ), unterminated subpattern at position 0"
err=$("$WF" send --fifo "$WF_FIFO" 'conn.onQuery(query="a(?=b)").kill()' 2>&1) && fail "must be refused"
assert_contains "$err" "lookahead assertion (?=...) is not supported"

step "a second loader refuses clearly"
rc=0; err=$("$WF" run --port 56202 --fifo "$WF_TMP/other.fifo" 2>&1) || rc=$?
assert_eq "$rc" "1" "exit status of a second loader"
assert_contains "$err" "another wirefault loader is running (pid $WF_PID, port 56202"
[ ! -e "$WF_TMP/other.fifo" ] || fail "a refused loader must not create its FIFO"

step "status while running"
st=$("$WF" status) || fail "status must exit 0 while a loader runs"
assert_contains "$st" "pid $WF_PID, port 56202"
assert_contains "$st" "tcx ingress on lo (wf_tc_ingress)"
grep -q '"port": 56202' <<<"$(bpftool map dump pinned /sys/fs/bpf/wirefault/config)" || fail "config map not readable with bpftool"

step "stop: the FIFO we created is removed, nothing stays"
wf_stop INT || fail "wirefault run must exit 0 on SIGINT"
[ ! -e "$WF_FIFO" ] || fail "the FIFO created by the loader must be removed"
assert_no_trace "after SIGINT"
rc=0; "$WF" status >/dev/null || rc=$?
assert_eq "$rc" "3" "status exit code with no loader"

step "wirefault send without a loader fails quickly and clearly"
mkfifo -m 666 "$WF_FIFO"
rc=0; err=$("$WF" send --fifo "$WF_FIFO" --timeout 300 'conn.allow()' 2>&1) || rc=$?
assert_eq "$rc" "1"
assert_contains "$err" "no answer on $WF_FIFO"
echo "ok"
