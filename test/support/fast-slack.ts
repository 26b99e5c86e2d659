/**
 * Slack limits and outbox timings for tests: the same code paths as production, with limits
 * high enough that a test file posting dozens of cards to one channel does not wait on the
 * real ~1/s pacing, and retries quick enough that a recovered fake Slack is seen at once.
 * Tests about pacing, 429s and coalescing set their own (test/integration/slack-outbound*.test.ts).
 */
import type { OutboxRelaySettings } from "../../src/platform/slack/outbox-relay.js";
import {
  DEFAULT_SLACK_LIMITS,
  type RateRule,
  type SlackLimits,
} from "../../src/platform/slack/rate-limits.js";

const FAST: RateRule[] = [{ perMinute: 60_000, burst: 100, scope: "workspace" }];

export const FAST_SLACK_LIMITS: Partial<SlackLimits> = {
  methods: Object.fromEntries(Object.keys(DEFAULT_SLACK_LIMITS.methods).map((m) => [m, FAST])),
  fallback: FAST,
  backoffMs: 20,
  maxBackoffMs: 200,
};

export const FAST_OUTBOX: Partial<OutboxRelaySettings> & { rejectionWindowMs?: number } = {
  pollMs: 200,
  backoffMs: 100,
  maxBackoffMs: 1000,
  // A rejection card's count is redrawn within a fraction of a second, not 10 s.
  rejectionWindowMs: 300,
};
