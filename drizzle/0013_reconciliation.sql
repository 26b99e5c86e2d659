CREATE TABLE "recon_deltas" (
	"run_id" integer NOT NULL,
	"sku" text NOT NULL,
	"class" text NOT NULL,
	"source_quantity" bigint,
	"consumer_quantity" bigint,
	"delta" bigint NOT NULL,
	CONSTRAINT "recon_deltas_run_id_sku_pk" PRIMARY KEY("run_id","sku")
);
--> statement-breakpoint
CREATE TABLE "recon_runs" (
	"id" serial PRIMARY KEY NOT NULL,
	"client" text NOT NULL,
	"system" text NOT NULL,
	"source_system" text NOT NULL,
	"outcome" text NOT NULL,
	"reason" text,
	"started_by" text NOT NULL,
	"source_snapshot_key" bigint,
	"consumer_snapshot_key" bigint,
	"routing_version" integer,
	"tolerance" integer DEFAULT 0 NOT NULL,
	"matched" bigint DEFAULT 0 NOT NULL,
	"mismatched" bigint DEFAULT 0 NOT NULL,
	"missing" bigint DEFAULT 0 NOT NULL,
	"unexpected" bigint DEFAULT 0 NOT NULL,
	"abs_delta_sum" bigint DEFAULT 0 NOT NULL,
	"delta_hash" text,
	"evidence" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"compare_ms" integer,
	"report_file_id" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "snapshot_items" (
	"snapshot_key" bigint NOT NULL,
	"sku" text NOT NULL,
	"quantity" bigint NOT NULL,
	"location" text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE "snapshot_parts" (
	"snapshot_key" bigint NOT NULL,
	"part" integer NOT NULL,
	"item_count" integer NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "snapshot_parts_snapshot_key_part_pk" PRIMARY KEY("snapshot_key","part")
);
--> statement-breakpoint
CREATE TABLE "snapshot_rejections" (
	"id" serial PRIMARY KEY NOT NULL,
	"snapshot_id" text,
	"client" text,
	"system" text,
	"part" integer,
	"reason" text NOT NULL,
	"detail" text NOT NULL,
	"job_id" text,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "snapshots" (
	"key" bigserial PRIMARY KEY NOT NULL,
	"id" text NOT NULL,
	"client" text NOT NULL,
	"system" text NOT NULL,
	"taken_at" timestamp with time zone NOT NULL,
	"parts" integer NOT NULL,
	"parts_received" integer DEFAULT 0 NOT NULL,
	"item_count" bigint DEFAULT 0 NOT NULL,
	"sku_count" bigint,
	"state" text DEFAULT 'receiving' NOT NULL,
	"reason" text,
	"content_hash" text,
	"first_part_at" timestamp with time zone DEFAULT now() NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "snapshots_id_unique" UNIQUE("id")
);
--> statement-breakpoint
ALTER TABLE "recon_deltas" ADD CONSTRAINT "recon_deltas_run_id_recon_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."recon_runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "snapshot_parts" ADD CONSTRAINT "snapshot_parts_snapshot_key_snapshots_key_fk" FOREIGN KEY ("snapshot_key") REFERENCES "public"."snapshots"("key") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "recon_runs_client_idx" ON "recon_runs" USING btree ("client","started_at");--> statement-breakpoint
CREATE INDEX "snapshot_items_snapshot_idx" ON "snapshot_items" USING btree ("snapshot_key");--> statement-breakpoint
CREATE INDEX "snapshot_rejections_received_idx" ON "snapshot_rejections" USING btree ("received_at");--> statement-breakpoint
CREATE INDEX "snapshots_latest_idx" ON "snapshots" USING btree ("client","system","state","taken_at");--> statement-breakpoint
CREATE INDEX "snapshots_receiving_idx" ON "snapshots" USING btree ("state","first_part_at");