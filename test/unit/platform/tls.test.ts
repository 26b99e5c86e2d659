import { describe, expect, it } from "vitest";
import { EnvError, loadEnv } from "../../../src/env.js";
import { connectionSecurity, postgresSsl, redisTls } from "../../../src/platform/tls.js";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
const secrets = {
  SLACK_BOT_TOKEN: "xoxb-1234-secret-bot-token",
  SLACK_SIGNING_SECRET: "signing-secret-that-must-stay-secret",
};

function problems(source: Record<string, string>): string[] {
  try {
    loadEnv({ ...secrets, ...source });
  } catch (error) {
    if (error instanceof EnvError) return error.problems;
    throw error;
  }
  return [];
}

describe("production settings in the environment", () => {
  it("leaves TLS, the ops port and the metrics token unset by default", () => {
    const env = loadEnv(secrets);
    expect(env.DATABASE_SSL).toBeUndefined();
    expect(env.DATABASE_SSL_CA).toBeUndefined();
    expect(env.REDIS_TLS_CA).toBeUndefined();
    expect(env.METRICS_PORT).toBeUndefined();
    expect(env.METRICS_TOKEN).toBeUndefined();
  });

  it("reads them when set, empty meaning unset", () => {
    const env = loadEnv({
      ...secrets,
      DATABASE_SSL: "verify-full",
      DATABASE_SSL_CA: "/etc/ssl/rds.pem",
      REDIS_URL: "rediss://default:pw@cache.example.com:6380",
      REDIS_TLS_CA: "/etc/ssl/redis.pem",
      METRICS_PORT: "9090",
      METRICS_TOKEN: "",
    });
    expect(env).toMatchObject({
      DATABASE_SSL: "verify-full",
      DATABASE_SSL_CA: "/etc/ssl/rds.pem",
      REDIS_URL: "rediss://default:pw@cache.example.com:6380",
      REDIS_TLS_CA: "/etc/ssl/redis.pem",
      METRICS_PORT: 9090,
    });
    expect(env.METRICS_TOKEN).toBeUndefined();
  });

  it("names a bad SSL mode, port or short token", () => {
    expect(problems({ DATABASE_SSL: "verify-ca" })[0]).toMatch(/^DATABASE_SSL /);
    expect(problems({ METRICS_PORT: "70000" })[0]).toMatch(/^METRICS_PORT /);
    const [token] = problems({ METRICS_TOKEN: "short" });
    expect(token).toMatch(/^METRICS_TOKEN must be at least 16/);
    expect(token).not.toContain("short");
  });
});

describe("postgresSsl", () => {
  it("leaves the URL's sslmode in charge when DATABASE_SSL is unset", () => {
    expect(postgresSsl(undefined)).toBeUndefined();
  });
  it("maps disable, require and verify-full as libpq reads them", () => {
    expect(postgresSsl("disable")).toBe(false);
    expect(postgresSsl("require")).toBe("require");
    expect(postgresSsl("verify-full")).toEqual({ rejectUnauthorized: true });
    expect(postgresSsl("verify-full", CA)).toEqual({ rejectUnauthorized: true, ca: CA });
  });
  it("require with a CA checks the chain but not the host name", () => {
    const ssl = postgresSsl("require", CA);
    expect(ssl).toMatchObject({ ca: CA, rejectUnauthorized: true });
    const check = (ssl as { checkServerIdentity: (host: string, cert: unknown) => unknown })
      .checkServerIdentity;
    expect(check("db.example.com", {})).toBeUndefined();
  });
});

describe("redisTls", () => {
  it("is off for redis:// without a CA", () => {
    expect(redisTls("redis://127.0.0.1:6379")).toBeUndefined();
  });
  it("is on for rediss://, with the system's roots or the given CA", () => {
    expect(redisTls("rediss://cache.example.com:6380")).toEqual({});
    expect(redisTls("rediss://cache.example.com:6380", CA)).toEqual({ ca: CA });
  });
  it("a CA alone turns it on", () => {
    expect(redisTls("redis://cache.example.com:6380", CA)).toEqual({ ca: CA });
  });
});

describe("connectionSecurity", () => {
  it("reads each CA file once and hands the drivers their options", () => {
    const read: string[] = [];
    const security = connectionSecurity(
      {
        DATABASE_SSL: "verify-full",
        DATABASE_SSL_CA: "/ca/pg.pem",
        REDIS_URL: "rediss://cache:6380",
        REDIS_TLS_CA: "/ca/redis.pem",
      },
      (path) => {
        read.push(path);
        return `${CA}${path}`;
      },
    );
    expect(read).toEqual(["/ca/pg.pem", "/ca/redis.pem"]);
    expect(security.postgres).toEqual({ rejectUnauthorized: true, ca: `${CA}/ca/pg.pem` });
    expect(security.redis).toEqual({ ca: `${CA}/ca/redis.pem` });
  });
  it("names the variable whose file cannot be read", () => {
    expect(() =>
      connectionSecurity({ REDIS_URL: "redis://x:6379", REDIS_TLS_CA: "/nope.pem" }, () => {
        throw Object.assign(new Error("missing"), { code: "ENOENT" });
      }),
    ).toThrow("REDIS_TLS_CA: cannot read /nope.pem (ENOENT)");
  });
});
