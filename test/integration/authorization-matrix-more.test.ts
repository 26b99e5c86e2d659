/**
 * The authorization matrix for the buttons and modals added after the card's own (see
 * authorization-matrix.test.ts for the rule): Reassign and its modal, the SLA DM's "Claim for
 * me", and the storm card's Claim storm, Retry all, Resolve all and its modal.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { and, eq, isNotNull } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/exceptions/card.js";
import { REASSIGN_CALLBACK } from "../../src/exceptions/reassign.slack.js";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { exceptions, storms } from "../../src/platform/db/schema.js";
import { SLA_ACTIONS } from "../../src/sla/sla-messages.js";
import { STORM_ACTIONS } from "../../src/storms/storm-card.js";
import { STORM_RESOLVE_CALLBACK } from "../../src/storms/storms.slack.js";
import { eventually, failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.security.yml", import.meta.url));
const PEOPLE = {
  member: "U0ALICE",
  groupMember: "U0DAVE",
  manager: "U0MGR",
  admin: "U0ADMIN",
  otherRole: "U0CAROL",
  outsider: "U0EVE",
} as const;
type Person = keyof typeof PEOPLE;
const ALLOWED: Person[] = ["member", "groupMember", "manager"];
const REFUSED: Person[] = ["admin", "otherRole", "outsider"];
const EVERYONE = [...ALLOWED, ...REFUSED];
const REFUSAL = "Only members of *fulfillment-ops*";

// Three new fingerprints of one kind make a storm here.
const h = useHarness({ routingFile: ROUTING, env: { STORM_THRESHOLD: "2" } });

let seq = 0;
/** One exception of its own kind (its own client), so it never joins a storm. */
async function openException(overrides: Partial<FailureEventInput> = {}) {
  seq += 1;
  const sku = `SKU-MORE-${seq}`;
  await h.report(
    failureEvent({
      sku,
      client: `solo-${seq}`,
      retry: { queue: "more-retries", name: "resync", data: { sku } },
      ...overrides,
    }),
  );
  return eventually(async () => (await h.exceptionsFor(sku))[0]);
}

async function claimedBy(exceptionId: number, userId: string) {
  await press(userId, ACTIONS.claim, String(exceptionId), "C0FULFILL");
  await eventually(async () => (await h.exception(exceptionId)).claimedBy === userId);
}

async function openStorm() {
  seq += 1;
  const client = `storm-${seq}`;
  for (let i = 0; i < 3; i++)
    await h.report(
      failureEvent({
        client,
        sku: `SKU-STORM-${seq}-${i}`,
        retry: { queue: "more-retries", name: "resync", data: { i } },
      }),
    );
  return eventually(async () => {
    const [storm] = await h.bot.deps.db.select().from(storms).where(eq(storms.client, client));
    return storm;
  });
}

async function press(userId: string, actionId: string, value: string, channel: string) {
  const responseId = randomBytes(6).toString("hex");
  const triggerId = `${Date.now()}.2.${randomBytes(8).toString("hex")}`;
  const res = await h.slack.blockAction({
    userId,
    channelId: channel,
    messageTs: "1700000000.000100",
    actionId,
    value,
    responseUrl: h.fake.responseUrl(responseId),
    triggerId,
  });
  expect(res.status).toBe(200);
  return { responseId, triggerId };
}

async function answer(sent: { responseId: string }): Promise<string> {
  const body = (await h.fake.waitForResponse(sent.responseId)) as { text?: string };
  return body.text ?? "";
}

const modalOpened = (sent: { triggerId: string }) =>
  h.fake.waitForCall("views.open", (call) => call.body.trigger_id === sent.triggerId);

describe("Reassign", () => {
  it.each(EVERYONE)("button on a card held by a member, clicked by %s", async (person) => {
    const row = await openException();
    await claimedBy(row.id, PEOPLE.member);
    const sent = await press(PEOPLE[person], ACTIONS.reassign, String(row.id), row.channel);
    if (person === "member" || person === "manager") {
      expect((await modalOpened(sent)).body.view).toMatchObject({ callback_id: REASSIGN_CALLBACK });
    } else if (person === "groupMember") {
      expect(await answer(sent)).toContain("only they or a manager");
    } else {
      expect(await answer(sent)).toContain(REFUSAL);
    }
  });

  it.each(EVERYONE)("modal submitted by %s", async (person) => {
    const row = await openException();
    await claimedBy(row.id, PEOPLE.member);
    const res = await h.slack.viewSubmission({
      userId: PEOPLE[person],
      callbackId: REASSIGN_CALLBACK,
      privateMetadata: JSON.stringify({ exceptionId: row.id, channel: row.channel }),
      values: { to: { value: { type: "static_select", selected_option: { value: "U0BOB" } } } },
    });
    if (person === "member" || person === "manager") {
      await eventually(async () => (await h.exception(row.id)).claimedBy === "U0BOB");
    } else {
      expect(res.json).toMatchObject({ response_action: "errors" });
      expect((await h.exception(row.id)).claimedBy).toBe(PEOPLE.member);
    }
  });

  it("refuses a reassign to someone outside the role, even from a manager", async () => {
    const row = await openException();
    await claimedBy(row.id, PEOPLE.member);
    const res = await h.slack.viewSubmission({
      userId: PEOPLE.manager,
      callbackId: REASSIGN_CALLBACK,
      privateMetadata: JSON.stringify({ exceptionId: row.id, channel: row.channel }),
      values: { to: { value: { type: "static_select", selected_option: { value: "U0EVE" } } } },
    });
    expect(JSON.stringify(res.json)).toContain("is not a member of fulfillment-ops");
    expect((await h.exception(row.id)).claimedBy).toBe(PEOPLE.member);
  });
});

describe("SLA DM: Claim for me", () => {
  it.each(EVERYONE)("clicked by %s in a DM", async (person) => {
    const row = await openException();
    const sent = await press(
      PEOPLE[person],
      SLA_ACTIONS.take,
      String(row.id),
      `D0${person.toUpperCase()}`,
    );
    if (ALLOWED.includes(person)) {
      await eventually(async () => (await h.exception(row.id)).claimedBy === PEOPLE[person]);
    } else {
      expect(await answer(sent)).toContain(REFUSAL);
      expect((await h.exception(row.id)).claimedBy).toBeNull();
    }
  });

  it("is refused outside a DM, where the bot never sends it", async () => {
    const row = await openException();
    const sent = await press(PEOPLE.member, SLA_ACTIONS.take, String(row.id), "C0FULFILL");
    expect(await answer(sent)).toContain("not one of mine");
    expect((await h.exception(row.id)).claimedBy).toBeNull();
  });

  it("lets a member take nothing from another holder", async () => {
    const row = await openException();
    await claimedBy(row.id, PEOPLE.member);
    const sent = await press(PEOPLE.groupMember, SLA_ACTIONS.take, String(row.id), "D0DAVE");
    expect(await answer(sent)).not.toContain("You now hold");
    expect((await h.exception(row.id)).claimedBy).toBe(PEOPLE.member);
  });
});

describe("storm card", () => {
  const members = async (stormId: number) =>
    h.bot.deps.db.select().from(exceptions).where(eq(exceptions.stormId, stormId));

  it.each(EVERYONE)("Claim storm by %s", async (person) => {
    const storm = await openStorm();
    const sent = await press(PEOPLE[person], STORM_ACTIONS.claim, String(storm.id), storm.channel);
    if (ALLOWED.includes(person)) {
      await eventually(async () =>
        (await members(storm.id)).every((row) => row.claimedBy === PEOPLE[person]),
      );
    } else {
      expect(await answer(sent)).toContain(REFUSAL);
      expect((await members(storm.id)).every((row) => row.claimedBy === null)).toBe(true);
    }
  });

  it.each(EVERYONE)("Retry all by %s", async (person) => {
    const storm = await openStorm();
    const sent = await press(
      PEOPLE[person],
      STORM_ACTIONS.retryAll,
      String(storm.id),
      storm.channel,
    );
    if (ALLOWED.includes(person)) {
      await eventually(async () => (await members(storm.id)).some((row) => row.retryCount > 0));
    } else {
      expect(await answer(sent)).toContain(REFUSAL);
      expect((await members(storm.id)).every((row) => row.retryCount === 0)).toBe(true);
    }
  });

  it.each(EVERYONE)("Resolve all button and modal by %s", async (person) => {
    const storm = await openStorm();
    const sent = await press(
      PEOPLE[person],
      STORM_ACTIONS.resolveAll,
      String(storm.id),
      storm.channel,
    );
    if (ALLOWED.includes(person)) await modalOpened(sent);
    else expect(await answer(sent)).toContain(REFUSAL);
    const res = await h.slack.viewSubmission({
      userId: PEOPLE[person],
      callbackId: STORM_RESOLVE_CALLBACK,
      privateMetadata: JSON.stringify({ stormId: storm.id, channel: storm.channel }),
      values: {
        note: { value: { type: "plain_text_input", value: "ERP endpoint fixed" } },
        root_cause: {
          value: { type: "static_select", selected_option: { value: "target_outage" } },
        },
      },
    });
    if (ALLOWED.includes(person)) {
      await eventually(async () =>
        (await members(storm.id)).every((row) => row.state === "resolved"),
      );
    } else {
      expect(JSON.stringify(res.json)).toContain("Only members of fulfillment-ops");
      expect((await members(storm.id)).every((row) => row.state !== "resolved")).toBe(true);
    }
  });

  it("refuses a storm id clicked from another channel", async () => {
    const storm = await openStorm();
    const sent = await press(PEOPLE.member, STORM_ACTIONS.claim, String(storm.id), "C0ADS");
    expect(await answer(sent)).toContain("can't find storm");
    const claimed = await h.bot.deps.db
      .select()
      .from(exceptions)
      .where(and(eq(exceptions.stormId, storm.id), isNotNull(exceptions.claimedBy)));
    expect(claimed).toEqual([]);
  });
});
