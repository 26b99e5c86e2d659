CREATE TABLE "window_figure_snapshots" (
	"window_ms" bigint NOT NULL,
	"time_zone" text NOT NULL,
	"computed_at" timestamp with time zone NOT NULL,
	"figures" jsonb NOT NULL,
	CONSTRAINT "window_figure_snapshots_window_ms_time_zone_pk" PRIMARY KEY("window_ms","time_zone")
);
