/** Support hours as the routing file writes them ("Mon-Fri 08:00-18:00", "always"). Pure. */

export interface WeeklyHours {
  /** JS `Date#getDay` numbering: 0 = Sunday .. 6 = Saturday; sorted, unique. */
  days: number[];
  startMinute: number;
  /** 0..1440, always greater than startMinute (windows do not cross midnight). */
  endMinute: number;
  /** The text as written in the file, e.g. "Mon-Fri 08:00-18:00". */
  text: string;
}

const DAY_INDEX: Record<string, number> = {
  sun: 0,
  mon: 1,
  tue: 2,
  wed: 3,
  thu: 4,
  fri: 5,
  sat: 6,
};
const HOURS_RE = /^(\S+)\s+(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$/;
const HOURS_HINT = 'expected "always" or days and times like "Mon-Fri 08:00-18:00"';

/** Parses "Mon-Fri 08:00-18:00", "Mon,Wed,Fri 09:00-17:00", "Mon-Sun 00:00-24:00" or "always" (null). */
export function parseWeeklyHours(text: string): WeeklyHours | null {
  const trimmed = text.trim();
  if (trimmed.toLowerCase() === "always") return null;
  const groups = HOURS_RE.exec(trimmed);
  if (!groups) throw new Error(`invalid hours ${JSON.stringify(text)}: ${HOURS_HINT}`);
  const [, dayText = "", startH = "", startM = "", endH = "", endM = ""] = groups;
  const days = new Set<number>();
  for (const part of dayText.split(",")) {
    const [from, to, extra] = part.split("-").map(dayNumber);
    if (from === undefined || extra !== undefined) {
      throw new Error(`invalid days ${JSON.stringify(dayText)}: ${HOURS_HINT}`);
    }
    // A range may wrap the week: "Fri-Mon" is Fri, Sat, Sun, Mon.
    for (let day = from; ; day = (day + 1) % 7) {
      days.add(day);
      if (day === (to ?? from)) break;
    }
  }
  const startMinute = clockMinute(startH, startM, text);
  const endMinute = clockMinute(endH, endM, text);
  if (startMinute === 1440)
    throw new Error(`invalid hours ${JSON.stringify(text)}: cannot start at 24:00`);
  if (endMinute <= startMinute) {
    throw new Error(
      `invalid hours ${JSON.stringify(text)}: the end must be after the start (a window cannot cross midnight)`,
    );
  }
  return { days: [...days].sort((a, b) => a - b), startMinute, endMinute, text: trimmed };
}

function dayNumber(name: string): number | undefined {
  const day = DAY_INDEX[name.trim().toLowerCase()];
  if (day === undefined)
    throw new Error(`unknown day ${JSON.stringify(name)}: use Mon, Tue, ... Sun`);
  return day;
}

function clockMinute(hours: string, minutes: string, text: string): number {
  const h = Number(hours);
  const m = Number(minutes);
  if (h > 24 || m > 59 || (h === 24 && m !== 0)) {
    throw new Error(
      `invalid time ${hours}:${minutes} in ${JSON.stringify(text)}: use 00:00 to 24:00`,
    );
  }
  return h * 60 + m;
}
