/**
 * TLS to managed Postgres and Redis, from the environment to each driver's options.
 *
 * Postgres (`DATABASE_SSL`, libpq's sslmode names): `disable`; `require` (encrypted, the
 * server not verified, or verified against `DATABASE_SSL_CA` without the host name check, as
 * libpq does with a root certificate); `verify-full` (certificate and host name, against
 * `DATABASE_SSL_CA` or the system's roots). Unset: whatever `sslmode` the URL carries.
 *
 * Redis: TLS when `REDIS_URL` is `rediss://` or `REDIS_TLS_CA` is set; the server's certificate
 * and host name are checked against that CA (or the system's roots).
 *
 * The mappings are pure; connectionSecurity() reads the CA files once at start-up.
 */
import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import { assertNever } from "./errors.js";

export const DATABASE_SSL_MODES = ["disable", "require", "verify-full"] as const;
export type DatabaseSslMode = (typeof DATABASE_SSL_MODES)[number];

/** postgres.js's `ssl` option; undefined leaves it to the URL's `sslmode`. */
export type PostgresSsl = false | "require" | ConnectionOptions;

export function postgresSsl(
  mode: DatabaseSslMode | undefined,
  ca?: string,
): PostgresSsl | undefined {
  switch (mode) {
    case undefined:
      return ca === undefined ? undefined : { ca };
    case "disable":
      return false;
    case "require":
      // libpq: require with a root certificate verifies the chain, not the host name.
      return ca === undefined
        ? "require"
        : { ca, rejectUnauthorized: true, checkServerIdentity: () => undefined };
    case "verify-full":
      return { rejectUnauthorized: true, ...(ca === undefined ? {} : { ca }) };
    default:
      return assertNever(mode);
  }
}

/** ioredis's `tls` option; undefined for a plain connection. */
export function redisTls(url: string, ca?: string): ConnectionOptions | undefined {
  const secure = new URL(url).protocol === "rediss:" || ca !== undefined;
  if (!secure) return undefined;
  return ca === undefined ? {} : { ca };
}

export interface ConnectionSecurity {
  postgres?: PostgresSsl;
  redis?: ConnectionOptions;
}

interface SecuritySettings {
  DATABASE_SSL?: DatabaseSslMode;
  DATABASE_SSL_CA?: string;
  REDIS_URL: string;
  REDIS_TLS_CA?: string;
}

/** Reads the CA files named in the settings; an unreadable one names its variable. */
export function connectionSecurity(
  env: SecuritySettings,
  read: (path: string) => string = (path) => readFileSync(path, "utf8"),
): ConnectionSecurity {
  const load = (name: "DATABASE_SSL_CA" | "REDIS_TLS_CA") => {
    const path = env[name];
    if (path === undefined) return undefined;
    try {
      return read(path);
    } catch (error) {
      throw new Error(
        `${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? error})`,
      );
    }
  };
  return {
    postgres: postgresSsl(env.DATABASE_SSL, load("DATABASE_SSL_CA")),
    redis: redisTls(env.REDIS_URL, load("REDIS_TLS_CA")),
  };
}

/** postgres.js's `ssl` only when one was chosen: absent, the URL's `sslmode` decides. */
export function sslOption(options: { ssl?: PostgresSsl }): { ssl?: PostgresSsl } {
  return options.ssl === undefined ? {} : { ssl: options.ssl };
}
