/** Schemas for what Slack hands back to us from our own buttons: untrusted until parsed. */
import { z } from "zod";

/** A row id we put in a button value: a positive integer as text, nothing else. */
export const rowIdValue = z
  .string()
  .regex(/^[1-9][0-9]{0,14}$/)
  .transform(Number);

/** A conversation id (channel, private channel or DM) we put in a modal's private_metadata. */
export const conversationId = z.string().regex(/^[CGD][A-Z0-9]+$/);

/** A modal's private_metadata naming one row and, optionally, the channel it was opened from. */
export function modalMetadata<K extends string>(idKey: K) {
  return z.strictObject({
    [idKey]: z.number().int().positive(),
    channel: conversationId.optional(),
  } as Record<K, z.ZodNumber> & { channel: z.ZodOptional<typeof conversationId> });
}

/** JSON text parsed by a schema; null when it is not JSON or does not fit. */
export function parseJson<S extends z.ZodType>(
  schema: S,
  text: string | undefined,
): z.infer<S> | null {
  try {
    const parsed = schema.safeParse(JSON.parse(text ?? ""));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
