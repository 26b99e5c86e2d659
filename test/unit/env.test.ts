import { describe, expect, it } from "vitest";
import { EnvError, loadEnv } from "../../src/env.js";

const valid = {
  SLACK_BOT_TOKEN: "xoxb-1234-secret-bot-token",
  SLACK_SIGNING_SECRET: "signing-secret-that-must-stay-secret",
};

function problems(source: Record<string, string | undefined>): string[] {
  try {
    loadEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  throw new Error("expected loadEnv to fail");
}

function failure(source: Record<string, string | undefined>): EnvError {
  try {
    loadEnv(source);
  } catch (error) {
    if (error instanceof EnvError) return error;
    throw error;
  }
  throw new Error("expected loadEnv to fail");
}

describe("loadEnv", () => {
  it("fills every default from the two required secrets", () => {
    const env = loadEnv(valid);
    expect(env).toMatchObject({
      SLACK_BOT_TOKEN: valid.SLACK_BOT_TOKEN,
      SLACK_SIGNING_SECRET: valid.SLACK_SIGNING_SECRET,
      PORT: 3000,
      DATABASE_URL: "postgres://postgres@127.0.0.1:5432/syncdesk",
      REDIS_URL: "redis://127.0.0.1:6379",
      ROUTING_FILE: "./routing.yml",
      FAILURE_QUEUE: "inventory-sync-failures",
      OUTCOME_QUEUE: "inventory-sync-outcomes",
      LOG_LEVEL: "info",
    });
    expect(env.SLACK_APP_TOKEN).toBeUndefined();
    expect(env.SLACK_API_URL).toBeUndefined();
  });

  it("reads every setting it is given", () => {
    const env = loadEnv({
      ...valid,
      SLACK_APP_TOKEN: "xapp-1-abc",
      SLACK_API_URL: "http://127.0.0.1:9999/api/",
      PORT: "8080",
      DATABASE_URL: "postgres://u@db:5432/x",
      REDIS_URL: "redis://cache:6380",
      ROUTING_FILE: "/etc/syncdesk/routing.yml",
      FAILURE_QUEUE: "failures",
      OUTCOME_QUEUE: "outcomes",
      QUEUE_PREFIX: "prod",
      RETRY_POLL_MS: "1500",
      LOG_LEVEL: "debug",
    });
    expect(env).toMatchObject({
      SLACK_APP_TOKEN: "xapp-1-abc",
      SLACK_API_URL: "http://127.0.0.1:9999/api/",
      PORT: 8080,
      QUEUE_PREFIX: "prod",
      RETRY_POLL_MS: 1500,
      LOG_LEVEL: "debug",
    });
  });

  it("treats an empty variable as unset", () => {
    const env = loadEnv({ ...valid, PORT: "", SLACK_APP_TOKEN: "", SLACK_API_URL: "" });
    expect(env.PORT).toBe(3000);
    expect(env.SLACK_APP_TOKEN).toBeUndefined();
  });

  it("names every missing required variable at once", () => {
    expect(problems({})).toEqual([
      "SLACK_BOT_TOKEN is required",
      "SLACK_SIGNING_SECRET is required",
    ]);
    expect(
      problems({ SLACK_BOT_TOKEN: "", SLACK_SIGNING_SECRET: valid.SLACK_SIGNING_SECRET }),
    ).toEqual(["SLACK_BOT_TOKEN is required"]);
  });

  it("names every bad variable, and the message says what was expected", () => {
    const found = problems({
      SLACK_BOT_TOKEN: "xoxp-user-token-secret-1",
      SLACK_SIGNING_SECRET: "short",
      SLACK_APP_TOKEN: "xoxb-not-an-app-token-secret-2",
      SLACK_API_URL: "not a url",
      PORT: "eighty",
      DATABASE_URL: "nope",
      REDIS_URL: "::::",
      QUEUE_PREFIX: "has:colon",
      RETRY_POLL_MS: "5",
      LOG_LEVEL: "loud",
    });
    const named = found.map((line) => line.split(" ")[0]);
    expect(named).toEqual([
      "SLACK_BOT_TOKEN",
      "SLACK_SIGNING_SECRET",
      "SLACK_APP_TOKEN",
      "SLACK_API_URL",
      "PORT",
      "DATABASE_URL",
      "REDIS_URL",
      "QUEUE_PREFIX",
      "RETRY_POLL_MS",
      "LOG_LEVEL",
    ]);
    expect(found[0]).toBe("SLACK_BOT_TOKEN must be a bot token (xoxb-…)");
    expect(found[2]).toBe("SLACK_APP_TOKEN must be an app-level token (xapp-…)");
  });

  it("never prints a value, secret or not", () => {
    const secrets = {
      SLACK_BOT_TOKEN: "xoxp-user-token-secret-1",
      SLACK_SIGNING_SECRET: "short",
      SLACK_APP_TOKEN: "xoxb-not-an-app-token-secret-2",
      DATABASE_URL: "postgres-password-hunter2",
      PORT: "eighty-secret",
    };
    const error = failure(secrets);
    const shown = `${error.message}\n${error.stack ?? ""}\n${JSON.stringify(error)}`;
    for (const value of Object.values(secrets)) expect(shown).not.toContain(value);
    expect(error.message).toMatch(/^Invalid configuration:\n {2}- /);
  });
});
