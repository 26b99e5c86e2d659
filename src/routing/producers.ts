/**
 * The routing file's `producers:` section: which role hears about a producer's rejected
 * events. A producer is known by the `sourceSystem` its events name (a glob) or, for the HTTP
 * intake, by the name its token belongs to; first match wins, unmapped producers go to the
 * default role.
 */
import { z } from "zod";
import { globMatches } from "./glob.js";

export const producerRuleSchema = z
  .strictObject({
    /** Glob over the event's `sourceSystem` (queue and HTTP intake alike). */
    sourceSystem: z.string({ error: "expected a sourceSystem name or glob" }).min(1).optional(),
    /** The producer's name (the HTTP intake's token owner). */
    producer: z.string({ error: "expected a producer name" }).min(1).optional(),
    role: z.string({ error: "expected a role name" }),
  })
  .refine((rule) => rule.sourceSystem !== undefined || rule.producer !== undefined, {
    error: "give sourceSystem (a glob) or producer (a name), or both",
  });

export type ProducerRule = z.output<typeof producerRuleSchema>;

export const producersSchema = z
  .array(producerRuleSchema, { error: "expected a list of producers" })
  .default([]);

/** Who sent a rejected event, as far as can be told from what arrived. */
export interface ProducerIdentity {
  /** The HTTP intake's producer name (its token), when it came that way. */
  producer?: string;
  /** The event's `sourceSystem`, when it had a usable one. */
  sourceSystem?: string;
}

/** The name a producer goes by on cards and in the grouping key. */
export function producerName(who: ProducerIdentity): string {
  return who.producer ?? who.sourceSystem ?? "unknown producer";
}

/** Index of the first rule that takes this producer; -1 when none does. */
export function producerRuleFor(rules: readonly ProducerRule[], who: ProducerIdentity): number {
  return rules.findIndex((rule) => {
    const byName = rule.producer === undefined || rule.producer === who.producer;
    const bySource =
      rule.sourceSystem === undefined ||
      (who.sourceSystem !== undefined && globMatches(rule.sourceSystem, who.sourceSystem));
    return byName && bySource;
  });
}

/** The role that hears about this producer's rejected events. */
export function producerRole(
  config: { producers: readonly ProducerRule[]; defaultRole: string },
  who: ProducerIdentity,
): string {
  const index = producerRuleFor(config.producers, who);
  return index === -1 ? config.defaultRole : (config.producers[index]?.role ?? config.defaultRole);
}

/** A rule as a reviewer reads it. */
export function describeProducerRule(rule: ProducerRule): string {
  const parts = [
    ...(rule.producer ? [`producer ${rule.producer}`] : []),
    ...(rule.sourceSystem ? [`sourceSystem ${rule.sourceSystem}`] : []),
  ];
  return `${parts.join(" and ")} → ${rule.role}`;
}
