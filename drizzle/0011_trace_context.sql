ALTER TABLE "exceptions" ADD COLUMN "trace_context" text;--> statement-breakpoint
ALTER TABLE "slack_outbox" ADD COLUMN "trace_context" text;