/**
 * Who may act on a role's exceptions: its listed members, members of its user group, and its
 * managers. Checked in every handler, whatever buttons a person was shown.
 */
import type { Deps } from "../app/deps.js";
import type { RoleConfig } from "../routing/routing-file.schema.js";

export type Standing = "manager" | "member" | "outsider";

export async function standingIn(
  deps: Pick<Deps, "routing" | "directory">,
  roleName: string,
  userId: string,
): Promise<{ standing: Standing; role: RoleConfig | undefined }> {
  const role = deps.routing.current().config.roles[roleName];
  if (!role) return { standing: "outsider", role };
  if (role.managers.includes(userId)) return { standing: "manager", role };
  if (role.members.includes(userId)) return { standing: "member", role };
  if (role.usergroup && (await deps.directory.usergroupMembers(role.usergroup)).has(userId)) {
    return { standing: "member", role };
  }
  return { standing: "outsider", role };
}
