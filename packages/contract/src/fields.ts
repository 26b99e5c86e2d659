/** Field types the event schemas share. */
import { z } from "zod";

/** Trimmed, non-empty text of at most `max` characters. */
export const text = (max: number) => z.string().trim().min(1, "must not be empty").max(max);

export const httpUrl = z
  .string()
  .max(2000)
  .refine((value) => {
    try {
      const { protocol } = new URL(value);
      return protocol === "http:" || protocol === "https:";
    } catch {
      return false;
    }
  }, "must be an http or https URL");

/**
 * An instant Postgres can store: the ISO pattern alone lets `2026-02-31` through (JavaScript
 * quietly reads it as 3 March) and year 0000, which timestamptz refuses.
 */
export const instant = z.iso.datetime({ offset: true }).refine((value) => {
  const [year, month, day] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month, 0);
  const at = new Date(value);
  // Postgres reads the UTC instant as four-digit years only, AD.
  const utcYear = at.getUTCFullYear();
  return day <= lastDay.getUTCDate() && utcYear >= 1 && utcYear <= 9999;
}, "must be a real date and time");
