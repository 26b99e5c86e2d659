/**
 * Everything a service function needs, built once by `createDeps` (src/app/create-deps.ts)
 * and never changed afterwards. The ground floor (db, queues, Slack, logger, clock) comes from
 * src/platform/deps.ts; the rest is what features hand each other: the active routing, the
 * storm desk, and the hooks the composition root hangs on the exception seam.
 *
 * Types only, from modules that import no `Deps` themselves, so features may import this file
 * without closing an import circle.
 */
import type { ExceptionEffects } from "../exceptions/effects.js";
import type { PlatformDeps } from "../platform/deps.js";
import type { RoutingSource } from "../routing/active-routing.js";
import type { StormDesk } from "../storms/storm-policy.js";

export interface Deps extends PlatformDeps {
  routing: RoutingSource;
  /** Where routing proposals are posted for review (APPROVALS_CHANNEL); unset = listed only. */
  approvalsChannel?: string;
  /** Base URL of the contract docs (CONTRACT_DOCS_URL); rejection cards link there. */
  contractDocsUrl?: string;
  /** Storm grouping (src/storms); absent means every new fingerprint posts its own card. */
  storms?: StormDesk;
  /** What the exception seam does beside the row: SLA deadline, storm card, after-commit work. */
  exceptionEffects: ExceptionEffects;
  /** Reconciliation (src/recon): how close a pair's snapshots must be; how long a snapshot may take. */
  recon: { windowMs: number };
}
