/**
 * `/inventory status|help` answers only the person asking (ephemeral, through response_url),
 * and `GET /healthz` says the process can reach Postgres and Redis.
 */
import { describe, expect, it } from "vitest";
import { eventually, failureEvent } from "../support/harness.js";
import { click, DESK, exceptionOf, textOf, USERS } from "../support/slack-actions.js";
import { useHarness } from "../support/use-harness.js";

const h = useHarness(DESK);

let seq = 0;
async function inventory(text: string, userId: string = USERS.alice) {
  seq += 1;
  const id = `inventory-${seq}`;
  const res = await h.slack.command({
    command: "/inventory",
    text,
    userId,
    channelId: "C0FULFILL",
    responseUrl: h.fake.responseUrl(id),
  });
  expect(res.status).toBe(200);
  const answer = (await h.fake.waitForResponse(id)) as Record<string, unknown>;
  expect(answer.response_type).toBe("ephemeral");
  // The fallback text and whatever the blocks show.
  return `${answer.text ?? ""}\n${textOf(answer)}`;
}

describe("/inventory", () => {
  it("help lists the subcommands", async () => {
    const text = await inventory("help");
    expect(text).toContain("/inventory status");
    expect(text).toContain("/inventory help");
  });

  it("with no subcommand, shows help", async () => {
    expect(await inventory("")).toContain("/inventory status");
  });

  it("an unknown subcommand says so and lists what I can do", async () => {
    const text = await inventory("explode <!channel>");
    expect(text).toContain("I don't know");
    expect(text).toContain("explode");
    for (const usage of ["/inventory status [client]", "/inventory mine", "/inventory checklist"])
      expect(text).toContain(usage);
    expect(text).toContain("/inventory help");
    expect(text).not.toContain("<!channel>");
  });

  it("status with nothing open says so", async () => {
    const text = await inventory("status");
    expect(text).toContain("Nothing open");
  });

  it("status counts open exceptions per role and state and links the oldest unclaimed", async () => {
    const first = failureEvent({ sku: "SKU-STATUS-1", occurredAt: "2026-11-26T08:00:00Z" });
    await h.report(first);
    const oldest = await exceptionOf(h, first.eventId);
    const second = failureEvent({ sku: "SKU-STATUS-2" });
    await h.report(second);
    const claimed = await exceptionOf(h, second.eventId);
    await click(h, USERS.bob, claimed.id, "claim");
    await eventually(async () => (await h.exception(claimed.id)).state === "claimed");
    const ads = failureEvent({
      sku: "SKU-STATUS-ADS",
      targetSystem: "ads.google-merchant",
      failureMode: "throttled",
    });
    await h.report(ads);
    await exceptionOf(h, ads.eventId);

    const text = await inventory("status");
    expect(text).toContain("fulfillment-ops");
    expect(text).toContain("ads-ops");
    expect(text).toContain(`EX-${oldest.id}`);
    expect(text).toMatch(/<https:\/\/fake\.slack\.test\/archives\/C0FULFILL\/p\d+\|[^>]*EX-/);
    expect(text).toContain("*fulfillment-ops*: 1 open · 1 claimed · 0 retrying");
    expect(text).toContain("*ads-ops*: 1 open · 0 claimed · 0 retrying");
  });
});

describe("/inventory claim and unclaim, with a reason", () => {
  it("claims and releases like the card's buttons, keeping why and what is expected in the audit", async () => {
    const event = failureEvent({ sku: "SKU-REASON-1" });
    await h.report(event);
    const row = await exceptionOf(h, event.eventId);

    const claimed = await inventory(`claim EX-${row.id} WMS is mine this week`, USERS.bob);
    expect(claimed).toContain(`EX-${row.id} claimed`);
    await eventually(async () => (await h.exception(row.id)).claimedBy === USERS.bob);
    const released = await inventory(`unclaim ${row.id} handing to the night shift`, USERS.bob);
    expect(released).toContain(`EX-${row.id} released`);
    await eventually(async () => (await h.exception(row.id)).state === "open");

    const audit = await h.audit(row.id);
    expect(audit.find((a) => a.action === "claim")).toMatchObject({
      actor: USERS.bob,
      note: "WMS is mine this week",
      expectedOutcome: expect.stringContaining(`works EX-${row.id}`),
    });
    expect(audit.find((a) => a.action === "unclaim")).toMatchObject({
      note: "handing to the night shift",
      expectedOutcome: `someone in fulfillment-ops claims EX-${row.id}`,
    });
    // The same rules as the button: an outsider is refused, and nothing changes.
    expect(await inventory(`claim EX-${row.id}`, USERS.eve)).toContain("Only members of");
    expect((await h.exception(row.id)).state).toBe("open");
    expect(await inventory("claim nothing")).toContain("needs the exception");
  });
});

describe("GET /healthz", () => {
  it("answers 200 while Postgres and Redis answer", async () => {
    const res = await fetch(`http://127.0.0.1:${h.bot.port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true });
  });
});
