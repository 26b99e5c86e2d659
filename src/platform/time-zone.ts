/** Whether `zone` names an IANA time zone this runtime knows (routing file, DIGEST_TZ). Pure. */
export function isValidTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone.trim() !== "";
  } catch {
    return false;
  }
}
