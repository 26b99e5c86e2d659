/** `npm run db:migrate`: creates the database if needed and applies pending migrations. */
import { envSchema } from "../env.js";
import { ensureDatabase, migrateDatabase } from "./db/db.js";

const env = envSchema.pick({ DATABASE_URL: true }).parse(process.env);
await ensureDatabase(env.DATABASE_URL);
await migrateDatabase(env.DATABASE_URL);
console.log("migrations applied");
