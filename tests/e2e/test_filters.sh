#!/usr/bin/env bash
# The kernel pipeline end to end: filters and kill() as Citus' failure tests
# use them.  Commands go through the SQL function citus.mitmproxy() on a
# coordinator; traffic reaches the worker through dblink, postgres_fdw and
# psql.  The test checks what each side observes: the client's error, the
# worker's log, the work the worker did, and the sockets left behind.
source "$(dirname "$0")/lib.sh"

CPORT=56501
WPORT=56502
pg_start coordinator $CPORT
pg_start worker $WPORT
setup_coordinator coordinator worker

source "$(dirname "$0")/faults.sh"
fault_setup_coordinator
coord "CREATE FOREIGN TABLE items (id int, name text) SERVER worker;
	CREATE FOREIGN TABLE secret_items (id int, name text) SERVER worker;"
worker "CREATE TABLE items (id int, name text); INSERT INTO items VALUES (1, 'one'), (2, 'two');
	CREATE TABLE secret_items (id int, name text); INSERT INTO secret_items VALUES (7, 'hidden');
	CREATE TABLE acct (id int PRIMARY KEY, v int); INSERT INTO acct VALUES (1, 0);
	CREATE TABLE sink (x int);"

wf_start --port $WPORT

step 'conn.onQuery(query="^SELECT 42").kill(): only SELECT 42 dies, cleanly'
accept 'conn.onQuery(query="^SELECT 42").kill()'
assert_eq "$(coord "SELECT x FROM dblink('$W', 'SELECT 1') AS t(x int)")" "1"
mark=$(log_mark)
fails_with_lost "dblink SELECT 42" coord "SELECT x FROM dblink('$W', 'SELECT 42') AS t(x int)"
echo "coordinator reports: $LAST_ERR"
assert_contains "$LAST_ERR" "ERROR:  $LOST"
assert_contains "$LAST_ERR" "CONTEXT:  while executing query on unnamed dblink connection"
wait_backends "$mark" 1
echo "worker log:"; log_since "$mark"
assert_clean_log "$mark" "after the kill of SELECT 42"
assert_eq "$(log_since "$mark" | grep -c 'connection authorized')" "1" "one connection since the mark"
assert_no_half_closed "after the kill of SELECT 42"
assert_eq "$(coord "SELECT x FROM dblink('$W', 'SELECT 2') AS t(x int)")" "2" "a new connection afterwards"
assert_eq "$(try_q "$W" ' SELECT 42')" "42" "the regex is anchored at the start of the query"
expect_lost "SELECT 420 (re.search: a prefix suffices)" "$(try_q "$W" 'SELECT 420')"
assert_eq "$(try_q "$W" 'select 42')" "42" "the regex is case-sensitive"
fails_with_lost "psql SELECT 42" worker "SELECT 42"
assert_contains "$LAST_ERR" "connection to server was lost"

step 'conn.onQuery(query="^SELECT 42").after(2).kill(): a count per connection, kept across commands'
accept 'conn.onQuery(query="^SELECT 42").after(2).kill()'
mark=$(log_mark)
# One coordinator session holds the named dblink connections c1 and c2 open.
out=$(psql_at $CPORT \
	-c "SELECT dblink_connect('c1', '$W')" -c "SELECT dblink_connect('c2', '$W')" \
	-c "SELECT 'c1 ' || try_q('c1', 'SELECT 42')" \
	-c "SELECT 'c1 ' || try_q('c1', 'SELECT 1')" \
	-c "SELECT 'c1 ' || try_q('c1', 'SELECT 1')" \
	-c "SELECT 'c2 ' || try_q('c2', 'SELECT 42')" \
	-c "SELECT 'c1 ' || try_q('c1', 'SELECT 42')" \
	-c "SELECT 'c1 ' || try_q('c1', 'SELECT 42')" \
	-c "SELECT 'c2 ' || try_q('c2', 'SELECT 42')" \
	-c "SELECT result FROM citus.mitmproxy('conn.onQuery(query=\"^SELECT 42\").after(2).kill()')" \
	-c "SELECT 'c2 ' || try_q('c2', 'SELECT 42')" \
	-c "SELECT dblink_connect('c3', '$W')" \
	-c "SELECT 'c3 ' || try_q('c3', 'SELECT 42')" \
	-c "SELECT 'c3 ' || try_q('c3', 'SELECT 42')" \
	-c "SELECT 'c3 ' || try_q('c3', 'SELECT 42')")
echo "$out"
mapfile -t r <<<"$out"
assert_eq "${#r[@]}" "15" "one line per statement"
assert_eq "${r[0]}|${r[1]}" "OK|OK"
assert_eq "${r[2]}" "c1 42" "c1, first SELECT 42"
assert_eq "${r[3]}|${r[4]}" "c1 1|c1 1" "other queries do not reach after()"
assert_eq "${r[5]}" "c2 42" "c2 counts on its own"
assert_eq "${r[6]}" "c1 42" "c1, second SELECT 42"
expect_lost "c1, third SELECT 42" "${r[7]}"
assert_eq "${r[8]}" "c2 42" "c2, second SELECT 42"
assert_eq "${r[9]}" "" "the same command again is accepted"
expect_lost "c2, third SELECT 42 (its count is kept across commands)" "${r[10]}"
assert_eq "${r[11]}|${r[12]}|${r[13]}" "OK|c3 42|c3 42" "a new connection starts at 0"
expect_lost "c3, third SELECT 42" "${r[14]}"
wait_backends "$mark" 3
assert_clean_log "$mark" "after the after(2) kills"
assert_no_half_closed "after the after(2) kills"

step 'conn.onCommandComplete(command="^UPDATE").kill(): the server works, the client never hears'
accept 'conn.onCommandComplete(command="^UPDATE").kill()'
mark=$(log_mark)
fails_with_lost "psql UPDATE" worker "UPDATE acct SET v = 1 WHERE id = 1"
assert_eq "$(worker "SELECT v FROM acct WHERE id = 1")" "1" "the UPDATE ran and committed on the worker"
expect_lost "dblink UPDATE" "$(try_exec "$W" 'UPDATE acct SET v = 2 WHERE id = 1')"
assert_eq "$(try_q "$W" 'SELECT v FROM acct WHERE id = 1')" "2" "the dblink UPDATE ran too; SELECT passes"
assert_eq "$(try_exec "$W" 'INSERT INTO acct VALUES (2, 0)')" "INSERT 0 1" "other commands complete"
wait_backends "$mark" 5
assert_clean_log "$mark" "after the kills of UPDATE answers"
assert_no_half_closed "after the kills of UPDATE answers"

step 'conn.onParse(query="secret").kill(): extended protocol (postgres_fdw) is killed, simple Query passes'
accept 'conn.onParse(query="secret").kill()'
assert_eq "$(coord "SELECT string_agg(name, ',' ORDER BY id) FROM items")" "one,two" "postgres_fdw without the word"
mark=$(log_mark)
fails_with_lost "postgres_fdw scan of secret_items" coord "SELECT name FROM secret_items"
echo "coordinator reports: $LAST_ERR"
assert_contains "$LAST_ERR" "CONTEXT:  remote SQL command: DECLARE c1 CURSOR FOR"
# The fdw works inside a remote transaction: the worker's backend says so when it reads EOF.
wait_backends "$mark" 1
echo "worker log:"; log_since "$mark"
assert_contains "$(log_since "$mark")" "LOG:  unexpected EOF on client connection with an open transaction"
assert_clean_log "$mark" "after the kill of a Parse" 'reset by peer|could not (receive|send)|broken pipe|ERROR:|FATAL:'
assert_eq "$(try_q "$W" 'SELECT name FROM secret_items')" "hidden" "a simple Query with the word passes"
assert_eq "$(coord "SELECT string_agg(name, ',' ORDER BY id) FROM items")" "one,two" "postgres_fdw reconnects"
assert_no_half_closed "after the kill of a Parse"

step 'conn.onCopyData().kill(): COPY dies in both directions, plain queries pass'
accept 'conn.onCopyData().kill()'
mark=$(log_mark)
fails_with_lost "COPY FROM STDIN" timeout 15 bash -c "printf '1\n2\n3\n' | psql '$W' -X -q -v ON_ERROR_STOP=1 -c 'COPY sink FROM STDIN'"
echo "psql reports: $LAST_ERR"
wait_backends "$mark" 1
echo "worker log:"; log_since "$mark"
# The backend reads EOF in the middle of the COPY and writes its error to a
# client that is gone: "could not send data to client: Broken pipe" may follow,
# exactly as when a proxy closes both sockets.
assert_contains "$(log_since "$mark")" "ERROR:  unexpected EOF on client connection with an open transaction"
assert_contains "$(log_since "$mark")" "CONTEXT:  COPY sink, line 1"
assert_clean_log "$mark" "after the kill of COPY FROM STDIN" 'reset by peer|could not receive'
assert_eq "$(worker "SELECT count(*) FROM sink")" "0" "the interrupted COPY stored nothing"
mark=$(log_mark)
fails_with_lost "COPY TO STDOUT" worker "COPY (SELECT 1) TO STDOUT"
wait_backends "$mark" 1
assert_clean_log "$mark" "after the kill of COPY TO STDOUT"
assert_eq "$(worker "INSERT INTO sink VALUES (9) RETURNING x")" "9" "plain queries pass"
assert_no_half_closed "after the kills of COPY"

step 'conn.contains(b"needle").kill(): raw bytes, both directions'
mark=$(log_mark)
accept 'conn.contains(b"needle").kill()'
assert_eq "$(try_q "$W" "SELECT 'hay'")" "hay"
expect_lost "a query holding the needle" "$(try_q "$W" "SELECT 'needle'")"
expect_lost "an answer holding the needle" "$(try_q "$W" "SELECT 'nee' || 'dle'")"
assert_eq "$(try_q "$W" "SELECT 'nee' || 'd' || 'l'")" "needl"

step 'conn.matches(b"ne+dle").kill(): a regex searched in the raw bytes'
accept 'conn.matches(b"ne+dle").kill()'
expect_lost "neeeedle" "$(try_q "$W" "SELECT 'neeeedle'")"
expect_lost "an answer matching" "$(try_q "$W" "SELECT 'n' || 'edle'")"
assert_eq "$(try_q "$W" "SELECT 'ndle'")" "ndle"
assert_eq "$(try_q "$W" "SELECT 'needl'")" "needl"
wait_backends "$mark" 8
assert_clean_log "$mark" "after the kills of contains/matches"
assert_no_half_closed "after the kills of contains/matches"

step 'a malformed command answers its error in SQL and keeps the previous pipeline'
assert_eq "$(mitm 'conn.onQuery(query="(").kill()')" "missing ), unterminated subpattern at position 0"
expect_lost "matches() still applies" "$(try_q "$W" "SELECT 'neeeedle'")"
assert_eq "$(try_q "$W" "SELECT '('")" "(" "the refused pattern applies nowhere"

step 'conn.kill(): the initial chunk (StartupMessage) dies at once, IPv4 and IPv6'
accept 'conn.kill()'
fails_with_lost "psql over IPv4 with the initial chunk killed" psql_at $WPORT -c 'SELECT 1'
fails_with_lost "psql over IPv6 with the initial chunk killed" \
	timeout 15 psql "host=::1 port=$WPORT user=postgres dbname=postgres sslmode=disable connect_timeout=5" -X -c 'SELECT 1'
assert_no_half_closed "after killing initial chunks"

step 'conn.allow(): everything works again'
mark=$(log_mark)
accept 'conn.allow()'
assert_eq "$(try_q "$W" "SELECT 42")" "42"
assert_eq "$(try_q "$W" "SELECT 'needle'")" "needle"
assert_eq "$(try_exec "$W" 'UPDATE acct SET v = 3 WHERE id = 1')" "UPDATE 1"
assert_eq "$(coord "SELECT name FROM secret_items")" "hidden"
printf '4\n5\n' | psql_at $WPORT -c 'COPY sink FROM STDIN'
assert_eq "$(worker "SELECT string_agg(x::text, ',' ORDER BY x) FROM sink")" "4,5,9"
assert_eq "$(worker "COPY (SELECT 'needle') TO STDOUT")" "needle"
wait_backends "$mark" 7
assert_clean_log "$mark" "with conn.allow()"

step 'the whole run: the worker never read a reset, nothing half closed'
if grep -Ei 'reset by peer|could not receive' "$WLOG"; then
	cat "$WLOG"
	fail "the worker saw a connection reset"
fi
assert_no_half_closed "at the end"
kill -0 "$WF_PID" || fail "the loader died"
"$WF" status | grep -E 'VERDICT_KILL|KILLED_FLOW|INJECT_FAILED|ERRORS ' || true

step "stop: no trace"
wf_stop TERM || fail "wirefault run must exit 0 on SIGTERM"
assert_no_trace "after SIGTERM"
echo "ok"
