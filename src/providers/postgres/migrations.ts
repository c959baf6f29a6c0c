// Numbered schema migrations for the PostgreSQL provider. All pending migrations run in ONE
// transaction under a transaction-scoped advisory lock, so concurrent processes opening the same
// schema never race: the second waits, then finds nothing left to do.
import type { PoolClient } from "pg";
import { quoteIdent, tablesOf, type Tables } from "./schemaName.js";

export interface PgMigration {
  version: number;
  description: string;
  sql: (t: Tables) => string;
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    description: "initial schema",
    sql: (t) => `
CREATE TABLE IF NOT EXISTS ${t.instances} (
  instance_id           TEXT PRIMARY KEY,
  orchestration_name    TEXT NOT NULL,
  orchestration_version TEXT,
  current_execution_id  BIGINT NOT NULL DEFAULT 1,
  custom_status         TEXT,
  custom_status_version BIGINT NOT NULL DEFAULT 0,
  parent_instance_id    TEXT,
  created_at            BIGINT NOT NULL,
  updated_at            BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_instances_parent ON ${t.instances} (parent_instance_id);
CREATE INDEX IF NOT EXISTS idx_instances_created ON ${t.instances} (created_at);

CREATE TABLE IF NOT EXISTS ${t.executions} (
  instance_id  TEXT NOT NULL,
  execution_id BIGINT NOT NULL,
  status       TEXT NOT NULL DEFAULT 'Running',
  output       TEXT,
  failure      TEXT,
  started_at   BIGINT NOT NULL,
  completed_at BIGINT,
  PRIMARY KEY (instance_id, execution_id)
);

CREATE TABLE IF NOT EXISTS ${t.history} (
  instance_id  TEXT NOT NULL,
  execution_id BIGINT NOT NULL,
  event_id     BIGINT NOT NULL,
  event_type   TEXT NOT NULL,
  event_data   TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  PRIMARY KEY (instance_id, execution_id, event_id)
);

CREATE TABLE IF NOT EXISTS ${t.orchestratorQueue} (
  id            BIGSERIAL PRIMARY KEY,
  instance_id   TEXT NOT NULL,
  work_item     TEXT NOT NULL,
  item_type     TEXT,
  visible_at    BIGINT NOT NULL,
  lock_token    TEXT,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  created_at    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_orch_visible ON ${t.orchestratorQueue} (visible_at, id);
CREATE INDEX IF NOT EXISTS idx_orch_instance ON ${t.orchestratorQueue} (instance_id, visible_at);
CREATE INDEX IF NOT EXISTS idx_orch_lock ON ${t.orchestratorQueue} (lock_token) WHERE lock_token IS NOT NULL;

CREATE TABLE IF NOT EXISTS ${t.workerQueue} (
  id            BIGSERIAL PRIMARY KEY,
  work_item     TEXT NOT NULL,
  visible_at    BIGINT NOT NULL,
  lock_token    TEXT,
  locked_until  BIGINT,
  attempt_count INTEGER NOT NULL DEFAULT 0,
  instance_id   TEXT,
  execution_id  BIGINT,
  activity_id   BIGINT,
  session_id    TEXT,
  tag           TEXT,
  created_at    BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_worker_visible ON ${t.workerQueue} (visible_at, id);
CREATE INDEX IF NOT EXISTS idx_worker_lock ON ${t.workerQueue} (lock_token) WHERE lock_token IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_worker_identity ON ${t.workerQueue} (instance_id, execution_id, activity_id);
CREATE INDEX IF NOT EXISTS idx_worker_session ON ${t.workerQueue} (session_id) WHERE session_id IS NOT NULL;

CREATE TABLE IF NOT EXISTS ${t.instanceLocks} (
  instance_id  TEXT PRIMARY KEY,
  lock_token   TEXT NOT NULL,
  locked_until BIGINT NOT NULL,
  locked_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_instance_locks_token ON ${t.instanceLocks} (lock_token);

CREATE TABLE IF NOT EXISTS ${t.sessions} (
  session_id       TEXT PRIMARY KEY,
  worker_id        TEXT NOT NULL,
  locked_until     BIGINT NOT NULL,
  last_activity_at BIGINT NOT NULL
);

CREATE TABLE IF NOT EXISTS ${t.kvStore} (
  instance_id        TEXT NOT NULL,
  key                TEXT NOT NULL,
  value              TEXT NOT NULL,
  last_updated_at_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (instance_id, key)
);

CREATE TABLE IF NOT EXISTS ${t.kvDelta} (
  instance_id        TEXT NOT NULL,
  key                TEXT NOT NULL,
  value              TEXT,
  last_updated_at_ms BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (instance_id, key)
);

CREATE TABLE IF NOT EXISTS ${t.deadLetters} (
  id          BIGSERIAL PRIMARY KEY,
  queue       TEXT NOT NULL,
  original_id BIGINT,
  instance_id TEXT,
  payload     TEXT,
  error       TEXT NOT NULL,
  created_at  BIGINT NOT NULL
);
`,
  },
  {
    version: 2,
    description: "instance status column and listing indexes (keyset paging)",
    sql: (t) => `
ALTER TABLE ${t.instances} ADD COLUMN IF NOT EXISTS status TEXT NOT NULL DEFAULT 'Running';
UPDATE ${t.instances} i SET status = e.status FROM ${t.executions} e
  WHERE e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id AND i.status IS DISTINCT FROM e.status;
CREATE INDEX IF NOT EXISTS idx_instances_page ON ${t.instances} (created_at, instance_id);
CREATE INDEX IF NOT EXISTS idx_instances_status_page ON ${t.instances} (status, created_at, instance_id);
CREATE INDEX IF NOT EXISTS idx_instances_name_page ON ${t.instances} (orchestration_name, created_at, instance_id);
`,
  },
  {
    version: 3,
    description: "server-side functions: fetch, ack and create in one round trip each",
    sql: (t) => `
-- Orchestrator fetch: pick the oldest visible message of an unlocked instance (skipping rows and
-- instances other fetchers, acks or abandons hold), take the instance lock, tag its visible
-- messages and return them with the instance's metadata, KV and (up to p_hist_max events) the
-- current execution's history. Runs as one transaction with asynchronous commit: losing it in a
-- server crash only loses a lock. No row: nothing is fetchable.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_fetch_orch(p_now BIGINT, p_token TEXT, p_until BIGINT, p_prefix TEXT, p_hist_max INTEGER,
  OUT r_instance TEXT, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[])
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_excluded TEXT[] := '{}';
  v_got BOOLEAN;
  v_n INTEGER;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  FOR v_round IN 1..64 LOOP
    SELECT x.instance_id, pg_try_advisory_xact_lock(hashtextextended(p_prefix || x.instance_id, 0)) INTO r_instance, v_got
    FROM (SELECT q.instance_id FROM ${t.orchestratorQueue} q
          WHERE q.visible_at <= p_now AND NOT (q.instance_id = ANY(v_excluded))
            AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now)
          ORDER BY q.visible_at, q.id LIMIT 1
          FOR UPDATE OF q SKIP LOCKED) x;
    IF NOT FOUND THEN RETURN; END IF;
    -- Another process is fetching, acking or abandoning this instance right now.
    IF NOT v_got THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    INSERT INTO ${t.instanceLocks} AS il (instance_id, lock_token, locked_until, locked_at) VALUES (r_instance, p_token, p_until, p_now)
    ON CONFLICT (instance_id) DO UPDATE SET lock_token = EXCLUDED.lock_token,
      locked_until = EXCLUDED.locked_until, locked_at = EXCLUDED.locked_at
    WHERE il.locked_until <= p_now;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    WITH u AS (
      UPDATE ${t.orchestratorQueue} SET lock_token = p_token, attempt_count = attempt_count + 1
      WHERE instance_id = r_instance AND visible_at <= p_now
      RETURNING id, work_item, attempt_count
    )
    SELECT array_agg(u.id ORDER BY u.id), array_agg(u.work_item ORDER BY u.id), array_agg(u.attempt_count ORDER BY u.id)
      INTO r_msg_ids, r_msg_items, r_msg_attempts FROM u;
    IF r_msg_ids IS NULL THEN
      DELETE FROM ${t.instanceLocks} WHERE instance_id = r_instance AND lock_token = p_token;
      v_excluded := v_excluded || r_instance;
      CONTINUE;
    END IF;
    SELECT i.current_execution_id, i.orchestration_name, i.orchestration_version INTO r_exec, r_name, r_version
    FROM ${t.instances} i WHERE i.instance_id = r_instance;
    SELECT json_agg(json_build_array(k.key, k.value, k.last_updated_at_ms)) INTO r_kv FROM ${t.kvStore} k WHERE k.instance_id = r_instance;
    IF r_exec IS NOT NULL THEN
      SELECT array_agg(h.event_id ORDER BY h.event_id), array_agg(h.event_data ORDER BY h.event_id), count(*)
        INTO r_event_ids, r_events, v_n
      FROM (SELECT event_id, event_data FROM ${t.history} WHERE instance_id = r_instance AND execution_id = r_exec
            ORDER BY event_id LIMIT p_hist_max + 1) h;
      IF v_n > p_hist_max THEN
        r_event_ids := NULL;
        r_events := NULL;
        SELECT MAX(event_id) INTO r_max_event FROM ${t.history} WHERE instance_id = r_instance AND execution_id = r_exec;
      ELSE
        r_max_event := r_event_ids[v_n];
        IF v_n = 0 THEN r_event_ids := '{}'; r_events := '{}'; END IF;
      END IF;
    END IF;
    RETURN NEXT;
    RETURN;
  END LOOP;
  RETURN;
END
$fn$;

-- Orchestrator ack (the common case: no activities withdrawn). Validates the lock under the
-- instance's advisory lock, then applies the whole turn (the caller NOTIFYs after the commit). r_code: 0 done,
-- 1 lock token unknown, 2 lock expired (nothing is changed then).
CREATE OR REPLACE FUNCTION ${t.schema}.dx_ack_orch(p_token TEXT, p_now BIGINT, p_prefix TEXT,
  p_name TEXT, p_version TEXT, p_exec BIGINT, p_parent TEXT, p_cs_seen BOOLEAN, p_cs TEXT,
  p_status TEXT, p_output TEXT, p_failure TEXT, p_completed_at BIGINT, p_terminal BOOLEAN,
  p_ev_ids BIGINT[], p_ev_types TEXT[], p_ev_data TEXT[],
  p_kv_clear_at BIGINT, p_kv_keys TEXT[], p_kv_values TEXT[], p_kv_ats BIGINT[],
  p_w_items TEXT[], p_w_inst TEXT[], p_w_exec BIGINT[], p_w_act BIGINT[], p_w_session TEXT[], p_w_tag TEXT[],
  p_o_inst TEXT[], p_o_items TEXT[], p_o_types TEXT[], p_o_visible BIGINT[],
  OUT r_code INTEGER, OUT r_instance TEXT)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_until BIGINT;
BEGIN
  SELECT l.instance_id INTO r_instance FROM ${t.instanceLocks} l WHERE l.lock_token = p_token;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_prefix || r_instance, 0));
  SELECT l.locked_until INTO v_until FROM ${t.instanceLocks} l WHERE l.instance_id = r_instance AND l.lock_token = p_token FOR UPDATE;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  IF v_until <= p_now THEN r_code := 2; RETURN; END IF;

  DELETE FROM ${t.orchestratorQueue} WHERE lock_token = p_token;
  INSERT INTO ${t.instances} AS i (instance_id, orchestration_name, orchestration_version, current_execution_id,
    custom_status, custom_status_version, parent_instance_id, created_at, updated_at, status)
  VALUES (r_instance, p_name, p_version, p_exec, CASE WHEN p_cs_seen THEN p_cs END, CASE WHEN p_cs_seen THEN 1 ELSE 0 END,
    p_parent, p_now, p_now, COALESCE(p_status, 'Running'))
  ON CONFLICT (instance_id) DO UPDATE SET orchestration_name = EXCLUDED.orchestration_name,
    orchestration_version = EXCLUDED.orchestration_version, updated_at = EXCLUDED.updated_at,
    status = CASE WHEN p_status IS NOT NULL THEN EXCLUDED.status
                  WHEN EXCLUDED.current_execution_id > i.current_execution_id THEN 'Running' ELSE i.status END,
    current_execution_id = GREATEST(i.current_execution_id, EXCLUDED.current_execution_id),
    custom_status = CASE WHEN p_cs_seen THEN EXCLUDED.custom_status ELSE i.custom_status END,
    custom_status_version = i.custom_status_version + CASE WHEN p_cs_seen THEN 1 ELSE 0 END;
  IF p_status IS NOT NULL THEN
    INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
    VALUES (r_instance, p_exec, p_status, p_output, p_failure, p_now, p_completed_at)
    ON CONFLICT (instance_id, execution_id) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output,
      failure = EXCLUDED.failure, completed_at = EXCLUDED.completed_at;
  ELSE
    INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
    VALUES (r_instance, p_exec, 'Running', NULL, NULL, p_now, p_completed_at)
    ON CONFLICT (instance_id, execution_id) DO NOTHING;
  END IF;

  IF cardinality(p_ev_ids) > 0 THEN
    INSERT INTO ${t.history} (instance_id, execution_id, event_id, event_type, event_data, created_at)
    SELECT r_instance, p_exec, u.event_id, u.event_type, u.event_data, p_now
    FROM unnest(p_ev_ids, p_ev_types, p_ev_data) WITH ORDINALITY AS u(event_id, event_type, event_data, ord)
    ORDER BY u.ord;
  END IF;

  IF p_kv_clear_at IS NOT NULL THEN
    WITH d AS (UPDATE ${t.kvDelta} SET value = NULL, last_updated_at_ms = p_kv_clear_at WHERE instance_id = r_instance RETURNING key)
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT s.instance_id, s.key, NULL, p_kv_clear_at FROM ${t.kvStore} s WHERE s.instance_id = r_instance AND s.key NOT IN (SELECT key FROM d)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = NULL, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  IF cardinality(p_kv_keys) > 0 THEN
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT r_instance, u.key, u.value, u.at FROM unnest(p_kv_keys, p_kv_values, p_kv_ats) AS u(key, value, at)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  IF p_terminal AND EXISTS (SELECT 1 FROM ${t.kvDelta} WHERE instance_id = r_instance) THEN
    INSERT INTO ${t.kvStore} (instance_id, key, value, last_updated_at_ms)
    SELECT d.instance_id, d.key, d.value, d.last_updated_at_ms FROM ${t.kvDelta} d WHERE d.instance_id = r_instance AND d.value IS NOT NULL
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
    WITH d AS (DELETE FROM ${t.kvDelta} WHERE instance_id = r_instance RETURNING key, value)
    DELETE FROM ${t.kvStore} s USING d WHERE s.instance_id = r_instance AND s.key = d.key AND d.value IS NULL;
  END IF;

  IF cardinality(p_w_items) > 0 THEN
    INSERT INTO ${t.workerQueue} (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at)
    SELECT u.work_item, p_now, 0, u.instance_id, u.execution_id, u.activity_id, u.session_id, u.tag, p_now
    FROM unnest(p_w_items, p_w_inst, p_w_exec, p_w_act, p_w_session, p_w_tag)
      WITH ORDINALITY AS u(work_item, instance_id, execution_id, activity_id, session_id, tag, ord)
    ORDER BY u.ord;
  END IF;
  IF cardinality(p_o_items) > 0 THEN
    INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
    SELECT u.instance_id, u.work_item, u.item_type, u.visible_at, 0, p_now
    FROM unnest(p_o_inst, p_o_items, p_o_types, p_o_visible) WITH ORDINALITY AS u(instance_id, work_item, item_type, visible_at, ord)
    ORDER BY u.ord;
  END IF;
  DELETE FROM ${t.instanceLocks} WHERE lock_token = p_token;
  r_code := 0;
END
$fn$;

-- Worker fetch: pick the oldest visible, unlocked item the filters allow, claim its session when
-- it has one (no row when another owner holds it), lock it and return it. p_tag_mode: 0 untagged
-- only, 1 the given tags, 2 untagged or the given tags, 3 any. p_owner NULL: only items without a
-- session. Asynchronous commit, as for the orchestrator fetch.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_fetch_work(p_now BIGINT, p_token TEXT, p_until BIGINT, p_tag_mode INTEGER, p_tags TEXT[],
  p_owner TEXT, p_session_until BIGINT,
  OUT r_id BIGINT, OUT r_work_item TEXT, OUT r_attempt_count INTEGER, OUT r_session_id TEXT)
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_n BIGINT;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT w.id, w.session_id INTO r_id, r_session_id FROM ${t.workerQueue} w
  WHERE w.visible_at <= p_now AND (w.lock_token IS NULL OR w.locked_until <= p_now)
    AND CASE p_tag_mode WHEN 0 THEN w.tag IS NULL WHEN 1 THEN w.tag = ANY(p_tags)
                        WHEN 2 THEN (w.tag IS NULL OR w.tag = ANY(p_tags)) ELSE TRUE END
    AND (w.session_id IS NULL OR (p_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t.sessions} s
          WHERE s.session_id = w.session_id AND s.locked_until > p_now AND s.worker_id <> p_owner)))
  ORDER BY w.id LIMIT 1
  FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN RETURN; END IF;
  IF r_session_id IS NOT NULL THEN
    INSERT INTO ${t.sessions} AS s (session_id, worker_id, locked_until, last_activity_at) VALUES (r_session_id, p_owner, p_session_until, p_now)
    ON CONFLICT (session_id) DO UPDATE SET worker_id = EXCLUDED.worker_id,
      locked_until = CASE WHEN s.locked_until > p_now THEN GREATEST(s.locked_until, EXCLUDED.locked_until) ELSE EXCLUDED.locked_until END,
      last_activity_at = EXCLUDED.last_activity_at
    WHERE s.worker_id = EXCLUDED.worker_id OR s.locked_until <= p_now;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    -- Another owner claimed the session meanwhile.
    IF v_n <> 1 THEN RETURN; END IF;
  END IF;
  UPDATE ${t.workerQueue} SET lock_token = p_token, locked_until = p_until, attempt_count = attempt_count + 1
  WHERE id = r_id RETURNING work_item, attempt_count INTO r_work_item, r_attempt_count;
  RETURN NEXT;
END
$fn$;

-- createInstance: serialised per id by an advisory lock; false when the instance exists or its
-- start is queued.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_create_instance(p_instance TEXT, p_lock_key TEXT, p_item TEXT, p_type TEXT, p_now BIGINT)
RETURNS BOOLEAN LANGUAGE plpgsql AS $fn$
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));
  IF EXISTS (SELECT 1 FROM ${t.instances} WHERE instance_id = p_instance)
     OR EXISTS (SELECT 1 FROM ${t.orchestratorQueue} WHERE instance_id = p_instance AND item_type IN ('StartOrchestration','ContinueAsNew')) THEN
    RETURN FALSE;
  END IF;
  INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
  VALUES (p_instance, p_item, p_type, p_now, 0, p_now);
  RETURN TRUE;
END
$fn$;
`,
  },
  {
    version: 4,
    description: "targeted wake-ups: worker acks skip the NOTIFY for locked instances; orchestrator acks report pending messages",
    sql: (t) => `
DROP FUNCTION IF EXISTS ${t.schema}.dx_ack_orch(TEXT, BIGINT, TEXT, TEXT, TEXT, BIGINT, TEXT, BOOLEAN, TEXT, TEXT, TEXT, TEXT, BIGINT, BOOLEAN,
  BIGINT[], TEXT[], TEXT[], BIGINT, TEXT[], TEXT[], BIGINT[], TEXT[], TEXT[], BIGINT[], BIGINT[], TEXT[], TEXT[], TEXT[], TEXT[], TEXT[], BIGINT[]);

-- As in migration 3, plus r_next_visible: the earliest visible_at of the instance's messages that
-- are not part of this turn (NULL: none), read under the instance's advisory lock.
CREATE FUNCTION ${t.schema}.dx_ack_orch(p_token TEXT, p_now BIGINT, p_prefix TEXT,
  p_name TEXT, p_version TEXT, p_exec BIGINT, p_parent TEXT, p_cs_seen BOOLEAN, p_cs TEXT,
  p_status TEXT, p_output TEXT, p_failure TEXT, p_completed_at BIGINT, p_terminal BOOLEAN,
  p_ev_ids BIGINT[], p_ev_types TEXT[], p_ev_data TEXT[],
  p_kv_clear_at BIGINT, p_kv_keys TEXT[], p_kv_values TEXT[], p_kv_ats BIGINT[],
  p_w_items TEXT[], p_w_inst TEXT[], p_w_exec BIGINT[], p_w_act BIGINT[], p_w_session TEXT[], p_w_tag TEXT[],
  p_o_inst TEXT[], p_o_items TEXT[], p_o_types TEXT[], p_o_visible BIGINT[],
  OUT r_code INTEGER, OUT r_instance TEXT, OUT r_next_visible BIGINT)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_until BIGINT;
BEGIN
  SELECT l.instance_id INTO r_instance FROM ${t.instanceLocks} l WHERE l.lock_token = p_token;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_prefix || r_instance, 0));
  SELECT l.locked_until INTO v_until FROM ${t.instanceLocks} l WHERE l.instance_id = r_instance AND l.lock_token = p_token FOR UPDATE;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  IF v_until <= p_now THEN r_code := 2; RETURN; END IF;

  DELETE FROM ${t.orchestratorQueue} WHERE lock_token = p_token;
  INSERT INTO ${t.instances} AS i (instance_id, orchestration_name, orchestration_version, current_execution_id,
    custom_status, custom_status_version, parent_instance_id, created_at, updated_at, status)
  VALUES (r_instance, p_name, p_version, p_exec, CASE WHEN p_cs_seen THEN p_cs END, CASE WHEN p_cs_seen THEN 1 ELSE 0 END,
    p_parent, p_now, p_now, COALESCE(p_status, 'Running'))
  ON CONFLICT (instance_id) DO UPDATE SET orchestration_name = EXCLUDED.orchestration_name,
    orchestration_version = EXCLUDED.orchestration_version, updated_at = EXCLUDED.updated_at,
    status = CASE WHEN p_status IS NOT NULL THEN EXCLUDED.status
                  WHEN EXCLUDED.current_execution_id > i.current_execution_id THEN 'Running' ELSE i.status END,
    current_execution_id = GREATEST(i.current_execution_id, EXCLUDED.current_execution_id),
    custom_status = CASE WHEN p_cs_seen THEN EXCLUDED.custom_status ELSE i.custom_status END,
    custom_status_version = i.custom_status_version + CASE WHEN p_cs_seen THEN 1 ELSE 0 END;
  IF p_status IS NOT NULL THEN
    INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
    VALUES (r_instance, p_exec, p_status, p_output, p_failure, p_now, p_completed_at)
    ON CONFLICT (instance_id, execution_id) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output,
      failure = EXCLUDED.failure, completed_at = EXCLUDED.completed_at;
  ELSE
    INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
    VALUES (r_instance, p_exec, 'Running', NULL, NULL, p_now, p_completed_at)
    ON CONFLICT (instance_id, execution_id) DO NOTHING;
  END IF;

  IF cardinality(p_ev_ids) > 0 THEN
    INSERT INTO ${t.history} (instance_id, execution_id, event_id, event_type, event_data, created_at)
    SELECT r_instance, p_exec, u.event_id, u.event_type, u.event_data, p_now
    FROM unnest(p_ev_ids, p_ev_types, p_ev_data) WITH ORDINALITY AS u(event_id, event_type, event_data, ord)
    ORDER BY u.ord;
  END IF;

  IF p_kv_clear_at IS NOT NULL THEN
    WITH d AS (UPDATE ${t.kvDelta} SET value = NULL, last_updated_at_ms = p_kv_clear_at WHERE instance_id = r_instance RETURNING key)
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT s.instance_id, s.key, NULL, p_kv_clear_at FROM ${t.kvStore} s WHERE s.instance_id = r_instance AND s.key NOT IN (SELECT key FROM d)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = NULL, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  IF cardinality(p_kv_keys) > 0 THEN
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT r_instance, u.key, u.value, u.at FROM unnest(p_kv_keys, p_kv_values, p_kv_ats) AS u(key, value, at)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  IF p_terminal AND EXISTS (SELECT 1 FROM ${t.kvDelta} WHERE instance_id = r_instance) THEN
    INSERT INTO ${t.kvStore} (instance_id, key, value, last_updated_at_ms)
    SELECT d.instance_id, d.key, d.value, d.last_updated_at_ms FROM ${t.kvDelta} d WHERE d.instance_id = r_instance AND d.value IS NOT NULL
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
    WITH d AS (DELETE FROM ${t.kvDelta} WHERE instance_id = r_instance RETURNING key, value)
    DELETE FROM ${t.kvStore} s USING d WHERE s.instance_id = r_instance AND s.key = d.key AND d.value IS NULL;
  END IF;

  IF cardinality(p_w_items) > 0 THEN
    INSERT INTO ${t.workerQueue} (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at)
    SELECT u.work_item, p_now, 0, u.instance_id, u.execution_id, u.activity_id, u.session_id, u.tag, p_now
    FROM unnest(p_w_items, p_w_inst, p_w_exec, p_w_act, p_w_session, p_w_tag)
      WITH ORDINALITY AS u(work_item, instance_id, execution_id, activity_id, session_id, tag, ord)
    ORDER BY u.ord;
  END IF;
  IF cardinality(p_o_items) > 0 THEN
    INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
    SELECT u.instance_id, u.work_item, u.item_type, u.visible_at, 0, p_now
    FROM unnest(p_o_inst, p_o_items, p_o_types, p_o_visible) WITH ORDINALITY AS u(instance_id, work_item, item_type, visible_at, ord)
    ORDER BY u.ord;
  END IF;
  DELETE FROM ${t.instanceLocks} WHERE lock_token = p_token;
  -- Messages that arrived during the turn: their senders saw the instance locked and sent no
  -- wake-up (dx_ack_work), so the caller wakes its own fetch loop for them.
  SELECT MIN(q.visible_at) INTO r_next_visible FROM ${t.orchestratorQueue} q WHERE q.instance_id = r_instance AND q.lock_token IS NULL;
  r_code := 0;
END
$fn$;


-- Worker ack: delete the item (only while our lock is valid), bump its session, enqueue the
-- completion. r_wake: whether other processes need a wake-up for the completion; not when its
-- instance is locked by a live turn, whose ack then finds the message (r_next_visible above).
-- The shared advisory lock on the target instance, taken first, orders this against that ack:
-- either the ack starts after this commit and sees the message, or this check runs after the
-- ack's commit and sees the lock gone.
CREATE FUNCTION ${t.schema}.dx_ack_work(p_token TEXT, p_now BIGINT, p_prefix TEXT, p_target TEXT, p_item TEXT, p_type TEXT,
  OUT r_deleted INTEGER, OUT r_wake BOOLEAN)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_session TEXT;
BEGIN
  r_wake := FALSE;
  IF p_item IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_prefix || p_target, 0));
  END IF;
  DELETE FROM ${t.workerQueue} WHERE lock_token = p_token AND locked_until > p_now RETURNING session_id INTO v_session;
  GET DIAGNOSTICS r_deleted = ROW_COUNT;
  IF r_deleted = 0 THEN RETURN; END IF;
  IF v_session IS NOT NULL THEN
    UPDATE ${t.sessions} SET last_activity_at = p_now WHERE session_id = v_session AND locked_until > p_now;
  END IF;
  IF p_item IS NOT NULL THEN
    INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
    VALUES (p_target, p_item, p_type, p_now, 0, p_now);
    r_wake := NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = p_target AND l.locked_until > p_now);
  END IF;
END
$fn$;
`,
  },
  {
    version: 5,
    description: "activity heartbeats: last heartbeat details of a worker item; dx_lease_work leases heartbeating items for their heartbeat timeout",
    sql: (t) => `
ALTER TABLE ${t.workerQueue} ADD COLUMN IF NOT EXISTS heartbeat_details TEXT;

-- As dx_fetch_work (migration 3, kept for processes still running the older code), plus: an item
-- with a heartbeat timeout is leased for that long instead of p_until (only heartbeats keep it),
-- the stored heartbeat details, and r_lapsed: the previous lease expired unreleased (its holder
-- was lost). The timeout is read from the item only when its text names it, so other items cost
-- no JSON parse.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_lease_work(p_now BIGINT, p_token TEXT, p_until BIGINT, p_tag_mode INTEGER, p_tags TEXT[],
  p_owner TEXT, p_session_until BIGINT,
  OUT r_id BIGINT, OUT r_work_item TEXT, OUT r_attempt_count INTEGER, OUT r_session_id TEXT,
  OUT r_heartbeat_details TEXT, OUT r_lapsed BOOLEAN)
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_n BIGINT;
  v_until BIGINT;
  v_hb BIGINT;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT w.id, w.session_id, w.work_item, w.heartbeat_details, w.lock_token IS NOT NULL
    INTO r_id, r_session_id, r_work_item, r_heartbeat_details, r_lapsed
  FROM ${t.workerQueue} w
  WHERE w.visible_at <= p_now AND (w.lock_token IS NULL OR w.locked_until <= p_now)
    AND CASE p_tag_mode WHEN 0 THEN w.tag IS NULL WHEN 1 THEN w.tag = ANY(p_tags)
                        WHEN 2 THEN (w.tag IS NULL OR w.tag = ANY(p_tags)) ELSE TRUE END
    AND (w.session_id IS NULL OR (p_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t.sessions} s
          WHERE s.session_id = w.session_id AND s.locked_until > p_now AND s.worker_id <> p_owner)))
  ORDER BY w.id LIMIT 1
  FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN RETURN; END IF;
  IF r_session_id IS NOT NULL THEN
    INSERT INTO ${t.sessions} AS s (session_id, worker_id, locked_until, last_activity_at) VALUES (r_session_id, p_owner, p_session_until, p_now)
    ON CONFLICT (session_id) DO UPDATE SET worker_id = EXCLUDED.worker_id,
      locked_until = CASE WHEN s.locked_until > p_now THEN GREATEST(s.locked_until, EXCLUDED.locked_until) ELSE EXCLUDED.locked_until END,
      last_activity_at = EXCLUDED.last_activity_at
    WHERE s.worker_id = EXCLUDED.worker_id OR s.locked_until <= p_now;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n <> 1 THEN RETURN; END IF;
  END IF;
  v_until := p_until;
  IF strpos(r_work_item, '"heartbeatTimeoutMs"') > 0 THEN
    BEGIN
      v_hb := (r_work_item::jsonb ->> 'heartbeatTimeoutMs')::bigint;
    EXCEPTION WHEN others THEN
      v_hb := NULL; -- a damaged item: the runtime dead-letters it after this fetch
    END;
    IF v_hb IS NOT NULL AND v_hb > 0 THEN v_until := p_now + v_hb; END IF;
  END IF;
  UPDATE ${t.workerQueue} SET lock_token = p_token, locked_until = v_until, attempt_count = attempt_count + 1
  WHERE id = r_id RETURNING attempt_count INTO r_attempt_count;
  RETURN NEXT;
END
$fn$;
`,
  },
  {
    version: 6,
    description: "terminal orchestrator acks drop the instance's queued timers; updated_at moves only when an ack records something",
    sql: (t) => `
-- As in migration 4, plus: a terminal ack drops the instance's queued timers (they would fire into
-- a finished execution), and updated_at moves only when the ack records history or a status.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_ack_orch(p_token TEXT, p_now BIGINT, p_prefix TEXT,
  p_name TEXT, p_version TEXT, p_exec BIGINT, p_parent TEXT, p_cs_seen BOOLEAN, p_cs TEXT,
  p_status TEXT, p_output TEXT, p_failure TEXT, p_completed_at BIGINT, p_terminal BOOLEAN,
  p_ev_ids BIGINT[], p_ev_types TEXT[], p_ev_data TEXT[],
  p_kv_clear_at BIGINT, p_kv_keys TEXT[], p_kv_values TEXT[], p_kv_ats BIGINT[],
  p_w_items TEXT[], p_w_inst TEXT[], p_w_exec BIGINT[], p_w_act BIGINT[], p_w_session TEXT[], p_w_tag TEXT[],
  p_o_inst TEXT[], p_o_items TEXT[], p_o_types TEXT[], p_o_visible BIGINT[],
  OUT r_code INTEGER, OUT r_instance TEXT, OUT r_next_visible BIGINT)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_until BIGINT;
BEGIN
  SELECT l.instance_id INTO r_instance FROM ${t.instanceLocks} l WHERE l.lock_token = p_token;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_prefix || r_instance, 0));
  SELECT l.locked_until INTO v_until FROM ${t.instanceLocks} l WHERE l.instance_id = r_instance AND l.lock_token = p_token FOR UPDATE;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  IF v_until <= p_now THEN r_code := 2; RETURN; END IF;

  DELETE FROM ${t.orchestratorQueue} WHERE lock_token = p_token;
  IF p_terminal THEN
    DELETE FROM ${t.orchestratorQueue} WHERE instance_id = r_instance AND item_type = 'TimerFired';
  END IF;
  INSERT INTO ${t.instances} AS i (instance_id, orchestration_name, orchestration_version, current_execution_id,
    custom_status, custom_status_version, parent_instance_id, created_at, updated_at, status)
  VALUES (r_instance, p_name, p_version, p_exec, CASE WHEN p_cs_seen THEN p_cs END, CASE WHEN p_cs_seen THEN 1 ELSE 0 END,
    p_parent, p_now, p_now, COALESCE(p_status, 'Running'))
  ON CONFLICT (instance_id) DO UPDATE SET orchestration_name = EXCLUDED.orchestration_name,
    orchestration_version = EXCLUDED.orchestration_version,
    updated_at = CASE WHEN cardinality(p_ev_ids) > 0 OR p_status IS NOT NULL THEN EXCLUDED.updated_at ELSE i.updated_at END,
    status = CASE WHEN p_status IS NOT NULL THEN EXCLUDED.status
                  WHEN EXCLUDED.current_execution_id > i.current_execution_id THEN 'Running' ELSE i.status END,
    current_execution_id = GREATEST(i.current_execution_id, EXCLUDED.current_execution_id),
    custom_status = CASE WHEN p_cs_seen THEN EXCLUDED.custom_status ELSE i.custom_status END,
    custom_status_version = i.custom_status_version + CASE WHEN p_cs_seen THEN 1 ELSE 0 END;
  IF p_status IS NOT NULL THEN
    INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
    VALUES (r_instance, p_exec, p_status, p_output, p_failure, p_now, p_completed_at)
    ON CONFLICT (instance_id, execution_id) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output,
      failure = EXCLUDED.failure, completed_at = EXCLUDED.completed_at;
  ELSE
    INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
    VALUES (r_instance, p_exec, 'Running', NULL, NULL, p_now, p_completed_at)
    ON CONFLICT (instance_id, execution_id) DO NOTHING;
  END IF;

  IF cardinality(p_ev_ids) > 0 THEN
    INSERT INTO ${t.history} (instance_id, execution_id, event_id, event_type, event_data, created_at)
    SELECT r_instance, p_exec, u.event_id, u.event_type, u.event_data, p_now
    FROM unnest(p_ev_ids, p_ev_types, p_ev_data) WITH ORDINALITY AS u(event_id, event_type, event_data, ord)
    ORDER BY u.ord;
  END IF;

  IF p_kv_clear_at IS NOT NULL THEN
    WITH d AS (UPDATE ${t.kvDelta} SET value = NULL, last_updated_at_ms = p_kv_clear_at WHERE instance_id = r_instance RETURNING key)
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT s.instance_id, s.key, NULL, p_kv_clear_at FROM ${t.kvStore} s WHERE s.instance_id = r_instance AND s.key NOT IN (SELECT key FROM d)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = NULL, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  IF cardinality(p_kv_keys) > 0 THEN
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT r_instance, u.key, u.value, u.at FROM unnest(p_kv_keys, p_kv_values, p_kv_ats) AS u(key, value, at)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  IF p_terminal AND EXISTS (SELECT 1 FROM ${t.kvDelta} WHERE instance_id = r_instance) THEN
    INSERT INTO ${t.kvStore} (instance_id, key, value, last_updated_at_ms)
    SELECT d.instance_id, d.key, d.value, d.last_updated_at_ms FROM ${t.kvDelta} d WHERE d.instance_id = r_instance AND d.value IS NOT NULL
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
    WITH d AS (DELETE FROM ${t.kvDelta} WHERE instance_id = r_instance RETURNING key, value)
    DELETE FROM ${t.kvStore} s USING d WHERE s.instance_id = r_instance AND s.key = d.key AND d.value IS NULL;
  END IF;

  IF cardinality(p_w_items) > 0 THEN
    INSERT INTO ${t.workerQueue} (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at)
    SELECT u.work_item, p_now, 0, u.instance_id, u.execution_id, u.activity_id, u.session_id, u.tag, p_now
    FROM unnest(p_w_items, p_w_inst, p_w_exec, p_w_act, p_w_session, p_w_tag)
      WITH ORDINALITY AS u(work_item, instance_id, execution_id, activity_id, session_id, tag, ord)
    ORDER BY u.ord;
  END IF;
  IF cardinality(p_o_items) > 0 THEN
    INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
    SELECT u.instance_id, u.work_item, u.item_type, u.visible_at, 0, p_now
    FROM unnest(p_o_inst, p_o_items, p_o_types, p_o_visible) WITH ORDINALITY AS u(instance_id, work_item, item_type, visible_at, ord)
    ORDER BY u.ord;
  END IF;
  DELETE FROM ${t.instanceLocks} WHERE lock_token = p_token;
  -- Messages that arrived during the turn: their senders saw the instance locked and sent no
  -- wake-up (dx_ack_work), so the caller wakes its own fetch loop for them.
  SELECT MIN(q.visible_at) INTO r_next_visible FROM ${t.orchestratorQueue} q WHERE q.instance_id = r_instance AND q.lock_token IS NULL;
  r_code := 0;
END
$fn$;
`,
  },
  {
    version: 7,
    description: "suspended instances (onNondeterminism: suspend): the error an instance waits on and where its history stood",
    sql: (t) => `
-- A suspension holds while the current execution's history is where it stood when the instance was
-- suspended: the next stored turn appends to it and so ends the suspension, with no ack change.
ALTER TABLE ${t.instances} ADD COLUMN IF NOT EXISTS suspension TEXT;
ALTER TABLE ${t.instances} ADD COLUMN IF NOT EXISTS suspended_execution BIGINT;
ALTER TABLE ${t.instances} ADD COLUMN IF NOT EXISTS suspended_last_event BIGINT;
`,
  },
  {
    version: 8,
    description: "fetches report whether more is ready (r_more), so a fetch loop that drained the queue waits for a wake-up instead of fetching again",
    sql: (t) => `
-- As in migrations 3 and 5, plus r_more: whether something else was ready when the fetch took its
-- item. False lets the caller sleep until a wake-up instead of making a fetch that comes back
-- empty. (OUT columns change, so drop and create; older processes' SELECT * ignore the new column.)
DROP FUNCTION IF EXISTS ${t.schema}.dx_fetch_orch(BIGINT, TEXT, BIGINT, TEXT, INTEGER);
CREATE FUNCTION ${t.schema}.dx_fetch_orch(p_now BIGINT, p_token TEXT, p_until BIGINT, p_prefix TEXT, p_hist_max INTEGER,
  OUT r_instance TEXT, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[], OUT r_more BOOLEAN)
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_excluded TEXT[] := '{}';
  v_got BOOLEAN;
  v_n INTEGER;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  FOR v_round IN 1..64 LOOP
    SELECT x.instance_id, pg_try_advisory_xact_lock(hashtextextended(p_prefix || x.instance_id, 0)) INTO r_instance, v_got
    FROM (SELECT q.instance_id FROM ${t.orchestratorQueue} q
          WHERE q.visible_at <= p_now AND NOT (q.instance_id = ANY(v_excluded))
            AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now)
          ORDER BY q.visible_at, q.id LIMIT 1
          FOR UPDATE OF q SKIP LOCKED) x;
    IF NOT FOUND THEN RETURN; END IF;
    -- Another process is fetching, acking or abandoning this instance right now.
    IF NOT v_got THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    INSERT INTO ${t.instanceLocks} AS il (instance_id, lock_token, locked_until, locked_at) VALUES (r_instance, p_token, p_until, p_now)
    ON CONFLICT (instance_id) DO UPDATE SET lock_token = EXCLUDED.lock_token,
      locked_until = EXCLUDED.locked_until, locked_at = EXCLUDED.locked_at
    WHERE il.locked_until <= p_now;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    WITH u AS (
      UPDATE ${t.orchestratorQueue} SET lock_token = p_token, attempt_count = attempt_count + 1
      WHERE instance_id = r_instance AND visible_at <= p_now
      RETURNING id, work_item, attempt_count
    )
    SELECT array_agg(u.id ORDER BY u.id), array_agg(u.work_item ORDER BY u.id), array_agg(u.attempt_count ORDER BY u.id)
      INTO r_msg_ids, r_msg_items, r_msg_attempts FROM u;
    IF r_msg_ids IS NULL THEN
      DELETE FROM ${t.instanceLocks} WHERE instance_id = r_instance AND lock_token = p_token;
      v_excluded := v_excluded || r_instance;
      CONTINUE;
    END IF;
    SELECT i.current_execution_id, i.orchestration_name, i.orchestration_version INTO r_exec, r_name, r_version
    FROM ${t.instances} i WHERE i.instance_id = r_instance;
    SELECT json_agg(json_build_array(k.key, k.value, k.last_updated_at_ms)) INTO r_kv FROM ${t.kvStore} k WHERE k.instance_id = r_instance;
    IF r_exec IS NOT NULL THEN
      SELECT array_agg(h.event_id ORDER BY h.event_id), array_agg(h.event_data ORDER BY h.event_id), count(*)
        INTO r_event_ids, r_events, v_n
      FROM (SELECT event_id, event_data FROM ${t.history} WHERE instance_id = r_instance AND execution_id = r_exec
            ORDER BY event_id LIMIT p_hist_max + 1) h;
      IF v_n > p_hist_max THEN
        r_event_ids := NULL;
        r_events := NULL;
        SELECT MAX(event_id) INTO r_max_event FROM ${t.history} WHERE instance_id = r_instance AND execution_id = r_exec;
      ELSE
        r_max_event := r_event_ids[v_n];
        IF v_n = 0 THEN r_event_ids := '{}'; r_events := '{}'; END IF;
      END IF;
    END IF;
    -- Read with this instance's lock in place: is another instance ready? (Rows other fetchers hold
    -- count too, so this may say yes wrongly, never no wrongly.)
    r_more := EXISTS (SELECT 1 FROM ${t.orchestratorQueue} q
      WHERE q.visible_at <= p_now AND q.instance_id <> r_instance
        AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now));
    RETURN NEXT;
    RETURN;
  END LOOP;
  RETURN;
END
$fn$;

DROP FUNCTION IF EXISTS ${t.schema}.dx_lease_work(BIGINT, TEXT, BIGINT, INTEGER, TEXT[], TEXT, BIGINT);
CREATE FUNCTION ${t.schema}.dx_lease_work(p_now BIGINT, p_token TEXT, p_until BIGINT, p_tag_mode INTEGER, p_tags TEXT[],
  p_owner TEXT, p_session_until BIGINT,
  OUT r_id BIGINT, OUT r_work_item TEXT, OUT r_attempt_count INTEGER, OUT r_session_id TEXT,
  OUT r_heartbeat_details TEXT, OUT r_lapsed BOOLEAN, OUT r_more BOOLEAN)
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_n BIGINT;
  v_until BIGINT;
  v_hb BIGINT;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  SELECT w.id, w.session_id, w.work_item, w.heartbeat_details, w.lock_token IS NOT NULL
    INTO r_id, r_session_id, r_work_item, r_heartbeat_details, r_lapsed
  FROM ${t.workerQueue} w
  WHERE w.visible_at <= p_now AND (w.lock_token IS NULL OR w.locked_until <= p_now)
    AND CASE p_tag_mode WHEN 0 THEN w.tag IS NULL WHEN 1 THEN w.tag = ANY(p_tags)
                        WHEN 2 THEN (w.tag IS NULL OR w.tag = ANY(p_tags)) ELSE TRUE END
    AND (w.session_id IS NULL OR (p_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t.sessions} s
          WHERE s.session_id = w.session_id AND s.locked_until > p_now AND s.worker_id <> p_owner)))
  ORDER BY w.id LIMIT 1
  FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN RETURN; END IF;
  IF r_session_id IS NOT NULL THEN
    INSERT INTO ${t.sessions} AS s (session_id, worker_id, locked_until, last_activity_at) VALUES (r_session_id, p_owner, p_session_until, p_now)
    ON CONFLICT (session_id) DO UPDATE SET worker_id = EXCLUDED.worker_id,
      locked_until = CASE WHEN s.locked_until > p_now THEN GREATEST(s.locked_until, EXCLUDED.locked_until) ELSE EXCLUDED.locked_until END,
      last_activity_at = EXCLUDED.last_activity_at
    WHERE s.worker_id = EXCLUDED.worker_id OR s.locked_until <= p_now;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n <> 1 THEN RETURN; END IF;
  END IF;
  v_until := p_until;
  IF strpos(r_work_item, '"heartbeatTimeoutMs"') > 0 THEN
    BEGIN
      v_hb := (r_work_item::jsonb ->> 'heartbeatTimeoutMs')::bigint;
    EXCEPTION WHEN others THEN
      v_hb := NULL; -- a damaged item: the runtime dead-letters it after this fetch
    END;
    IF v_hb IS NOT NULL AND v_hb > 0 THEN v_until := p_now + v_hb; END IF;
  END IF;
  UPDATE ${t.workerQueue} SET lock_token = p_token, locked_until = v_until, attempt_count = attempt_count + 1
  WHERE id = r_id RETURNING attempt_count INTO r_attempt_count;
  -- Is another item this caller may take ready? (May say yes wrongly, never no wrongly.)
  r_more := EXISTS (SELECT 1 FROM ${t.workerQueue} w
    WHERE w.id <> r_id AND w.visible_at <= p_now AND (w.lock_token IS NULL OR w.locked_until <= p_now)
      AND CASE p_tag_mode WHEN 0 THEN w.tag IS NULL WHEN 1 THEN w.tag = ANY(p_tags)
                          WHEN 2 THEN (w.tag IS NULL OR w.tag = ANY(p_tags)) ELSE TRUE END
      AND (w.session_id IS NULL OR (p_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t.sessions} s
            WHERE s.session_id = w.session_id AND s.locked_until > p_now AND s.worker_id <> p_owner))));
  RETURN NEXT;
END
$fn$;
`,
  },
  {
    version: 9,
    description: "one ack function taking the ack plan as JSONB (dx_ack_plan), cancelled activities included",
    sql: (t) => `
-- The orchestrator ack in one call, for every ack: the plan (providers/ackPlan.ts, encoded by
-- PostgresProvider.encodePlan) comes as one JSONB value instead of 31 positional arrays, and the
-- activities the turn withdraws are deleted here too, after the turn's own worker items are
-- inserted (schedule + cancel nets to nothing); r_cancelled lists those actually withdrawn.
-- Checks, writes, their order and the locks taken are those of dx_ack_orch (migration 6), which
-- stays for processes still running the older code. r_code: 0 done, 1 lock token unknown, 2 lock
-- expired (nothing is changed then).
CREATE FUNCTION ${t.schema}.dx_ack_plan(p_token TEXT, p_now BIGINT, p_prefix TEXT, p_plan JSONB,
  OUT r_code INTEGER, OUT r_instance TEXT, OUT r_next_visible BIGINT, OUT r_cancelled JSONB)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_until BIGINT;
  v_exec BIGINT := (p_plan->>'exec')::bigint;
  v_status TEXT := p_plan->>'status';
  v_cs_seen BOOLEAN := p_plan ? 'cs';
  v_terminal BOOLEAN := COALESCE((p_plan->>'terminal')::boolean, FALSE);
  v_kv_clear_at BIGINT := (p_plan->>'kvClearAt')::bigint;
BEGIN
  SELECT l.instance_id INTO r_instance FROM ${t.instanceLocks} l WHERE l.lock_token = p_token;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_prefix || r_instance, 0));
  SELECT l.locked_until INTO v_until FROM ${t.instanceLocks} l WHERE l.instance_id = r_instance AND l.lock_token = p_token FOR UPDATE;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  IF v_until <= p_now THEN r_code := 2; RETURN; END IF;

  DELETE FROM ${t.orchestratorQueue} WHERE lock_token = p_token;
  IF v_terminal THEN
    DELETE FROM ${t.orchestratorQueue} WHERE instance_id = r_instance AND item_type = 'TimerFired';
  END IF;
  INSERT INTO ${t.instances} AS i (instance_id, orchestration_name, orchestration_version, current_execution_id,
    custom_status, custom_status_version, parent_instance_id, created_at, updated_at, status)
  VALUES (r_instance, p_plan->>'name', p_plan->>'version', v_exec, CASE WHEN v_cs_seen THEN p_plan->>'cs' END,
    CASE WHEN v_cs_seen THEN 1 ELSE 0 END, p_plan->>'parent', p_now, p_now, COALESCE(v_status, 'Running'))
  ON CONFLICT (instance_id) DO UPDATE SET orchestration_name = EXCLUDED.orchestration_name,
    orchestration_version = EXCLUDED.orchestration_version,
    updated_at = CASE WHEN COALESCE((p_plan->>'changesInstance')::boolean, FALSE) THEN EXCLUDED.updated_at ELSE i.updated_at END,
    status = CASE WHEN v_status IS NOT NULL THEN EXCLUDED.status
                  WHEN EXCLUDED.current_execution_id > i.current_execution_id THEN 'Running' ELSE i.status END,
    current_execution_id = GREATEST(i.current_execution_id, EXCLUDED.current_execution_id),
    custom_status = CASE WHEN v_cs_seen THEN EXCLUDED.custom_status ELSE i.custom_status END,
    custom_status_version = i.custom_status_version + CASE WHEN v_cs_seen THEN 1 ELSE 0 END;
  IF v_status IS NOT NULL THEN
    INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
    VALUES (r_instance, v_exec, v_status, p_plan->>'output', p_plan->>'failure', p_now, CASE WHEN v_terminal THEN p_now END)
    ON CONFLICT (instance_id, execution_id) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output,
      failure = EXCLUDED.failure, completed_at = EXCLUDED.completed_at;
  ELSE
    INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
    VALUES (r_instance, v_exec, 'Running', NULL, NULL, p_now, NULL)
    ON CONFLICT (instance_id, execution_id) DO NOTHING;
  END IF;

  -- History: [[event_id, event_type, event_data], ...], appended exactly as given.
  IF jsonb_array_length(p_plan->'events') > 0 THEN
    INSERT INTO ${t.history} (instance_id, execution_id, event_id, event_type, event_data, created_at)
    SELECT r_instance, v_exec, (u.e->>0)::bigint, u.e->>1, u.e->>2, p_now
    FROM jsonb_array_elements(p_plan->'events') WITH ORDINALITY AS u(e, ord)
    ORDER BY u.ord;
  END IF;

  IF v_kv_clear_at IS NOT NULL THEN
    WITH d AS (UPDATE ${t.kvDelta} SET value = NULL, last_updated_at_ms = v_kv_clear_at WHERE instance_id = r_instance RETURNING key)
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT s.instance_id, s.key, NULL, v_kv_clear_at FROM ${t.kvStore} s WHERE s.instance_id = r_instance AND s.key NOT IN (SELECT key FROM d)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = NULL, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  -- KV writes: [[key, value or null, at], ...] (one per key, see planAck).
  IF jsonb_array_length(p_plan->'kv') > 0 THEN
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT r_instance, u.e->>0, u.e->>1, (u.e->>2)::bigint FROM jsonb_array_elements(p_plan->'kv') AS u(e)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  IF v_terminal AND EXISTS (SELECT 1 FROM ${t.kvDelta} WHERE instance_id = r_instance) THEN
    INSERT INTO ${t.kvStore} (instance_id, key, value, last_updated_at_ms)
    SELECT d.instance_id, d.key, d.value, d.last_updated_at_ms FROM ${t.kvDelta} d WHERE d.instance_id = r_instance AND d.value IS NOT NULL
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
    WITH d AS (DELETE FROM ${t.kvDelta} WHERE instance_id = r_instance RETURNING key, value)
    DELETE FROM ${t.kvStore} s USING d WHERE s.instance_id = r_instance AND s.key = d.key AND d.value IS NULL;
  END IF;

  -- Worker items: [[work_item, instance, execution_id, activity_id, session_id, tag, lock_token, locked_until], ...].
  -- With a lock token the item is leased to the acking process in this same transaction (its
  -- first attempt), so that process runs it without a fetch; its lock expires like any lease.
  IF jsonb_array_length(p_plan->'worker') > 0 THEN
    INSERT INTO ${t.workerQueue} (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at,
      lock_token, locked_until)
    SELECT u.e->>0, p_now, CASE WHEN u.e->>6 IS NULL THEN 0 ELSE 1 END, u.e->>1, (u.e->>2)::bigint, (u.e->>3)::bigint, u.e->>4, u.e->>5, p_now,
      u.e->>6, (u.e->>7)::bigint
    FROM jsonb_array_elements(p_plan->'worker') WITH ORDINALITY AS u(e, ord)
    ORDER BY u.ord;
  END IF;
  -- Withdrawn activities: [[instance, execution_id, activity_id], ...]; reports those deleted.
  IF jsonb_array_length(p_plan->'cancel') > 0 THEN
    WITH d AS (
      DELETE FROM ${t.workerQueue} w USING jsonb_array_elements(p_plan->'cancel') AS u(e)
      WHERE w.instance_id = u.e->>0 AND w.execution_id = (u.e->>1)::bigint AND w.activity_id = (u.e->>2)::bigint
      RETURNING w.instance_id, w.execution_id, w.activity_id
    )
    SELECT jsonb_agg(jsonb_build_array(d.instance_id, d.execution_id, d.activity_id)) INTO r_cancelled FROM d;
  END IF;
  -- Orchestrator items: [[target instance, work_item, item_type, visible_at], ...].
  IF jsonb_array_length(p_plan->'orch') > 0 THEN
    INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
    SELECT u.e->>0, u.e->>1, u.e->>2, (u.e->>3)::bigint, 0, p_now
    FROM jsonb_array_elements(p_plan->'orch') WITH ORDINALITY AS u(e, ord)
    ORDER BY u.ord;
  END IF;
  DELETE FROM ${t.instanceLocks} WHERE lock_token = p_token;
  -- Messages that arrived during the turn: their senders saw the instance locked and sent no
  -- wake-up (dx_ack_work), so the caller wakes its own fetch loop for them.
  SELECT MIN(q.visible_at) INTO r_next_visible FROM ${t.orchestratorQueue} q WHERE q.instance_id = r_instance AND q.lock_token IS NULL;
  r_code := 0;
END
$fn$;
`,
  },
  {
    version: 10,
    description: "dx_fetch_orch: the last event id by one backward index probe, history inline only when short, one sort of the messages",
    sql: (t) => `
-- As in migration 8 (same arguments and columns), cheaper per call:
--   - r_max_event comes from one backward probe of the history's primary key (ORDER BY event_id
--     DESC LIMIT 1). Migration 8 read up to p_hist_max + 1 events and then took MAX(event_id),
--     which a generic plan made on a young table (statistics: one row) ran as a scan of the whole
--     execution's history: O(history) per turn, O(history^2) per execution;
--   - the history is read only when it is short (event ids start at 1 and are unique, so
--     r_max_event <= p_hist_max bounds the count); otherwise r_events is NULL as before and the
--     caller reads it when it does not hold it;
--   - the messages are sorted once for the three arrays.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_fetch_orch(p_now BIGINT, p_token TEXT, p_until BIGINT, p_prefix TEXT, p_hist_max INTEGER,
  OUT r_instance TEXT, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[], OUT r_more BOOLEAN)
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_excluded TEXT[] := '{}';
  v_got BOOLEAN;
  v_n INTEGER;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  FOR v_round IN 1..64 LOOP
    SELECT x.instance_id, pg_try_advisory_xact_lock(hashtextextended(p_prefix || x.instance_id, 0)) INTO r_instance, v_got
    FROM (SELECT q.instance_id FROM ${t.orchestratorQueue} q
          WHERE q.visible_at <= p_now AND NOT (q.instance_id = ANY(v_excluded))
            AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now)
          ORDER BY q.visible_at, q.id LIMIT 1
          FOR UPDATE OF q SKIP LOCKED) x;
    IF NOT FOUND THEN RETURN; END IF;
    -- Another process is fetching, acking or abandoning this instance right now.
    IF NOT v_got THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    INSERT INTO ${t.instanceLocks} AS il (instance_id, lock_token, locked_until, locked_at) VALUES (r_instance, p_token, p_until, p_now)
    ON CONFLICT (instance_id) DO UPDATE SET lock_token = EXCLUDED.lock_token,
      locked_until = EXCLUDED.locked_until, locked_at = EXCLUDED.locked_at
    WHERE il.locked_until <= p_now;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    IF v_n = 0 THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    WITH u AS (
      UPDATE ${t.orchestratorQueue} SET lock_token = p_token, attempt_count = attempt_count + 1
      WHERE instance_id = r_instance AND visible_at <= p_now
      RETURNING id, work_item, attempt_count
    )
    SELECT array_agg(s.id), array_agg(s.work_item), array_agg(s.attempt_count)
      INTO r_msg_ids, r_msg_items, r_msg_attempts FROM (SELECT u.id, u.work_item, u.attempt_count FROM u ORDER BY u.id) s;
    IF r_msg_ids IS NULL THEN
      DELETE FROM ${t.instanceLocks} WHERE instance_id = r_instance AND lock_token = p_token;
      v_excluded := v_excluded || r_instance;
      CONTINUE;
    END IF;
    SELECT i.current_execution_id, i.orchestration_name, i.orchestration_version INTO r_exec, r_name, r_version
    FROM ${t.instances} i WHERE i.instance_id = r_instance;
    SELECT json_agg(json_build_array(k.key, k.value, k.last_updated_at_ms)) INTO r_kv FROM ${t.kvStore} k WHERE k.instance_id = r_instance;
    IF r_exec IS NOT NULL THEN
      SELECT h.event_id INTO r_max_event FROM ${t.history} h WHERE h.instance_id = r_instance AND h.execution_id = r_exec
      ORDER BY h.event_id DESC LIMIT 1;
      IF r_max_event IS NULL THEN
        r_event_ids := '{}';
        r_events := '{}';
      ELSIF r_max_event <= p_hist_max THEN
        SELECT array_agg(h.event_id ORDER BY h.event_id), array_agg(h.event_data ORDER BY h.event_id) INTO r_event_ids, r_events
        FROM ${t.history} h WHERE h.instance_id = r_instance AND h.execution_id = r_exec;
      ELSE
        r_event_ids := NULL;
        r_events := NULL;
      END IF;
    END IF;
    -- Read with this instance's lock in place: is another instance ready? (Rows other fetchers hold
    -- count too, so this may say yes wrongly, never no wrongly.)
    r_more := EXISTS (SELECT 1 FROM ${t.orchestratorQueue} q
      WHERE q.visible_at <= p_now AND q.instance_id <> r_instance
        AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now));
    RETURN NEXT;
    RETURN;
  END LOOP;
  RETURN;
END
$fn$;
`,
  },
  {
    version: 11,
    description: "worker acks hand the completion's instance to the acking process (dx_ack_work_lock); one instance-locking step for it and dx_fetch_orch",
    sql: (t) => `
-- Locks one instance for p_token and returns what a fetch returns for it: the caller holds the
-- instance's exclusive advisory lock. r_locked is false (and nothing is changed) when a live lock is
-- held or no message is visible. The history is left out when the caller's (p_known_exec,
-- p_known_last) is the current execution's last event, and when longer than p_hist_max events.
CREATE FUNCTION ${t.schema}.dx_lock_instance(p_instance TEXT, p_now BIGINT, p_token TEXT, p_until BIGINT, p_hist_max INTEGER,
  p_known_exec BIGINT, p_known_last BIGINT,
  OUT r_locked BOOLEAN, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_n INTEGER;
BEGIN
  r_locked := FALSE;
  INSERT INTO ${t.instanceLocks} AS il (instance_id, lock_token, locked_until, locked_at) VALUES (p_instance, p_token, p_until, p_now)
  ON CONFLICT (instance_id) DO UPDATE SET lock_token = EXCLUDED.lock_token,
    locked_until = EXCLUDED.locked_until, locked_at = EXCLUDED.locked_at
  WHERE il.locked_until <= p_now;
  GET DIAGNOSTICS v_n = ROW_COUNT;
  IF v_n = 0 THEN RETURN; END IF;
  WITH u AS (
    UPDATE ${t.orchestratorQueue} SET lock_token = p_token, attempt_count = attempt_count + 1
    WHERE instance_id = p_instance AND visible_at <= p_now
    RETURNING id, work_item, attempt_count
  )
  SELECT array_agg(s.id), array_agg(s.work_item), array_agg(s.attempt_count)
    INTO r_msg_ids, r_msg_items, r_msg_attempts FROM (SELECT u.id, u.work_item, u.attempt_count FROM u ORDER BY u.id) s;
  IF r_msg_ids IS NULL THEN
    DELETE FROM ${t.instanceLocks} WHERE instance_id = p_instance AND lock_token = p_token;
    RETURN;
  END IF;
  r_locked := TRUE;
  SELECT i.current_execution_id, i.orchestration_name, i.orchestration_version INTO r_exec, r_name, r_version
  FROM ${t.instances} i WHERE i.instance_id = p_instance;
  SELECT json_agg(json_build_array(k.key, k.value, k.last_updated_at_ms)) INTO r_kv FROM ${t.kvStore} k WHERE k.instance_id = p_instance;
  IF r_exec IS NOT NULL THEN
    SELECT h.event_id INTO r_max_event FROM ${t.history} h WHERE h.instance_id = p_instance AND h.execution_id = r_exec
    ORDER BY h.event_id DESC LIMIT 1;
    IF r_max_event IS NULL THEN
      r_event_ids := '{}';
      r_events := '{}';
    ELSIF r_max_event <= p_hist_max AND (p_known_exec IS DISTINCT FROM r_exec OR p_known_last IS DISTINCT FROM r_max_event) THEN
      SELECT array_agg(h.event_id ORDER BY h.event_id), array_agg(h.event_data ORDER BY h.event_id) INTO r_event_ids, r_events
      FROM ${t.history} h WHERE h.instance_id = p_instance AND h.execution_id = r_exec;
    END IF;
  END IF;
END
$fn$;

-- As in migration 10, its per-instance steps now in dx_lock_instance.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_fetch_orch(p_now BIGINT, p_token TEXT, p_until BIGINT, p_prefix TEXT, p_hist_max INTEGER,
  OUT r_instance TEXT, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[], OUT r_more BOOLEAN)
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_excluded TEXT[] := '{}';
  v_got BOOLEAN;
  v_locked BOOLEAN;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  FOR v_round IN 1..64 LOOP
    SELECT x.instance_id, pg_try_advisory_xact_lock(hashtextextended(p_prefix || x.instance_id, 0)) INTO r_instance, v_got
    FROM (SELECT q.instance_id FROM ${t.orchestratorQueue} q
          WHERE q.visible_at <= p_now AND NOT (q.instance_id = ANY(v_excluded))
            AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now)
          ORDER BY q.visible_at, q.id LIMIT 1
          FOR UPDATE OF q SKIP LOCKED) x;
    IF NOT FOUND THEN RETURN; END IF;
    -- Another process is fetching, acking or abandoning this instance right now.
    IF NOT v_got THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    SELECT * INTO v_locked, r_exec, r_name, r_version, r_max_event, r_kv, r_msg_ids, r_msg_items, r_msg_attempts, r_event_ids, r_events
    FROM ${t.schema}.dx_lock_instance(r_instance, p_now, p_token, p_until, p_hist_max, NULL, NULL);
    IF NOT v_locked THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    -- Read with this instance's lock in place: is another instance ready? (Rows other fetchers hold
    -- count too, so this may say yes wrongly, never no wrongly.)
    r_more := EXISTS (SELECT 1 FROM ${t.orchestratorQueue} q
      WHERE q.visible_at <= p_now AND q.instance_id <> r_instance
        AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now));
    RETURN NEXT;
    RETURN;
  END LOOP;
  RETURN;
END
$fn$;

-- Worker ack, as dx_ack_work (migration 4), plus: with p_lock_token, when the completion's instance
-- is free (its advisory lock is free now and no live lock row), it is locked for the caller in
-- this same transaction with every visible message (the completion included) and returned as a
-- fetch returns it (r_locked), so the caller's orchestrator runs the next turn without a fetch and
-- nobody is woken. The lock expires like a fetched one: if the caller is lost, anyone fetches the
-- instance after that. Otherwise (advisory lock busy, live lock, no p_lock_token) it is the
-- migration-4 path: the shared advisory lock orders this against the holder's ack, r_wake as there.
CREATE FUNCTION ${t.schema}.dx_ack_work_lock(p_token TEXT, p_now BIGINT, p_prefix TEXT, p_target TEXT, p_item TEXT, p_type TEXT,
  p_lock_token TEXT, p_until BIGINT, p_hist_max INTEGER, p_known_exec BIGINT, p_known_last BIGINT,
  OUT r_deleted INTEGER, OUT r_wake BOOLEAN,
  OUT r_locked BOOLEAN, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_session TEXT;
  v_exclusive BOOLEAN := FALSE;
BEGIN
  r_wake := FALSE;
  r_locked := FALSE;
  IF p_item IS NOT NULL THEN
    IF p_lock_token IS NOT NULL THEN
      v_exclusive := pg_try_advisory_xact_lock(hashtextextended(p_prefix || p_target, 0));
    END IF;
    IF NOT v_exclusive THEN
      PERFORM pg_advisory_xact_lock_shared(hashtextextended(p_prefix || p_target, 0));
    END IF;
  END IF;
  DELETE FROM ${t.workerQueue} WHERE lock_token = p_token AND locked_until > p_now RETURNING session_id INTO v_session;
  GET DIAGNOSTICS r_deleted = ROW_COUNT;
  IF r_deleted = 0 THEN RETURN; END IF;
  IF v_session IS NOT NULL THEN
    UPDATE ${t.sessions} SET last_activity_at = p_now WHERE session_id = v_session AND locked_until > p_now;
  END IF;
  IF p_item IS NOT NULL THEN
    INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
    VALUES (p_target, p_item, p_type, p_now, 0, p_now);
    IF v_exclusive THEN
      SELECT * INTO r_locked, r_exec, r_name, r_version, r_max_event, r_kv, r_msg_ids, r_msg_items, r_msg_attempts, r_event_ids, r_events
      FROM ${t.schema}.dx_lock_instance(p_target, p_now, p_lock_token, p_until, p_hist_max, p_known_exec, p_known_last);
    END IF;
    IF NOT r_locked THEN
      r_wake := NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = p_target AND l.locked_until > p_now);
    END IF;
  END IF;
END
$fn$;
`,
  },
  {
    version: 12,
    description: "group commit: dx_batch applies several acks, worker acks and creations in one call, each in its own subtransaction",
    sql: (t) => `
-- Group commit (groupCommit.ts): p_calls is a JSON array of writes, each [kind, ...arguments of
-- its function]: ["ack", token, now, prefix, plan] (dx_ack_plan), ["work", token, now, prefix,
-- target, item, type, lock_token, until, hist_max, known_exec, known_last] (dx_ack_work_lock),
-- ["create", instance, lock_key, item, type, now] (dx_create_instance). Each runs in a
-- subtransaction of its own (the EXCEPTION block); the result is an array in the same order: the
-- function's row as JSON, or null when it raised (it was undone alone, and the caller sends it
-- again by itself, so it gets exactly the error a lone call gets). Everything that did not raise
-- commits together when the call returns. Locks the writes take are held until then: the caller
-- orders the writes by the advisory-lock key each blocks on, so batches cannot deadlock each other.
CREATE FUNCTION ${t.schema}.dx_batch(p_calls JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
DECLARE
  c JSONB;
  v JSONB;
  v_out JSONB := '[]'::jsonb;
BEGIN
  FOR c IN SELECT u.e FROM jsonb_array_elements(p_calls) WITH ORDINALITY AS u(e, ord) ORDER BY u.ord LOOP
    BEGIN
      CASE c->>0
        WHEN 'ack' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_plan(c->>1, (c->>2)::bigint, c->>3, c->4) x;
        WHEN 'work' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_work_lock(c->>1, (c->>2)::bigint, c->>3, c->>4, c->>5, c->>6, c->>7,
            (c->>8)::bigint, (c->>9)::integer, (c->>10)::bigint, (c->>11)::bigint) x;
        WHEN 'create' THEN
          v := jsonb_build_object('ok', ${t.schema}.dx_create_instance(c->>1, c->>2, c->>3, c->>4, (c->>5)::bigint));
        ELSE
          v := NULL;
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      v := NULL;
    END;
    v_out := v_out || jsonb_build_array(v);
  END LOOP;
  RETURN v_out;
END
$fn$;
`,
  },
  {
    version: 13,
    description: "batch fetches: dx_fetch_orchs locks up to n instances and dx_lease_works leases up to n work items in one round trip, each on its own",
    sql: (t) => `
-- As dx_fetch_orch (migration 11), for up to cardinality(p_tokens) instances in one call: the k-th
-- instance locked gets p_tokens[k], each picked and locked exactly as there (FOR UPDATE SKIP
-- LOCKED, the advisory lock only tried, dx_lock_instance). An instance locked earlier in the call
-- has a live lock row, so it is never picked twice. After the instances, when any was locked, one
-- last row with r_token NULL carries r_more: is another instance ready with all these locks in
-- place? No row at all: nothing was fetchable.
CREATE FUNCTION ${t.schema}.dx_fetch_orchs(p_now BIGINT, p_tokens TEXT[], p_until BIGINT, p_prefix TEXT, p_hist_max INTEGER,
  OUT r_token TEXT, OUT r_instance TEXT, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[], OUT r_more BOOLEAN)
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_excluded TEXT[] := '{}';
  v_got BOOLEAN;
  v_locked BOOLEAN;
  v_k INTEGER := 0;
  v_max INTEGER := COALESCE(cardinality(p_tokens), 0);
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  -- As many lost races, dead ends and orphans per call as a single fetch allows, plus one round per instance.
  FOR v_round IN 1..(64 + v_max) LOOP
    EXIT WHEN v_k >= v_max;
    SELECT x.instance_id, pg_try_advisory_xact_lock(hashtextextended(p_prefix || x.instance_id, 0)) INTO r_instance, v_got
    FROM (SELECT q.instance_id FROM ${t.orchestratorQueue} q
          WHERE q.visible_at <= p_now AND NOT (q.instance_id = ANY(v_excluded))
            AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now)
          ORDER BY q.visible_at, q.id LIMIT 1
          FOR UPDATE OF q SKIP LOCKED) x;
    EXIT WHEN NOT FOUND;
    -- Another process is fetching, acking or abandoning this instance right now.
    IF NOT v_got THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    SELECT * INTO v_locked, r_exec, r_name, r_version, r_max_event, r_kv, r_msg_ids, r_msg_items, r_msg_attempts, r_event_ids, r_events
    FROM ${t.schema}.dx_lock_instance(r_instance, p_now, p_tokens[v_k + 1], p_until, p_hist_max, NULL, NULL);
    IF NOT v_locked THEN v_excluded := v_excluded || r_instance; CONTINUE; END IF;
    v_k := v_k + 1;
    r_token := p_tokens[v_k];
    r_more := NULL;
    RETURN NEXT;
  END LOOP;
  IF v_k = 0 THEN RETURN; END IF;
  r_token := NULL; r_instance := NULL; r_exec := NULL; r_name := NULL; r_version := NULL; r_max_event := NULL; r_kv := NULL;
  r_msg_ids := NULL; r_msg_items := NULL; r_msg_attempts := NULL; r_event_ids := NULL; r_events := NULL;
  -- Read with every lock of this call in place. (Rows other fetchers hold count too, so this may
  -- say yes wrongly, never no wrongly.)
  r_more := EXISTS (SELECT 1 FROM ${t.orchestratorQueue} q
    WHERE q.visible_at <= p_now
      AND NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = q.instance_id AND l.locked_until > p_now));
  RETURN NEXT;
END
$fn$;

-- As dx_lease_work (migration 8), for up to cardinality(p_tokens) items in one call: the oldest
-- visible, unlocked items the filters allow (FOR UPDATE SKIP LOCKED), each item's session claimed
-- as there (an item whose claim fails is left alone), the k-th item leased with p_tokens[k] for
-- p_until or its heartbeat timeout. Then one last row with r_token NULL carries r_more (when any
-- item was leased). No row at all: nothing was leased.
CREATE FUNCTION ${t.schema}.dx_lease_works(p_now BIGINT, p_tokens TEXT[], p_until BIGINT, p_tag_mode INTEGER, p_tags TEXT[],
  p_owner TEXT, p_session_until BIGINT,
  OUT r_token TEXT, OUT r_id BIGINT, OUT r_work_item TEXT, OUT r_attempt_count INTEGER, OUT r_session_id TEXT,
  OUT r_heartbeat_details TEXT, OUT r_lapsed BOOLEAN, OUT r_more BOOLEAN)
RETURNS SETOF RECORD LANGUAGE plpgsql AS $fn$
DECLARE
  v_n BIGINT;
  v_until BIGINT;
  v_hb BIGINT;
  v_k INTEGER := 0;
  v_row RECORD;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', true);
  FOR v_row IN
    SELECT w.id, w.session_id, w.work_item, w.heartbeat_details, w.lock_token IS NOT NULL AS lapsed
    FROM ${t.workerQueue} w
    WHERE w.visible_at <= p_now AND (w.lock_token IS NULL OR w.locked_until <= p_now)
      AND CASE p_tag_mode WHEN 0 THEN w.tag IS NULL WHEN 1 THEN w.tag = ANY(p_tags)
                          WHEN 2 THEN (w.tag IS NULL OR w.tag = ANY(p_tags)) ELSE TRUE END
      AND (w.session_id IS NULL OR (p_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t.sessions} s
            WHERE s.session_id = w.session_id AND s.locked_until > p_now AND s.worker_id <> p_owner)))
    ORDER BY w.id LIMIT COALESCE(cardinality(p_tokens), 0)
    FOR UPDATE SKIP LOCKED
  LOOP
    IF v_row.session_id IS NOT NULL THEN
      INSERT INTO ${t.sessions} AS s (session_id, worker_id, locked_until, last_activity_at) VALUES (v_row.session_id, p_owner, p_session_until, p_now)
      ON CONFLICT (session_id) DO UPDATE SET worker_id = EXCLUDED.worker_id,
        locked_until = CASE WHEN s.locked_until > p_now THEN GREATEST(s.locked_until, EXCLUDED.locked_until) ELSE EXCLUDED.locked_until END,
        last_activity_at = EXCLUDED.last_activity_at
      WHERE s.worker_id = EXCLUDED.worker_id OR s.locked_until <= p_now;
      GET DIAGNOSTICS v_n = ROW_COUNT;
      -- Another owner claimed the session meanwhile.
      IF v_n <> 1 THEN CONTINUE; END IF;
    END IF;
    v_until := p_until;
    IF strpos(v_row.work_item, '"heartbeatTimeoutMs"') > 0 THEN
      BEGIN
        v_hb := (v_row.work_item::jsonb ->> 'heartbeatTimeoutMs')::bigint;
      EXCEPTION WHEN others THEN
        v_hb := NULL; -- a damaged item: the runtime dead-letters it after this fetch
      END;
      IF v_hb IS NOT NULL AND v_hb > 0 THEN v_until := p_now + v_hb; END IF;
    END IF;
    v_k := v_k + 1;
    r_token := p_tokens[v_k];
    UPDATE ${t.workerQueue} SET lock_token = r_token, locked_until = v_until, attempt_count = attempt_count + 1
    WHERE id = v_row.id RETURNING attempt_count INTO r_attempt_count;
    r_id := v_row.id;
    r_work_item := v_row.work_item;
    r_session_id := v_row.session_id;
    r_heartbeat_details := v_row.heartbeat_details;
    r_lapsed := v_row.lapsed;
    r_more := NULL;
    RETURN NEXT;
  END LOOP;
  IF v_k = 0 THEN RETURN; END IF;
  r_token := NULL; r_id := NULL; r_work_item := NULL; r_attempt_count := NULL; r_session_id := NULL;
  r_heartbeat_details := NULL; r_lapsed := NULL;
  -- Is another item this caller may take ready? (May say yes wrongly, never no wrongly.)
  r_more := EXISTS (SELECT 1 FROM ${t.workerQueue} w
    WHERE w.visible_at <= p_now AND (w.lock_token IS NULL OR w.locked_until <= p_now)
      AND CASE p_tag_mode WHEN 0 THEN w.tag IS NULL WHEN 1 THEN w.tag = ANY(p_tags)
                          WHEN 2 THEN (w.tag IS NULL OR w.tag = ANY(p_tags)) ELSE TRUE END
      AND (w.session_id IS NULL OR (p_owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM ${t.sessions} s
            WHERE s.session_id = w.session_id AND s.locked_until > p_now AND s.worker_id <> p_owner))));
  RETURN NEXT;
END
$fn$;
`,
  },
  {
    version: 14,
    description: "group commit: dx_batch also sends the NOTIFYs of writes already committed",
    sql: (t) => `
-- As in migration 12, plus the kind ["notify", channel, [body, ...]]: wake-ups of writes that
-- committed before this call, sent with this call's commit instead of by a call and a commit of
-- their own (they are only hints: receivers poll as a floor). A later migration that redefines
-- dx_batch must keep every kind: an unknown one comes back null and is sent again alone (correct,
-- but a call and a commit more; test/providers/postgres-group-commit.test.ts checks 'notify').
CREATE OR REPLACE FUNCTION ${t.schema}.dx_batch(p_calls JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
DECLARE
  c JSONB;
  v JSONB;
  v_out JSONB := '[]'::jsonb;
BEGIN
  FOR c IN SELECT u.e FROM jsonb_array_elements(p_calls) WITH ORDINALITY AS u(e, ord) ORDER BY u.ord LOOP
    BEGIN
      CASE c->>0
        WHEN 'ack' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_plan(c->>1, (c->>2)::bigint, c->>3, c->4) x;
        WHEN 'work' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_work_lock(c->>1, (c->>2)::bigint, c->>3, c->>4, c->>5, c->>6, c->>7,
            (c->>8)::bigint, (c->>9)::integer, (c->>10)::bigint, (c->>11)::bigint) x;
        WHEN 'create' THEN
          v := jsonb_build_object('ok', ${t.schema}.dx_create_instance(c->>1, c->>2, c->>3, c->>4, (c->>5)::bigint));
        WHEN 'notify' THEN
          PERFORM pg_notify(c->>1, b) FROM jsonb_array_elements_text(c->2) AS b;
          v := '{}'::jsonb;
        ELSE
          v := NULL;
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      v := NULL;
    END;
    v_out := v_out || jsonb_build_array(v);
  END LOOP;
  RETURN v_out;
END
$fn$;
`,
  },
  {
    version: 15,
    description: "worker acks that store the turn their completion causes (dx_ack_work_turn), also in dx_batch",
    sql: (t) => `
-- A worker ack with the turn the caller already ran for its completion (on the execution it held
-- in memory), in one transaction: the turn is applied when the completion's instance is free (its
-- advisory lock taken now, no live lock row), its current execution is p_turn_exec, that
-- execution's last event is p_turn_last and no message of it is visible (it would belong to the
-- turn). Then the work item is deleted (only while our lock is valid: r_deleted = 0 and nothing is
-- changed otherwise), the instance is locked for p_turn_token and the plan is applied by
-- dx_ack_plan (migration 9) under that lock, which it releases: the completion is never queued.
-- Otherwise this is dx_ack_work_lock (migration 11) with the same arguments, and r_applied is false.
CREATE FUNCTION ${t.schema}.dx_ack_work_turn(p_token TEXT, p_now BIGINT, p_prefix TEXT, p_target TEXT, p_item TEXT, p_type TEXT,
  p_lock_token TEXT, p_until BIGINT, p_hist_max INTEGER, p_known_exec BIGINT, p_known_last BIGINT,
  p_turn_exec BIGINT, p_turn_last BIGINT, p_turn_token TEXT, p_plan JSONB,
  OUT r_applied BOOLEAN, OUT r_next_visible BIGINT, OUT r_cancelled JSONB,
  OUT r_deleted INTEGER, OUT r_wake BOOLEAN,
  OUT r_locked BOOLEAN, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_session TEXT;
  v_code INTEGER;
  v_ready BOOLEAN := FALSE;
BEGIN
  r_applied := FALSE;
  r_wake := FALSE;
  r_locked := FALSE;
  IF pg_try_advisory_xact_lock(hashtextextended(p_prefix || p_target, 0)) THEN
    v_ready := NOT EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = p_target AND l.locked_until > p_now)
      AND EXISTS (SELECT 1 FROM ${t.instances} i WHERE i.instance_id = p_target AND i.current_execution_id = p_turn_exec)
      AND (SELECT h.event_id FROM ${t.history} h WHERE h.instance_id = p_target AND h.execution_id = p_turn_exec
           ORDER BY h.event_id DESC LIMIT 1) IS NOT DISTINCT FROM p_turn_last
      AND NOT EXISTS (SELECT 1 FROM ${t.orchestratorQueue} q WHERE q.instance_id = p_target AND q.visible_at <= p_now);
  END IF;
  IF NOT v_ready THEN
    SELECT * INTO r_deleted, r_wake, r_locked, r_exec, r_name, r_version, r_max_event, r_kv, r_msg_ids, r_msg_items, r_msg_attempts,
      r_event_ids, r_events
    FROM ${t.schema}.dx_ack_work_lock(p_token, p_now, p_prefix, p_target, p_item, p_type, p_lock_token, p_until, p_hist_max,
      p_known_exec, p_known_last);
    RETURN;
  END IF;
  DELETE FROM ${t.workerQueue} WHERE lock_token = p_token AND locked_until > p_now RETURNING session_id INTO v_session;
  GET DIAGNOSTICS r_deleted = ROW_COUNT;
  IF r_deleted = 0 THEN RETURN; END IF;
  IF v_session IS NOT NULL THEN
    UPDATE ${t.sessions} SET last_activity_at = p_now WHERE session_id = v_session AND locked_until > p_now;
  END IF;
  -- The turn's lock (an expired row of a lost holder is taken over, as a fetch does); dx_ack_plan
  -- validates it under the advisory lock we hold and deletes it.
  INSERT INTO ${t.instanceLocks} AS il (instance_id, lock_token, locked_until, locked_at) VALUES (p_target, p_turn_token, p_now + 1, p_now)
  ON CONFLICT (instance_id) DO UPDATE SET lock_token = EXCLUDED.lock_token, locked_until = EXCLUDED.locked_until, locked_at = EXCLUDED.locked_at
  WHERE il.locked_until <= p_now;
  SELECT a.r_code, a.r_next_visible, a.r_cancelled INTO v_code, r_next_visible, r_cancelled
  FROM ${t.schema}.dx_ack_plan(p_turn_token, p_now, p_prefix, p_plan) a;
  IF v_code IS DISTINCT FROM 0 THEN
    RAISE EXCEPTION 'dx_ack_work_turn: the turn''s instance lock was not in place (code %)', v_code;
  END IF;
  r_applied := TRUE;
END
$fn$;

-- As in migration 14 (every kind kept), plus ["turn", ...dx_ack_work_lock's arguments, turn_exec,
-- turn_last, turn_token, plan] (dx_ack_work_turn), so combined acks are group-committed too. A later
-- migration that redefines dx_batch must keep every kind.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_batch(p_calls JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
DECLARE
  c JSONB;
  v JSONB;
  v_out JSONB := '[]'::jsonb;
BEGIN
  FOR c IN SELECT u.e FROM jsonb_array_elements(p_calls) WITH ORDINALITY AS u(e, ord) ORDER BY u.ord LOOP
    BEGIN
      CASE c->>0
        WHEN 'ack' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_plan(c->>1, (c->>2)::bigint, c->>3, c->4) x;
        WHEN 'work' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_work_lock(c->>1, (c->>2)::bigint, c->>3, c->>4, c->>5, c->>6, c->>7,
            (c->>8)::bigint, (c->>9)::integer, (c->>10)::bigint, (c->>11)::bigint) x;
        WHEN 'turn' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_work_turn(c->>1, (c->>2)::bigint, c->>3, c->>4, c->>5, c->>6, c->>7,
            (c->>8)::bigint, (c->>9)::integer, (c->>10)::bigint, (c->>11)::bigint, (c->>12)::bigint, (c->>13)::bigint, c->>14, c->15) x;
        WHEN 'create' THEN
          v := jsonb_build_object('ok', ${t.schema}.dx_create_instance(c->>1, c->>2, c->>3, c->>4, (c->>5)::bigint));
        WHEN 'notify' THEN
          PERFORM pg_notify(c->>1, b) FROM jsonb_array_elements_text(c->2) AS b;
          v := '{}'::jsonb;
        ELSE
          v := NULL;
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      v := NULL;
    END;
    v_out := v_out || jsonb_build_array(v);
  END LOOP;
  RETURN v_out;
END
$fn$;
`,
  },
  {
    version: 16,
    description: "group commit: dx_batch also carries orchestrator enqueues (dx_enqueue_orch); a write waiting on a lock past 100 ms is sent again alone",
    sql: (t) => `
-- An orchestrator enqueue (raised events, cancellations, client-sent messages) as a function, so a
-- batch can carry it: the statement PgOrchestratorQueue.enqueue runs alone, same check and insert.
-- False (nothing inserted) when p_require and the instance neither exists nor has a start queued.
CREATE FUNCTION ${t.schema}.dx_enqueue_orch(p_instance TEXT, p_item TEXT, p_type TEXT, p_visible BIGINT, p_now BIGINT, p_require BOOLEAN)
RETURNS BOOLEAN LANGUAGE plpgsql AS $fn$
BEGIN
  IF p_require AND NOT (EXISTS (SELECT 1 FROM ${t.instances} WHERE instance_id = p_instance)
      OR EXISTS (SELECT 1 FROM ${t.orchestratorQueue} WHERE instance_id = p_instance AND item_type IN ('StartOrchestration','ContinueAsNew'))) THEN
    RETURN FALSE;
  END IF;
  INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
  VALUES (p_instance, p_item, p_type, p_visible, 0, p_now);
  RETURN TRUE;
END
$fn$;

-- As in migration 15, plus ["enqueue", instance, item, type, visible_at, now, require], and a
-- lock wait of more than 100 ms raises (lock_not_available) in the write that waits: it is undone
-- and sent again alone beside the pipeline (groupCommit.ts), so the other writes commit now and a
-- slow lock holder, or a deadlock with another transaction, holds up nothing else. A later
-- migration that redefines dx_batch must keep every kind (see migration 14) and the lock_timeout.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_batch(p_calls JSONB) RETURNS JSONB LANGUAGE plpgsql AS $fn$
DECLARE
  c JSONB;
  v JSONB;
  v_out JSONB := '[]'::jsonb;
BEGIN
  PERFORM set_config('lock_timeout', '100ms', true);
  FOR c IN SELECT u.e FROM jsonb_array_elements(p_calls) WITH ORDINALITY AS u(e, ord) ORDER BY u.ord LOOP
    BEGIN
      CASE c->>0
        WHEN 'ack' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_plan(c->>1, (c->>2)::bigint, c->>3, c->4) x;
        WHEN 'work' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_work_lock(c->>1, (c->>2)::bigint, c->>3, c->>4, c->>5, c->>6, c->>7,
            (c->>8)::bigint, (c->>9)::integer, (c->>10)::bigint, (c->>11)::bigint) x;
        WHEN 'turn' THEN
          SELECT to_jsonb(x) INTO v FROM ${t.schema}.dx_ack_work_turn(c->>1, (c->>2)::bigint, c->>3, c->>4, c->>5, c->>6, c->>7,
            (c->>8)::bigint, (c->>9)::integer, (c->>10)::bigint, (c->>11)::bigint, (c->>12)::bigint, (c->>13)::bigint, c->>14, c->15) x;
        WHEN 'create' THEN
          v := jsonb_build_object('ok', ${t.schema}.dx_create_instance(c->>1, c->>2, c->>3, c->>4, (c->>5)::bigint));
        WHEN 'enqueue' THEN
          v := jsonb_build_object('ok', ${t.schema}.dx_enqueue_orch(c->>1, c->>2, c->>3, (c->>4)::bigint, (c->>5)::bigint, (c->>6)::boolean));
        WHEN 'notify' THEN
          PERFORM pg_notify(c->>1, b) FROM jsonb_array_elements_text(c->2) AS b;
          v := '{}'::jsonb;
        ELSE
          v := NULL;
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      v := NULL;
    END;
    v_out := v_out || jsonb_build_array(v);
  END LOOP;
  RETURN v_out;
END
$fn$;
`,
  },
  {
    version: 17,
    description: "fewer statements per turn: dx_apply_plan (a turn's writes) shared by dx_ack_plan and dx_ack_work_turn; a completion turn writes no lock row",
    sql: (t) => `
-- The writes of one turn's plan (the body of dx_ack_plan, migration 9, after its lock checks) for
-- p_instance, whose exclusive advisory lock the caller holds and whose right to write the turn it
-- has checked: dx_ack_plan by the instance's lock row, dx_ack_work_turn by where the turn began.
-- Same writes, order and results as there, with fewer statements in the common case: when the
-- instance's current execution is the plan's, its row is changed by a plain UPDATE (no upsert) and
-- that execution's row, which then exists (every ack that moves current_execution_id writes it in
-- the same transaction, and pruning never deletes the current execution), is updated only when
-- the status changes. Otherwise (the instance's first turn, a new execution) the upserts of
-- migration 9. The caller deletes the turn's own messages.
CREATE FUNCTION ${t.schema}.dx_apply_plan(p_instance TEXT, p_now BIGINT, p_plan JSONB,
  OUT r_next_visible BIGINT, OUT r_cancelled JSONB)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_exec BIGINT := (p_plan->>'exec')::bigint;
  v_status TEXT := p_plan->>'status';
  v_cs_seen BOOLEAN := p_plan ? 'cs';
  v_terminal BOOLEAN := COALESCE((p_plan->>'terminal')::boolean, FALSE);
  v_kv_clear_at BIGINT := (p_plan->>'kvClearAt')::bigint;
BEGIN
  IF v_terminal THEN
    DELETE FROM ${t.orchestratorQueue} WHERE instance_id = p_instance AND item_type = 'TimerFired';
  END IF;
  -- The upsert's conflict branch when current_execution_id = v_exec: status COALESCE(v_status, status),
  -- current_execution_id unchanged.
  UPDATE ${t.instances} i SET orchestration_name = p_plan->>'name', orchestration_version = p_plan->>'version',
    updated_at = CASE WHEN COALESCE((p_plan->>'changesInstance')::boolean, FALSE) THEN p_now ELSE i.updated_at END,
    status = COALESCE(v_status, i.status),
    custom_status = CASE WHEN v_cs_seen THEN p_plan->>'cs' ELSE i.custom_status END,
    custom_status_version = i.custom_status_version + CASE WHEN v_cs_seen THEN 1 ELSE 0 END
  WHERE i.instance_id = p_instance AND i.current_execution_id = v_exec;
  IF FOUND THEN
    IF v_status IS NOT NULL THEN
      UPDATE ${t.executions} SET status = v_status, output = p_plan->>'output', failure = p_plan->>'failure',
        completed_at = CASE WHEN v_terminal THEN p_now END
      WHERE instance_id = p_instance AND execution_id = v_exec;
    END IF;
  ELSE
    INSERT INTO ${t.instances} AS i (instance_id, orchestration_name, orchestration_version, current_execution_id,
      custom_status, custom_status_version, parent_instance_id, created_at, updated_at, status)
    VALUES (p_instance, p_plan->>'name', p_plan->>'version', v_exec, CASE WHEN v_cs_seen THEN p_plan->>'cs' END,
      CASE WHEN v_cs_seen THEN 1 ELSE 0 END, p_plan->>'parent', p_now, p_now, COALESCE(v_status, 'Running'))
    ON CONFLICT (instance_id) DO UPDATE SET orchestration_name = EXCLUDED.orchestration_name,
      orchestration_version = EXCLUDED.orchestration_version,
      updated_at = CASE WHEN COALESCE((p_plan->>'changesInstance')::boolean, FALSE) THEN EXCLUDED.updated_at ELSE i.updated_at END,
      status = CASE WHEN v_status IS NOT NULL THEN EXCLUDED.status
                    WHEN EXCLUDED.current_execution_id > i.current_execution_id THEN 'Running' ELSE i.status END,
      current_execution_id = GREATEST(i.current_execution_id, EXCLUDED.current_execution_id),
      custom_status = CASE WHEN v_cs_seen THEN EXCLUDED.custom_status ELSE i.custom_status END,
      custom_status_version = i.custom_status_version + CASE WHEN v_cs_seen THEN 1 ELSE 0 END;
    IF v_status IS NOT NULL THEN
      INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
      VALUES (p_instance, v_exec, v_status, p_plan->>'output', p_plan->>'failure', p_now, CASE WHEN v_terminal THEN p_now END)
      ON CONFLICT (instance_id, execution_id) DO UPDATE SET status = EXCLUDED.status, output = EXCLUDED.output,
        failure = EXCLUDED.failure, completed_at = EXCLUDED.completed_at;
    ELSE
      INSERT INTO ${t.executions} (instance_id, execution_id, status, output, failure, started_at, completed_at)
      VALUES (p_instance, v_exec, 'Running', NULL, NULL, p_now, NULL)
      ON CONFLICT (instance_id, execution_id) DO NOTHING;
    END IF;
  END IF;

  -- History: [[event_id, event_type, event_data], ...], appended exactly as given.
  IF jsonb_array_length(p_plan->'events') > 0 THEN
    INSERT INTO ${t.history} (instance_id, execution_id, event_id, event_type, event_data, created_at)
    SELECT p_instance, v_exec, (u.e->>0)::bigint, u.e->>1, u.e->>2, p_now
    FROM jsonb_array_elements(p_plan->'events') WITH ORDINALITY AS u(e, ord)
    ORDER BY u.ord;
  END IF;

  IF v_kv_clear_at IS NOT NULL THEN
    WITH d AS (UPDATE ${t.kvDelta} SET value = NULL, last_updated_at_ms = v_kv_clear_at WHERE instance_id = p_instance RETURNING key)
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT s.instance_id, s.key, NULL, v_kv_clear_at FROM ${t.kvStore} s WHERE s.instance_id = p_instance AND s.key NOT IN (SELECT key FROM d)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = NULL, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  -- KV writes: [[key, value or null, at], ...] (one per key, see planAck).
  IF jsonb_array_length(p_plan->'kv') > 0 THEN
    INSERT INTO ${t.kvDelta} (instance_id, key, value, last_updated_at_ms)
    SELECT p_instance, u.e->>0, u.e->>1, (u.e->>2)::bigint FROM jsonb_array_elements(p_plan->'kv') AS u(e)
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
  END IF;
  -- (Nested: with v_terminal in the query, a false one folds the plan to nothing, and a plan that
  -- cheap is made anew on every call instead of once.)
  IF v_terminal THEN IF EXISTS (SELECT 1 FROM ${t.kvDelta} WHERE instance_id = p_instance) THEN
    INSERT INTO ${t.kvStore} (instance_id, key, value, last_updated_at_ms)
    SELECT d.instance_id, d.key, d.value, d.last_updated_at_ms FROM ${t.kvDelta} d WHERE d.instance_id = p_instance AND d.value IS NOT NULL
    ON CONFLICT (instance_id, key) DO UPDATE SET value = EXCLUDED.value, last_updated_at_ms = EXCLUDED.last_updated_at_ms;
    WITH d AS (DELETE FROM ${t.kvDelta} WHERE instance_id = p_instance RETURNING key, value)
    DELETE FROM ${t.kvStore} s USING d WHERE s.instance_id = p_instance AND s.key = d.key AND d.value IS NULL;
  END IF; END IF;

  -- Worker items: [[work_item, instance, execution_id, activity_id, session_id, tag, lock_token, locked_until], ...];
  -- with a lock token, leased to the acking process in this transaction (its first attempt).
  IF jsonb_array_length(p_plan->'worker') > 0 THEN
    INSERT INTO ${t.workerQueue} (work_item, visible_at, attempt_count, instance_id, execution_id, activity_id, session_id, tag, created_at,
      lock_token, locked_until)
    SELECT u.e->>0, p_now, CASE WHEN u.e->>6 IS NULL THEN 0 ELSE 1 END, u.e->>1, (u.e->>2)::bigint, (u.e->>3)::bigint, u.e->>4, u.e->>5, p_now,
      u.e->>6, (u.e->>7)::bigint
    FROM jsonb_array_elements(p_plan->'worker') WITH ORDINALITY AS u(e, ord)
    ORDER BY u.ord;
  END IF;
  -- Withdrawn activities: [[instance, execution_id, activity_id], ...]; reports those deleted.
  IF jsonb_array_length(p_plan->'cancel') > 0 THEN
    WITH d AS (
      DELETE FROM ${t.workerQueue} w USING jsonb_array_elements(p_plan->'cancel') AS u(e)
      WHERE w.instance_id = u.e->>0 AND w.execution_id = (u.e->>1)::bigint AND w.activity_id = (u.e->>2)::bigint
      RETURNING w.instance_id, w.execution_id, w.activity_id
    )
    SELECT jsonb_agg(jsonb_build_array(d.instance_id, d.execution_id, d.activity_id)) INTO r_cancelled FROM d;
  END IF;
  -- Orchestrator items: [[target instance, work_item, item_type, visible_at], ...].
  IF jsonb_array_length(p_plan->'orch') > 0 THEN
    INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
    SELECT u.e->>0, u.e->>1, u.e->>2, (u.e->>3)::bigint, 0, p_now
    FROM jsonb_array_elements(p_plan->'orch') WITH ORDINALITY AS u(e, ord)
    ORDER BY u.ord;
  END IF;
  -- Messages that arrived during the turn: their senders saw the instance locked and sent no
  -- wake-up (dx_ack_work), so the caller wakes its own fetch loop for them.
  SELECT MIN(q.visible_at) INTO r_next_visible FROM ${t.orchestratorQueue} q WHERE q.instance_id = p_instance AND q.lock_token IS NULL;
END
$fn$;

-- As in migration 9 (same arguments, checks, results and locks), the writes now in dx_apply_plan.
-- The lock row is checked and deleted by one statement (a DELETE locks the row as the FOR UPDATE
-- did; nobody else sees it gone before the commit); only when it is not deleted does a second look
-- tell an unknown token (1) from an expired lock (2), nothing changed.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_ack_plan(p_token TEXT, p_now BIGINT, p_prefix TEXT, p_plan JSONB,
  OUT r_code INTEGER, OUT r_instance TEXT, OUT r_next_visible BIGINT, OUT r_cancelled JSONB)
LANGUAGE plpgsql AS $fn$
DECLARE
  v_r RECORD;
BEGIN
  SELECT l.instance_id INTO r_instance FROM ${t.instanceLocks} l WHERE l.lock_token = p_token;
  IF NOT FOUND THEN r_code := 1; RETURN; END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended(p_prefix || r_instance, 0));
  DELETE FROM ${t.instanceLocks} l WHERE l.instance_id = r_instance AND l.lock_token = p_token AND l.locked_until > p_now;
  IF NOT FOUND THEN
    r_code := CASE WHEN EXISTS (SELECT 1 FROM ${t.instanceLocks} l WHERE l.instance_id = r_instance AND l.lock_token = p_token) THEN 2 ELSE 1 END;
    RETURN;
  END IF;
  DELETE FROM ${t.orchestratorQueue} WHERE lock_token = p_token;
  -- A plain call is evaluated without a query of its own (plpgsql's simple expressions).
  v_r := ${t.schema}.dx_apply_plan(r_instance, p_now, p_plan);
  r_next_visible := v_r.r_next_visible;
  r_cancelled := v_r.r_cancelled;
  r_code := 0;
END
$fn$;

-- As in migration 15 (same arguments, conditions and results), but the completion turn is applied
-- by dx_apply_plan directly under the advisory lock this function holds, instead of through a lock
-- row written here and deleted again by dx_ack_plan (nobody else could see that row: it lived and
-- died in this transaction). The four conditions are read by one statement; an expired lock row of
-- a lost holder is deleted, as taking it over and releasing it did.
CREATE OR REPLACE FUNCTION ${t.schema}.dx_ack_work_turn(p_token TEXT, p_now BIGINT, p_prefix TEXT, p_target TEXT, p_item TEXT, p_type TEXT,
  p_lock_token TEXT, p_until BIGINT, p_hist_max INTEGER, p_known_exec BIGINT, p_known_last BIGINT,
  p_turn_exec BIGINT, p_turn_last BIGINT, p_turn_token TEXT, p_plan JSONB,
  OUT r_applied BOOLEAN, OUT r_next_visible BIGINT, OUT r_cancelled JSONB,
  OUT r_deleted INTEGER, OUT r_wake BOOLEAN,
  OUT r_locked BOOLEAN, OUT r_exec BIGINT, OUT r_name TEXT, OUT r_version TEXT, OUT r_max_event BIGINT, OUT r_kv JSON,
  OUT r_msg_ids BIGINT[], OUT r_msg_items TEXT[], OUT r_msg_attempts INTEGER[], OUT r_event_ids BIGINT[], OUT r_events TEXT[])
LANGUAGE plpgsql AS $fn$
DECLARE
  v_session TEXT;
  v_ready BOOLEAN := FALSE;
  v_lock_until BIGINT;
  v_r RECORD;
BEGIN
  r_applied := FALSE;
  r_wake := FALSE;
  r_locked := FALSE;
  IF pg_try_advisory_xact_lock(hashtextextended(p_prefix || p_target, 0)) THEN
    SELECT (SELECT l.locked_until FROM ${t.instanceLocks} l WHERE l.instance_id = p_target),
      EXISTS (SELECT 1 FROM ${t.instances} i WHERE i.instance_id = p_target AND i.current_execution_id = p_turn_exec)
      AND (SELECT h.event_id FROM ${t.history} h WHERE h.instance_id = p_target AND h.execution_id = p_turn_exec
           ORDER BY h.event_id DESC LIMIT 1) IS NOT DISTINCT FROM p_turn_last
      AND NOT EXISTS (SELECT 1 FROM ${t.orchestratorQueue} q WHERE q.instance_id = p_target AND q.visible_at <= p_now)
    INTO v_lock_until, v_ready;
    v_ready := v_ready AND (v_lock_until IS NULL OR v_lock_until <= p_now);
  END IF;
  IF NOT v_ready THEN
    SELECT * INTO r_deleted, r_wake, r_locked, r_exec, r_name, r_version, r_max_event, r_kv, r_msg_ids, r_msg_items, r_msg_attempts,
      r_event_ids, r_events
    FROM ${t.schema}.dx_ack_work_lock(p_token, p_now, p_prefix, p_target, p_item, p_type, p_lock_token, p_until, p_hist_max,
      p_known_exec, p_known_last);
    RETURN;
  END IF;
  DELETE FROM ${t.workerQueue} WHERE lock_token = p_token AND locked_until > p_now RETURNING session_id INTO v_session;
  GET DIAGNOSTICS r_deleted = ROW_COUNT;
  IF r_deleted = 0 THEN RETURN; END IF;
  IF v_session IS NOT NULL THEN
    UPDATE ${t.sessions} SET last_activity_at = p_now WHERE session_id = v_session AND locked_until > p_now;
  END IF;
  IF v_lock_until IS NOT NULL THEN
    DELETE FROM ${t.instanceLocks} WHERE instance_id = p_target AND locked_until <= p_now;
  END IF;
  v_r := ${t.schema}.dx_apply_plan(p_target, p_now, p_plan);
  r_next_visible := v_r.r_next_visible;
  r_cancelled := v_r.r_cancelled;
  r_applied := TRUE;
END
$fn$;
`,
  },
  {
    version: 18,
    description: "instances: no redundant created_at index, parent index only over sub-orchestrations",
    sql: (t) => `
-- An instance's row gets an entry in each of its indexes when it is inserted (its first turn) and
-- whenever an update cannot be HOT (its status changes: the last turn). Two of them were not needed:
-- (created_at) is a prefix of idx_instances_page (created_at, instance_id), which serves every query
-- it served; it only cost an entry per insert and per non-HOT update.
DROP INDEX IF EXISTS ${t.schema}.idx_instances_created;
-- Only sub-orchestrations have a parent, and parents are looked up by equality (children, instance
-- trees), which implies NOT NULL: top-level instances need no entry.
DROP INDEX IF EXISTS ${t.schema}.idx_instances_parent;
CREATE INDEX IF NOT EXISTS idx_instances_parent ON ${t.instances} (parent_instance_id) WHERE parent_instance_id IS NOT NULL;
`,
  },
  {
    version: 19,
    description: "the functions clients call plan their statements generically at once (plan_cache_mode), not five custom plans first on every connection",
    sql: (t) => `
-- A statement inside a function is planned per connection: five custom plans (one per call), then a
-- generic one, which every statement of these functions ends up using (they look rows up by keys
-- and tokens). Each new pool connection paid those plans again: 2,052 plans (142 ms) in a hello run
-- of 500 instances, 869 with generic plans from the first call. The setting holds inside the
-- function and what it calls (dx_apply_plan, dx_lock_instance), and costs about 1 us per call. A
-- later migration that redefines one of these functions (CREATE OR REPLACE drops its SET clauses)
-- must give it the clause again; a new function clients call should have it too.
ALTER FUNCTION ${t.schema}.dx_batch(JSONB) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${t.schema}.dx_ack_plan(TEXT, BIGINT, TEXT, JSONB) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${t.schema}.dx_ack_work_turn(TEXT, BIGINT, TEXT, TEXT, TEXT, TEXT, TEXT, BIGINT, INTEGER, BIGINT, BIGINT, BIGINT, BIGINT, TEXT, JSONB)
  SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${t.schema}.dx_ack_work_lock(TEXT, BIGINT, TEXT, TEXT, TEXT, TEXT, TEXT, BIGINT, INTEGER, BIGINT, BIGINT)
  SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${t.schema}.dx_create_instance(TEXT, TEXT, TEXT, TEXT, BIGINT) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${t.schema}.dx_fetch_orch(BIGINT, TEXT, BIGINT, TEXT, INTEGER) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${t.schema}.dx_fetch_orchs(BIGINT, TEXT[], BIGINT, TEXT, INTEGER) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${t.schema}.dx_lease_work(BIGINT, TEXT, BIGINT, INTEGER, TEXT[], TEXT, BIGINT) SET plan_cache_mode = force_generic_plan;
ALTER FUNCTION ${t.schema}.dx_lease_works(BIGINT, TEXT[], BIGINT, INTEGER, TEXT[], TEXT, BIGINT) SET plan_cache_mode = force_generic_plan;
`,
  },
  {
    version: 20,
    description: "starts that store the instance's first turn with its creation (dx_create_turn)",
    sql: (t) => `
-- createInstanceWithTurn: a new instance and the first turn the caller already ran for it, in one
-- transaction. Serialised with creations by dx_create_instance's advisory lock on the id, and the
-- same check: r_code 1 (nothing written) when the instance exists or a start is queued for it.
-- When the instance is free (its advisory lock taken now, no live lock row, no visible message,
-- which would belong to the turn) the turn is applied by dx_apply_plan (migration 17) under that
-- advisory lock, as dx_ack_work_turn applies a completion turn: r_code 0, the start is consumed by
-- the turn and never queued (an expired lock row of a lost holder is deleted, as dx_ack_work_turn
-- does). Otherwise the start is queued as dx_create_instance queues it: r_code 2.
CREATE FUNCTION ${t.schema}.dx_create_turn(p_instance TEXT, p_lock_key TEXT, p_item TEXT, p_type TEXT, p_now BIGINT,
  p_prefix TEXT, p_plan JSONB,
  OUT r_code INTEGER, OUT r_next_visible BIGINT, OUT r_cancelled JSONB)
-- Planned generically from the first call, as every function clients call (migration 19).
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
  v_lock_until BIGINT;
  v_ready BOOLEAN := FALSE;
  v_r RECORD;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtextextended(p_lock_key, 0));
  IF EXISTS (SELECT 1 FROM ${t.instances} WHERE instance_id = p_instance)
     OR EXISTS (SELECT 1 FROM ${t.orchestratorQueue} WHERE instance_id = p_instance AND item_type IN ('StartOrchestration','ContinueAsNew')) THEN
    r_code := 1;
    RETURN;
  END IF;
  IF pg_try_advisory_xact_lock(hashtextextended(p_prefix || p_instance, 0)) THEN
    SELECT (SELECT l.locked_until FROM ${t.instanceLocks} l WHERE l.instance_id = p_instance),
      NOT EXISTS (SELECT 1 FROM ${t.orchestratorQueue} q WHERE q.instance_id = p_instance AND q.visible_at <= p_now)
    INTO v_lock_until, v_ready;
    v_ready := v_ready AND (v_lock_until IS NULL OR v_lock_until <= p_now);
  END IF;
  IF NOT v_ready THEN
    INSERT INTO ${t.orchestratorQueue} (instance_id, work_item, item_type, visible_at, attempt_count, created_at)
    VALUES (p_instance, p_item, p_type, p_now, 0, p_now);
    r_code := 2;
    RETURN;
  END IF;
  IF v_lock_until IS NOT NULL THEN
    DELETE FROM ${t.instanceLocks} WHERE instance_id = p_instance AND locked_until <= p_now;
  END IF;
  v_r := ${t.schema}.dx_apply_plan(p_instance, p_now, p_plan);
  r_next_visible := v_r.r_next_visible;
  r_cancelled := v_r.r_cancelled;
  r_code := 0;
END
$fn$;
`,
  },
];

/**
 * Creates the schema if missing and applies every pending migration. Returns how many ran.
 * Runs on a client the caller owns; the advisory lock is released when the transaction ends.
 */
export async function migrate(client: PoolClient, schema: string): Promise<number> {
  const t = tablesOf(schema);
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [`duroxide:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(schema)}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${t.migrations} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)`,
    );
    const r = await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${t.migrations}`);
    const current = r.rows[0]?.v ?? 0;
    let applied = 0;
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql(t));
      await client.query(`INSERT INTO ${t.migrations} (version, description, applied_at) VALUES ($1, $2, $3)`, [
        m.version,
        m.description,
        Date.now(),
      ]);
      applied++;
    }
    await client.query("COMMIT");
    return applied;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  }
}

export async function schemaVersion(client: PoolClient, schema: string): Promise<number> {
  const r = await client.query<{ v: number | null }>(`SELECT MAX(version) AS v FROM ${tablesOf(schema).migrations}`);
  return r.rows[0]?.v ?? 0;
}
