/** Column helpers shared by the schema files. */
import { timestamp } from "drizzle-orm/pg-core";

/** A timestamptz read and written as a Date. */
export const ts = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });
