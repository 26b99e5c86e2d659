/**
 * Slack's published Web API limits as data, and the pure decisions the outbound path makes
 * from them: which buckets a call draws from, how long to back off, when a card update may go.
 *
 * Tiers (https://docs.slack.dev/apis/web-api/rate-limits): 1 = 1+/min, 2 = 20+/min,
 * 3 = 50+/min, 4 = 100+/min, per method per workspace. chat.postMessage is "special": about
 * one message per second per channel, with short bursts allowed. Limits are enforced with
 * GCRA buckets in Redis (rate-limiter.ts) so they hold across every replica.
 */

export type RateScope = "workspace" | "channel";

export interface RateRule {
  /** Sustained calls per minute. */
  perMinute: number;
  /** Calls allowed back to back before pacing starts (>= 1). */
  burst: number;
  /** "channel": one bucket per channel (or user, for DMs); "workspace": one for the method. */
  scope: RateScope;
}

export interface SlackLimits {
  /** Rules per method; a call draws from every rule's bucket at once. */
  methods: Record<string, RateRule[]>;
  /** Rules for a method not listed (Tier 3, the most common). */
  fallback: RateRule[];
  /** Retries of 5xx and network errors inside one call (the outbox retries beyond that). */
  retries: number;
  /** 429s honoured (wait Retry-After, then try again) inside one call. */
  rateLimitedRetries: number;
  /** First backoff; doubles per attempt, with full jitter, up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
}

const tier = (perMinute: number, burst: number): RateRule => ({
  perMinute,
  burst,
  scope: "workspace",
});
const perChannel = (perMinute: number, burst: number): RateRule => ({
  perMinute,
  burst,
  scope: "channel",
});

export const TIER_1 = tier(1, 1);
export const TIER_2 = tier(20, 3);
export const TIER_3 = tier(50, 5);
export const TIER_4 = tier(100, 10);

export const DEFAULT_SLACK_LIMITS: SlackLimits = {
  methods: {
    // ~1/s per channel with short bursts; a workspace-wide ceiling of several hundred a minute.
    "chat.postMessage": [perChannel(60, 3), tier(300, 20)],
    // Tier 3 workspace-wide, and paced per channel like posts.
    "chat.update": [TIER_3, perChannel(60, 3)],
    "chat.delete": [TIER_3],
    "chat.postEphemeral": [TIER_4, perChannel(60, 3)],
    "chat.getPermalink": [TIER_4],
    "conversations.history": [TIER_3],
    "conversations.replies": [TIER_3],
    "conversations.info": [TIER_3],
    "conversations.open": [TIER_3],
    "users.info": [TIER_4],
    "usergroups.users.list": [TIER_2],
    "views.open": [TIER_4],
    "views.push": [TIER_4],
    "views.update": [TIER_4],
    "views.publish": [TIER_4],
    "auth.test": [TIER_4],
  },
  fallback: [TIER_3],
  retries: 3,
  rateLimitedRetries: 5,
  backoffMs: 500,
  maxBackoffMs: 30_000,
};

/** The defaults with some methods' rules (or settings) replaced: tests make limits fast. */
export function withLimits(overrides: Partial<SlackLimits> = {}): SlackLimits {
  return {
    ...DEFAULT_SLACK_LIMITS,
    ...overrides,
    methods: { ...DEFAULT_SLACK_LIMITS.methods, ...overrides.methods },
  };
}

export interface Bucket {
  /** Redis key suffix, e.g. `chat.postMessage:C0FULFILL` or `chat.update:*`. */
  key: string;
  /** A channel bucket of a channel-scoped rule, or a method-wide one. */
  scope: RateScope;
  /** Milliseconds between calls at the sustained rate. */
  intervalMs: number;
  /** GCRA tolerance: how far ahead of the sustained pace a call may run (burst - 1 intervals). */
  toleranceMs: number;
}

/** The buckets one call draws from. A call with no channel falls back to the method bucket. */
export function bucketsFor(limits: SlackLimits, method: string, channel?: string): Bucket[] {
  const rules = limits.methods[method] ?? limits.fallback;
  return rules.map((rule) => {
    const intervalMs = Math.max(1, Math.ceil(60_000 / Math.max(rule.perMinute, 0.001)));
    const target = rule.scope === "channel" && channel ? channel : "*";
    const rulesKey = limits.methods[method] ? method : "fallback";
    return {
      key: `${rulesKey}:${target}`,
      scope: target === "*" ? "workspace" : "channel",
      intervalMs,
      toleranceMs: intervalMs * (Math.max(1, Math.floor(rule.burst)) - 1),
    };
  });
}

/**
 * The buckets a 429 pauses. Slack does not say which limit was hit; the narrowest one is the
 * likely one (posting too fast into one channel), so a call that has a channel bucket pauses
 * only that channel and the rest of the method keeps going. Otherwise the method pauses.
 */
export function bucketsToPause(buckets: Bucket[]): Bucket[] {
  const perChannel = buckets.filter((bucket) => bucket.scope === "channel");
  return perChannel.length > 0 ? perChannel : buckets;
}

/** Exponential backoff with equal jitter: attempt n waits between half and all of base·2^(n-1). */
export function backoffDelay(
  attempt: number,
  settings: { backoffMs: number; maxBackoffMs: number },
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    settings.maxBackoffMs,
    settings.backoffMs * 2 ** Math.max(0, attempt - 1),
  );
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Seconds in a `Retry-After` header (Slack sends whole seconds); undefined if unusable. */
export function parseRetryAfter(header: string | null | undefined): number | undefined {
  if (header === null || header === undefined || header.trim() === "") return undefined;
  const seconds = Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/**
 * Card updates are coalesced: at most one update per card per window. Given when the card was
 * last updated, how long the next update must wait (0 = now).
 */
export function coalesceDelay(lastWriteAt: Date | null, now: Date, windowMs: number): number {
  if (!lastWriteAt) return 0;
  return Math.max(0, lastWriteAt.getTime() + windowMs - now.getTime());
}

/** Web API methods whose blind repeat could post twice; their unknown outcomes are not retried. */
const NOT_IDEMPOTENT = new Set(["chat.postMessage", "chat.postEphemeral", "chat.scheduleMessage"]);

export function isIdempotent(method: string): boolean {
  return !NOT_IDEMPOTENT.has(method) && !method.startsWith("files.");
}
