DROP INDEX "slack_outbox_pending";--> statement-breakpoint
CREATE INDEX "slack_outbox_open" ON "slack_outbox" USING btree ("lane","id") WHERE state in ('pending', 'sending');