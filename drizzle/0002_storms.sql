CREATE TABLE "storms" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"key" text NOT NULL,
	"client" text NOT NULL,
	"target_system" text NOT NULL,
	"failure_mode" text NOT NULL,
	"role" text NOT NULL,
	"channel" text NOT NULL,
	"state" text DEFAULT 'open' NOT NULL,
	"formed_at" timestamp with time zone NOT NULL,
	"last_member_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"claimed_by" text,
	"claimed_at" timestamp with time zone,
	"resolved_by" text,
	"resolved_at" timestamp with time zone,
	"resolution_note" text,
	"root_cause" text,
	"card_ts" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "exceptions" ADD COLUMN "storm_id" bigint;--> statement-breakpoint
CREATE UNIQUE INDEX "storms_open_key" ON "storms" USING btree ("key") WHERE state = 'open';--> statement-breakpoint
CREATE INDEX "storms_role_state" ON "storms" USING btree ("role","state");--> statement-breakpoint
ALTER TABLE "exceptions" ADD CONSTRAINT "exceptions_storm_id_storms_id_fk" FOREIGN KEY ("storm_id") REFERENCES "public"."storms"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "exceptions_storm" ON "exceptions" USING btree ("storm_id") WHERE storm_id is not null;--> statement-breakpoint
CREATE INDEX "exceptions_storm_key" ON "exceptions" USING btree ("client","target_system","failure_mode","role","opened_at");