/** What a routing decision (approve, reject, break-glass) answers, and the moves it made. */
import type { CommittedChange } from "../exceptions/effects.js";
import type { VersionRow } from "./versions.repo.js";

export interface MovedException {
  id: number;
  fromRole: string;
  toRole: string;
  fromChannel: string;
  toChannel: string;
}

export type DecisionResult =
  | {
      ok: true;
      row: VersionRow;
      moved: MovedException[];
      outdated: VersionRow[];
      /** The exception changes of the moves, for the seam's after-commit hooks. */
      changes: readonly CommittedChange[];
    }
  | { ok: false; code: "not_found" | "forbidden" | "stale" | "blocked"; message: string };

export const fail = (code: Extract<DecisionResult, { ok: false }>["code"], message: string) =>
  ({ ok: false, code, message }) as const;
