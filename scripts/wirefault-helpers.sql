-- SQL functions to drive wirefault from a PostgreSQL session, for test suites
-- outside Citus (Citus' own suite defines citus.mitmproxy() and friends, which
-- speak the same protocol).
--
--   SET wirefault.fifo = '/tmp/wirefault.fifo';   -- the loader's --fifo
--   SELECT wirefault.send('conn.onQuery(query="^COMMIT").kill()');
--   ... run the statements under test ...
--   SELECT * FROM wirefault.dump();
--   SELECT wirefault.send('conn.allow()');
--
-- The FIFO protocol (DESIGN.md §1): a command goes to the FIFO as one row of
-- COPY text, the answer comes back from the same FIFO with COPY ... FROM:
-- one empty line when a command is accepted, the error text when it is not,
-- the recorded rows for recorder.dump(), nothing for recorder.reset().
--
-- The path comes from the setting wirefault.fifo, else citus.mitmfifo.  COPY
-- to and from a server file needs a superuser, or a role granted
-- pg_write_server_files and pg_read_server_files; the server's OS user
-- (postgres) needs write and read access to the FIFO (wirefault run creates
-- it with mode 0666).
--
-- Load with:  psql -f wirefault-helpers.sql   (installed by make install in
-- PREFIX/share/wirefault/)

CREATE SCHEMA IF NOT EXISTS wirefault;

-- The FIFO to use, checked: a COPY to a path that is not a FIFO would create
-- or overwrite a regular file, and one to a FIFO nobody reads would wait.
CREATE OR REPLACE FUNCTION wirefault.fifo_path()
RETURNS text LANGUAGE plpgsql AS $fn$
DECLARE
  path text := coalesce(nullif(current_setting('wirefault.fifo', true), ''),
                        nullif(current_setting('citus.mitmfifo', true), ''));
  st record;
BEGIN
  IF path IS NULL THEN
    RAISE EXCEPTION 'wirefault: no FIFO configured'
      USING HINT = 'SET wirefault.fifo = ''/path/of/the.fifo'' (the --fifo of wirefault run), '
                   'or ALTER SYSTEM SET wirefault.fifo = ...';
  END IF;
  SELECT * INTO st FROM pg_stat_file(path, true);
  IF st.size IS NULL THEN
    RAISE EXCEPTION 'wirefault: no FIFO at %', path
      USING HINT = 'Is "wirefault run --fifo ' || path || '" running?';
  END IF;
  IF st.isdir THEN
    RAISE EXCEPTION 'wirefault: % is a directory, not the FIFO', path;
  END IF;
  -- pg_stat_file does not tell a FIFO from a file; an empty, never-modified
  -- regular file is the one thing it cannot rule out, and COPY TO would then
  -- overwrite it.  A FIFO always has size 0.
  IF st.size <> 0 THEN
    RAISE EXCEPTION 'wirefault: % is a regular file, not the FIFO of a running wirefault', path;
  END IF;
  RETURN path;
END
$fn$;

-- Send one command; returns the answer lines (one empty line: accepted).
-- A command sent while the loader is still starting waits for it: wirefault
-- opens the FIFO once it is ready.
CREATE OR REPLACE FUNCTION wirefault.send(command text)
RETURNS SETOF text LANGUAGE plpgsql AS $fn$
DECLARE
  path text := wirefault.fifo_path();
BEGIN
  CREATE TEMPORARY TABLE wirefault_command (command text) ON COMMIT DROP;
  CREATE TEMPORARY TABLE wirefault_answer (line text) ON COMMIT DROP;
  INSERT INTO wirefault_command VALUES (command);
  EXECUTE format('COPY wirefault_command TO %L', path);
  EXECUTE format('COPY wirefault_answer FROM %L', path);
  RETURN QUERY SELECT line FROM wirefault_answer;
  DROP TABLE wirefault_command, wirefault_answer;
END
$fn$;

-- Send a command that must be accepted: raises the loader's error otherwise.
CREATE OR REPLACE FUNCTION wirefault.apply(command text)
RETURNS void LANGUAGE plpgsql AS $fn$
DECLARE
  answer text;
BEGIN
  SELECT string_agg(line, E'\n') INTO answer FROM wirefault.send(command) AS line;
  IF answer IS DISTINCT FROM '' THEN
    RAISE EXCEPTION 'wirefault refused %: %', command, coalesce(answer, '(no answer)');
  END IF;
END
$fn$;

-- The traffic recorded since the last dump or clear, one row per chunk:
-- connection number, 'coordinator' (client to server) or 'worker' (server to
-- client), the messages of the chunk.
CREATE OR REPLACE FUNCTION wirefault.dump()
RETURNS TABLE(conn int, source text, message text) LANGUAGE plpgsql AS $fn$
DECLARE
  path text := wirefault.fifo_path();
BEGIN
  CREATE TEMPORARY TABLE wirefault_command (command text) ON COMMIT DROP;
  CREATE TEMPORARY TABLE wirefault_traffic (conn int, source text, message text) ON COMMIT DROP;
  INSERT INTO wirefault_command VALUES ('recorder.dump()');
  EXECUTE format('COPY wirefault_command TO %L', path);
  EXECUTE format('COPY wirefault_traffic FROM %L', path);
  RETURN QUERY SELECT t.conn, t.source, t.message FROM wirefault_traffic t;
  DROP TABLE wirefault_command, wirefault_traffic;
END
$fn$;

-- Forget the recorded traffic and restart connection numbering.
CREATE OR REPLACE FUNCTION wirefault.clear()
RETURNS void LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM wirefault.send('recorder.reset()');
END
$fn$;
