/**
 * The multigym database schema (drizzle-orm, PostgreSQL 15 and PGlite alike).
 *
 * Every write is keyed by business ids so a retried activity changes nothing twice:
 * rollouts are unique on (run, step, env, task, sample), rewards on (rollout, checker), step metrics
 * on (run, step), policy versions on (run, version). Token-level data is kept as native arrays (ids
 * `int4[]`, log-probs `float8[]`, masks `int2[]`; `number[]` in TypeScript): the batch for a train step
 * is rebuilt from here, never carried by Temporal.
 */
import {
  bigint,
  bigserial,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** One RL run (a Temporal `rlRun` workflow id). */
export const runs = pgTable('runs', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /**
   * `running` | `completed` | `stopped` | `failed` | `terminated` | `cancelled` | `timed_out`: how
   * the workflow really ended (the orchestrator worker reconciles it with Temporal, cli/reconcile.ts).
   */
  status: text('status').notNull().default('running'),
  /** The validated run config. */
  config: jsonb('config').notNull(),
  /**
   * The workflow's carried state after the last trained step (`RunState` of workflows/rlRun.ts:
   * step, policy version, task cursors, mixture), written with that step's metrics: a run started
   * again under the same id and config resumes from it. Null before the first step.
   */
  state: jsonb('state'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Tasks a run sampled, by reference: `data` is the environment's own JSON (big contexts are blob keys). */
export const tasks = pgTable(
  'tasks',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    env: text('env').notNull(),
    taskId: text('task_id').notNull(),
    data: jsonb('data').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.env, t.taskId] })],
);

/** One rollout (trajectory) of one sample of a group. */
export const rollouts = pgTable(
  'rollouts',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    step: integer('step').notNull(),
    env: text('env').notNull(),
    taskId: text('task_id').notNull(),
    /** Index of the sample within its group, 0..G−1. */
    sample: integer('sample').notNull(),
    /**
     * `ok` | `checker_error` | `infra_error` | `rejected`: only `ok` rollouts enter a batch.
     * `checker_error`: a reward checker threw, timed out or was misconfigured; `infra_error`: sampling
     * or scoring met an infrastructure failure (scoring is retried first); `rejected`: the environment
     * refused the sample (e.g. a context over the model's window).
     */
    status: text('status').notNull(),
    /** Why a rollout is not `ok`; for a checker failure `<component>: <what failed>`. */
    error: text('error'),
    /** `train` or `eval:<step>`. */
    phase: text('phase').notNull().default('train'),
    policyVersion: integer('policy_version').notNull(),
    completion: text('completion').notNull(),
    turns: jsonb('turns').notNull(),
    promptTokenIds: integer('prompt_token_ids').array().notNull(),
    completionTokenIds: integer('completion_token_ids').array().notNull(),
    /** float8, so a log-prob reads back exactly as the policy sent it (-0 and subnormals included). */
    logprobs: doublePrecision('logprobs').array().notNull(),
    completionMask: smallint('completion_mask').array().$type<(0 | 1)[]>(),
    promptTokens: integer('prompt_tokens').notNull(),
    completionTokens: integer('completion_tokens').notNull(),
    thinkingTokens: integer('thinking_tokens').notNull().default(0),
    finishReason: text('finish_reason').notNull(),
    /** Reasoning budget the sample was drawn with, if any. */
    reasoningBudget: integer('reasoning_budget'),
    /** Weighted sum of the reward components; null unless `status` is `ok` (a failure is never a reward). */
    reward: doublePrecision('reward'),
    /** Group-relative advantage, filled when the step's batch is built. */
    advantage: doublePrecision('advantage'),
    extra: jsonb('extra'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('rollouts_business_key').on(t.runId, t.phase, t.step, t.env, t.taskId, t.sample),
    index('rollouts_run_step').on(t.runId, t.step),
  ],
);

/** One reward component of one rollout (one row per component of the environment's reward list). */
export const rewards = pgTable(
  'rewards',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    rolloutId: bigint('rollout_id', { mode: 'number' })
      .notNull()
      .references(() => rollouts.id, { onDelete: 'cascade' }),
    /** The component's name: the checker's name, or the reward spec's `name` when it gives one. */
    checker: text('checker').notNull(),
    weight: doublePrecision('weight').notNull(),
    /** `ok` | `not_applicable` | `checker_error` | `infra_error` (see `rewards/outcome.ts`). */
    status: text('status').notNull().default('ok'),
    /** The checker's value; null when it failed. */
    value: doublePrecision('value'),
    /** What failed, for `checker_error` and `infra_error`. */
    error: text('error'),
    details: jsonb('details').notNull(),
  },
  (t) => [uniqueIndex('rewards_business_key').on(t.rolloutId, t.checker)],
);

/**
 * Summary of one group (the rollouts of one task at one step and phase), kept by triggers on
 * `rollouts` (migration 0004): whatever writes, re-scores or deletes rollouts, this row follows in
 * the same statement (inserted rows are added to it; an update or delete recomputes it). The reward-log aggregates read these rows (one per group instead of
 * G rollouts) when a query filters only by phase, environment and step. Sums are over `ok`
 * rollouts where the column says so; see `db/logs/aggregates.ts` for the definitions.
 */
export const groupStats = pgTable(
  'group_stats',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    phase: text('phase').notNull(),
    step: integer('step').notNull(),
    env: text('env').notNull(),
    taskId: text('task_id').notNull(),
    /** Rollouts of the group, whatever their status. */
    n: integer('n').notNull(),
    /** Rollouts with status `ok` (they carry a reward). */
    nOk: integer('n_ok').notNull(),
    /** `ok` rollouts with reward ≥ 1 − 1e-6. */
    nPass: integer('n_pass').notNull(),
    /** Sum of the `ok` rewards (0 when none is ok). */
    sumReward: doublePrecision('sum_reward').notNull(),
    sumReward2: doublePrecision('sum_reward2').notNull(),
    /** Least and greatest `ok` reward; null when none is ok. */
    minReward: doublePrecision('min_reward'),
    maxReward: doublePrecision('max_reward'),
    sumCompletionTokens: bigint('sum_completion_tokens', { mode: 'number' }).notNull(),
    maxCompletionTokens: integer('max_completion_tokens').notNull(),
    sumThinkingTokens: bigint('sum_thinking_tokens', { mode: 'number' }).notNull(),
    /** Rollouts with finish_reason `length`. */
    truncated: integer('truncated').notNull(),
    checkerErrors: integer('checker_errors').notNull(),
    infraErrors: integer('infra_errors').notNull(),
    rejected: integer('rejected').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.phase, t.step, t.env, t.taskId] })],
);

/**
 * Summary of one reward component (checker) over one group, kept by triggers on `rollouts` and
 * `rewards` (migration 0004) like `group_stats`. "Answered" calls are those with status `ok` or
 * `not_applicable`.
 */
export const groupCheckerStats = pgTable(
  'group_checker_stats',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    phase: text('phase').notNull(),
    step: integer('step').notNull(),
    env: text('env').notNull(),
    taskId: text('task_id').notNull(),
    checker: text('checker').notNull(),
    /** Answered calls. */
    n: integer('n').notNull(),
    /** Answered calls with a value (the mean's denominator). */
    nValue: integer('n_value').notNull(),
    /** Sum of the answered calls' values (0 when none has one). */
    sumValue: doublePrecision('sum_value').notNull(),
    /** Answered calls with value ≥ 1 − 1e-6. */
    nPass: integer('n_pass').notNull(),
    notApplicable: integer('not_applicable').notNull(),
    checkerErrors: integer('checker_errors').notNull(),
    infraErrors: integer('infra_errors').notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.phase, t.step, t.env, t.taskId, t.checker] })],
);

/** Metrics of one training step (the worker's train metrics plus per-environment reward stats). */
export const stepMetrics = pgTable(
  'step_metrics',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    step: integer('step').notNull(),
    policyVersion: integer('policy_version').notNull(),
    /** TrainMetrics from the worker (loss, kl, clip fractions, entropy, grad norm, tokens, seconds). */
    train: jsonb('train').notNull(),
    /** Per environment: mean reward, pass rate, rollouts, zero-variance groups. */
    envs: jsonb('envs').notNull(),
    /**
     * How the step's batch was built (`TrainRecipe`: algorithm, environment weights, dynamic
     * sampling), so a policy worker that lost the step can be given exactly the same update again.
     */
    recipe: jsonb('recipe'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.step] })],
);

/** Policy versions produced by a run (one per train step), with an optional checkpoint path. */
export const policyVersions = pgTable(
  'policy_versions',
  {
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    step: integer('step').notNull(),
    checkpointPath: text('checkpoint_path'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.version] })],
);

/** Run events (pause, resume, mixture change, eval results, checkpoints) for the log. */
export const events = pgTable(
  'events',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    runId: text('run_id')
      .notNull()
      .references(() => runs.id, { onDelete: 'cascade' }),
    step: integer('step').notNull(),
    kind: text('kind').notNull(),
    /** Idempotency key of the event (e.g. `eval:10`), unique per run. */
    key: text('key').notNull(),
    data: jsonb('data').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('events_business_key').on(t.runId, t.key)],
);
