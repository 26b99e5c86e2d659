CREATE TABLE "delivery_wal_marks" (
	"stream" text PRIMARY KEY NOT NULL,
	"last_id" text NOT NULL,
	"follow_up_by" text,
	"follow_up_until" timestamp with time zone
);
