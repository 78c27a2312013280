ALTER TABLE "rewards" ALTER COLUMN "value" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "rollouts" ALTER COLUMN "reward" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "rewards" ADD COLUMN "status" text DEFAULT 'ok' NOT NULL;--> statement-breakpoint
ALTER TABLE "rewards" ADD COLUMN "error" text;--> statement-breakpoint
UPDATE "rewards" SET "status" = 'not_applicable' WHERE "details"->>'applicable' = 'false';--> statement-breakpoint
UPDATE "rollouts" SET "reward" = NULL WHERE "status" <> 'ok';
