import { createHmac } from "node:crypto";
import { isValidSlackRequest } from "@slack/bolt";
import { describe, expect, it } from "vitest";
import { signSlackRequest } from "../../../dev/slack/signing.js";

const secret = "8f742231b10e8888abcd99yyyzzz85a5";
const body = "token=xyz&team_id=T1&command=%2Finventory&text=stats+7d";
const ts = 1_531_420_618;

describe("signSlackRequest", () => {
  it("matches an HMAC-SHA256 of v0:<ts>:<body> computed independently", () => {
    const expected = createHmac("sha256", secret).update(`v0:${ts}:${body}`).digest("hex");
    expect(signSlackRequest(secret, body, ts)).toEqual({
      "x-slack-signature": `v0=${expected}`,
      "x-slack-request-timestamp": "1531420618",
    });
  });

  it("is accepted by Bolt's own verifier, and rejected once a byte of the body changes", () => {
    const nowMs = ts * 1000 + 1000;
    const headers = signSlackRequest(secret, body, ts);
    const check = (b: string) =>
      isValidSlackRequest({
        signingSecret: secret,
        body: b,
        headers: {
          "x-slack-signature": headers["x-slack-signature"],
          "x-slack-request-timestamp": ts,
        },
        nowMilliseconds: nowMs,
      });
    expect(check(body)).toBe(true);
    expect(check(`${body} `)).toBe(false);
  });

  it("depends on the secret and the timestamp", () => {
    const base = signSlackRequest(secret, body, ts)["x-slack-signature"];
    expect(signSlackRequest("other", body, ts)["x-slack-signature"]).not.toBe(base);
    expect(signSlackRequest(secret, body, ts + 1)["x-slack-signature"]).not.toBe(base);
  });
});
