/** `npm run db:migrate`: creates the database if needed and applies pending migrations. */
import { ensureDatabase, migrateDatabase } from "./db/db.js";

// The same default as env.ts; read here so the ground floor needs nothing above it.
const url = process.env.DATABASE_URL || "postgres://postgres@127.0.0.1:5432/syncdesk";
await ensureDatabase(url);
await migrateDatabase(url);
console.log("migrations applied");
