CREATE TABLE "group_checker_stats" (
	"run_id" text NOT NULL,
	"phase" text NOT NULL,
	"step" integer NOT NULL,
	"env" text NOT NULL,
	"task_id" text NOT NULL,
	"checker" text NOT NULL,
	"n" integer NOT NULL,
	"n_value" integer NOT NULL,
	"sum_value" double precision NOT NULL,
	"n_pass" integer NOT NULL,
	"not_applicable" integer NOT NULL,
	"checker_errors" integer NOT NULL,
	"infra_errors" integer NOT NULL,
	CONSTRAINT "group_checker_stats_run_id_phase_step_env_task_id_checker_pk" PRIMARY KEY("run_id","phase","step","env","task_id","checker")
);
--> statement-breakpoint
CREATE TABLE "group_stats" (
	"run_id" text NOT NULL,
	"phase" text NOT NULL,
	"step" integer NOT NULL,
	"env" text NOT NULL,
	"task_id" text NOT NULL,
	"n" integer NOT NULL,
	"n_ok" integer NOT NULL,
	"n_pass" integer NOT NULL,
	"sum_reward" double precision NOT NULL,
	"sum_reward2" double precision NOT NULL,
	"min_reward" double precision,
	"max_reward" double precision,
	"sum_completion_tokens" bigint NOT NULL,
	"max_completion_tokens" integer NOT NULL,
	"sum_thinking_tokens" bigint NOT NULL,
	"truncated" integer NOT NULL,
	"checker_errors" integer NOT NULL,
	"infra_errors" integer NOT NULL,
	"rejected" integer NOT NULL,
	CONSTRAINT "group_stats_run_id_phase_step_env_task_id_pk" PRIMARY KEY("run_id","phase","step","env","task_id")
);
--> statement-breakpoint
ALTER TABLE "group_checker_stats" ADD CONSTRAINT "group_checker_stats_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "group_stats" ADD CONSTRAINT "group_stats_run_id_runs_id_fk" FOREIGN KEY ("run_id") REFERENCES "public"."runs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Written by hand below: drizzle-kit knows neither functions nor triggers. The two summary tables
-- are kept by statement-level triggers with transition tables, so every writer (the activities, a
-- re-score, a test's seed, psql) keeps them exact in the same transaction. Inserted rows are added
-- to their group's row (sums, counts, least/greatest: no read of the table); an update or a delete
-- recomputes each group it touched from its rollouts, one group at a time through the business
-- keys' indexes. Every statement names its group by equality or a LATERAL lookup kept as one (OFFSET 0
-- stops the planner flattening it into a join), and the functions run with enable_seqscan off: a
-- plan cached by a pooled session while the tables were small (a seq scan and a hash join then look
-- cheapest) would otherwise scan the whole table for every group once it has grown.
CREATE FUNCTION "multigym_recompute_group"(k_run text, k_phase text, k_step int, k_env text, k_task text, with_checkers boolean) RETURNS void LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  DELETE FROM group_stats g
   WHERE g.run_id = k_run AND g.phase = k_phase AND g.step = k_step AND g.env = k_env AND g.task_id = k_task;
  INSERT INTO group_stats (run_id, phase, step, env, task_id, n, n_ok, n_pass, sum_reward, sum_reward2, min_reward, max_reward,
      sum_completion_tokens, max_completion_tokens, sum_thinking_tokens, truncated, checker_errors, infra_errors, rejected)
  SELECT k_run, k_phase, k_step, k_env, k_task, count(*),
      count(*) FILTER (WHERE r.status = 'ok'),
      count(*) FILTER (WHERE r.status = 'ok' AND r.reward >= 1 - 1e-6),
      coalesce(sum(r.reward) FILTER (WHERE r.status = 'ok'), 0),
      coalesce(sum(r.reward * r.reward) FILTER (WHERE r.status = 'ok'), 0),
      min(r.reward) FILTER (WHERE r.status = 'ok'), max(r.reward) FILTER (WHERE r.status = 'ok'),
      sum(r.completion_tokens), max(r.completion_tokens), sum(r.thinking_tokens),
      count(*) FILTER (WHERE r.finish_reason = 'length'),
      count(*) FILTER (WHERE r.status = 'checker_error'),
      count(*) FILTER (WHERE r.status = 'infra_error'),
      count(*) FILTER (WHERE r.status = 'rejected')
    FROM rollouts r
   WHERE r.run_id = k_run AND r.phase = k_phase AND r.step = k_step AND r.env = k_env AND r.task_id = k_task
  HAVING count(*) > 0;
  IF NOT with_checkers THEN RETURN; END IF;
  DELETE FROM group_checker_stats g
   WHERE g.run_id = k_run AND g.phase = k_phase AND g.step = k_step AND g.env = k_env AND g.task_id = k_task;
  INSERT INTO group_checker_stats (run_id, phase, step, env, task_id, checker, n, n_value, sum_value, n_pass,
      not_applicable, checker_errors, infra_errors)
  SELECT k_run, k_phase, k_step, k_env, k_task, w.checker,
      count(*) FILTER (WHERE w.status IN ('ok', 'not_applicable')),
      count(w.value) FILTER (WHERE w.status IN ('ok', 'not_applicable')),
      coalesce(sum(w.value) FILTER (WHERE w.status IN ('ok', 'not_applicable')), 0),
      count(*) FILTER (WHERE w.status IN ('ok', 'not_applicable') AND w.value >= 1 - 1e-6),
      count(*) FILTER (WHERE w.status = 'not_applicable'),
      count(*) FILTER (WHERE w.status = 'checker_error'),
      count(*) FILTER (WHERE w.status = 'infra_error')
    FROM rollouts r JOIN rewards w ON w.rollout_id = r.id
   WHERE r.run_id = k_run AND r.phase = k_phase AND r.step = k_step AND r.env = k_env AND r.task_id = k_task
   GROUP BY w.checker;
END $$;--> statement-breakpoint
CREATE FUNCTION "multigym_rollouts_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO group_stats AS g (run_id, phase, step, env, task_id, n, n_ok, n_pass, sum_reward, sum_reward2, min_reward, max_reward,
      sum_completion_tokens, max_completion_tokens, sum_thinking_tokens, truncated, checker_errors, infra_errors, rejected)
  SELECT r.run_id, r.phase, r.step, r.env, r.task_id, count(*),
      count(*) FILTER (WHERE r.status = 'ok'),
      count(*) FILTER (WHERE r.status = 'ok' AND r.reward >= 1 - 1e-6),
      coalesce(sum(r.reward) FILTER (WHERE r.status = 'ok'), 0),
      coalesce(sum(r.reward * r.reward) FILTER (WHERE r.status = 'ok'), 0),
      min(r.reward) FILTER (WHERE r.status = 'ok'), max(r.reward) FILTER (WHERE r.status = 'ok'),
      sum(r.completion_tokens), max(r.completion_tokens), sum(r.thinking_tokens),
      count(*) FILTER (WHERE r.finish_reason = 'length'),
      count(*) FILTER (WHERE r.status = 'checker_error'),
      count(*) FILTER (WHERE r.status = 'infra_error'),
      count(*) FILTER (WHERE r.status = 'rejected')
    FROM new_rows r
   GROUP BY r.run_id, r.phase, r.step, r.env, r.task_id
  ON CONFLICT (run_id, phase, step, env, task_id) DO UPDATE SET
      n = g.n + excluded.n, n_ok = g.n_ok + excluded.n_ok, n_pass = g.n_pass + excluded.n_pass,
      sum_reward = g.sum_reward + excluded.sum_reward, sum_reward2 = g.sum_reward2 + excluded.sum_reward2,
      min_reward = least(g.min_reward, excluded.min_reward), max_reward = greatest(g.max_reward, excluded.max_reward),
      sum_completion_tokens = g.sum_completion_tokens + excluded.sum_completion_tokens,
      max_completion_tokens = greatest(g.max_completion_tokens, excluded.max_completion_tokens),
      sum_thinking_tokens = g.sum_thinking_tokens + excluded.sum_thinking_tokens,
      truncated = g.truncated + excluded.truncated, checker_errors = g.checker_errors + excluded.checker_errors,
      infra_errors = g.infra_errors + excluded.infra_errors, rejected = g.rejected + excluded.rejected;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION "multigym_rewards_inserted"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
BEGIN
  INSERT INTO group_checker_stats AS g (run_id, phase, step, env, task_id, checker, n, n_value, sum_value, n_pass,
      not_applicable, checker_errors, infra_errors)
  SELECT r.run_id, r.phase, r.step, r.env, r.task_id, w.checker,
      count(*) FILTER (WHERE w.status IN ('ok', 'not_applicable')),
      count(w.value) FILTER (WHERE w.status IN ('ok', 'not_applicable')),
      coalesce(sum(w.value) FILTER (WHERE w.status IN ('ok', 'not_applicable')), 0),
      count(*) FILTER (WHERE w.status IN ('ok', 'not_applicable') AND w.value >= 1 - 1e-6),
      count(*) FILTER (WHERE w.status = 'not_applicable'),
      count(*) FILTER (WHERE w.status = 'checker_error'),
      count(*) FILTER (WHERE w.status = 'infra_error')
    FROM new_rows w
    CROSS JOIN LATERAL (SELECT o.run_id, o.phase, o.step, o.env, o.task_id FROM rollouts o WHERE o.id = w.rollout_id OFFSET 0) r
   GROUP BY r.run_id, r.phase, r.step, r.env, r.task_id, w.checker
  ON CONFLICT (run_id, phase, step, env, task_id, checker) DO UPDATE SET
      n = g.n + excluded.n, n_value = g.n_value + excluded.n_value, sum_value = g.sum_value + excluded.sum_value,
      n_pass = g.n_pass + excluded.n_pass, not_applicable = g.not_applicable + excluded.not_applicable,
      checker_errors = g.checker_errors + excluded.checker_errors, infra_errors = g.infra_errors + excluded.infra_errors;
  RETURN NULL;
END $$;--> statement-breakpoint
-- An update or delete: each group touched is recomputed (with its checker rows when asked).
CREATE FUNCTION "multigym_rollouts_changed"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE k record;
BEGIN
  IF TG_OP = 'UPDATE' THEN
    FOR k IN SELECT run_id, phase, step, env, task_id FROM new_rows UNION SELECT run_id, phase, step, env, task_id FROM old_rows LOOP
      PERFORM multigym_recompute_group(k.run_id, k.phase, k.step, k.env, k.task_id, false);
    END LOOP;
  ELSE
    -- A deleted rollout's reward rows are gone by now (the foreign key cascades first).
    FOR k IN SELECT DISTINCT run_id, phase, step, env, task_id FROM old_rows LOOP
      PERFORM multigym_recompute_group(k.run_id, k.phase, k.step, k.env, k.task_id, true);
    END LOOP;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE FUNCTION "multigym_rewards_changed"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE k record;
BEGIN
  FOR k IN SELECT DISTINCT r.run_id, r.phase, r.step, r.env, r.task_id
             FROM (SELECT rollout_id FROM old_rows UNION SELECT rollout_id FROM new_rows) w
             CROSS JOIN LATERAL (SELECT o.run_id, o.phase, o.step, o.env, o.task_id FROM rollouts o WHERE o.id = w.rollout_id OFFSET 0) r LOOP
    PERFORM multigym_recompute_group(k.run_id, k.phase, k.step, k.env, k.task_id, true);
  END LOOP;
  RETURN NULL;
END $$;--> statement-breakpoint
-- The delete trigger on rewards has no new_rows: it reads old_rows only.
CREATE FUNCTION "multigym_rewards_deleted"() RETURNS trigger LANGUAGE plpgsql SET enable_seqscan = off AS $$
DECLARE k record;
BEGIN
  FOR k IN SELECT DISTINCT r.run_id, r.phase, r.step, r.env, r.task_id
             FROM old_rows w
             CROSS JOIN LATERAL (SELECT o.run_id, o.phase, o.step, o.env, o.task_id FROM rollouts o WHERE o.id = w.rollout_id OFFSET 0) r LOOP
    PERFORM multigym_recompute_group(k.run_id, k.phase, k.step, k.env, k.task_id, true);
  END LOOP;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "rollouts_summary_insert" AFTER INSERT ON "rollouts" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION multigym_rollouts_inserted();--> statement-breakpoint
CREATE TRIGGER "rollouts_summary_update" AFTER UPDATE ON "rollouts" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION multigym_rollouts_changed();--> statement-breakpoint
CREATE TRIGGER "rollouts_summary_delete" AFTER DELETE ON "rollouts" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION multigym_rollouts_changed();--> statement-breakpoint
CREATE TRIGGER "rewards_summary_insert" AFTER INSERT ON "rewards" REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION multigym_rewards_inserted();--> statement-breakpoint
CREATE TRIGGER "rewards_summary_update" AFTER UPDATE ON "rewards" REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION multigym_rewards_changed();--> statement-breakpoint
CREATE TRIGGER "rewards_summary_delete" AFTER DELETE ON "rewards" REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION multigym_rewards_deleted();--> statement-breakpoint
-- Rows written before this migration: each group recomputed as an update would (one index range a group).
SELECT multigym_recompute_group(run_id, phase, step, env, task_id, true)
  FROM (SELECT DISTINCT run_id, phase, step, env, task_id FROM rollouts) d;--> statement-breakpoint
COMMENT ON TABLE "group_stats" IS 'Summary of one group (a task''s rollouts at one step and phase), kept by triggers on rollouts: inserts add to it, updates and deletes recompute it. The reward-log aggregates read it when filtering only by phase, env and step.';--> statement-breakpoint
COMMENT ON TABLE "group_checker_stats" IS 'Summary of one reward component (checker) over one group, kept by triggers on rollouts and rewards like group_stats. Answered = status ok or not_applicable.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."run_id" IS 'The run (runs.id).';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."phase" IS 'train or eval:<step>, as rollouts.phase.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."step" IS '1-based step, as rollouts.step.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."env" IS 'Environment name.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."task_id" IS 'The task of the group; (run_id, phase, step, env, task_id) is the group.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."n" IS 'Rollouts of the group, whatever their status.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."n_ok" IS 'Rollouts with status ok (they carry a reward).';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."n_pass" IS 'ok rollouts with reward >= 1 - 1e-6.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."sum_reward" IS 'Sum of the ok rollouts'' rewards (0 when none is ok).';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."sum_reward2" IS 'Sum of the squared rewards of the ok rollouts (for the standard deviation).';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."min_reward" IS 'Least ok reward; null when none is ok (max_reward - min_reward <= 1e-9 with n_ok >= 2: a zero-variance group).';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."max_reward" IS 'Greatest ok reward; null when none is ok.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."sum_completion_tokens" IS 'Sum of completion_tokens over every rollout.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."max_completion_tokens" IS 'Largest completion_tokens of the group.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."sum_thinking_tokens" IS 'Sum of thinking_tokens over every rollout.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."truncated" IS 'Rollouts with finish_reason = ''length''.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."checker_errors" IS 'Rollouts with status checker_error.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."infra_errors" IS 'Rollouts with status infra_error.';--> statement-breakpoint
COMMENT ON COLUMN "group_stats"."rejected" IS 'Rollouts with status rejected.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."run_id" IS 'The run (runs.id).';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."phase" IS 'train or eval:<step>, as rollouts.phase.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."step" IS '1-based step, as rollouts.step.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."env" IS 'Environment name.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."task_id" IS 'The task of the group.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."checker" IS 'The reward component, as rewards.checker.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."n" IS 'Answered calls (status ok or not_applicable).';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."n_value" IS 'Answered calls with a value: the mean value is sum_value / n_value.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."sum_value" IS 'Sum of the answered calls'' values (0 when none has one).';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."n_pass" IS 'Answered calls with value >= 1 - 1e-6.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."not_applicable" IS 'Calls that answered not_applicable (counted in n).';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."checker_errors" IS 'Calls that failed: status checker_error.';--> statement-breakpoint
COMMENT ON COLUMN "group_checker_stats"."infra_errors" IS 'Calls lost to infrastructure errors: status infra_error.';
