CREATE TABLE "slack_outbox" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"lane" text NOT NULL,
	"kind" text NOT NULL,
	"dedupe_key" text,
	"exception_id" bigint,
	"channel" text,
	"in_card_thread" boolean DEFAULT false NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"not_before" timestamp with time zone DEFAULT now() NOT NULL,
	"attempt_started_at" timestamp with time zone,
	"last_error" text,
	"result_channel" text,
	"result_ts" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	CONSTRAINT "slack_outbox_dedupe_key_unique" UNIQUE("dedupe_key")
);
--> statement-breakpoint
ALTER TABLE "slack_outbox" ADD CONSTRAINT "slack_outbox_exception_id_exceptions_id_fk" FOREIGN KEY ("exception_id") REFERENCES "public"."exceptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "slack_outbox_pending" ON "slack_outbox" USING btree ("lane","id") WHERE state = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "slack_outbox_pending_card" ON "slack_outbox" USING btree ("exception_id") WHERE kind = 'card' and state = 'pending';--> statement-breakpoint
CREATE INDEX "slack_outbox_sent_at" ON "slack_outbox" USING btree ("sent_at") WHERE state = 'sent';