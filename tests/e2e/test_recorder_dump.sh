#!/usr/bin/env bash
# The recorder end to end: a coordinator reaches a worker through dblink and
# postgres_fdw while wirefault follows the worker's port; Citus' SQL helper
# functions read the traffic back over the FIFO.
source "$(dirname "$0")/lib.sh"

pg_start coordinator 56101
pg_start worker 56102
setup_coordinator coordinator worker
sql worker "CREATE TABLE items (id int, name text); INSERT INTO items VALUES (1, 'one'), (2, 'two');" >/dev/null
sql coordinator "CREATE FOREIGN TABLE items (id int, name text) SERVER worker;" >/dev/null
wf_start --port 56102

WORKER="host=127.0.0.1 port=56102 user=postgres dbname=postgres sslmode=disable"
dump() { sql coordinator "SELECT conn || ' ' || source || ' ' || message FROM citus.dump_network_traffic()"; }

step "conn.allow() answers one empty line"
assert_eq "$(sql coordinator "SELECT count(*) || ':' || string_agg(result, '|') FROM citus.mitmproxy('conn.allow()')")" "1:"

step "a dblink query appears in the dump"
sql coordinator "SELECT citus.clear_network_traffic()" >/dev/null
assert_eq "$(sql coordinator "SELECT x FROM dblink('$WORKER', 'SELECT 1') AS t(x int)")" "1"
out=$(dump)
echo "$out"
assert_eq "$(head -n 1 <<<"$out")" "0 coordinator [initial message]" "first row"
assert_eq "$(sed -n 2p <<<"$out" | cut -c1-38)" "0 worker ['AuthenticationOk()', 'Param" "login burst"
assert_contains "$out" "0 worker ['AuthenticationOk()'"
assert_contains "$out" "'ParameterStatus(server_version=XXX)'"
assert_contains "$out" "'BackendKeyData(XXX)', 'ReadyForQuery(state=idle)']"
assert_contains "$out" "0 coordinator ['Query(query=SELECT 1)']"
assert_contains "$out" "'CommandComplete(command=SELECT 1)', 'ReadyForQuery(state=idle)']"
assert_not_contains "$out" "Terminate" "Terminate is dropped"
q=$(grep -n "Query(query=SELECT 1)" <<<"$out" | cut -d: -f1)
a=$(grep -n "CommandComplete(command=SELECT 1)" <<<"$out" | cut -d: -f1)
[ "$q" -lt "$a" ] || fail "the worker's answer must come after the query"

step "a dump drains: the next one is empty"
assert_eq "$(dump)" ""

step "recorder.reset() empties the recorder and restarts numbering"
sql coordinator "SELECT x FROM dblink('$WORKER', 'SELECT 2') AS t(x int)" >/dev/null
assert_eq "$(sql coordinator "SELECT count(*) FROM citus.mitmproxy('recorder.reset()')")" "0" "reset answers nothing"
assert_eq "$(dump)" ""
sql coordinator "SELECT x FROM dblink('$WORKER', 'SELECT 3') AS t(x int)" >/dev/null
out=$(dump)
assert_eq "$(head -n 1 <<<"$out")" "0 coordinator [initial message]" "numbering restarts at 0"
assert_contains "$out" "0 coordinator ['Query(query=SELECT 3)']"

step "postgres_fdw traffic is decoded (cursor, DataRows)"
assert_eq "$(sql coordinator "SELECT string_agg(name, ',' ORDER BY id) FROM items")" "one,two"
out=$(dump)
echo "$out"
# The fdw's connection is the second since the reset (numbering is kept across dumps).
assert_contains "$out" "1 coordinator [initial message]"
assert_contains "$out" "1 coordinator ['Query(query=START TRANSACTION ISOLATION LEVEL REPEATABLE READ)']"
assert_contains "$out" "1 coordinator [\"Parse(name=,query=DECLARE c1 CURSOR FOR"
assert_contains "$out" "'DataRow(columncount=1,columns=[\"C(length=7,value=b\\'one,two\\')\"])'"

step "a malformed command is refused and changes nothing"
ans=$(sql coordinator "SELECT result FROM citus.mitmproxy('conn.onQuery(')")
[ -n "$ans" ] || fail "a malformed command must answer an error text"
echo "answer: $ans"
assert_eq "$(sql coordinator "SELECT x FROM dblink('$WORKER', 'SELECT 4') AS t(x int)")" "4"
assert_contains "$(dump)" "Query(query=SELECT 4)"

step "garbage on the port neither crashes nor wedges anything"
head -c 4096 /dev/urandom >"$WF_TMP/garbage"
for i in 1 2 3; do
	timeout 5 bash -c "cat '$WF_TMP/garbage' >/dev/tcp/127.0.0.1/56102" 2>/dev/null || true
done
printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | timeout 5 bash -c 'cat >/dev/tcp/127.0.0.1/56102' 2>/dev/null || true
kill -0 "$WF_PID" || fail "the loader died"
sql coordinator "SELECT citus.clear_network_traffic()" >/dev/null
assert_eq "$(sql coordinator "SELECT x FROM dblink('$WORKER', 'SELECT 5') AS t(x int)")" "5"
assert_contains "$(dump)" "0 coordinator ['Query(query=SELECT 5)']"

step "stop: no trace"
wf_stop TERM || fail "wirefault run must exit 0 on SIGTERM"
assert_no_trace "after SIGTERM"
echo "ok"
