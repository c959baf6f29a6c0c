// The pg module, loaded when a PostgreSQL provider (or helper) is first used.
import type pg from "pg";
import { loadDriver } from "../driver.js";

export type PgDriver = typeof pg;

export function pgDriver(): PgDriver {
  return loadDriver<PgDriver>("pg", "PostgresProvider");
}
