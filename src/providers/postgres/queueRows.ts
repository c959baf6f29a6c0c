// Queue rows of the PostgreSQL store that more than one role writes: moving rows to the dead
// letters.
import type { PoolClient } from "pg";

import { num } from "./codec.js";
import type { PgConnection } from "./connection.js";

/** Moves a queue row to the dead letters; returns the dead letter's id. */
export async function deadLetter(
  conn: PgConnection,
  c: PoolClient,
  queue: "orchestrator" | "worker",
  id: number,
  instance: string | null,
  payload: string,
  error: string,
): Promise<number> {
  const deadLetterId = await insertDeadLetter(conn, c, queue, id, instance, payload, error);
  await c.query(`DELETE FROM ${queue === "worker" ? conn.t.workerQueue : conn.t.orchestratorQueue} WHERE id = $1`, [id]);
  return deadLetterId;
}

/** Stores a copy of a queue row as a dead letter (the row itself is left to the caller). */
export async function insertDeadLetter(
  conn: PgConnection,
  c: PoolClient,
  queue: "orchestrator" | "worker",
  id: number,
  instance: string | null,
  payload: string,
  error: string,
): Promise<number> {
  const r = await c.query<{ id: string | number }>(
    `INSERT INTO ${conn.t.deadLetters} (queue, original_id, instance_id, payload, error, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
    [queue, id, instance, payload, error, Date.now()],
  );
  return num(r.rows[0]?.id ?? 0);
}
