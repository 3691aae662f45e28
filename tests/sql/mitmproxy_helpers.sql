-- The SQL side of the FIFO protocol, as Citus' failure tests use it
-- (DESIGN.md §1): a command goes to the FIFO with COPY ... TO (COPY text
-- format, one row), the answer comes back with COPY ... FROM.  The FIFO path
-- is the setting citus.mitmfifo (set it with -c citus.mitmfifo=PATH or
-- ALTER SYSTEM).  Needs a superuser: COPY to and from server files.

CREATE SCHEMA IF NOT EXISTS citus;

-- Send one command; returns the answer lines (none for recorder.reset(),
-- one empty line for an accepted command, the error text otherwise).
CREATE OR REPLACE FUNCTION citus.mitmproxy(command text)
RETURNS TABLE(result text) LANGUAGE plpgsql AS $fn$
BEGIN
  CREATE TEMPORARY TABLE wf_command (command text) ON COMMIT DROP;
  CREATE TEMPORARY TABLE wf_answer (line text) ON COMMIT DROP;
  INSERT INTO wf_command VALUES (command);
  EXECUTE format('COPY wf_command TO %L', current_setting('citus.mitmfifo'));
  EXECUTE format('COPY wf_answer FROM %L', current_setting('citus.mitmfifo'));
  RETURN QUERY SELECT line FROM wf_answer;
END
$fn$;

-- Forget the recorded traffic and restart connection numbering.
CREATE OR REPLACE FUNCTION citus.clear_network_traffic()
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM citus.mitmproxy('recorder.reset()');
END
$fn$;

-- The recorded traffic since the last dump or reset: one row per chunk.
CREATE OR REPLACE FUNCTION citus.dump_network_traffic()
RETURNS TABLE(conn int, source text, message text) LANGUAGE plpgsql AS $fn$
BEGIN
  CREATE TEMPORARY TABLE wf_command (command text) ON COMMIT DROP;
  CREATE TEMPORARY TABLE wf_traffic (conn int, source text, message text) ON COMMIT DROP;
  INSERT INTO wf_command VALUES ('recorder.dump()');
  EXECUTE format('COPY wf_command TO %L', current_setting('citus.mitmfifo'));
  EXECUTE format('COPY wf_traffic FROM %L', current_setting('citus.mitmfifo'));
  RETURN QUERY SELECT t.conn, t.source, t.message FROM wf_traffic t;
END
$fn$;
