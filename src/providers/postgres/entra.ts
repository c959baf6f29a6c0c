// Microsoft Entra ID (Azure AD) authentication for Azure Database for PostgreSQL: the password is
// a short-lived access token, fetched on demand and refreshed before it expires.
import { InvalidArgumentError } from "../../model/errors.js";

export interface PostgresEntraOptions {
  /** Token scope. Default: the Azure public-cloud PostgreSQL scope. */
  audience?: string;
  /** Pool size (default 10, or $DUROXIDE_PG_POOL_MAX). */
  maxConnections?: number;
  /** How long to wait for a pooled connection, in ms (default 30000). */
  acquireTimeoutMs?: number;
  /** Refresh the token this long before it expires, in ms (default 300000). */
  refreshIntervalMs?: number;
  /**
   * Supplies tokens. Default: `@azure/identity` (Workload Identity → Managed Identity →
   * developer tools), which must then be installed by the application.
   */
  getToken?: (scope: string) => Promise<{ token: string; expiresOnTimestamp: number }>;
  /** TLS settings (default: verify the server). Azure requires TLS. */
  ssl?: boolean | { rejectUnauthorized?: boolean };
}

export const DEFAULT_ENTRA_SCOPE = "https://ossrdbms-aad.database.windows.net/.default";

type TokenSource = NonNullable<PostgresEntraOptions["getToken"]>;

/** The default token source, loaded lazily so the dependency stays optional. */
async function azureIdentitySource(): Promise<TokenSource> {
  const moduleName = "@azure/identity";
  let mod: Record<string, unknown>;
  try {
    mod = (await import(moduleName)) as Record<string, unknown>;
  } catch {
    throw new InvalidArgumentError(
      "Entra authentication needs the @azure/identity package (npm install @azure/identity), or pass options.getToken",
    );
  }
  type Credential = { getToken(scope: string): Promise<{ token: string; expiresOnTimestamp: number } | null> };
  const ctor = (name: string): (new () => Credential) | undefined => mod[name] as (new () => Credential) | undefined;
  const Chained = mod["ChainedTokenCredential"] as new (...c: Credential[]) => Credential;
  const parts = ["WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureDeveloperCliCredential", "AzureCliCredential"]
    .map(ctor)
    .filter((c): c is new () => Credential => c !== undefined)
    .flatMap((C) => {
      try {
        return [new C()];
      } catch {
        return []; // not configured in this environment
      }
    });
  const credential = new Chained(...parts);
  return async (scope) => {
    const t = await credential.getToken(scope);
    if (!t) throw new Error(`no Entra token for scope ${scope}`);
    return t;
  };
}

/** A password callback for pg that caches the token until shortly before it expires. */
export function entraPassword(options: PostgresEntraOptions): () => Promise<string> {
  const scope = options.audience ?? DEFAULT_ENTRA_SCOPE;
  const refreshMs = options.refreshIntervalMs ?? 300_000;
  let source: Promise<TokenSource> | null = options.getToken ? Promise.resolve(options.getToken) : null;
  let cached: { token: string; expiresOnTimestamp: number } | null = null;
  return async () => {
    if (cached && cached.expiresOnTimestamp - refreshMs > Date.now()) return cached.token;
    source ??= azureIdentitySource();
    cached = await (await source)(scope);
    return cached.token;
  };
}
