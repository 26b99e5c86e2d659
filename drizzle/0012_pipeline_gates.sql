CREATE TABLE "pipeline_watch" (
	"pipeline" text PRIMARY KEY NOT NULL,
	"watched_since" timestamp with time zone NOT NULL,
	"stale_timer_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "delivery_inflight" ADD COLUMN "gated_at" timestamp with time zone;