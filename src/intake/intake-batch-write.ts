/**
 * The transaction of one intake batch (src/intake/intake-batch.ts): the batch's exceptions,
 * events, storm steps, audit rows, cards and deadlines in a few multi-row statements.
 */
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import type { Deps } from "../app/deps.js";
import { SYSTEM_ACTOR } from "../audit/audit.js";
import type { ChangeUnit, RecordEntry, RowChange } from "../exceptions/change.js";
import { type ExceptionState, exceptions, failureEvents } from "../platform/db/schema.js";
import { evaluate } from "../routing/evaluate.js";
import { groupIntoStorms } from "../storms/storm-intake.js";
import { openedDetails, openingColumns, type Routed, repeatColumns } from "./exception-columns.js";
import type { FailureEvent } from "./failure-event.schema.js";
import { fingerprint } from "./fingerprint.js";
import type { IntakeResult } from "./intake.service.js";

/** Another delivery stored one of the batch's events between our read and our insert. */
export class BatchRace extends Error {}

interface Group {
  key: string;
  /** In order of arrival. */
  events: FailureEvent[];
  firstSeen: Date;
  lastSeen: Date;
  /** The latest by time (the later arrival on a tie), shown on the card. */
  latest: FailureEvent;
  /** The traceparent of the latest's intake: a later click on the exception continues it. */
  latestTrace: string | null;
}

function groupByFingerprint(
  events: readonly FailureEvent[],
  traces: ReadonlyMap<string, string | null>,
): Group[] {
  const groups = new Map<string, Group>();
  for (const event of events) {
    const key = fingerprint(event);
    const seen = new Date(event.occurredAt);
    const group = groups.get(key);
    if (!group) {
      const latestTrace = traces.get(event.eventId) ?? null;
      groups.set(key, {
        key,
        events: [event],
        firstSeen: seen,
        lastSeen: seen,
        latest: event,
        latestTrace,
      });
      continue;
    }
    group.events.push(event);
    if (seen < group.firstSeen) group.firstSeen = seen;
    if (seen >= group.lastSeen) {
      group.lastSeen = seen;
      group.latest = event;
      group.latestTrace = traces.get(event.eventId) ?? null;
    }
  }
  // Fingerprint order: two batches inserting the same new fingerprints lock them alike.
  return [...groups.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

interface Written {
  id: number;
  state: ExceptionState;
  inserted: boolean;
  reopenOf: number | null;
}

/**
 * The batch's rows, in the caller's transaction; results in the order of `events` (each
 * eventId once). Throws BatchRace when another delivery stored one of them meanwhile.
 */
export async function writeBatch(
  unit: ChangeUnit,
  deps: Pick<Deps, "routing" | "clock" | "storms">,
  events: readonly FailureEvent[],
  /** Each event's intake trace (its job's span), by eventId. */
  traces: ReadonlyMap<string, string | null> = new Map(),
): Promise<IntakeResult[]> {
  const { tx } = unit;
  const routing = deps.routing.current();
  const now = deps.clock.now();
  const groups = groupByFingerprint(events, traces);
  const written = await updateRepeats(tx, groups, now);
  const fresh = groups.filter((group) => !written.has(group.key));
  const decisions = new Map(
    fresh.map((group) => [group.key, evaluate(routing.config, group.events[0] as FailureEvent)]),
  );
  if (fresh.length > 0) {
    const rows = await insertFresh(
      tx,
      fresh.map((group) => ({
        group,
        decision: decisions.get(group.key) as ReturnType<typeof evaluate>,
      })),
      routing.version,
      now,
    );
    for (const row of rows) written.set(row.fingerprint, row);
  }

  const exceptionOfGroup = new Map<string, Written>();
  for (const group of groups) {
    const row = written.get(group.key);
    if (!row) throw new Error("upsert returned no row");
    exceptionOfGroup.set(group.key, row);
  }
  // One JSON parameter for every event (a prepared statement, one round trip); a conflict is
  // an event another delivery stored meanwhile.
  const rows = JSON.stringify(
    groups.flatMap((group) =>
      group.events.map((event) => ({
        event_id: event.eventId,
        exception_id: (exceptionOfGroup.get(group.key) as Written).id,
        occurred_at: event.occurredAt,
        payload: event,
      })),
    ),
  );
  const stored = await tx.execute<{ event_id: string }>(sql`
    insert into ${failureEvents} (event_id, exception_id, occurred_at, received_at, payload)
    select r.event_id, r.exception_id, r.occurred_at, ${now.toISOString()}::timestamptz, r.payload
    from jsonb_to_recordset(${rows}::jsonb)
      as r(event_id text, exception_id bigint, occurred_at timestamptz, payload jsonb)
    on conflict do nothing
    returning event_id`);
  if (stored.length < events.length) throw new BatchRace();

  // New exceptions meet their storm first (in order of arrival), then every row gets its
  // audit rows, card and deadline in one go.
  const opened = groups.filter((group) => exceptionOfGroup.get(group.key)?.inserted);
  const order = new Map(events.map((event, i) => [event.eventId, i]));
  const arrival = (group: Group) => order.get((group.events[0] as FailureEvent).eventId) ?? 0;
  const steps = await groupIntoStorms(
    unit,
    deps,
    [...opened]
      .sort((a, b) => arrival(a) - arrival(b))
      .map((group) => {
        const event = group.events[0] as FailureEvent;
        const decision = decisions.get(group.key) as ReturnType<typeof evaluate>;
        return {
          exceptionId: (exceptionOfGroup.get(group.key) as Written).id,
          client: event.client,
          targetSystem: event.targetSystem,
          failureMode: event.failureMode,
          role: decision.role.name,
          channel: decision.role.channel,
        };
      }),
  );

  const base = { actor: SYSTEM_ACTOR, source: "intake", at: now };
  const occurrence = (event: FailureEvent): RowChange["audit"] => ({
    ...base,
    action: "occurrence_added",
    details: { eventId: event.eventId, error: event.error.message.slice(0, 500) },
  });
  const entries: RecordEntry[] = [];
  const results = new Map<string, IntakeResult>();
  for (const group of groups) {
    const row = exceptionOfGroup.get(group.key) as Written;
    const [first, ...rest] = group.events as [FailureEvent, ...FailureEvent[]];
    if (!row.inserted) {
      // The card shows the new count; a storm member's storm card counts it.
      entries.push({
        exceptionId: row.id,
        change: { audit: occurrence(first) },
        moreAudits: rest.map(occurrence),
        trace: group.latestTrace,
      });
      for (const event of group.events) {
        results.set(event.eventId, { kind: "occurrence", exceptionId: row.id });
      }
      continue;
    }
    const decision = decisions.get(group.key) as ReturnType<typeof evaluate>;
    const reopenOf = row.reopenOf;
    // The episode opens; joining a claimed storm (its own audit rows) may claim it at once.
    // The card is posted (a storm member has its storm's instead), and the SLA clock starts.
    entries.push({
      exceptionId: row.id,
      opened: true,
      change: {
        audit: {
          ...base,
          action: reopenOf ? "reopened" : "opened",
          stateBefore: reopenOf ? "resolved" : null,
          stateAfter: "open",
          details: openedDetails(first.eventId, decision, routing.version, reopenOf),
        },
      },
      moreAudits: rest.map(occurrence),
      trace: traces.get(first.eventId) ?? null,
    });
    const storm = steps.get(row.id);
    results.set(first.eventId, {
      kind: reopenOf ? "reopened" : "opened",
      exceptionId: row.id,
      ...(storm ? { stormId: storm.stormId } : {}),
    });
    for (const event of rest) {
      results.set(event.eventId, { kind: "occurrence", exceptionId: row.id });
    }
  }
  await unit.recordMany(entries);
  return events.map((event) => results.get(event.eventId) as IntakeResult);
}

/** Repeats of live exceptions: one UPDATE for the batch, rows locked in id order. */
async function updateRepeats(
  tx: ChangeUnit["tx"],
  groups: readonly Group[],
  now: Date,
): Promise<Map<string, Written>> {
  const values = JSON.stringify(
    groups.map((group) => ({
      fingerprint: group.key,
      n: group.events.length,
      latest: group.latest,
      trace: group.latestTrace,
      first_seen: group.firstSeen.toISOString(),
      last_seen: group.lastSeen.toISOString(),
    })),
  );
  // A repeat (most events in a storm) is an update: it takes no number from the id sequence,
  // so exception numbers people see have no gaps from repeats and duplicates.
  const rows = await tx.execute<{
    id: string | number;
    fingerprint: string;
    state: ExceptionState;
  }>(sql`
    with v as (
      select * from jsonb_to_recordset(${values}::jsonb)
        as v(fingerprint text, n int, latest jsonb, trace text, first_seen timestamptz,
          last_seen timestamptz)
    ), locked as (
      select e.id from ${exceptions} e join v on e.fingerprint = v.fingerprint
      where e.state <> 'resolved'
      order by e.id
      for no key update of e
    )
    update ${exceptions} e set
      occurrences = e.occurrences + v.n,
      latest_event = case when v.last_seen >= e.last_seen_at then v.latest else e.latest_event end,
      trace_context = case when v.last_seen >= e.last_seen_at
        then coalesce(v.trace, e.trace_context) else e.trace_context end,
      last_seen_at = greatest(e.last_seen_at, v.last_seen),
      first_seen_at = least(e.first_seen_at, v.first_seen),
      updated_at = ${now.toISOString()}::timestamptz
    from v
    where e.fingerprint = v.fingerprint and e.state <> 'resolved'
      and e.id in (select id from locked)
    returning e.id, e.fingerprint, e.state`);
  return new Map(
    rows.map((row) => [
      row.fingerprint,
      { id: Number(row.id), state: row.state, inserted: false, reopenOf: null },
    ]),
  );
}

const EXCEPTION_COLUMNS = getTableColumns(exceptions);

/** Fields of an exception by their column names, as a JSON parameter's recordset reads them. */
function byColumnName(fields: Partial<Record<keyof typeof EXCEPTION_COLUMNS, unknown>>) {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [
      EXCEPTION_COLUMNS[key as keyof typeof EXCEPTION_COLUMNS].name,
      value,
    ]),
  );
}

/**
 * The SET list of a repeat, as the one-event path's upsert has it (`repeatColumns`); the time
 * comes from the row proposed (a Date parameter outside a column's mapping is not sent as one).
 */
function repeatSet(now: Date): SQL {
  const set = {
    ...repeatColumns(sql`${exceptions.occurrences} + excluded.occurrences`, now),
    updatedAt: sql`excluded.updated_at`,
  };
  return sql.join(
    Object.entries(set).map(
      ([key, value]) =>
        sql`${sql.identifier(EXCEPTION_COLUMNS[key as keyof typeof set].name)} = ${value}`,
    ),
    sql`, `,
  );
}

/**
 * New fingerprints: one INSERT for the batch, its rows in one JSON parameter (a prepared
 * statement whatever the batch's size), in fingerprint order so two batches lock alike. Two
 * deliveries racing on a new fingerprint cannot open two exceptions: the partial unique index
 * makes the second insert a repeat (which, only then, skips a number).
 */
async function insertFresh(
  tx: ChangeUnit["tx"],
  fresh: readonly { group: Group; decision: Routed }[],
  routingVersion: number | null,
  now: Date,
): Promise<(Written & { fingerprint: string })[]> {
  const values = JSON.stringify(
    fresh.map(({ group, decision }) =>
      byColumnName({
        ...openingColumns(
          group.key,
          group.events[0] as FailureEvent,
          decision,
          routingVersion,
          now,
        ),
        latestEvent: group.latest,
        occurrences: group.events.length,
        traceContext: group.latestTrace,
        firstSeenAt: group.firstSeen,
        lastSeenAt: group.lastSeen,
      }),
    ),
  );
  const rows = await tx.execute<{
    id: string | number;
    fingerprint: string;
    state: ExceptionState;
    reopen_of: string | number | null;
    inserted: boolean;
  }>(sql`
    insert into ${exceptions} (fingerprint, client, vertical, sku, source_system,
      target_system, operation, failure_mode, severity, role, rule_index, routing_version,
      channel, first_event, latest_event, occurrences, trace_context, first_seen_at,
      last_seen_at, opened_at, created_at, updated_at, reopen_of)
    select r.fingerprint, r.client, r.vertical, r.sku, r.source_system, r.target_system,
      r.operation, r.failure_mode, r.severity, r.role, r.rule_index, r.routing_version,
      r.channel, r.first_event, r.latest_event, r.occurrences, r.trace_context,
      r.first_seen_at, r.last_seen_at, r.opened_at, r.created_at, r.updated_at,
      -- The last resolved episode of the fingerprint, which this one reopens.
      (select p.id from ${exceptions} p where p.fingerprint = r.fingerprint
        and p.state = 'resolved' order by p.opened_at desc limit 1)
    from rows from (jsonb_to_recordset(${values}::jsonb) as (fingerprint text, client text,
      vertical text, sku text, source_system text, target_system text, operation text,
      failure_mode text, severity text, role text, rule_index int, routing_version int,
      channel text, first_event jsonb, latest_event jsonb, occurrences int, trace_context text,
      first_seen_at timestamptz, last_seen_at timestamptz, opened_at timestamptz,
      created_at timestamptz, updated_at timestamptz))
      with ordinality as r(fingerprint, client, vertical, sku, source_system, target_system,
        operation, failure_mode, severity, role, rule_index, routing_version, channel,
        first_event, latest_event, occurrences, trace_context, first_seen_at, last_seen_at,
        opened_at, created_at, updated_at, n)
    order by r.n
    on conflict (fingerprint) where state <> 'resolved' do update set ${repeatSet(now)}
    returning id, fingerprint, state, reopen_of, (xmax = 0) as inserted`);
  return rows.map((row) => ({
    id: Number(row.id),
    fingerprint: row.fingerprint,
    state: row.state,
    inserted: row.inserted,
    reopenOf: row.inserted && row.reopen_of !== null ? Number(row.reopen_of) : null,
  }));
}
