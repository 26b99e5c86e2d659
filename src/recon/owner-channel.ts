/** Where a client's reconciliation news goes. Pure. */
import type { RoutingConfig } from "../routing/routing-file.schema.js";

/** The client's owner role's channel, else the default role's ("" when neither has one). */
export function ownerChannel(config: RoutingConfig, client: string | null): string {
  const owner = client ? config.clients[client]?.owner : undefined;
  return (
    (owner ? config.roles[owner]?.channel : undefined) ??
    config.roles[config.defaultRole]?.channel ??
    ""
  );
}
