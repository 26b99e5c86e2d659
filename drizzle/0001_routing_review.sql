ALTER TABLE "routing_versions" ADD COLUMN "base_version" integer;--> statement-breakpoint
ALTER TABLE "routing_versions" ADD COLUMN "review" jsonb;