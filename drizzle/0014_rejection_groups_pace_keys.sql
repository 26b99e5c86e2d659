CREATE TABLE "rejection_groups" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"producer" text NOT NULL,
	"problem" text NOT NULL,
	"role" text NOT NULL,
	"channel" text NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"sample" text NOT NULL,
	"details" text DEFAULT '' NOT NULL,
	"last_rejected_id" bigint,
	"card_ts" text,
	"card_channel" text,
	"reviewed_by" text,
	"reviewed_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "rejected_events" ADD COLUMN "group_id" bigint;--> statement-breakpoint
ALTER TABLE "slack_outbox" ADD COLUMN "pace_key" text;--> statement-breakpoint
CREATE UNIQUE INDEX "rejection_groups_open" ON "rejection_groups" USING btree ("kind","producer","problem") WHERE reviewed_at is null;--> statement-breakpoint
CREATE INDEX "rejection_groups_last_seen" ON "rejection_groups" USING btree ("last_seen_at");--> statement-breakpoint
CREATE INDEX "rejected_events_group" ON "rejected_events" USING btree ("group_id");