#!/usr/bin/env bash
# Bounded memory with counted loss: a pgbench flood through a loader with a
# tiny ring buffer and a small recorder.  Every loss is reported instead of
# hidden: the kernel's lost ring pieces and the recorder's dropped rows show
# in `status`, as note rows opening the FIFO dump, and as note records in
# `dump --json`; the rows kept never exceed --max-bytes.
source "$(dirname "$0")/lib.sh"

PORT=56421
MAX_BYTES=262144
pg_start server $PORT
S="host=127.0.0.1 port=$PORT user=postgres dbname=postgres sslmode=disable"
as_postgres /usr/lib/postgresql/15/bin/pgbench -i -q -s 1 "$S" >/dev/null 2>&1 || fail "pgbench -i"

wf_start --port $PORT --ring-size 4096 --max-bytes $MAX_BYTES

step "a pgbench -S flood"
as_postgres /usr/lib/postgresql/15/bin/pgbench -n -S -c 4 -j 2 -T 4 "$S" >"$WF_TMP/pgbench.out" 2>&1 ||
	{ cat "$WF_TMP/pgbench.out"; fail "pgbench"; }
grep -E "^tps" "$WF_TMP/pgbench.out" | head -1

step "status reports both kinds of loss and the bound holds"
st=$("$WF" status)
echo "$st" | grep -E "^recorder|ring buffer|RSS"
lost=$(sed -n 's/.* written, \([0-9]*\) pieces (\([0-9]*\) bytes) lost.*/\1/p' <<<"$st")
[ -n "$lost" ] && [ "$lost" -gt 0 ] || fail "the tiny ring lost nothing? status says: $(grep 'ring buffer' <<<"$st")"
assert_contains "$st" "(ring full: raise --ring-size)"
dropped=$(sed -n 's/^recorder: .*), \([0-9]*\) dropped since start.*/\1/p' <<<"$st")
[ -n "$dropped" ] && [ "$dropped" -gt 0 ] || fail "no rows dropped with --max-bytes $MAX_BYTES"
kept_mib=$(sed -n 's/^recorder: [0-9]* rows kept (\([0-9.]*\) of .*/\1/p' <<<"$st")
python3 -c "import sys; sys.exit(0 if $kept_mib * 1048576 <= $MAX_BYTES * 1.001 else 1)" ||
	fail "rows kept ($kept_mib MiB) exceed --max-bytes $MAX_BYTES"
rss=$(sed -n 's/.*loader memory (RSS): \([0-9.]*\) MiB.*/\1/p' <<<"$st")
python3 -c "import sys; sys.exit(0 if $rss < 96 else 1)" || fail "loader RSS $rss MiB"

step "dump --json starts with note records, the FIFO dump with note rows"
"$WF" dump --json --keep >"$WF_TMP/rows.json"
jq -c . "$WF_TMP/rows.json" >/dev/null || fail "not JSON lines"
notes=$(jq -r 'select(.note) | .note' "$WF_TMP/rows.json")
echo "$notes"
assert_contains "$notes" "older rows: limit of $MAX_BYTES bytes reached"
assert_contains "$notes" "recorder pieces"
assert_contains "$notes" "ring buffer full): rows are missing or incomplete"
[ "$(head -c 1 "$WF_TMP/rows.json")" == "{" ] && head -1 "$WF_TMP/rows.json" | jq -e '.note' >/dev/null ||
	fail "the first JSON record is not a note"
dump=$("$WF" send --fifo "$WF_FIFO" 'recorder.dump()')
assert_eq "$(head -1 <<<"$dump" | cut -f1-2)" "-1	wirefault" "the first row of the FIFO dump is a note"
assert_contains "$(head -2 <<<"$dump")" "[kernel lost "
rows=$(wc -l <<<"$dump")
echo "FIFO dump: $rows rows"

step "the next dump is clean: notes are for one dump"
as_postgres /usr/lib/postgresql/15/bin/pgbench -n -S -c 1 -t 5 "$S" >/dev/null 2>&1
dump=$("$WF" send --fifo "$WF_FIFO" 'recorder.dump()')
assert_not_contains "$dump" "recorder dropped"
wf_stop
assert_no_trace "after the flood"
echo ok
