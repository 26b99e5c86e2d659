/**
 * The Procfile's `release` line (`node dist/migrate.js`) and `npm run db:migrate`: creates the
 * database if needed and applies pending migrations (TLS as DATABASE_SSL says). An entry point
 * beside main.ts, so the ground floor (src/platform) reads no settings of its own.
 */
import { envSchema } from "./env.js";
import { ensureDatabase, migrateDatabase } from "./platform/db/db.js";
import { connectionSecurity } from "./platform/tls.js";

const env = envSchema
  .pick({ DATABASE_URL: true, DATABASE_SSL: true, DATABASE_SSL_CA: true, REDIS_URL: true })
  .parse(process.env);
const { postgres: ssl } = connectionSecurity({ ...env, REDIS_TLS_CA: undefined });
await ensureDatabase(env.DATABASE_URL, { ssl });
await migrateDatabase(env.DATABASE_URL, { ssl });
console.log("migrations applied");
