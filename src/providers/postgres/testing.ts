// Helpers for tests and tooling that need throwaway schemas (never used by the provider itself).
import { randomBytes } from "node:crypto";
import type pg from "pg";
import { pgDriver } from "./driver.js";
import { PostgresProvider, type PostgresProviderOptions } from "./postgresProvider.js";
import { quoteIdent, validateSchemaName } from "./schemaName.js";

/** Resolves to null when the server answers `SELECT 1`; otherwise to the reason it did not. */
export async function probePostgres(url: string, timeoutMs = 3000): Promise<string | null> {
  const client = new (pgDriver().Client)({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates uniquely named schemas (and providers on them); `cleanup()` closes and drops them all. */
export class ThrowawaySchemas {
  private readonly schemas = new Set<string>();
  private readonly providers: PostgresProvider[] = [];

  constructor(
    readonly url: string,
    private readonly prefix = `dx_test_${process.pid}`,
  ) {}

  newSchemaName(): string {
    const name = validateSchemaName(`${this.prefix}_${randomBytes(5).toString("hex")}`);
    this.schemas.add(name);
    return name;
  }

  /** Opens a provider on `schema` (a fresh one when omitted); it is closed by `cleanup()`. */
  async open(schema?: string, options: PostgresProviderOptions = {}): Promise<PostgresProvider> {
    const name = schema ?? this.newSchemaName();
    this.schemas.add(name);
    const p = await PostgresProvider.connectWithSchema(this.url, name, { maxConnections: 4, ...options });
    this.providers.push(p);
    return p;
  }

  /** Drops one schema now (its providers must be closed already). */
  async dropSchema(schema: string): Promise<void> {
    const client = new (pgDriver().Client)({ connectionString: this.url });
    client.on("error", () => undefined);
    try {
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(validateSchemaName(schema))} CASCADE`);
      this.schemas.delete(schema);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async cleanup(): Promise<void> {
    for (const p of this.providers.splice(0)) await p.close().catch(() => undefined);
    if (this.schemas.size === 0) return;
    const client = new (pgDriver().Client)({ connectionString: this.url });
    client.on("error", () => undefined);
    try {
      await client.connect();
      for (const s of this.schemas) await client.query(`DROP SCHEMA IF EXISTS ${quoteIdent(s)} CASCADE`);
      this.schemas.clear();
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
