#!/usr/bin/env bash
# truncate(n): a connection dying mid-fetch.  The answer to a query returning
# one row of 600 KB is cut n bytes after its first byte (the RowDescription):
# a raw client counts exactly n bytes, then EOF; psql reports the lost
# connection; the server's log says the client went away.  Other
# connections, a concurrent 600 KB fetch among them, are not touched.
source "$(dirname "$0")/lib.sh"

PORT=56491
ROWS=600000
pg_start server $PORT
S="host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable"
q() { psql "$S" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
wf_start --port $PORT

# fetch HOST APP SQL: a client that speaks the protocol itself, so that nothing
# hides what arrives: it logs in, sends SQL as one Query and prints how many
# bytes it then receives until the answer's ReadyForQuery (complete) or the
# end of the connection (eof, reset), how it ended, and the type byte of the
# answer's first message.
fetch() {
	/usr/bin/python3 - "$PORT" "$@" <<'PY'
import socket, struct, sys
port, host, app, sql = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.create_connection((host, port))
params = b"user\0postgres\0database\0postgres\0application_name\0" + app.encode() + b"\0\0"
s.sendall(struct.pack("!II", 8 + len(params), 196608) + params)

def messages(buf):
    """The complete messages at the start of buf: (type, end offset) each."""
    off = 0
    while len(buf) - off >= 5:
        end = off + 1 + struct.unpack("!I", buf[off + 1:off + 5])[0]
        if end > len(buf):
            break
        yield buf[off:off + 1], end
        off = end

buf = b""
while True:	# the login, up to its ReadyForQuery
    d = s.recv(65536)
    if not d:
        sys.exit("the connection ended during the login")
    buf += d
    done = [end for kind, end in messages(buf) if kind == b"Z"]
    if done:
        break
if done[0] != len(buf):
    sys.exit("bytes after the login's ReadyForQuery")
q = sql.encode() + b"\0"
s.sendall(b"Q" + struct.pack("!I", 4 + len(q)) + q)
buf, how = bytearray(), "eof"
try:
    while True:
        d = s.recv(1 << 20)
        if not d:
            break
        buf += d
        # the answer is complete with its ReadyForQuery (the last message, the server then waits)
        if len(buf) >= 6 and buf[-6:-1] == b"Z\0\0\0\5" and any(
                kind == b"Z" and end == len(buf) for kind, end in messages(bytes(buf))):
            how = "complete"
            break
except ConnectionResetError:
    how = "reset"
print(len(buf), how, buf[0:1].decode() or "-")
PY
}

# The whole answer, without a fault: RowDescription, DataRow, CommandComplete, ReadyForQuery.
BIG="SELECT repeat('x', $ROWS) AS victim_col"
read -r full how first <<<"$(fetch 127.0.0.1 direct "$BIG")"
echo "no pipeline: the answer is $full bytes"
assert_eq "$how $first" "complete T" "no pipeline: how the fetch ended"
[ "$full" -gt "$ROWS" ] || fail "the answer is only $full bytes"

step "the cut inside the matching chunk: 100 bytes of the answer, then EOF"
"$WF" send --fifo "$WF_FIFO" 'conn.onRowDescription().truncate(100)' >/dev/null
read -r got how first <<<"$(fetch 127.0.0.1 victim1 "$BIG")"
echo "the client received $got bytes, then $how; first message type $first"
assert_eq "$got $how $first" "100 eof T" "bytes received, how the connection ended, first type"
read -r got how first <<<"$(fetch ::1 victim1v6 "$BIG")"
echo "over IPv6: $got bytes, then $how"
assert_eq "$got $how $first" "100 eof T" "over IPv6: bytes received, how the connection ended, first type"
st=$("$WF" status)
assert_contains "$st" "VERDICT_TRUNCATE                  2"
assert_contains "$st" "TRUNCATE_CUTS                     2"
assert_contains "$st" "VERDICT_KILL                      0"

step "psql sees the server go away in the middle of the row"
rc=0; err=$(psql "$S application_name=victim2" -X -q -A -t -c "$BIG" 2>&1 >/dev/null) || rc=$?
echo "psql exit $rc: $err"
assert_eq "$rc" "2" "psql's status for a lost connection"
assert_contains "$err" "server closed the connection unexpectedly"

step "a bad n is refused and the pipeline in force stays"
rc=0; err=$("$WF" send --fifo "$WF_FIFO" 'conn.onRowDescription().truncate(-1)' 2>&1) || rc=$?
assert_eq "$rc" "1" "wirefault send's status for a refused command"
assert_contains "$err" "truncate(n) needs 0 <= n <= 2147483647 bytes, not -1"
assert_contains "$("$WF" status)" 'pipeline: conn.onRowDescription().truncate(100)'

step "the cut a few segments on, while another connection fetches 600 KB"
# Only the answer's RowDescription has five bytes after the column name (its
# NUL and the table's OID); the query ends with the name and one NUL.
"$WF" send --fifo "$WF_FIFO" 'conn.matches(b"victim_col.{5}").truncate(300001)' >/dev/null
( fetch 127.0.0.1 other "SELECT repeat('y', $ROWS) AS others_col" >"$WF_TMP/other" ) &
other=$!
t0=${EPOCHREALTIME/./}
read -r got how first <<<"$(fetch 127.0.0.1 victim3 "$BIG")"
ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
wait $other
echo "the victim received $got bytes, then $how, after $ms ms; the other connection: $(cat "$WF_TMP/other")"
assert_eq "$got $how $first" "300001 eof T" "bytes received, how the connection ended, first type"
assert_eq "$(cat "$WF_TMP/other")" "$full complete T" "the other connection's whole answer"
assert_eq "$(q "SELECT 'other connections pass'")" "other connections pass"
st=$("$WF" status)
echo "$st" | grep -E '^  (VERDICT_TRUNCATE|TRUNCATE_|VERDICT_KILL|INJECT_FAILED|KILLED_FLOW)'
assert_contains "$st" "TRUNCATE_CUTS                     4"
assert_contains "$st" "INJECT_FAILED                     0"
assert_contains "$st" "truncated 4 (cut 4)"

step "the server's log: each truncated backend ended, nothing crashed"
# pid_of APP: the backend that served application_name APP
pid_of() { pg_log server | sed -n "s/.*\[\([0-9]*\)\] LOG:  connection authorized: .*application_name=$1\$/\1/p"; }
for app in victim1 victim1v6 victim2 victim3; do
	pid=$(pid_of $app)
	[ -n "$pid" ] || fail "no backend served $app"
	for _ in $(seq 50); do
		pg_log server | grep -q "\[$pid\] LOG:  disconnection:" && break
		sleep 0.1
	done
	echo "$app (backend $pid): $(pg_log server | grep "\[$pid\]" | grep -v 'STATEMENT\|connection authorized' |
		sed 's/^.*\] //' | tr '\n' '|')"
	pg_log server | grep -q "\[$pid\] LOG:  disconnection:" || fail "the backend of $app did not end"
done
# cut 100 bytes in, with over 500 KB still to write: the backend's next
# writes meet the RST a killed connection answers with
pg_log server | grep -q "\[$(pid_of victim1)\] FATAL:  connection to client lost" ||
	fail "the backend of victim1 did not lose its client"
pg_log server | grep -q "\[$(pid_of victim1)\] LOG:  could not send data to client" ||
	fail "the backend of victim1 did not fail to send"
! pg_log server | grep -E 'terminated by signal|PANIC' || fail "the server crashed"

step "the dump names the chunks truncate() acted on and what of them was delivered"
"$WF" dump --json >"$WF_TMP/dump.json"
jq -c 'select(.verdict == "truncate") | [.conn, .seq, .chunk_bytes, .delivered_bytes]' "$WF_TMP/dump.json" |
	sort -u >"$WF_TMP/cut.json"
cat "$WF_TMP/cut.json"
# the three chunks cut 100 bytes in, and victim3's two: the RowDescription's
# chunk delivered whole, the chunk 300001 bytes on delivered up to there
assert_eq "$(jq -s 'map(select(.[3] == 100 and .[2] > 100)) | length' "$WF_TMP/cut.json")" "3" "chunks cut 100 bytes in"
assert_eq "$(jq -s 'length' "$WF_TMP/cut.json")" "5" "chunks with a truncate verdict"
# (sequence numbers modulo 2^32)
assert_eq "$(jq -s 'group_by(.[0]) | map(select(length == 2)) | .[] |
	(map(select(.[3] == .[2]))[0]) as $whole | (map(select(.[3] < .[2]))[0]) as $cut |
	(($cut[1] - $whole[1]) % 4294967296 + 4294967296) % 4294967296 + $cut[3]' "$WF_TMP/cut.json")" \
	"300001" "where the chunks of victim3 put the cut"
wf_stop
assert_no_trace "after the test"
echo ok
