CREATE TABLE "delivery_days" (
	"day" timestamp with time zone NOT NULL,
	"pipeline" text NOT NULL,
	"client" text NOT NULL,
	"target_system" text NOT NULL,
	"deliveries" bigint DEFAULT 0 NOT NULL,
	"failures" bigint DEFAULT 0 NOT NULL,
	"clamped" bigint DEFAULT 0 NOT NULL,
	"duplicates" bigint DEFAULT 0 NOT NULL,
	"timed" bigint DEFAULT 0 NOT NULL,
	"sum_ms" double precision DEFAULT 0 NOT NULL,
	"max_ms" double precision,
	"sketch" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"last_delivered_at" timestamp with time zone,
	CONSTRAINT "delivery_days_day_pipeline_client_target_system_pk" PRIMARY KEY("day","pipeline","client","target_system")
);
--> statement-breakpoint
-- Day rows for the hours already recorded, so long windows keep their history after upgrading.
INSERT INTO "delivery_days" ("day", "pipeline", "client", "target_system", "deliveries", "failures",
  "clamped", "duplicates", "timed", "sum_ms", "max_ms", "sketch", "last_delivered_at")
SELECT t.day, t.pipeline, t.client, t.target_system, t.deliveries, t.failures, t.clamped,
  t.duplicates, t.timed, t.sum_ms, t.max_ms, coalesce(s.sketch, '{}'::jsonb), t.last_delivered_at
FROM (
  SELECT date_bin('1 day', "hour", timestamptz '1970-01-01 00:00:00+00') AS day, pipeline, client,
    target_system, sum(deliveries) AS deliveries, sum(failures) AS failures,
    sum(clamped) AS clamped, sum(duplicates) AS duplicates, sum(timed) AS timed,
    sum(sum_ms) AS sum_ms, max(max_ms) AS max_ms, max(last_delivered_at) AS last_delivered_at
  FROM "delivery_hours" GROUP BY 1, 2, 3, 4
) t
LEFT JOIN (
  SELECT day, pipeline, client, target_system, jsonb_object_agg(k, n) AS sketch
  FROM (
    SELECT date_bin('1 day', h."hour", timestamptz '1970-01-01 00:00:00+00') AS day, h.pipeline,
      h.client, h.target_system, e.key AS k, sum(e.value::bigint) AS n
    FROM "delivery_hours" h, jsonb_each_text(h.sketch) e GROUP BY 1, 2, 3, 4, 5
  ) keys GROUP BY 1, 2, 3, 4
) s USING (day, pipeline, client, target_system);
