ALTER TABLE "runs" ADD COLUMN "state" jsonb;--> statement-breakpoint
ALTER TABLE "step_metrics" ADD COLUMN "recipe" jsonb;