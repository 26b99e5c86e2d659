/** Routing-file fragments the routing tests build files from. */
export const ROLES = `roles:
  ops:
    channel: C0OPS
    members: [U0ALICE]
`;
export const DEFAULT_ROUTE = `routes:
  - role: ops
`;
