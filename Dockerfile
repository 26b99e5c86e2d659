# syntax=docker/dockerfile:1
# The smoke test's steps (scripts/smoke.ts), as image layers: npm ci, build, prune to production
# dependencies; the runtime stage gets dist/, drizzle/ and node_modules only, and runs as `node`.
#   docker build -t syncdesk .
#   docker run --env-file .env syncdesk node dist/migrate.js   # release
#   docker run --env-file .env -p 3000:3000 syncdesk node --heap-growing-percent=100 dist/main.js web
#   docker run --env-file .env syncdesk node --heap-growing-percent=100 dist/main.js worker
ARG NODE_VERSION=22

# All dependencies and the sources: what the build needs (and the compose file's Slack stand-in).
FROM node:${NODE_VERSION}-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# postinstall applies patches/ to postgres.js (patch-package, failing when a patch does not apply).
COPY patches patches
# The producer kit (npm workspace @syncdesk/contract): npm ci links it and builds it (prepare).
COPY packages/contract packages/contract
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src src
COPY scripts/slack-stand-in.ts scripts/

FROM deps AS build
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    PORT=3000 \
    METRICS_PORT=9090
WORKDIR /app
# Owned by root and read-only to the process: it writes nothing to its own files.
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# node_modules/@syncdesk/contract links here: the desk's contract is the producer kit's build.
COPY --from=build /app/packages/contract/package.json packages/contract/package.json
COPY --from=build /app/packages/contract/dist packages/contract/dist
COPY package.json Procfile ./
COPY drizzle drizzle
USER node
EXPOSE 3000 9090
# Liveness only: a Postgres or Redis outage must not get the container restarted (/readyz
# is for the load balancer or the orchestrator's readiness probe).
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.METRICS_PORT}/livez`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "--heap-growing-percent=100", "--enable-source-maps", "dist/main.js"]
