CREATE TABLE "home_viewers" (
	"user_id" text PRIMARY KEY NOT NULL,
	"first_opened_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_opened_at" timestamp with time zone DEFAULT now() NOT NULL
);
