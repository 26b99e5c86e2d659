CREATE TABLE "audit_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"exception_id" bigint,
	"rejected_event_id" bigint,
	"actor" text NOT NULL,
	"source" text NOT NULL,
	"action" text NOT NULL,
	"state_before" text,
	"state_after" text,
	"note" text,
	"expected_outcome" text,
	"details" jsonb,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "exceptions" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"fingerprint" text NOT NULL,
	"client" text NOT NULL,
	"vertical" text,
	"sku" text NOT NULL,
	"source_system" text NOT NULL,
	"target_system" text NOT NULL,
	"operation" text NOT NULL,
	"failure_mode" text NOT NULL,
	"state" text DEFAULT 'open' NOT NULL,
	"severity" text NOT NULL,
	"role" text NOT NULL,
	"rule_index" integer NOT NULL,
	"routing_version" integer,
	"first_event" jsonb NOT NULL,
	"latest_event" jsonb NOT NULL,
	"occurrences" integer DEFAULT 1 NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL,
	"opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"reopen_of" bigint,
	"claimed_by" text,
	"claimed_at" timestamp with time zone,
	"retry_count" integer DEFAULT 0 NOT NULL,
	"retry_job_id" text,
	"retry_queue" text,
	"retry_requested_by" text,
	"last_retry_error" text,
	"resolved_by" text,
	"resolved_at" timestamp with time zone,
	"resolution" text,
	"resolution_note" text,
	"root_cause" text,
	"channel" text NOT NULL,
	"card_ts" text,
	"next_deadline_at" timestamp with time zone,
	"breached_at" timestamp with time zone,
	"escalations" integer DEFAULT 0 NOT NULL,
	"sla_fired" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "failure_events" (
	"event_id" text PRIMARY KEY NOT NULL,
	"exception_id" bigint NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"payload" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rejected_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source_job_id" text NOT NULL,
	"event_id" text,
	"raw_text" text NOT NULL,
	"errors" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"channel" text,
	"card_ts" text,
	"reviewed_by" text,
	"reviewed_at" timestamp with time zone,
	CONSTRAINT "rejected_events_source_job_id_unique" UNIQUE("source_job_id")
);
--> statement-breakpoint
CREATE TABLE "routing_versions" (
	"version" integer PRIMARY KEY NOT NULL,
	"text" text NOT NULL,
	"content_hash" text NOT NULL,
	"status" text NOT NULL,
	"source" text NOT NULL,
	"author" text NOT NULL,
	"reason" text NOT NULL,
	"rollback_of" integer,
	"break_glass" boolean DEFAULT false NOT NULL,
	"decided_by" text,
	"decided_at" timestamp with time zone,
	"decision_note" text,
	"activated_at" timestamp with time zone,
	"approval_channel" text,
	"approval_ts" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_exception_id_exceptions_id_fk" FOREIGN KEY ("exception_id") REFERENCES "public"."exceptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_rejected_event_id_rejected_events_id_fk" FOREIGN KEY ("rejected_event_id") REFERENCES "public"."rejected_events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "failure_events" ADD CONSTRAINT "failure_events_exception_id_exceptions_id_fk" FOREIGN KEY ("exception_id") REFERENCES "public"."exceptions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "audit_exception" ON "audit_log" USING btree ("exception_id","at");--> statement-breakpoint
CREATE INDEX "audit_action_at" ON "audit_log" USING btree ("action","at");--> statement-breakpoint
CREATE UNIQUE INDEX "exceptions_live_fingerprint" ON "exceptions" USING btree ("fingerprint") WHERE state <> 'resolved';--> statement-breakpoint
CREATE INDEX "exceptions_fingerprint" ON "exceptions" USING btree ("fingerprint","opened_at");--> statement-breakpoint
CREATE INDEX "exceptions_role_state" ON "exceptions" USING btree ("role","state");--> statement-breakpoint
CREATE INDEX "exceptions_opened_at" ON "exceptions" USING btree ("opened_at");--> statement-breakpoint
CREATE INDEX "exceptions_client_opened" ON "exceptions" USING btree ("client","opened_at");--> statement-breakpoint
CREATE INDEX "exceptions_claimed_by" ON "exceptions" USING btree ("claimed_by") WHERE state <> 'resolved';--> statement-breakpoint
CREATE INDEX "exceptions_next_deadline" ON "exceptions" USING btree ("next_deadline_at") WHERE state <> 'resolved';--> statement-breakpoint
CREATE INDEX "exceptions_card" ON "exceptions" USING btree ("channel","card_ts");--> statement-breakpoint
CREATE INDEX "failure_events_exception" ON "failure_events" USING btree ("exception_id");--> statement-breakpoint
CREATE INDEX "rejected_events_received" ON "rejected_events" USING btree ("received_at");--> statement-breakpoint
CREATE UNIQUE INDEX "routing_single_active" ON "routing_versions" USING btree ("status") WHERE status = 'active';