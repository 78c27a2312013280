/**
 * `rolloutGroups`: runs a chunk of groups (tasks × G samples) on an environment's task queue, scores
 * them and writes rollouts and rewards, returning only summaries. Resumable: a group already in the
 * database is read back instead of sampled again, and finished groups are heartbeated, so a retry
 * after a crash resumes from the heartbeat details, re-does at most the groups in flight and never
 * writes a row twice.
 *
 * A checker failure is a status, never a reward: a rollout whose checker failed is written as
 * `checker_error` (final) or `infra_error` (transient). When any rollout of the chunk is left in
 * `infra_error` by its checkers, the activity fails retryably after writing everything; the retry
 * re-scores those rollouts from the database without sampling again (`scoring.ts`). From attempt
 * `infraAttempts` on it gives up and leaves them `infra_error`, out of the batch.
 */

import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { and, asc, eq } from 'drizzle-orm';
import { insertGroup } from '../db/groupWrite.js';
import { rollouts, tasks } from '../db/schema.js';
import type { Environment, Task, Trajectory } from '../environments/api.js';
import { getEnvironment } from '../environments/registry.js';
import { groupAdvantages } from '../policy/advantages.js';
import type { ScoreOutcome } from '../rewards/score.js';
import type { Activities, GroupSummary, RolloutGroupsInput } from '../workflows/contracts.js';
import {
  type ActivityDeps,
  asActivityError,
  ensurePlugins,
  pinnedSampler,
  policyCache,
  stableSeed,
} from './deps.js';
import { rescoreInfraErrors, rewardSpecs, rewardValues, scoreOne } from './scoring.js';

/** Default attempts of a chunk whose scoring met infrastructure errors (see `RolloutGroupsInput.infraAttempts`). */
export const DEFAULT_INFRA_ATTEMPTS = 3;

/** A group's summary, and how many of its rollouts still wait for a scoring retry. */
interface GroupResult {
  summary: GroupSummary;
  pendingInfra: number;
  /** One of the pending rollouts' errors, for the retry's failure message. */
  infraError?: string;
}

/** Builds the `rolloutGroups` activity. */
export function rolloutActivities(deps: ActivityDeps): Pick<Activities, 'rolloutGroups'> {
  const policy = policyCache(deps);
  const concurrency = deps.groupConcurrency ?? 4;

  async function storedTask(input: RolloutGroupsInput, taskId: string): Promise<Task> {
    const [row] = await deps.db
      .select()
      .from(tasks)
      .where(and(eq(tasks.runId, input.runId), eq(tasks.env, input.env), eq(tasks.taskId, taskId)));
    if (!row) throw new Error(`task ${input.env}/${taskId} of run ${input.runId} is not stored`);
    return { id: taskId, data: row.data as Task['data'] };
  }

  /** A group already written: its summary, after re-scoring rollouts whose checkers met infrastructure errors. */
  async function existingGroup(
    input: RolloutGroupsInput,
    env: Environment,
    taskId: string,
  ): Promise<GroupResult | undefined> {
    const rows = await deps.db
      .select({ id: rollouts.id, reward: rollouts.reward, status: rollouts.status, error: rollouts.error })
      .from(rollouts)
      .where(
        and(
          eq(rollouts.runId, input.runId),
          eq(rollouts.phase, input.phase),
          eq(rollouts.step, input.step),
          eq(rollouts.env, input.env),
          eq(rollouts.taskId, taskId),
        ),
      )
      .orderBy(asc(rollouts.sample));
    if (rows.length < input.groupSize) return undefined;
    const infra = rows.filter((r) => r.status === 'infra_error').map((r) => r.id);
    const rescored =
      infra.length > 0
        ? await rescoreInfraErrors(deps, input, env, await storedTask(input, taskId), infra, noNulJson)
        : new Map<number, ScoreOutcome>();
    const now = rows.map((r) => {
      const o = rescored.get(r.id);
      return o ? { ...r, status: o.status, reward: o.total, error: o.error ?? null } : r;
    });
    const pending = now.filter((r) => r.status === 'infra_error' && rescored.has(r.id));
    return {
      summary: summarize(taskId, now),
      pendingInfra: pending.length,
      infraError: pending[0]?.error ?? undefined,
    };
  }

  /** `beat` heartbeats the activity's resume details (the finished groups): never a bare heartbeat. */
  async function runGroup(
    input: RolloutGroupsInput,
    taskId: string,
    budgeted: boolean,
    beat: () => void,
  ): Promise<GroupResult> {
    const env = getEnvironment(input.env);
    const done = await existingGroup(input, env, taskId);
    if (done) return done;
    const config = env.configSchema.parse(input.config);
    const task = await storedTask(input, taskId);
    const reasoning =
      budgeted && input.reasoning ? { budget_tokens: input.reasoning.budget_tokens } : undefined;
    const sampling = {
      ...input.sampling,
      temperature: input.greedy ? 0 : input.sampling.temperature,
      seed: stableSeed(input.seed, input.runId, input.phase, input.step, input.env, taskId),
      ...(reasoning ? { reasoning } : {}),
    };
    let trajectories: Trajectory[];
    try {
      const sampler = policy(input.policyUrl);
      trajectories = await env.rollout(
        task,
        input.policyVersion === undefined
          ? sampler
          : pinnedSampler(sampler, input.runId, input.policyVersion),
        {
          n: input.groupSize,
          sampling,
          blobDir: deps.blobDir,
          // A bare heartbeat would replace the details that list the finished groups.
          heartbeat: beat,
        },
        config,
      );
    } catch (err) {
      throw asActivityError(err, input);
    }
    const specs = rewardSpecs(input, env, reasoning !== undefined);
    const scored = await Promise.all(
      trajectories.map((t) => (t.status === 'ok' ? scoreOne(specs, t, task, env) : undefined)),
    );
    const statusOf = (t: Trajectory, s: ScoreOutcome | undefined) => (s ? s.status : t.status);
    const errorOf = (t: Trajectory, s: ScoreOutcome | undefined) => s?.error ?? t.error;
    // One statement per group writes its rollouts and their rewards (db/groupWrite.ts). Only rollouts
    // inserted now get reward rows: a conflicting (already written) rollout keeps its own.
    await writeGroup(() =>
      insertGroup(
        deps.db,
        trajectories.map((t, sample) => ({
          runId: input.runId,
          step: input.step,
          env: input.env,
          taskId,
          sample,
          status: statusOf(t, scored[sample]),
          error: errorOf(t, scored[sample]) ? noNul(errorOf(t, scored[sample])!) : null,
          phase: input.phase,
          policyVersion: t.policyVersion,
          completion: noNul(t.completion),
          turns: noNulJson(t.turns),
          promptTokenIds: t.promptTokenIds,
          completionTokenIds: t.completionTokenIds,
          logprobs: t.logprobs,
          completionMask: t.completionMask ?? null,
          promptTokens: t.promptTokenIds.length,
          completionTokens: t.completionTokenIds.length,
          thinkingTokens: t.thinkingTokens,
          finishReason: t.finishReason,
          reasoningBudget: reasoning?.budget_tokens ?? null,
          reward: scored[sample]?.total ?? null,
          extra: t.extra ? noNulJson(t.extra) : null,
        })),
        (sample) => rewardValues(scored[sample]?.components ?? [], noNulJson),
      ),
    );
    const rows = trajectories.map((t, i) => ({
      status: statusOf(t, scored[i]),
      reward: scored[i]?.total ?? null,
    }));
    const pending = scored.filter((s) => s?.status === 'infra_error');
    return { summary: summarize(taskId, rows), pendingInfra: pending.length, infraError: pending[0]?.error };
  }

  return {
    async rolloutGroups(input) {
      await ensurePlugins(input.plugins);
      const ctx = Context.current();
      // Heartbeat details list the finished groups with their summaries; a retry starts from them and
      // runs only the rest (groups written but not yet heartbeated are found in the database). A group
      // waiting for a scoring retry is not finished.
      const resumed = new Map(
        ((ctx.info.heartbeatDetails as { done?: GroupSummary[] } | undefined)?.done ?? []).map((g) => [
          g.taskId,
          g,
        ]),
      );
      const results: GroupSummary[] = new Array(input.taskIds.length);
      const done: GroupSummary[] = [...resumed.values()];
      const beat = () => ctx.heartbeat({ done });
      let pendingInfra = 0;
      let infraError: string | undefined;
      let next = 0;
      const workers = Array.from({ length: Math.min(concurrency, input.taskIds.length) }, async () => {
        while (next < input.taskIds.length) {
          const i = next++;
          const taskId = input.taskIds[i]!;
          const previous = resumed.get(taskId);
          if (previous) {
            results[i] = previous;
            continue;
          }
          const group = await runGroup(input, taskId, i < input.reasoningCount, beat);
          results[i] = group.summary;
          if (group.pendingInfra > 0) {
            pendingInfra += group.pendingInfra;
            infraError ??= group.infraError;
          } else {
            done.push(group.summary);
          }
          beat();
        }
      });
      await Promise.all(workers);
      const attempts = input.infraAttempts ?? DEFAULT_INFRA_ATTEMPTS;
      if (pendingInfra > 0 && ctx.info.attempt < attempts) {
        // Everything is written; the retry re-scores the failed components only (Temporal's back-off).
        throw ApplicationFailure.retryable(
          `${pendingInfra} rollout(s) of ${input.env} met infrastructure errors while scoring (attempt ${ctx.info.attempt} of ${attempts}); first: ${infraError}`,
          'CheckerInfraError',
        );
      }
      const rolloutsCount = results.reduce((a, g) => a + g.rewards.length + g.skipped, 0);
      return { groups: results, rollouts: rolloutsCount };
    },
  };
}

/** PostgreSQL text and jsonb cannot hold U+0000, which a sampling model can emit: store U+FFFD instead. */
const noNul = (text: string): string => text.replaceAll('\u0000', '\ufffd');
const noNulJson = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('\\u0000', '\\ufffd')) as T;

/**
 * Runs a group write. A database error is rethrown with a short message: drizzle's includes every
 * parameter, which would exceed Temporal's failure size limit.
 */
async function writeGroup(write: () => Promise<unknown>): Promise<void> {
  try {
    await write();
  } catch (err) {
    const e = err as Error & { cause?: { message?: string } };
    throw new Error(`writing rollouts failed: ${(e.cause?.message ?? e.message).slice(0, 500)}`);
  }
}

/** A group's summary from its rollouts' statuses and rewards: only `ok` rollouts carry a reward. */
function summarize(taskId: string, rows: { status: string; reward: number | null }[]): GroupSummary {
  const rewardsOk = rows.flatMap((r) => (r.status === 'ok' && r.reward !== null ? [r.reward] : []));
  return {
    taskId,
    rewards: rewardsOk,
    skipped: rows.length - rewardsOk.length,
    zeroVariance: rewardsOk.length < 2 || groupAdvantages(rewardsOk).zeroVariance,
  };
}
