import { describe, expect, it } from "vitest";
import type { WeeklyHours } from "../../../src/routing/routing-file.schema.js";
import {
  addBusinessTime,
  businessTimeBetween,
  isWithinHours,
  nextOpening,
} from "../../../src/sla/business-time.js";

// Instants are written with explicit offsets so the expectations do not depend on the code
// under test. 2026-01-05 is a Monday.
const at = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`bad test instant ${iso}`);
  return ms;
};
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

const hoursOf = (days: number[], from: string, to: string): WeeklyHours => {
  const minute = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
  return { days, startMinute: minute(from), endMinute: minute(to), text: `${from}-${to}` };
};
const WEEKDAYS = [1, 2, 3, 4, 5];
const EVERY_DAY = [0, 1, 2, 3, 4, 5, 6];
const officeUtc = hoursOf(WEEKDAYS, "09:00", "17:00");
const officeBerlin = hoursOf(WEEKDAYS, "08:00", "18:00");

describe("24/7 (hours = null)", () => {
  it("is plain wall-clock arithmetic, whatever the time zone", () => {
    const start = at("2026-03-29T00:30:00+01:00");
    expect(addBusinessTime(start, 5 * HOUR, null, "Europe/Berlin")).toBe(start + 5 * HOUR);
    expect(businessTimeBetween(start, start + 5 * HOUR, null, "Europe/Berlin")).toBe(5 * HOUR);
    expect(businessTimeBetween(start, start - 1, null, "UTC")).toBe(0);
    expect(isWithinHours(start, null, "UTC")).toBe(true);
    expect(nextOpening(start, null, "UTC")).toBe(start);
  });

  it("never consults the time zone, so a policy without hours cannot fail on it", () => {
    expect(addBusinessTime(0, HOUR, null, "Not/AZone")).toBe(HOUR);
  });
});

describe("addBusinessTime in UTC, Mon-Fri 09:00-17:00", () => {
  const add = (iso: string, ms: number) =>
    new Date(addBusinessTime(at(iso), ms, officeUtc, "UTC")).toISOString();

  it("adds within a single window", () => {
    expect(add("2026-01-05T10:00:00Z", 3 * HOUR)).toBe("2026-01-05T13:00:00.000Z");
  });

  it("lands on the close, not the next opening, when the duration fills the day exactly", () => {
    expect(add("2026-01-05T09:00:00Z", 8 * HOUR)).toBe("2026-01-05T17:00:00.000Z");
  });

  it("carries the remainder over the night", () => {
    expect(add("2026-01-05T16:00:00Z", 3 * HOUR)).toBe("2026-01-06T11:00:00.000Z");
  });

  it("starts the clock at the next opening when opened at night or before opening", () => {
    expect(add("2026-01-05T20:00:00Z", HOUR)).toBe("2026-01-06T10:00:00.000Z");
    expect(add("2026-01-06T06:00:00Z", HOUR)).toBe("2026-01-06T10:00:00.000Z");
    expect(add("2026-01-05T17:00:00Z", HOUR)).toBe("2026-01-06T10:00:00.000Z");
  });

  it("skips the weekend", () => {
    expect(add("2026-01-09T16:00:00Z", 2 * HOUR)).toBe("2026-01-12T10:00:00.000Z");
    expect(add("2026-01-10T12:00:00Z", HOUR)).toBe("2026-01-12T10:00:00.000Z");
    expect(add("2026-01-11T23:59:59Z", HOUR)).toBe("2026-01-12T10:00:00.000Z");
  });

  it("returns the start for a zero duration in hours, the next opening outside", () => {
    expect(add("2026-01-05T10:00:00Z", 0)).toBe("2026-01-05T10:00:00.000Z");
    expect(add("2026-01-10T10:00:00Z", 0)).toBe("2026-01-12T09:00:00.000Z");
  });

  it("handles two weeks of business time", () => {
    // 80 h = ten 8-hour days: Mon 09:00 of week 1 to Fri 17:00 of week 2.
    expect(add("2026-01-05T09:00:00Z", 80 * HOUR)).toBe("2026-01-16T17:00:00.000Z");
    expect(add("2026-01-05T13:00:00Z", 80 * HOUR)).toBe("2026-01-19T13:00:00.000Z");
  });

  it("handles a year of business time", () => {
    // 52 weeks x 40 h from Monday's opening ends on the Friday close 51 weeks later.
    const start = at("2026-01-05T09:00:00Z");
    const end = addBusinessTime(start, 52 * 40 * HOUR, officeUtc, "UTC");
    expect(new Date(end).toISOString()).toBe("2027-01-01T17:00:00.000Z");
    expect(businessTimeBetween(start, end, officeUtc, "UTC")).toBe(52 * 40 * HOUR);
  });

  it("keeps millisecond precision", () => {
    expect(add("2026-01-05T16:59:59.999Z", 2)).toBe("2026-01-06T09:00:00.001Z");
  });
});

describe("businessTimeBetween in UTC, Mon-Fri 09:00-17:00", () => {
  const between = (from: string, to: string) =>
    businessTimeBetween(at(from), at(to), officeUtc, "UTC");

  it("counts only in-hours time", () => {
    expect(between("2026-01-05T10:00:00Z", "2026-01-05T12:30:00Z")).toBe(2.5 * HOUR);
    expect(between("2026-01-05T08:00:00Z", "2026-01-05T18:00:00Z")).toBe(8 * HOUR);
    expect(between("2026-01-09T16:00:00Z", "2026-01-12T10:00:00Z")).toBe(2 * HOUR);
    expect(between("2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z")).toBe(80 * HOUR);
  });

  it("is 0 outside hours and for empty or reversed ranges", () => {
    expect(between("2026-01-05T18:00:00Z", "2026-01-06T08:59:59Z")).toBe(0);
    expect(between("2026-01-10T00:00:00Z", "2026-01-12T09:00:00Z")).toBe(0);
    expect(between("2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z")).toBe(0);
    expect(between("2026-01-05T12:00:00Z", "2026-01-05T10:00:00Z")).toBe(0);
  });
});

describe("isWithinHours and nextOpening in UTC", () => {
  it("treats the opening instant as in hours and the closing instant as out", () => {
    expect(isWithinHours(at("2026-01-05T09:00:00Z"), officeUtc, "UTC")).toBe(true);
    expect(isWithinHours(at("2026-01-05T16:59:59.999Z"), officeUtc, "UTC")).toBe(true);
    expect(isWithinHours(at("2026-01-05T17:00:00Z"), officeUtc, "UTC")).toBe(false);
    expect(isWithinHours(at("2026-01-05T08:59:59.999Z"), officeUtc, "UTC")).toBe(false);
    expect(isWithinHours(at("2026-01-10T12:00:00Z"), officeUtc, "UTC")).toBe(false);
  });

  it("finds the next opening, or returns the instant itself when open", () => {
    const next = (iso: string) => new Date(nextOpening(at(iso), officeUtc, "UTC")).toISOString();
    expect(next("2026-01-05T12:00:00Z")).toBe("2026-01-05T12:00:00.000Z");
    expect(next("2026-01-05T17:00:00Z")).toBe("2026-01-06T09:00:00.000Z");
    expect(next("2026-01-09T18:00:00Z")).toBe("2026-01-12T09:00:00.000Z");
    expect(next("2026-01-11T08:00:00Z")).toBe("2026-01-12T09:00:00.000Z");
  });

  it("reads days and minutes in the policy's zone, not UTC", () => {
    // Monday 08:30 in Berlin is Monday 07:30 UTC; Sunday 23:30 UTC is Monday 00:30 in Berlin.
    expect(isWithinHours(at("2026-01-05T08:30:00+01:00"), officeBerlin, "Europe/Berlin")).toBe(
      true,
    );
    expect(isWithinHours(at("2026-01-05T08:30:00+01:00"), officeUtc, "UTC")).toBe(false);
    const nightShift = hoursOf([1], "00:00", "01:00");
    expect(isWithinHours(at("2026-01-04T23:30:00Z"), nightShift, "Europe/Berlin")).toBe(true);
    expect(isWithinHours(at("2026-01-04T23:30:00Z"), nightShift, "UTC")).toBe(false);
  });

  it("supports a window running to midnight (endMinute 1440)", () => {
    const evenings = hoursOf([5], "20:00", "24:00");
    expect(isWithinHours(at("2026-01-09T23:59:59Z"), evenings, "UTC")).toBe(true);
    expect(isWithinHours(at("2026-01-10T00:00:00Z"), evenings, "UTC")).toBe(false);
    expect(addBusinessTime(at("2026-01-09T20:00:00Z"), 4 * HOUR, evenings, "UTC")).toBe(
      at("2026-01-10T00:00:00Z"),
    );
  });
});

describe("Europe/Berlin across DST", () => {
  const tz = "Europe/Berlin";
  const everyDay = hoursOf(EVERY_DAY, "08:00", "18:00");
  const allDay = hoursOf(EVERY_DAY, "00:00", "24:00");

  it("keeps local office hours when the offset changes over the weekend (spring)", () => {
    const friday = at("2026-03-27T17:00:00+01:00");
    const monday = at("2026-03-30T09:00:00+02:00");
    expect(addBusinessTime(friday, 2 * HOUR, officeBerlin, tz)).toBe(monday);
    expect(businessTimeBetween(friday, monday, officeBerlin, tz)).toBe(2 * HOUR);
    expect(nextOpening(friday + 2 * HOUR, officeBerlin, tz)).toBe(at("2026-03-30T08:00:00+02:00"));
  });

  it("keeps local office hours when the offset changes over the weekend (autumn)", () => {
    const friday = at("2026-10-23T17:00:00+02:00");
    const monday = at("2026-10-26T09:00:00+01:00");
    expect(addBusinessTime(friday, 2 * HOUR, officeBerlin, tz)).toBe(monday);
    expect(businessTimeBetween(friday, monday, officeBerlin, tz)).toBe(2 * HOUR);
  });

  it("gives a 08:00-18:00 window ten real hours on both DST Sundays", () => {
    expect(
      businessTimeBetween(
        at("2026-03-29T00:00:00+01:00"),
        at("2026-03-30T00:00:00+02:00"),
        everyDay,
        tz,
      ),
    ).toBe(10 * HOUR);
    expect(
      businessTimeBetween(
        at("2026-10-25T00:00:00+02:00"),
        at("2026-10-26T00:00:00+01:00"),
        everyDay,
        tz,
      ),
    ).toBe(10 * HOUR);
    expect(addBusinessTime(at("2026-03-29T08:00:00+02:00"), 10 * HOUR, everyDay, tz)).toBe(
      at("2026-03-29T18:00:00+02:00"),
    );
    expect(addBusinessTime(at("2026-10-25T08:00:00+01:00"), 10 * HOUR, everyDay, tz)).toBe(
      at("2026-10-25T18:00:00+01:00"),
    );
  });

  it("gives a window containing the transition its real length: 23 h and 25 h days", () => {
    expect(
      businessTimeBetween(
        at("2026-03-29T00:00:00+01:00"),
        at("2026-03-30T00:00:00+02:00"),
        allDay,
        tz,
      ),
    ).toBe(23 * HOUR);
    expect(
      businessTimeBetween(
        at("2026-10-25T00:00:00+02:00"),
        at("2026-10-26T00:00:00+01:00"),
        allDay,
        tz,
      ),
    ).toBe(25 * HOUR);
    const night = hoursOf([0], "01:00", "04:00");
    expect(
      businessTimeBetween(at("2026-03-28T12:00:00Z"), at("2026-03-30T12:00:00Z"), night, tz),
    ).toBe(2 * HOUR);
    expect(
      businessTimeBetween(at("2026-10-24T12:00:00Z"), at("2026-10-26T12:00:00Z"), night, tz),
    ).toBe(4 * HOUR);
  });

  it("makes round-the-clock hours identical to plain addition across both transitions", () => {
    for (const iso of ["2026-03-28T22:15:00+01:00", "2026-10-24T22:15:00+02:00"]) {
      const start = at(iso);
      expect(addBusinessTime(start, 30 * HOUR, allDay, tz)).toBe(start + 30 * HOUR);
    }
  });

  it("snaps an edge in the skipped hour to the end of the gap", () => {
    // 02:30-03:30 on 2026-03-29: 02:30 never happens, so the window is 03:00-03:30 CEST.
    const straddling = hoursOf([0], "02:30", "03:30");
    const sundayStart = at("2026-03-29T00:00:00+01:00");
    expect(nextOpening(sundayStart, straddling, tz)).toBe(at("2026-03-29T03:00:00+02:00"));
    expect(businessTimeBetween(sundayStart, sundayStart + DAY, straddling, tz)).toBe(30 * MIN);
  });

  it("skips a window lying wholly in the skipped hour", () => {
    const inGap = hoursOf([0], "02:00", "02:45");
    const sundayStart = at("2026-03-29T00:00:00+01:00");
    expect(businessTimeBetween(sundayStart, sundayStart + DAY, inGap, tz)).toBe(0);
    expect(nextOpening(sundayStart, inGap, tz)).toBe(at("2026-04-05T02:00:00+02:00"));
    expect(addBusinessTime(sundayStart, 10 * MIN, inGap, tz)).toBe(at("2026-04-05T02:10:00+02:00"));
  });

  it("reads an edge in the repeated hour as its first occurrence", () => {
    const endsInRepeat = hoursOf([0], "01:00", "02:30"); // 01:00 CEST .. 02:30 CEST
    const sunday = at("2026-10-24T12:00:00Z");
    expect(businessTimeBetween(sunday, sunday + DAY, endsInRepeat, tz)).toBe(1.5 * HOUR);
    expect(isWithinHours(at("2026-10-25T02:15:00+02:00"), endsInRepeat, tz)).toBe(true);
    // The second 02:15 (CET) comes after the window closed.
    expect(isWithinHours(at("2026-10-25T02:15:00+01:00"), endsInRepeat, tz)).toBe(false);

    const startsInRepeat = hoursOf([0], "02:30", "06:00"); // 02:30 CEST .. 06:00 CET
    expect(businessTimeBetween(sunday, sunday + DAY, startsInRepeat, tz)).toBe(4.5 * HOUR);
    expect(nextOpening(sunday, startsInRepeat, tz)).toBe(at("2026-10-25T02:30:00+02:00"));
  });
});

describe("America/New_York across DST", () => {
  const tz = "America/New_York";
  const office = hoursOf(WEEKDAYS, "09:00", "17:00");
  const allDay = hoursOf(EVERY_DAY, "00:00", "24:00");

  it("keeps 09:00 local across both weekend transitions", () => {
    expect(addBusinessTime(at("2026-03-06T16:00:00-05:00"), 2 * HOUR, office, tz)).toBe(
      at("2026-03-09T10:00:00-04:00"),
    );
    expect(addBusinessTime(at("2026-10-30T16:00:00-04:00"), 2 * HOUR, office, tz)).toBe(
      at("2026-11-02T10:00:00-05:00"),
    );
  });

  it("has a 23 h and a 25 h day", () => {
    expect(
      businessTimeBetween(
        at("2026-03-08T00:00:00-05:00"),
        at("2026-03-09T00:00:00-04:00"),
        allDay,
        tz,
      ),
    ).toBe(23 * HOUR);
    expect(
      businessTimeBetween(
        at("2026-11-01T00:00:00-04:00"),
        at("2026-11-02T00:00:00-05:00"),
        allDay,
        tz,
      ),
    ).toBe(25 * HOUR);
  });
});

describe("America/Santiago, which changes clocks at midnight", () => {
  const tz = "America/Santiago";

  it("opens a midnight window at 01:00 when midnight is skipped", () => {
    // 2026-09-06: Saturday 24:00 (-04) becomes Sunday 01:00 (-03).
    const sundayMorning = hoursOf([0], "00:00", "09:00");
    const saturday = at("2026-09-05T12:00:00-04:00");
    expect(nextOpening(saturday, sundayMorning, tz)).toBe(at("2026-09-06T01:00:00-03:00"));
    expect(businessTimeBetween(saturday, saturday + 2 * DAY, sundayMorning, tz)).toBe(8 * HOUR);
  });

  it("runs a window to the real midnight when 23:00-24:00 repeats", () => {
    // 2026-04-04: Saturday 24:00 (-03) becomes Saturday 23:00 (-04) again.
    const saturdayEvening = hoursOf([6], "20:00", "24:00");
    const saturday = at("2026-04-04T12:00:00-03:00");
    expect(businessTimeBetween(saturday, saturday + DAY, saturdayEvening, tz)).toBe(5 * HOUR);
    expect(isWithinHours(at("2026-04-04T23:30:00-04:00"), saturdayEvening, tz)).toBe(true);
    expect(isWithinHours(at("2026-04-05T00:00:00-04:00"), saturdayEvening, tz)).toBe(false);
  });
});

describe("input guards", () => {
  const noDays: WeeklyHours = { days: [], startMinute: 540, endMinute: 1020, text: "never" };

  it("rejects weekly hours with no days instead of looping forever", () => {
    expect(() => addBusinessTime(0, HOUR, noDays, "UTC")).toThrow(/no days/);
    expect(() => businessTimeBetween(0, DAY, noDays, "UTC")).toThrow(/no days/);
    expect(() => isWithinHours(0, noDays, "UTC")).toThrow(/no days/);
    expect(() => nextOpening(0, noDays, "UTC")).toThrow(/no days/);
  });

  it("rejects malformed windows and weekdays", () => {
    const bad: WeeklyHours[] = [
      { ...officeUtc, startMinute: 600, endMinute: 600 },
      { ...officeUtc, startMinute: 700, endMinute: 600 },
      { ...officeUtc, startMinute: -1 },
      { ...officeUtc, endMinute: 1441 },
      { ...officeUtc, days: [7] },
      { ...officeUtc, days: [1.5] },
    ];
    for (const hours of bad)
      expect(() => addBusinessTime(0, HOUR, hours, "UTC")).toThrow(RangeError);
  });

  it("rejects negative or non-finite durations and instants", () => {
    expect(() => addBusinessTime(0, -1, officeUtc, "UTC")).toThrow(RangeError);
    expect(() => addBusinessTime(0, Number.POSITIVE_INFINITY, null, "UTC")).toThrow(RangeError);
    expect(() => addBusinessTime(Number.NaN, HOUR, officeUtc, "UTC")).toThrow(RangeError);
    expect(() => businessTimeBetween(0, Number.NaN, officeUtc, "UTC")).toThrow(RangeError);
  });

  it("rejects an unknown time zone", () => {
    expect(() => addBusinessTime(0, HOUR, officeUtc, "Mars/Olympus_Mons")).toThrow(RangeError);
  });
});
