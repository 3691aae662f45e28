#!/usr/bin/env bash
# The recorder's outputs end to end, on a scripted session through the
# faulted port: simple and extended protocol, COPY in and out, errors,
# notices, a 1 MB row, NULLs, two concurrent connections, and a kill().
#  - `run --pcap` and `dump --pcap`: tshark decodes them as PostgreSQL and
#    finds the same queries; the kill shows as wirefault's FINs, explained in
#    the notes file;
#  - `dump --json` and `watch --json`: every line parses, one record per
#    message (as many as the elements of the fluent rows, plus the startup
#    packets and Terminates fluent does not print); the kill's verdict;
#  - `watch`: lines as the traffic happens, with => KILL;
#  - `status`: the pipeline printed back as its command, per-filter counts,
#    the recorder's bounds;
#  - `decode` of the capture gives the rows recorder.dump() gave.
source "$(dirname "$0")/lib.sh"
command -v tshark >/dev/null || skip "tshark is not installed (make deps)"
command -v jq >/dev/null || skip "jq is not installed (make deps)"

PORT=56401
pg_start server $PORT
S="host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable"
q() { psql "$S" -X -q -A -t -v ON_ERROR_STOP=1 "$@"; }
q -c "CREATE TABLE t (id int, v text); INSERT INTO t VALUES (1, 'one'), (2, NULL);" >/dev/null

wf_start --port $PORT --pcap "$WF_TMP/live.pcap"
"$WF" watch --json >"$WF_TMP/watch.json" 2>"$WF_TMP/watch.err" &
WATCH_JSON=$!
"$WF" watch >"$WF_TMP/watch.txt" 2>&1 &
WATCH_TEXT=$!
sleep 0.3

step "the session"
q -c "SELECT 'simple ' || 1" >/dev/null
cat >"$WF_TMP/ext.sql" <<'SQL'
\set n 7
SELECT :n + 1 AS extended_protocol_query;
SQL
as_postgres /usr/lib/postgresql/15/bin/pgbench -n -M extended -t 2 -f "$WF_TMP/ext.sql" "$S" >/dev/null
printf '10\tten\n11\t\\N\n' | q -c "\\copy t FROM STDIN" >/dev/null
assert_eq "$(q -c "\\copy (SELECT id FROM t ORDER BY id) TO STDOUT" | tr '\n' ,)" "1,2,10,11,"
err=$(q -c "SELECT 1/0" 2>&1 || true)
assert_contains "$err" "division by zero"
q -c "DO \$\$ BEGIN RAISE NOTICE 'a notice from the server'; END \$\$" >/dev/null 2>&1
assert_eq "$(q -c "SELECT length(repeat('x', 1000000)) FROM (SELECT repeat('x', 1000000)) s" )" "1000000"
q -c "SELECT repeat('y', 1000000) AS big" | wc -c >/dev/null
assert_eq "$(q -c "SELECT count(*) FROM t WHERE v IS NULL")" "2"
assert_eq "$(q -F, -c "SELECT NULL::int AS n, 'x' AS x")" ",x"
q -c "SELECT 'concurrent A', pg_sleep(0.3)" >/dev/null &
A=$!
q -c "SELECT 'concurrent B', pg_sleep(0.3)" >/dev/null &
B=$!
wait $A $B

step "kill(): the client sees the connection die"
"$WF" send --fifo "$WF_FIFO" 'conn.onQuery(query="kill me").kill()' >/dev/null
err=$(q -c "SELECT 'kill me'" 2>&1 || true)
assert_contains "$err" "server closed the connection unexpectedly"
"$WF" send --fifo "$WF_FIFO" 'conn.onQuery(query="never matches").after(3).reset()' >/dev/null
q -c "SELECT 'after the kill'" >/dev/null

step "status: the pipeline as its command, filters, recorder"
st=$("$WF" status)
echo "$st" | sed -n '1,12p'
assert_contains "$st" 'pipeline: conn.onQuery(query="never matches").after(3).reset()'
assert_contains "$st" "filter 1 (on): 0 passed"
assert_contains "$st" "filter 2 (after): 0 passed"
assert_contains "$st" "chunks killed 1"
assert_contains "$st" "of 8.0 MiB, at most 100000 rows"
assert_contains "$st" "live capture: $WF_TMP/live.pcap"

step "dump --keep, dump --json --keep, dump --pcap: the same rows three ways"
"$WF" dump --keep >"$WF_TMP/rows.txt"
"$WF" dump --json --keep >"$WF_TMP/rows.json"
"$WF" dump --pcap "$WF_TMP/dump.pcap" 2>/dev/null
assert_eq "$("$WF" dump)" "" "dump --pcap forgot the rows"
jq -c . "$WF_TMP/rows.json" >/dev/null || fail "dump --json is not JSON lines"
# Segments two CPUs raced over are recorded unframed, and a message split over unframed chunks
# is not decoded (docs/differences.md 6): the 1 MB row is then '<unparsed ...>', by design.
raced=$(sed -n 's/^  RACED_SEGMENTS *\([0-9]*\) .*/\1/p' <<<"$st")
desync=$(sed -n 's/^  FLOWS_DESYNC *\([0-9]*\) .*/\1/p' <<<"$st")
echo "raced segments: $raced, directions that lost sync: $desync"
UNFRAMED=$((raced + desync)) python3 - "$WF_TMP/rows.txt" "$WF_TMP/rows.json" <<'PY' || fail "JSON records do not match the rows"
import ast, json, sys
rows = open(sys.argv[1]).read().rstrip('\n').split('\n')
elements = 0
for r in rows:
    conn, source, msg = r.split('\t')
    if msg == '[initial message]':
        continue
    elements += len(ast.literal_eval(msg.replace('\\\\', '\\')))
recs = [json.loads(l) for l in open(sys.argv[2])]
silent = [r for r in recs if r['type'] in ('StartupMessage', 'SSLRequest', 'GSSENCRequest',
                                           'CancelRequest', 'Terminate')]
print(f"{len(rows)} rows with {elements} messages; {len(recs)} JSON records "
      f"({len(silent)} startup packets and Terminates)")
assert len(recs) - len(silent) == elements, (len(recs), len(silent), elements)
for r in recs:
    for k in ('time', 'conn', 'client', 'server', 'direction', 'type', 'verdict'):
        assert k in r, (k, r)
types = {r['type'] for r in recs}
for t in ('Query', 'Parse', 'Bind', 'Execute', 'Sync', 'CopyInResponse', 'CopyData', 'CopyDone',
          'CopyOutResponse', 'ErrorResponse', 'NoticeResponse', 'DataRow', 'RowDescription'):
    assert t in types, t
kills = [r for r in recs if r['verdict'] == 'kill']
assert len(kills) == 1 and kills[0]['fields']['query'] == "SELECT 'kill me'", kills
big = [r for r in recs if r['type'] == 'DataRow' and r['fields']['columns'] and
       isinstance(r['fields']['columns'][0].get('value'), str) and
       len(r['fields']['columns'][0]['value']) == 1000000]
if not big:
    import os
    unparsed = [r for r in recs if r.get('unparsed')]
    assert int(os.environ['UNFRAMED']) > 0 and unparsed, "the 1 MB DataRow is missing"
    print(f"the 1 MB row was recorded unframed ({len(unparsed)} unparsed records): not decoded, as documented")
nulls = [r for r in recs if r['type'] == 'DataRow' and any(c.get('value', 1) is None for c in r['fields']['columns'])]
assert nulls, "no NULL column"
err = [r for r in recs if r['type'] == 'ErrorResponse']
assert err[0]['fields']['message'] == 'division by zero', err
clients = {r['client'] for r in recs}
assert len(clients) >= 8, clients
PY

step "tshark reads both captures as PostgreSQL: the same queries as the dump"
jq -r 'select(.type == "Query") | .fields.query' "$WF_TMP/rows.json" | sort >"$WF_TMP/q.json"
tshark -r "$WF_TMP/dump.pcap" -d tcp.port==$PORT,pgsql -Y 'pgsql.type == "Simple query"' \
	-T fields -e pgsql.query 2>/dev/null | sort >"$WF_TMP/q.dump"
diff "$WF_TMP/q.json" "$WF_TMP/q.dump" || fail "dump.pcap's queries differ from the JSON's"
[ "$(wc -l <"$WF_TMP/q.dump")" -ge 10 ] || fail "too few queries in the capture"
tshark -r "$WF_TMP/dump.pcap" -d tcp.port==$PORT,pgsql -Y 'pgsql.type == "Parse"' \
	-T fields -e pgsql.query 2>/dev/null | grep -q "extended_protocol_query" ||
	fail "the extended protocol's Parse is not in the capture"
fins=$(tshark -r "$WF_TMP/dump.pcap" -Y 'tcp.flags.fin == 1' 2>/dev/null | wc -l)
assert_eq "$fins" "2" "the kill's FIN to each peer"
assert_contains "$(cat "$WF_TMP/dump.pcap.notes.json")" "dropped by wirefault: kill() of pipeline 1"
assert_contains "$(cat "$WF_TMP/dump.pcap.notes.json")" "sent by wirefault: FIN to the client (kill)"
frame=$(jq -r 'select(.note | startswith("dropped")) | .frame' "$WF_TMP/dump.pcap.notes.json")
tshark -r "$WF_TMP/dump.pcap" -d tcp.port==$PORT,pgsql -Y "frame.number == $frame" -T fields \
	-e pgsql.query 2>/dev/null | grep -qx "SELECT 'kill me'" || fail "the note names frame $frame, not the killed query"

step "decode of the dump's capture gives the rows again"
"$WF" decode --port $PORT "$WF_TMP/dump.pcap" >"$WF_TMP/decoded.txt"
# chunks larger than one IP packet are split in the capture: compare the messages, not the chunking
UNFRAMED=$((raced + desync)) python3 - "$WF_TMP/rows.txt" "$WF_TMP/decoded.txt" <<'PY' ||
	fail "decode of the capture lost messages"
import ast, os, sys
def msgs(path):
    out = []
    for r in open(path).read().rstrip('\n').split('\n'):
        conn, source, msg = r.split('\t')
        out += [(conn, source, m) for m in ([msg] if msg == '[initial message]' else ast.literal_eval(msg.replace('\\\\', '\\')))]
    return out
a, b = msgs(sys.argv[1]), msgs(sys.argv[2])
print(len(a), "messages dumped,", len(b), "decoded from the capture")
if int(os.environ['UNFRAMED']) == 0:
    assert a == b
else:
    # The capture has every byte in sequence order: decode reassembles what the live
    # recorder, told the segments were raced, left '<unparsed>'.  Everything else is there.
    framed = [m for m in a if 'unparsed' not in m[2]]
    missing = [m for m in framed if m not in b]
    print(f"live recording partly unframed: {len(a) - len(framed)} unparsed elements; "
          f"{len(missing)} decoded messages missing from the capture's decode")
    assert not missing, missing[:3]
PY

step "the live capture has everything too, and watch saw it as it happened"
wf_stop
tshark -r "$WF_TMP/live.pcap" -d tcp.port==$PORT,pgsql -Y 'pgsql.type == "Simple query"' \
	-T fields -e pgsql.query 2>/dev/null | sort >"$WF_TMP/q.live"
diff "$WF_TMP/q.json" "$WF_TMP/q.live" || fail "live.pcap's queries differ"
wait $WATCH_JSON $WATCH_TEXT || true
jq -c . "$WF_TMP/watch.json" >/dev/null || fail "watch --json is not JSON lines"
assert_eq "$(jq -r 'select(.type == "Query") | .fields.query' "$WF_TMP/watch.json" | sort)" "$(cat "$WF_TMP/q.json")"
assert_contains "$(cat "$WF_TMP/watch.txt")" "[\"Query(query=SELECT 'kill me')\"]  => KILL"
assert_contains "$(cat "$WF_TMP/watch.txt")" "['Query(query=SELECT 1/0)']"
assert_no_trace "after the run"
[ ! -e /run/wirefault.sock ] || fail "the control socket is left behind"
echo "ok"
