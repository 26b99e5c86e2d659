CREATE TABLE "digest_deliveries" (
	"digest_key" text NOT NULL,
	"target" text NOT NULL,
	"role" text NOT NULL,
	"ts" text,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "digest_deliveries_digest_key_target_role_pk" PRIMARY KEY("digest_key","target","role")
);
--> statement-breakpoint
ALTER TABLE "exceptions" ADD COLUMN "first_claimed_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "exceptions_window" ON "exceptions" USING btree ("opened_at","role","client","state","first_claimed_at","resolved_at","breached_at","resolution","target_system","sku","occurrences");--> statement-breakpoint
CREATE INDEX "exceptions_live_role" ON "exceptions" USING btree ("role","state","opened_at") WHERE state <> 'resolved';--> statement-breakpoint
CREATE INDEX "exceptions_manual_no_cause" ON "exceptions" USING btree ("resolved_at") WHERE resolution = 'manual' and root_cause is null;--> statement-breakpoint
-- Backfill: the first claim of each existing episode, from the audit trail (else the current claim).
UPDATE "exceptions" e SET "first_claimed_at" = c.at FROM (SELECT "exception_id", min("at") AS at FROM "audit_log" WHERE "action" = 'claim' GROUP BY "exception_id") c WHERE c."exception_id" = e."id";--> statement-breakpoint
UPDATE "exceptions" SET "first_claimed_at" = "claimed_at" WHERE "first_claimed_at" IS NULL AND "claimed_at" IS NOT NULL;
