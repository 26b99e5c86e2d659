// The routing file's `clients.<name>.sourceOfTruth`: one system, or a map from target-system
// glob to system (`{ default: erp.netsuite, "ads.*": pim.akeneo }`). Pure.
import { z } from "zod";

/**
 * Which system's stock figure wins for a client, per target system: `byTarget` globs first (in
 * the order written), then `default`. Null default with no matching glob: no source of truth.
 */
export interface SourceOfTruth {
  default: string | null;
  byTarget: { target: string; system: string }[];
}

/** A client of the routing file, as features read it. */
export interface ClientConfig {
  sourceOfTruth: SourceOfTruth;
  owner: string;
  /** Reconciliation: a quantity difference up to this (absolute units) still counts as matched. */
  tolerance: number;
}

const systemName = z.string({ error: "expected a system name like erp.netsuite" }).min(1);

/** A system, or a map target-system glob -> system (`default` for the rest). */
export const sourceOfTruthSchema = z
  .union(
    [
      systemName,
      z
        .record(z.string().min(1), systemName)
        .refine((map) => Object.keys(map).length > 0, "the map must not be empty"),
    ],
    {
      error:
        'expected a system (erp.netsuite) or a map of target glob -> system ({ default: erp.netsuite, "ads.*": pim.akeneo })',
    },
  )
  .transform((value): SourceOfTruth => {
    if (typeof value === "string") return { default: value, byTarget: [] };
    const { default: fallback, ...globs } = value;
    return {
      default: fallback ?? null,
      byTarget: Object.entries(globs).map(([target, system]) => ({ target, system })),
    };
  });
