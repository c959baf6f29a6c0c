export { PostgresProvider, type PostgresProviderOptions } from "./postgresProvider.js";
export { PostgresAdmin } from "./admin.js";
export { PG_MIGRATIONS } from "./migrations.js";
export { validateSchemaName, channelName, DEFAULT_SCHEMA } from "./schemaName.js";
export { probePostgres, ThrowawaySchemas } from "./testing.js";
export { type PostgresEntraOptions, DEFAULT_ENTRA_SCOPE } from "./entra.js";
