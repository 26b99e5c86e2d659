/**
 * A year of inventory sync exceptions for `npm run bench:status`, generated inside Postgres
 * (generate_series) so a million rows take about a minute. The spread is what a busy agency
 * sees: ~2,700 exceptions a day, 80 clients and 40,000 SKUs with a long tail, 12 target systems
 * of which a few fail most, four roles, a backlog of ~1,000 unresolved (most of them recent),
 * claims in minutes and resolutions in minutes to hours, a fifth of them past the SLA, resolved
 * by retry, recovery or by hand (mostly with a root cause), 20,000 rejected events and 40
 * routing versions.
 */

export const BENCH_ROLES = ["ads-ops", "storefront-ops", "marketplace-ops", "fulfillment-ops"];

/** Routing that matches the seed: rule i routes what the seed gave rule_index i. */
export const BENCH_ROUTING = `
admins: [U0ADMIN]
clients:
${Array.from({ length: 60 }, (_, i) => `  client-${String(i).padStart(2, "0")}: { sourceOfTruth: erp.netsuite, owner: fulfillment-ops }`).join("\n")}
roles:
  ads-ops: { channel: C0ADS, members: [U0OP01, U0OP02], managers: [U0MGR], sla: { claim: 10m, resolve: 1h } }
  storefront-ops: { channel: C0STORE, members: [U0OP01, U0OP03], managers: [U0MGR], sla: { claim: 15m, resolve: 2h } }
  marketplace-ops: { channel: C0MARKET, members: [U0OP04], managers: [U0MGR], sla: { claim: 15m, resolve: 2h } }
  fulfillment-ops: { channel: C0FULFILL, members: [U0OP05], managers: [U0MGR], sla: { claim: 15m, resolve: 2h } }
routes:
  - { match: { targetSystem: "ads.*" }, role: ads-ops, severity: high }
  - { match: { targetSystem: "storefront.*" }, role: storefront-ops }
  - { match: { targetSystem: "marketplace.*" }, role: marketplace-ops }
  - role: fulfillment-ops
pipelines:
  - { name: ads-feeds, match: { targetSystem: "ads.*" }, budget: 15m, freshness: 1h }
  - { name: storefronts, match: { targetSystem: "storefront.*" }, budget: 5m, freshness: 30m }
  - { name: marketplaces, match: { targetSystem: "marketplace.*" }, budget: 10m, freshness: 1h }
  - { name: everything-else, budget: 30m, freshness: 1d }
`;

/** Deliveries in the figure tables: 10,000,000 over 30 days, 60 client/target pairs. */
export const BENCH_DELIVERIES = 10_000_000;
const PAIRS = `(select c, t, case
    when t like 'ads.%' then 'ads-feeds' when t like 'storefront.%' then 'storefronts'
    when t like 'marketplace.%' then 'marketplaces' else 'everything-else' end as pipeline
  from generate_series(0, 9) c,
    unnest(array['ads.google','ads.meta','storefront.shopify','storefront.shopware',
      'marketplace.amazon','crm.hubspot']) t)`;
/** A sketch of ~40 buckets around a few seconds to a minute (keys 400..440: 3 s .. 7 s). */
const SKETCH = (count: string) =>
  `(select jsonb_object_agg(k::text, greatest(1, ${count} / 40)) from generate_series(400 + (extract(minute from now())::int % 5), 440) k)`;

export function deliverySeedStatements(): string[] {
  const perHour = Math.round(BENCH_DELIVERIES / (30 * 24 * 60));
  const perMinute = Math.max(1, Math.round(perHour / 60));
  return [
    "truncate delivery_minutes, delivery_hours, delivery_days, delivery_seen, delivery_inflight",
    `insert into delivery_hours (hour, pipeline, client, target_system, deliveries, failures, clamped,
      duplicates, timed, sum_ms, max_ms, sketch, last_delivered_at)
    select h, p.pipeline, 'client-' || lpad(p.c::text, 2, '0'), p.t, ${perHour}, ${perHour} / 200, 0, 0,
      ${perHour}, ${perHour} * 5000.0, 60000, ${SKETCH(String(perHour))}, h + interval '59 minutes'
    from generate_series(date_trunc('hour', now()) - interval '30 days', date_trunc('hour', now()), interval '1 hour') h,
      ${PAIRS} p`,
    `insert into delivery_minutes (minute, pipeline, client, target_system, deliveries, failures, clamped,
      duplicates, timed, sum_ms, max_ms, sketch, last_delivered_at)
    select m, p.pipeline, 'client-' || lpad(p.c::text, 2, '0'), p.t, ${perMinute}, 0, 0, 0,
      ${perMinute}, ${perMinute} * 5000.0, 60000, ${SKETCH(String(perMinute))}, m + interval '59 seconds'
    from generate_series(date_trunc('minute', now()) - interval '2 days', date_trunc('minute', now()), interval '1 minute') m,
      ${PAIRS} p`,
    `insert into delivery_days (day, pipeline, client, target_system, deliveries, failures, clamped,
      duplicates, timed, sum_ms, max_ms, sketch, last_delivered_at)
    select d, p.pipeline, 'client-' || lpad(p.c::text, 2, '0'), p.t, ${perHour * 24}, ${perHour * 24} / 200, 0, 0,
      ${perHour * 24}, ${perHour * 24} * 5000.0, 60000, ${SKETCH(String(perHour * 24))}, d + interval '23 hours 59 minutes'
    from generate_series(date_trunc('day', now() at time zone 'utc') at time zone 'utc' - interval '30 days', now(), interval '1 day') d,
      ${PAIRS} p`,
    "vacuum analyze delivery_hours",
    "vacuum analyze delivery_days",
    "vacuum analyze delivery_minutes",
  ];
}

export function seedStatements(rows: number): string[] {
  const n = Math.floor(rows);
  return [
    "truncate exceptions, failure_events, audit_log, rejected_events, routing_versions, digest_deliveries restart identity cascade",
    `insert into exceptions (fingerprint, client, vertical, sku, source_system, target_system, operation,
      failure_mode, state, severity, role, rule_index, first_event, latest_event, occurrences,
      first_seen_at, last_seen_at, opened_at, claimed_by, claimed_at, first_claimed_at, retry_count,
      resolved_by, resolved_at, resolution, resolution_note, root_cause, channel, card_ts, breached_at,
      next_deadline_at, created_at, updated_at)
    select
      md5(client || sku || target || mode || g), client, 'fashion', sku, source, target, 'stock_update',
      mode, state, severity, role, rule_index, event, event, occurrences,
      opened_at, opened_at + (occurrences - 1) * interval '3 minutes', opened_at,
      case when claimed then claimer end, case when claimed then claimed_at end,
      case when claimed then claimed_at end,
      case when resolution = 'retry' then 1 else 0 end,
      case when resolution = 'manual' then claimer end, resolved_at, resolution,
      case when resolution = 'manual' then 'fixed the mapping and re-sent' end,
      case when resolution = 'manual' and r_cause < 0.97
        then (array['source_data','target_outage','mapping_schema','pipeline_bug','other'])[1 + floor(r_cause * 5.15)::int] end,
      channel, (extract(epoch from opened_at)::bigint)::text || '.' || lpad((g % 1000000)::text, 6, '0'),
      case when coalesce(resolved_at, now()) - opened_at > resolve_window then opened_at + resolve_window end,
      case when state <> 'resolved' then opened_at + resolve_window end,
      opened_at, coalesce(resolved_at, opened_at)
    from (
      select *,
        case when live then (array['open','claimed','claimed','retrying'])[1 + floor(r_state * 4)::int]
             else 'resolved' end as state,
        case when live then r_state >= 0.25 else resolution0 = 'manual' or r_claim < 0.5 end as claimed,
        least(now(), opened_at + (1 + 60 * power(r_claim_t, 3)) * interval '1 minute') as claimed_at,
        case when not live then least(now(), opened_at
          + (1 + 60 * power(r_claim_t, 3) + 5 + 300 * power(r_res_t, 4)) * interval '1 minute') end as resolved_at,
        case when not live then resolution0 end as resolution
      from (
        select *,
          case when age < interval '2 hours' then r_live < 0.7
               when age < interval '1 day' then r_live < 0.1
               when age < interval '7 days' then r_live < 0.01
               else r_live < 0.0005 end as live,
          case when r_resolution < 0.35 then 'retry' when r_resolution < 0.55 then 'recovered'
               else 'manual' end as resolution0,
          case when target like 'ads.%' then 'ads-ops' when target like 'storefront.%' then 'storefront-ops'
               when target like 'marketplace.%' then 'marketplace-ops' else 'fulfillment-ops' end as role,
          case when target like 'ads.%' then 'C0ADS' when target like 'storefront.%' then 'C0STORE'
               when target like 'marketplace.%' then 'C0MARKET' else 'C0FULFILL' end as channel,
          case when target like 'ads.%' then 0 when target like 'storefront.%' then 1
               when target like 'marketplace.%' then 2 else 3 end as rule_index,
          case when target like 'ads.%' then interval '1 hour' else interval '2 hours' end as resolve_window,
          jsonb_build_object('eventId', 'evt-' || g, 'occurredAt', opened_at, 'client', client, 'sku', sku,
            'sourceSystem', source, 'targetSystem', target, 'operation', 'stock_update', 'failureMode', mode,
            'error', jsonb_build_object('message', 'Target rejected the stock update for ' || sku
              || ': upstream answered 429 Too Many Requests after 5 attempts', 'code', 'E' || (g % 97), 'httpStatus', 429),
            'attempts', 5, 'quantity', jsonb_build_object('expected', g % 50, 'observed', g % 47),
            'traceId', md5(g::text),
            'retry', jsonb_build_object('queue', 'inventory-sync', 'name', 'sync.stock',
              'data', jsonb_build_object('sku', sku, 'client', client))) as event
        from (
          select g, opened_at, now() - opened_at as age,
            'client-' || lpad(floor(80 * power(random(), 2))::int::text, 2, '0') as client,
            'SKU-' || floor(40000 * power(random(), 3))::int as sku,
            (array['erp.netsuite','erp.sap','wms.shipbob','pos.lightspeed'])[1 + floor(random() * 4)::int] as source,
            (array['storefront.shopify','ads.google-merchant','storefront.shopware','ads.meta-catalog',
              'marketplace.amazon','crm.hubspot','storefront.bigcommerce','ads.tiktok','marketplace.zalando',
              'pos.lightspeed','crm.salesforce','wms.shipbob'])[1 + floor(12 * power(random(), 1.6))::int] as target,
            (array['throttled','throttled','network','schema_mismatch','partial_write','auth','conflict','unknown'])[1 + floor(random() * 8)::int] as mode,
            (array['low','normal','normal','normal','high','high','critical'])[1 + floor(random() * 7)::int] as severity,
            1 + floor(power(random(), 4) * 20)::int as occurrences,
            'U0OP' || lpad(floor(random() * 30)::int::text, 2, '0') as claimer,
            random() as r_live, random() as r_state, random() as r_claim, random() as r_claim_t,
            random() as r_res_t, random() as r_resolution, random() as r_cause
          from (
            select g, now() - ((${n} - g)::float8 / ${n}) * interval '365 days' - random() * interval '50 minutes' as opened_at
            from generate_series(1, ${n}) g
          ) t0
        ) t1
      ) t2
    ) t3`,
    `insert into rejected_events (source_job_id, event_id, raw_text, errors, received_at, channel, card_ts,
      reviewed_by, reviewed_at)
    select 'job-' || g, 'evt-bad-' || g, '{"eventId":"evt-bad-' || g || '","sku":42}',
      '[{"path":"sku","message":"expected string"}]'::jsonb,
      now() - ((20000 - g)::float8 / 20000) * interval '365 days', 'C0FULFILL', '1700000000.' || lpad(g::text, 6, '0'),
      case when g < 19990 then 'U0OP01' end,
      case when g < 19990 then now() - ((20000 - g)::float8 / 20000) * interval '365 days' + interval '1 hour' end
    from generate_series(1, 20000) g`,
    `insert into routing_versions (version, text, content_hash, status, source, author, reason, break_glass,
      decided_by, decided_at, activated_at, created_at)
    select v, 'roles: {}', md5(v::text), case when v = 40 then 'active' else 'superseded' end, 'slack', 'U0OP01',
      'tune routing', v = 39, 'U0MGR', now() - (40 - v) * interval '9 days', now() - (40 - v) * interval '9 days',
      now() - (40 - v) * interval '9 days'
    from generate_series(1, 40) v`,
    "vacuum analyze exceptions",
    "vacuum analyze rejected_events",
    "vacuum analyze routing_versions",
  ];
}
