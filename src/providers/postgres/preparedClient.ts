// A pg Client that runs every parameterised single statement as a named prepared statement, so
// PostgreSQL parses and plans each of the provider's statements once per connection instead of on
// every call (the server's CPU is the bottleneck of a busy store).
import type pg from "pg";
import { createHash } from "node:crypto";

/** Statement texts are few and fixed; the cap guards against unbounded server-side statements. */
const MAX_NAMED = 512;
/** Each text's statement name; null for a text that is never named (several statements). */
const names = new Map<string, string | null>();

function nameFor(text: string): string | undefined {
  let n = names.get(text);
  if (n === undefined) {
    if (names.size >= MAX_NAMED) return undefined;
    // Several statements in one text cannot be prepared (simple query protocol).
    n = text.includes(";") ? null : `dx_${createHash("sha1").update(text).digest("hex").slice(0, 24)}`;
    names.set(text, n);
  }
  return n ?? undefined;
}

type QueryFn = (...args: unknown[]) => unknown;

let preparedClass: typeof pg.Client | undefined;

/** The Client class (built once the driver is loaded, since it extends the driver's Client). */
export function preparedStatementClient(driver: typeof pg): typeof pg.Client {
  if (preparedClass !== undefined) return preparedClass;
  class PreparedStatementClient extends driver.Client {
    constructor(config?: string | pg.ClientConfig) {
      super(config);
      // The pool listens for 'error' only while a client is idle; a checked-out client whose
      // connection dies (server restart: 57P01, "Connection terminated unexpectedly") would emit an
      // unhandled 'error' and crash the process. The failure reaches the caller through the query
      // it rejects (or the next one), and a broken client is not reused (the pool checks
      // `_queryable` on release), so the event itself needs no handling here.
      this.on("error", () => undefined);
      const plain = (driver.Client.prototype.query as unknown as QueryFn).bind(this);
      // Instance override: keeps every overload of Client.query intact for other call shapes.
      (this as unknown as { query: QueryFn }).query = (...args: unknown[]): unknown => {
        const [text, values, callback] = args;
        // (text, values) from our transactions; (text, values, callback) from Pool.query, which
        // is how every autocommitted call (the fetch and ack functions) reaches the client.
        const shape = args.length === 2 || (args.length === 3 && typeof callback === "function");
        if (shape && typeof text === "string" && Array.isArray(values)) {
          const name = nameFor(text);
          if (name !== undefined) return args.length === 2 ? plain({ name, text, values }) : plain({ name, text, values }, callback);
        }
        return plain(...args);
      };
    }
  }
  preparedClass = PreparedStatementClient;
  return preparedClass;
}
