CREATE TABLE "producers" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text,
	"token_sha256" text NOT NULL,
	"token_hint" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_by" text NOT NULL,
	"revoked_at" timestamp with time zone,
	"revoked_by" text
);
--> statement-breakpoint
ALTER TABLE "rejected_events" ADD COLUMN "producer" text;--> statement-breakpoint
CREATE UNIQUE INDEX "producers_token_sha256" ON "producers" USING btree ("token_sha256");--> statement-breakpoint
CREATE UNIQUE INDEX "producers_live_name" ON "producers" USING btree ("name") WHERE revoked_at is null;--> statement-breakpoint
CREATE INDEX "producers_name" ON "producers" USING btree ("name");