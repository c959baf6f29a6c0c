export { SqliteProvider, type SqliteProviderOptions } from "./sqliteProvider.js";
export { SqliteAdmin } from "./admin.js";
export { parseSqliteUrl, type SqliteLocation } from "./url.js";
export { MIGRATIONS, migrate, schemaVersion, type Migration } from "./schema.js";
