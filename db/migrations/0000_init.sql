CREATE TABLE "events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"step" integer NOT NULL,
	"kind" text NOT NULL,
	"key" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "policy_versions" (
	"run_id" text NOT NULL,
	"version" integer NOT NULL,
	"step" integer NOT NULL,
	"checkpoint_path" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "policy_versions_run_id_version_pk" PRIMARY KEY("run_id","version")
);
--> statement-breakpoint
CREATE TABLE "rewards" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"rollout_id" bigint NOT NULL,
	"checker" text NOT NULL,
	"weight" double precision NOT NULL,
	"value" double precision NOT NULL,
	"details" jsonb NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rollouts" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"run_id" text NOT NULL,
	"step" integer NOT NULL,
	"env" text NOT NULL,
	"task_id" text NOT NULL,
	"sample" integer NOT NULL,
	"status" text NOT NULL,
	"error" text,
	"phase" text DEFAULT 'train' NOT NULL,
	"policy_version" integer NOT NULL,
	"completion" text NOT NULL,
	"turns" jsonb NOT NULL,
	"prompt_token_ids" jsonb NOT NULL,
	"completion_token_ids" jsonb NOT NULL,
	"logprobs" jsonb NOT NULL,
	"completion_mask" jsonb,
	"prompt_tokens" integer NOT NULL,
	"completion_tokens" integer NOT NULL,
	"thinking_tokens" integer DEFAULT 0 NOT NULL,
	"finish_reason" text NOT NULL,
	"reasoning_budget" integer,
	"reward" double precision NOT NULL,
	"advantage" double precision,
	"extra" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "runs" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"config" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "step_metrics" (
	"run_id" text NOT NULL,
	"step" integer NOT NULL,
	"policy_version" integer NOT NULL,
	"train" jsonb NOT NULL,
	"envs" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "step_metrics_run_id_step_pk" PRIMARY KEY("run_id","step")
);
--> statement-breakpoint
CREATE TABLE "tasks" (
	"run_id" text NOT NULL,
	"env" text NOT NULL,
	"task_id" text NOT NULL,
	"data" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tasks_run_id_env_task_id_pk" PRIMARY KEY("run_id","env","task_id")
);
--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "policy_versions" ADD CONSTRAINT "policy_versions_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rewards" ADD CONSTRAINT "rewards_rollout_id_rollouts_id_fk" FOREIGN KEY ("rollout_id") REFERENCES "public"."rollouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollouts" ADD CONSTRAINT "rollouts_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "step_metrics" ADD CONSTRAINT "step_metrics_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "tasks" ADD CONSTRAINT "tasks_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "events_business_key" ON "events" USING btree ("run_id","key");--> statement-breakpoint
CREATE UNIQUE INDEX "rewards_business_key" ON "rewards" USING btree ("rollout_id","checker");--> statement-breakpoint
CREATE UNIQUE INDEX "rollouts_business_key" ON "rollouts" USING btree ("run_id","phase","step","env","task_id","sample");--> statement-breakpoint
CREATE INDEX "rollouts_run_step" ON "rollouts" USING btree ("run_id","step");