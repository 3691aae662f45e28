#!/usr/bin/env bash
# make demo: a throwaway PostgreSQL 15, wirefault attached to its port, a
# fault sent over the FIFO exactly as Citus' SQL helper sends it, what the
# client saw, what the server kept, the recorder's dump, and proof that
# nothing stays.
source "$(dirname "$0")/demo-lib.sh"

demo_setup demo "${WF_DEMO_PORT:-56500}"
psql_demo() { psql "host=127.0.0.1 port=$port user=postgres dbname=postgres sslmode=disable" -X "$@"; }
# the server's Unix socket: a path wirefault never touches
psql_direct() { psql "host=$tmp port=$port user=postgres dbname=postgres" -X -q -A -t "$@"; }

say "a throwaway PostgreSQL 15 on 127.0.0.1:$port"
demo_start_pg
psql_direct -c "CREATE TABLE accounts (id int PRIMARY KEY, balance int); INSERT INTO accounts VALUES (1, 100)"

say "wirefault run --port $port --fifo $fifo"
demo_start_wf
"$wf" status | sed -n '1,2p'

say "the fault: conn.onQuery(query=\"^COMMIT\").kill()   (an empty answer line = accepted)"
"$wf" send --fifo "$fifo" 'recorder.reset()'
"$wf" send --fifo "$fifo" 'conn.onQuery(query="^COMMIT").kill()' && echo "(accepted)"

say "the client: a transaction through the faulted port"
echo "BEGIN; UPDATE accounts SET balance = balance - 30 WHERE id = 1; COMMIT;"
rc=0
psql_demo -v ON_ERROR_STOP=1 -c "BEGIN" -c "UPDATE accounts SET balance = balance - 30 WHERE id = 1" \
	-c "COMMIT" 2>&1 || rc=$?
echo "(psql exit $rc: the COMMIT never reached the server; the client got a FIN, real TCP)"

say "the server kept the old balance (read through its Unix socket, not faulted)"
echo "balance of account 1: $(psql_direct -c "SELECT balance FROM accounts WHERE id = 1")"

say "a malformed command is refused with a clear error; the kill() pipeline stays in force"
"$wf" send --fifo "$fifo" 'conn.onQuery(query="^COMMIT").kil()' || true
"$wf" status | grep '^pipeline:'

say "recorder.dump()   (conn, source, the PostgreSQL messages of each TCP segment)"
"$wf" send --fifo "$fifo" 'recorder.dump()'
echo
"$wf" status | grep '^verdicts:'

say "stopping wirefault (SIGTERM): nothing stays"
demo_stop_wf
