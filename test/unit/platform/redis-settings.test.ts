import { describe, expect, it } from "vitest";
import { EnvError, loadEnv } from "../../../src/env.js";
import { clusterNodesOf, connectRedis, HASH_TAGGED } from "../../../src/platform/queue/redis.js";

const secrets = {
  SLACK_BOT_TOKEN: "xoxb-1234-secret-bot-token",
  SLACK_SIGNING_SECRET: "signing-secret-that-must-stay-secret",
};
const problems = (source: Record<string, string>) => {
  try {
    loadEnv({ ...secrets, ...source });
    return [];
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
};

describe("Redis Cluster settings", () => {
  it("accepts a hash-tagged QUEUE_PREFIX and still refuses braces elsewhere", () => {
    expect(loadEnv({ ...secrets, QUEUE_PREFIX: "{syncdesk}" }).QUEUE_PREFIX).toBe("{syncdesk}");
    expect(loadEnv({ ...secrets, QUEUE_PREFIX: "{syncdesk}-eu" }).QUEUE_PREFIX).toBe(
      "{syncdesk}-eu",
    );
    for (const bad of ["sync{desk}", "{}", "{a", "a:b", "{a}{b}"])
      expect(problems({ QUEUE_PREFIX: bad })[0], bad).toMatch(/^QUEUE_PREFIX /);
    expect(HASH_TAGGED.test("{syncdesk}")).toBe(true);
    expect(HASH_TAGGED.test("bull")).toBe(false);
  });

  it("reads REDIS_CLUSTER_NODES as host:port pairs", () => {
    const env = loadEnv({ ...secrets, REDIS_CLUSTER_NODES: "10.0.0.1:7000,redis-b.internal:7001" });
    expect(clusterNodesOf(env.REDIS_CLUSTER_NODES ?? "")).toEqual([
      { host: "10.0.0.1", port: 7000 },
      { host: "redis-b.internal", port: 7001 },
    ]);
    expect(problems({ REDIS_CLUSTER_NODES: "10.0.0.1" })[0]).toMatch(/^REDIS_CLUSTER_NODES /);
    expect(() => clusterNodesOf("a:0")).toThrow(/not host:port/);
  });

  it("refuses a cluster whose prefix has no hash tag, before connecting", () => {
    expect(() =>
      connectRedis({ url: "redis://127.0.0.1:6379", clusterNodes: "127.0.0.1:1", prefix: "bull" }),
    ).toThrow(/QUEUE_PREFIX must start with a hash tag/);
  });
});
