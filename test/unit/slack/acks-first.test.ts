/**
 * Work after an ack waits for the other requests' answers (a burst of clicks gets every ack
 * out before any click's database work), but never longer than its bound.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage, ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import {
  acksFirst,
  trackRequests,
  unansweredRequests,
} from "../../../src/platform/slack/acks-first.js";

/** A request the wrapped listener holds unanswered until `answer()` (what an ack does). */
function arrive(): { answer: () => void; hangUp: () => void } {
  const res = new EventEmitter();
  const listener = trackRequests(() => {});
  listener({} as IncomingMessage, res as unknown as ServerResponse);
  return { answer: () => res.emit("finish"), hangUp: () => res.emit("close") };
}

const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => {
    done = true;
  });
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe("acksFirst", () => {
  it("goes ahead at once when every request has its answer", async () => {
    expect(unansweredRequests()).toBe(0);
    expect(await settled(acksFirst())).toBe(true);
  });

  it("waits until the last waiting request is answered", async () => {
    const first = arrive();
    const second = arrive();
    const work = acksFirst(10_000);
    expect(await settled(work)).toBe(false);
    first.answer();
    expect(await settled(work)).toBe(false);
    // A client that went away counts as answered; finish after close counts once.
    second.hangUp();
    second.answer();
    expect(await settled(work)).toBe(true);
    expect(unansweredRequests()).toBe(0);
  });

  it("goes ahead after its bound when requests keep waiting", async () => {
    const stuck = arrive();
    const started = performance.now();
    await acksFirst(30);
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(unansweredRequests()).toBe(1);
    stuck.answer();
    expect(unansweredRequests()).toBe(0);
  });
});
