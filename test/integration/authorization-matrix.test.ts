/**
 * Who may do what, asked of every button, modal and command as Slack would send them, and with
 * values and metadata an attacker controls. The rule (issue 2, kept by issue 6): members of the
 * owning role (listed or through its user group) and its managers may act; everyone else,
 * routing admins and members of other roles included, is told why and changes nothing. Routing
 * admins approve routing changes (issue 5); acting on cards would let them skip that review.
 */
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ACTIONS } from "../../src/exceptions/card.js";
import { retryJobId } from "../../src/exceptions/exceptions.service.js";
import { RESOLVE_CALLBACK } from "../../src/exceptions/exceptions.slack.js";
import type { FailureEventInput } from "../../src/intake/failure-event.schema.js";
import { REVIEW_GROUP_ACTION } from "../../src/intake/rejection-card.js";
import { auditLog, rejectedEvents } from "../../src/platform/db/schema.js";
import { eventually, failureEvent } from "../support/harness.js";
import { useHarness } from "../support/use-harness.js";

const ROUTING = fileURLToPath(new URL("../fixtures/routing.security.yml", import.meta.url));

const PEOPLE = {
  member: "U0ALICE",
  groupMember: "U0DAVE", // fulfillment-ops through user group S0FULFILL
  manager: "U0MGR",
  admin: "U0ADMIN", // routing admin, in no role
  otherRole: "U0CAROL", // member of ads-ops only
  outsider: "U0EVE",
} as const;
type Person = keyof typeof PEOPLE;
const ALLOWED: Person[] = ["member", "groupMember", "manager"];
const REFUSED: Person[] = ["admin", "otherRole", "outsider"];
const EVERYONE = [...ALLOWED, ...REFUSED];

const h = useHarness({ routingFile: ROUTING });

let seq = 0;
async function openCard(overrides: Partial<FailureEventInput> = {}) {
  seq += 1;
  const sku = `SKU-AUTHZ-${seq}`;
  await h.report(
    failureEvent({
      sku,
      retry: { queue: "authz-retries", name: "resync", data: { sku } },
      ...overrides,
    }),
  );
  // Clicks need the card's channel, not its ts: cards queue behind Slack's per-channel rate.
  return eventually(async () => (await h.exceptionsFor(sku))[0]);
}

interface Sent {
  status: number;
  json?: unknown;
  responseId: string;
  triggerId: string;
}

async function press(
  userId: string,
  actionId: string,
  value: string,
  where: { channel: string; ts: string },
): Promise<Sent> {
  const responseId = randomBytes(6).toString("hex");
  const triggerId = `${Date.now()}.1.${randomBytes(8).toString("hex")}`;
  const res = await h.slack.blockAction({
    userId,
    channelId: where.channel,
    messageTs: where.ts,
    actionId,
    value,
    responseUrl: h.fake.responseUrl(responseId),
    triggerId,
  });
  expect(res.status).toBe(200);
  return { ...res, responseId, triggerId };
}

async function answerTo(sent: Sent): Promise<string> {
  const body = (await h.fake.waitForResponse(sent.responseId)) as {
    text?: string;
    response_type?: string;
  };
  expect(body.response_type).toBe("ephemeral");
  return body.text ?? "";
}

async function actionsBy(exceptionId: number, userId: string) {
  return (await h.audit(exceptionId)).filter((row) => row.actor === userId);
}

function submitResolve(userId: string, privateMetadata: string, rootCause = "source_data") {
  return h.slack.viewSubmission({
    userId,
    callbackId: RESOLVE_CALLBACK,
    privateMetadata,
    values: {
      note: { value: { type: "plain_text_input", value: "Fixed the mapping" } },
      root_cause: { value: { type: "static_select", selected_option: { value: rootCause } } },
    },
  });
}

const onCard = (row: { channel: string; cardTs: string | null }) => ({
  channel: row.channel,
  ts: row.cardTs ?? "1700000000.000100",
});

describe("exception card buttons", () => {
  it.each(EVERYONE)("Claim by %s", async (person) => {
    const row = await openCard();
    const sent = await press(PEOPLE[person], ACTIONS.claim, String(row.id), onCard(row));
    if (ALLOWED.includes(person)) {
      await eventually(async () => (await h.exception(row.id)).claimedBy === PEOPLE[person]);
      expect((await actionsBy(row.id, PEOPLE[person])).map((a) => a.action)).toEqual(["claim"]);
    } else {
      expect(await answerTo(sent)).toContain("Only members of *fulfillment-ops*");
      expect((await h.exception(row.id)).state).toBe("open");
      expect(await actionsBy(row.id, PEOPLE[person])).toEqual([]);
    }
  });

  it.each(EVERYONE)("Retry by %s", async (person) => {
    const row = await openCard();
    const sent = await press(PEOPLE[person], ACTIONS.retry, String(row.id), onCard(row));
    const job = () => h.bot.deps.queues.external("authz-retries").getJob(retryJobId(row.id, 1));
    if (ALLOWED.includes(person)) {
      await eventually(async () => (await h.exception(row.id)).state === "retrying");
      expect((await job())?.data.syncdesk.requestedBy).toBe(PEOPLE[person]);
    } else {
      expect(await answerTo(sent)).toContain("Only members of *fulfillment-ops*");
      expect((await h.exception(row.id)).state).toBe("open");
      expect(await job()).toBeUndefined();
    }
  });

  it.each(EVERYONE)("Unclaim of someone else's claim by %s", async (person) => {
    const row = await openCard();
    await press(PEOPLE.member, ACTIONS.claim, String(row.id), onCard(row));
    await eventually(async () => (await h.exception(row.id)).claimedBy === PEOPLE.member);
    const sent = await press(PEOPLE[person], ACTIONS.unclaim, String(row.id), onCard(row));
    if (person === "member" || person === "manager") {
      // The holder and a manager of the role may release it.
      await eventually(async () => (await h.exception(row.id)).claimedBy === null);
    } else {
      const answer = await answerTo(sent);
      if (person === "groupMember") expect(answer).toContain("is held by");
      else expect(answer).toContain("Only members of *fulfillment-ops*");
      expect((await h.exception(row.id)).claimedBy).toBe(PEOPLE.member);
    }
  });

  it.each(EVERYONE)("Resolve button by %s", async (person) => {
    const row = await openCard();
    const sent = await press(PEOPLE[person], ACTIONS.resolve, String(row.id), onCard(row));
    if (ALLOWED.includes(person)) {
      const opened = await h.fake.waitForCall(
        "views.open",
        (call) => call.body.trigger_id === sent.triggerId,
      );
      expect(opened.body.view).toMatchObject({ callback_id: RESOLVE_CALLBACK });
    } else {
      expect(await answerTo(sent)).toContain("Only members of *fulfillment-ops*");
      expect(
        h.fake.callsTo("views.open").filter((call) => call.body.trigger_id === sent.triggerId),
      ).toEqual([]);
    }
  });
});

describe("resolve modal submission", () => {
  it.each(EVERYONE)("by %s", async (person) => {
    const row = await openCard();
    const res = await submitResolve(
      PEOPLE[person],
      JSON.stringify({ exceptionId: row.id, channel: row.channel }),
    );
    if (ALLOWED.includes(person)) {
      expect(res.body).toBe("");
      await eventually(async () => (await h.exception(row.id)).resolvedBy === PEOPLE[person]);
    } else {
      expect(res.json).toMatchObject({ response_action: "errors" });
      expect(JSON.stringify(res.json)).toContain("Only members of fulfillment-ops");
      expect((await h.exception(row.id)).state).toBe("open");
      expect(await actionsBy(row.id, PEOPLE[person])).toEqual([]);
    }
  });
});

describe("rejected-event review", () => {
  it.each(EVERYONE)("Mark reviewed by %s", async (person) => {
    const jobId = `authz-bad-${person}`;
    await h.reportRaw({ eventId: jobId, sku: 7 }, jobId);
    const rejected = await eventually(async () => {
      const [row] = await h.bot.deps.db
        .select()
        .from(rejectedEvents)
        .where(eq(rejectedEvents.sourceJobId, jobId));
      return row;
    });
    const sent = await press(PEOPLE[person], REVIEW_GROUP_ACTION, String(rejected.groupId), {
      channel: rejected.channel!,
      ts: rejected.cardTs ?? "1700000000.000300",
    });
    const reviewedBy = async () =>
      (
        await h.bot.deps.db
          .select({ by: rejectedEvents.reviewedBy })
          .from(rejectedEvents)
          .where(eq(rejectedEvents.id, rejected.id))
      )[0]?.by;
    if (ALLOWED.includes(person)) {
      await eventually(async () => (await reviewedBy()) === PEOPLE[person]);
    } else {
      expect(await answerTo(sent)).toContain("Only members of *fulfillment-ops*");
      expect(await reviewedBy()).toBeNull();
      const audit = await h.bot.deps.db
        .select()
        .from(auditLog)
        .where(and(eq(auditLog.rejectedEventId, rejected.id), eq(auditLog.actor, PEOPLE[person])));
      expect(audit).toEqual([]);
    }
  });
});

describe("/inventory", () => {
  it.each(EVERYONE)(
    "help and status for %s answer privately and change nothing",
    async (person) => {
      const auditCount = async () =>
        (await h.bot.deps.db.select({ id: auditLog.id }).from(auditLog)).length;
      const before = await auditCount();
      for (const text of ["help", "status"]) {
        const responseId = randomBytes(6).toString("hex");
        const res = await h.slack.command({
          command: "/inventory",
          text,
          userId: PEOPLE[person],
          channelId: "C0RANDOM",
          responseUrl: h.fake.responseUrl(responseId),
        });
        expect(res.status).toBe(200);
        const answer = (await h.fake.waitForResponse(responseId)) as { response_type?: string };
        expect(answer.response_type).toBe("ephemeral");
      }
      expect(await auditCount()).toBe(before);
    },
  );
});

describe("hostile values", () => {
  it.each([
    "abc",
    "0",
    "-1",
    "1e3",
    "0x1",
    " 1",
    "1 ",
    "1.0",
    "99999999999999999999",
    "1; drop table exceptions",
    "",
    "\u0661", // Arabic-Indic digit one
  ])("a button value of %j is refused", async (value) => {
    const row = await openCard();
    const sent = await press(PEOPLE.member, ACTIONS.claim, value, onCard(row));
    expect(await answerTo(sent)).toContain("not one of mine");
    expect((await h.exception(row.id)).state).toBe("open");
  });

  it("refuses an exception id from another role's channel clicked on this channel's card", async () => {
    const ads = await openCard({ targetSystem: "ads.google", failureMode: "throttled" });
    const ours = await openCard();
    expect(ads.channel).toBe("C0ADS");
    // Alice edits the value of a button on a fulfillment card to the ads exception's id.
    const sent = await press(PEOPLE.member, ACTIONS.claim, String(ads.id), onCard(ours));
    expect(await answerTo(sent)).toContain(`can't find EX-${ads.id} here`);
    // ...and forges the channel too: the role check still refuses her.
    const forged = await press(PEOPLE.member, ACTIONS.claim, String(ads.id), onCard(ads));
    expect(await answerTo(forged)).toContain("Only members of *ads-ops*");
    // A manager of fulfillment-ops is not a manager of ads-ops.
    const manager = await press(PEOPLE.manager, ACTIONS.resolve, String(ads.id), onCard(ads));
    expect(await answerTo(manager)).toContain("Only members of *ads-ops*");
    expect((await h.exception(ads.id)).state).toBe("open");
  });

  it("refuses an action from a DM or App Home for a role the clicker is not in", async () => {
    const ads = await openCard({ targetSystem: "ads.meta", failureMode: "network" });
    const dm = await press(PEOPLE.member, ACTIONS.claim, String(ads.id), {
      channel: "D0ALICE",
      ts: "1700000000.000100",
    });
    expect(await answerTo(dm)).toContain("Only members of *ads-ops*");
    const home = await h.slack.blockAction({
      userId: PEOPLE.member,
      view: { type: "home" },
      actionId: ACTIONS.claim,
      value: String(ads.id),
    });
    expect(home.status).toBe(200);
    const carol = await press(PEOPLE.otherRole, ACTIONS.claim, String(ads.id), {
      channel: "D0CAROL",
      ts: "1700000000.000200",
    });
    await eventually(async () => (await h.exception(ads.id)).claimedBy === PEOPLE.otherRole);
    expect(carol.status).toBe(200);
    expect(await actionsBy(ads.id, PEOPLE.member)).toEqual([]);
  });

  it.each([
    [
      "another role's exception with this channel",
      (ads: number) => ({ exceptionId: ads, channel: "C0FULFILL" }),
      "can't find",
    ],
    [
      "another role's exception without a channel",
      (ads: number) => ({ exceptionId: ads }),
      "Only members of ads-ops",
    ],
    ["an id given as a string", (ads: number) => ({ exceptionId: String(ads) }), "expired"],
    ["an extra key", (ads: number) => ({ exceptionId: ads, admin: true }), "expired"],
    [
      "a __proto__ key",
      (ads: number) => JSON.parse(`{"exceptionId":${ads},"__proto__":{"x":1}}`),
      "expired",
    ],
  ])("refuses modal metadata naming %s", async (_name, metadata, expected) => {
    const ads = await openCard({ targetSystem: "ads.google", failureMode: "network" });
    const res = await submitResolve(PEOPLE.member, JSON.stringify(metadata(ads.id)));
    expect(res.json).toMatchObject({ response_action: "errors" });
    expect(JSON.stringify(res.json)).toContain(expected);
    expect((await h.exception(ads.id)).state).toBe("open");
  });

  it.each([
    ["not JSON", "{"],
    ["empty", ""],
    ["huge", JSON.stringify({ exceptionId: 1, pad: "x".repeat(3000) })],
  ])("treats %s modal metadata as an expired form", async (_name, metadata) => {
    const res = await submitResolve(PEOPLE.member, metadata);
    expect(JSON.stringify(res.json)).toContain("expired");
  });

  it("refuses a root cause that is not on the list", async () => {
    const row = await openCard();
    const res = await submitResolve(
      PEOPLE.member,
      JSON.stringify({ exceptionId: row.id, channel: row.channel }),
      "blame_bob",
    );
    expect(res.json).toMatchObject({
      response_action: "errors",
      errors: { root_cause: expect.any(String) },
    });
    expect((await h.exception(row.id)).state).toBe("open");
  });
});
