CREATE TABLE "delivery_hours" (
	"hour" timestamp with time zone NOT NULL,
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
	CONSTRAINT "delivery_hours_hour_pipeline_client_target_system_pk" PRIMARY KEY("hour","pipeline","client","target_system")
);
--> statement-breakpoint
CREATE TABLE "delivery_inflight" (
	"event_id" text PRIMARY KEY NOT NULL,
	"pipeline" text NOT NULL,
	"client" text NOT NULL,
	"sku" text NOT NULL,
	"source_system" text NOT NULL,
	"target_system" text NOT NULL,
	"triggered_at" timestamp with time zone NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"deadline_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "delivery_minutes" (
	"minute" timestamp with time zone NOT NULL,
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
	CONSTRAINT "delivery_minutes_minute_pipeline_client_target_system_pk" PRIMARY KEY("minute","pipeline","client","target_system")
);
--> statement-breakpoint
CREATE TABLE "delivery_rejection_cards" (
	"day" text PRIMARY KEY NOT NULL,
	"channel" text,
	"card_ts" text,
	"drawn_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "delivery_rejections" (
	"source" text NOT NULL,
	"problem" text NOT NULL,
	"count" bigint NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"sample" text NOT NULL,
	CONSTRAINT "delivery_rejections_source_problem_pk" PRIMARY KEY("source","problem")
);
--> statement-breakpoint
CREATE TABLE "delivery_seen" (
	"event_id" text NOT NULL,
	"outcome" text NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	CONSTRAINT "delivery_seen_event_id_outcome_pk" PRIMARY KEY("event_id","outcome")
);
--> statement-breakpoint
CREATE INDEX "delivery_inflight_deadline" ON "delivery_inflight" USING btree ("deadline_at");--> statement-breakpoint
CREATE INDEX "delivery_inflight_started" ON "delivery_inflight" USING btree ("started_at");--> statement-breakpoint
CREATE INDEX "delivery_rejections_last_seen" ON "delivery_rejections" USING btree ("last_seen_at");--> statement-breakpoint
CREATE INDEX "delivery_seen_minute" ON "delivery_seen" USING btree ("minute");--> statement-breakpoint
CREATE INDEX "exceptions_resolved_window" ON "exceptions" USING btree ("resolved_at","client","source_system","target_system","created_at") WHERE state = 'resolved';