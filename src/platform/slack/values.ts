/** Schemas for what Slack hands back to us from our own buttons: untrusted until parsed. */
import { z } from "zod";

/** A row id we put in a button value: a positive integer as text, nothing else. */
export const rowIdValue = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/)
  .transform(Number);
