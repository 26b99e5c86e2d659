/** Cross-references of a routing document (roles named exist, one default route, last, …). */
import type { z } from "zod";

// Role names end up in Slack action values and commands: keep them plain.
export const ROLE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * Cross-references: route roles and client owners exist; exactly one default route, last.
 * Runs on whatever zod could parse, so it guards every access.
 */
export function checkReferences(file: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(file)) return;
  const add = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: "custom", path, message });
  const roles = isRecord(file.roles) ? Object.keys(file.roles) : null;
  if (roles?.length === 0) add(["roles"], "define at least one role");
  for (const name of roles ?? []) {
    if (!ROLE_NAME_RE.test(name)) {
      add(["roles", name], "role names use letters, digits, '.', '_' and '-' (at most 64)");
    }
  }
  const undefinedRole = (name: unknown) =>
    roles !== null &&
    roles.length > 0 &&
    typeof name === "string" &&
    !roles.includes(name) &&
    `role ${JSON.stringify(name)} is not defined (roles: ${roles.join(", ")})`;

  if (Array.isArray(file.routes)) {
    const routes: unknown[] = file.routes;
    const last = routes.length - 1;
    const isDefault = (route: unknown) => isRecord(route) && route.match === undefined;
    if (!routes.some(isDefault)) {
      add(["routes"], "no default route: end the list with a rule that has a role and no match");
    }
    routes.forEach((route, index) => {
      if (!isRecord(route)) return;
      const problem = undefinedRole(route.role);
      if (problem) add(["routes", index, "role"], problem);
      if (isDefault(route) && index !== last) {
        add(
          ["routes", index],
          isDefault(routes[last])
            ? "more than one default route: only the last rule may leave out match"
            : "the default route (a rule without match) must be the last rule",
        );
      }
    });
  }

  if (Array.isArray(file.pipelines)) {
    const firstAt = new Map<string, number>();
    (file.pipelines as unknown[]).forEach((pipeline, index) => {
      if (!isRecord(pipeline)) return;
      const problem = undefinedRole(pipeline.role);
      if (problem) add(["pipelines", index, "role"], problem);
      if (typeof pipeline.name !== "string") return;
      const earlier = firstAt.get(pipeline.name);
      if (earlier === undefined) firstAt.set(pipeline.name, index);
      else {
        add(
          ["pipelines", index, "name"],
          `pipeline ${JSON.stringify(pipeline.name)} is already declared (pipelines[${earlier}]): names must be unique`,
        );
      }
    });
  }

  if (Array.isArray(file.producers)) {
    (file.producers as unknown[]).forEach((rule, index) => {
      const problem = isRecord(rule) && undefinedRole(rule.role);
      if (problem) add(["producers", index, "role"], problem);
    });
  }

  if (isRecord(file.clients)) {
    for (const [client, settings] of Object.entries(file.clients)) {
      const problem = isRecord(settings) && undefinedRole(settings.owner);
      if (problem) add(["clients", client, "owner"], problem);
    }
  }

  if (isRecord(file.reassign)) {
    for (const [removed, target] of Object.entries(file.reassign)) {
      const problem = undefinedRole(target);
      if (problem) add(["reassign", removed], problem);
      else if (roles?.includes(removed)) {
        add(
          ["reassign", removed],
          `role ${JSON.stringify(removed)} is still defined: only removed roles are reassigned`,
        );
      }
    }
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
