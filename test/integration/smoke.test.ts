import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, failureEvent, type Harness, startHarness } from "../support/harness.js";

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.close();
});

describe("smoke", () => {
  it("posts a card and takes a claim", async () => {
    const event = failureEvent({ sku: "SKU-SMOKE" });
    await h.report(event);
    const [row] = await eventually(async () => {
      const rows = await h.exceptionsFor("SKU-SMOKE");
      return rows[0]?.cardTs ? rows : null;
    });
    expect(row?.channel).toBe("C0FULFILL");
    const res = await h.slack.blockAction({
      userId: "U0ALICE",
      userName: "alice",
      channelId: "C0FULFILL",
      messageTs: row!.cardTs!,
      actionId: "exception.claim",
      value: String(row!.id),
    });
    expect(res.status).toBe(200);
    await eventually(async () => (await h.exception(row!.id)).claimedBy === "U0ALICE");
    console.log(JSON.stringify(h.fake.calls.map((c) => c.method)));
  });
});
