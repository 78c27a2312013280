-- Reward logs: covering indexes for the dashboard's aggregates, and the schema documented in the
-- database itself (docs/reward-logs.md says the same at more length). Written by hand: drizzle-kit
-- knows neither INCLUDE columns nor comments; the indexes keep their names and key columns, so the
-- schema snapshot still matches.
--
-- The business keys gain INCLUDE columns, so the per-step aggregates (group by step, env, task) and
-- the per-checker stats read the indexes only, never the wide rollout rows (token ids, log-probs).
DROP INDEX IF EXISTS "rollouts_business_key";--> statement-breakpoint
CREATE UNIQUE INDEX "rollouts_business_key" ON "rollouts" ("run_id", "phase", "step", "env", "task_id", "sample") INCLUDE ("id", "status", "reward", "completion_tokens", "thinking_tokens", "finish_reason", "policy_version");--> statement-breakpoint
DROP INDEX IF EXISTS "rewards_business_key";--> statement-breakpoint
CREATE UNIQUE INDEX "rewards_business_key" ON "rewards" ("rollout_id", "checker") INCLUDE ("status", "value");--> statement-breakpoint
COMMENT ON TABLE "runs" IS 'One RL run: a Temporal rlRun workflow (id = workflow id). Joins: tasks, rollouts, step_metrics, policy_versions and events on run_id.';--> statement-breakpoint
COMMENT ON COLUMN "runs"."id" IS 'Run id = the rlRun workflow id (the Temporal UI lists it).';--> statement-breakpoint
COMMENT ON COLUMN "runs"."name" IS 'config.name: the name the run config gives.';--> statement-breakpoint
COMMENT ON COLUMN "runs"."status" IS 'running | completed | stopped | failed | terminated | cancelled | timed_out: how the workflow really ended (reconciled with Temporal).';--> statement-breakpoint
COMMENT ON COLUMN "runs"."config" IS 'The validated run config (workflows/config.ts): environments, algorithm, sampling, steps.';--> statement-breakpoint
COMMENT ON COLUMN "runs"."state" IS 'The workflow''s carried state after the last trained step (step, policy version, task cursors, mixture): a run started again under the same id resumes from it. Null before the first step.';--> statement-breakpoint
COMMENT ON COLUMN "runs"."created_at" IS 'When the run started.';--> statement-breakpoint
COMMENT ON COLUMN "runs"."updated_at" IS 'Last status change.';--> statement-breakpoint
COMMENT ON TABLE "tasks" IS 'Tasks a run sampled, once each: rollouts reference them by (run_id, env, task_id).';--> statement-breakpoint
COMMENT ON COLUMN "tasks"."run_id" IS 'The run (runs.id).';--> statement-breakpoint
COMMENT ON COLUMN "tasks"."env" IS 'Environment name (math, code-sandbox, tool-use, long-context, or a plugin).';--> statement-breakpoint
COMMENT ON COLUMN "tasks"."task_id" IS 'The environment''s id of the task, unique within (run_id, env).';--> statement-breakpoint
COMMENT ON COLUMN "tasks"."data" IS 'The task as the environment stores it (question, reference answer, tests, tools, …); very long contexts are blob keys.';--> statement-breakpoint
COMMENT ON COLUMN "tasks"."created_at" IS 'When the task was first sampled by the run.';--> statement-breakpoint
COMMENT ON TABLE "rollouts" IS 'One sampled trajectory: sample 0..G-1 of a group (a task at a step). Training rollouts have phase = ''train''; step is 1-based (step N is sampled with policy version N-1 and trained on in update N). Unique on (run_id, phase, step, env, task_id, sample).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."id" IS 'Rollout id; rewards.rollout_id refers to it.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."run_id" IS 'The run (runs.id).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."step" IS '1-based training step that sampled it (for eval phases: the step whose policy was evaluated).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."env" IS 'Environment name; with task_id it joins tasks.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."task_id" IS 'The task (tasks.task_id within run_id and env); the group is (run_id, phase, step, env, task_id).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."sample" IS 'Index of the sample within its group, 0..G-1.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."status" IS 'ok | checker_error | infra_error | rejected. Only ok rollouts have a reward and enter the training batch.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."error" IS 'Why the rollout is not ok (for a checker failure: "<component>: <what failed>").';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."phase" IS '''train'' for training rollouts, ''eval:<step>'' for an evaluation run at that step. Filter on it: evaluations share the table.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."policy_version" IS 'Policy version that sampled it (number of updates applied before; step - 1 for training).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."completion" IS 'Everything the model wrote (assistant turns joined); what the checkers score, reasoning included (they read the answer after </think>).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."turns" IS 'The conversation as a JSON array of {role, content, …}: system, user, assistant and tool turns.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."prompt_token_ids" IS 'Prompt token ids (JSON array), for rebuilding the training batch.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."completion_token_ids" IS 'Completion token ids (JSON array); tool-output tokens included and masked out by completion_mask.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."logprobs" IS 'Sampling-policy log-probability per completion token (JSON array, nats; 0 where the mask is 0).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."completion_mask" IS '1 for tokens the model wrote, 0 for tool output (JSON array); null means all 1.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."prompt_tokens" IS 'Prompt length, tokens.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."completion_tokens" IS 'Completion length, tokens (tool output included).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."thinking_tokens" IS 'Tokens of reasoning (inside <think>…</think>).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."finish_reason" IS 'stop | length | …: length means cut at the token limit (truncated).';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."reasoning_budget" IS 'Reasoning budget (tokens) the sample was drawn with, if any.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."reward" IS 'Total reward: sum over rewards of weight * value; null unless status = ok.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."advantage" IS 'Group-relative advantage used in training (GRPO / Dr. GRPO), filled when the step''s batch is built.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."extra" IS 'Environment-specific extras (JSON), e.g. tool-call traces.';--> statement-breakpoint
COMMENT ON COLUMN "rollouts"."created_at" IS 'When it was written.';--> statement-breakpoint
COMMENT ON TABLE "rewards" IS 'One reward component of one rollout: one row per checker of the environment''s reward list. Joins rollouts on rewards.rollout_id = rollouts.id. Unique on (rollout_id, checker).';--> statement-breakpoint
COMMENT ON COLUMN "rewards"."id" IS 'Row id.';--> statement-breakpoint
COMMENT ON COLUMN "rewards"."rollout_id" IS 'The rollout (rollouts.id).';--> statement-breakpoint
COMMENT ON COLUMN "rewards"."checker" IS 'Component name: the checker''s name, or the reward spec''s name when it gives one.';--> statement-breakpoint
COMMENT ON COLUMN "rewards"."weight" IS 'Weight of the component in the total reward.';--> statement-breakpoint
COMMENT ON COLUMN "rewards"."status" IS 'ok | not_applicable | checker_error | infra_error. A failed checker has no value; not_applicable has value 0 and counts as answered.';--> statement-breakpoint
COMMENT ON COLUMN "rewards"."value" IS 'The checker''s value before the weight; null when it failed.';--> statement-breakpoint
COMMENT ON COLUMN "rewards"."error" IS 'What failed, for checker_error and infra_error.';--> statement-breakpoint
COMMENT ON COLUMN "rewards"."details" IS 'The checker''s own account (JSON): extracted answer, reference, reason, tests passed, …';--> statement-breakpoint
COMMENT ON TABLE "step_metrics" IS 'One row per trained step: the policy worker''s train metrics and the per-environment reward stats of the batch. Joins rollouts on (run_id, step) with phase = ''train''.';--> statement-breakpoint
COMMENT ON COLUMN "step_metrics"."run_id" IS 'The run (runs.id).';--> statement-breakpoint
COMMENT ON COLUMN "step_metrics"."step" IS '1-based step; its row appears once the update is done (the run''s progress shows the last such step).';--> statement-breakpoint
COMMENT ON COLUMN "step_metrics"."policy_version" IS 'Policy version after the update.';--> statement-breakpoint
COMMENT ON COLUMN "step_metrics"."train" IS 'The worker''s TrainMetrics (JSON): loss, kl (k3, to the reference policy), clip_frac_low, clip_frac_high, entropy (nats), grad_norm, tokens, seconds, learning_rate.';--> statement-breakpoint
COMMENT ON COLUMN "step_metrics"."envs" IS 'Per environment (JSON): meanReward, passRate, rollouts, groups, zeroVarianceGroups, droppedGroups, checkerErrors, infraErrors, rejected.';--> statement-breakpoint
COMMENT ON COLUMN "step_metrics"."recipe" IS 'How the step''s batch was built (algorithm, environment weights, dynamic sampling), to replay the same update on a worker that lost it.';--> statement-breakpoint
COMMENT ON COLUMN "step_metrics"."created_at" IS 'When the step finished.';--> statement-breakpoint
COMMENT ON TABLE "policy_versions" IS 'Policy versions a run produced, with the checkpoint saved for it if any.';--> statement-breakpoint
COMMENT ON COLUMN "policy_versions"."run_id" IS 'The run (runs.id).';--> statement-breakpoint
COMMENT ON COLUMN "policy_versions"."version" IS 'Policy version (0 = the initial weights).';--> statement-breakpoint
COMMENT ON COLUMN "policy_versions"."step" IS 'Step whose update produced it.';--> statement-breakpoint
COMMENT ON COLUMN "policy_versions"."checkpoint_path" IS 'Checkpoint directory on the policy worker''s host, if saved.';--> statement-breakpoint
COMMENT ON COLUMN "policy_versions"."created_at" IS 'When it was recorded.';--> statement-breakpoint
COMMENT ON TABLE "events" IS 'Run events: evaluations (kind eval), checkpoints, stops, the run''s end. Unique on (run_id, key).';--> statement-breakpoint
COMMENT ON COLUMN "events"."id" IS 'Row id.';--> statement-breakpoint
COMMENT ON COLUMN "events"."run_id" IS 'The run (runs.id).';--> statement-breakpoint
COMMENT ON COLUMN "events"."step" IS 'Step at which it happened.';--> statement-breakpoint
COMMENT ON COLUMN "events"."kind" IS 'eval | checkpoint | checkpoint_pruned | stop | run_end | …';--> statement-breakpoint
COMMENT ON COLUMN "events"."key" IS 'Idempotency key (e.g. eval:10), unique per run.';--> statement-breakpoint
COMMENT ON COLUMN "events"."data" IS 'The event''s payload (JSON): eval results per environment, checkpoint path, failure message, …';--> statement-breakpoint
COMMENT ON COLUMN "events"."created_at" IS 'When it was recorded.';
