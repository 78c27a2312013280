/**
 * `rolloutGroups`: runs a chunk of groups (tasks × G samples) on an environment's task queue, scores
 * them and writes rollouts and rewards, returning only summaries. Resumable: a group already in the
 * database is read back instead of sampled again, and finished groups are heartbeated, so a retry
 * after a crash resumes from the heartbeat details, re-does at most the groups in flight and never
 * writes a row twice.
 */
import { Context } from '@temporalio/activity';
import { and, asc, eq } from 'drizzle-orm';
import { rewards as rewardRows, rollouts, tasks } from '../db/schema.js';
import type { Task, Trajectory } from '../environments/api.js';
import { getEnvironment } from '../environments/registry.js';
import { groupAdvantages } from '../policy/advantages.js';
import type { RewardSpec } from '../rewards/api.js';
import { scoreTrajectory } from '../rewards/score.js';
import type { Activities, GroupSummary, RolloutGroupsInput } from '../workflows/contracts.js';
import { type ActivityDeps, asActivityError, ensurePlugins, policyCache, stableSeed } from './deps.js';

/** Builds the `rolloutGroups` activity. */
export function rolloutActivities(deps: ActivityDeps): Pick<Activities, 'rolloutGroups'> {
  const policy = policyCache(deps);
  const concurrency = deps.groupConcurrency ?? 4;

  async function existingGroup(input: RolloutGroupsInput, taskId: string): Promise<GroupSummary | undefined> {
    const rows = await deps.db
      .select({ reward: rollouts.reward, status: rollouts.status })
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
    return summarize(
      taskId,
      rows.filter((r) => r.status === 'ok').map((r) => r.reward),
      rows.length,
    );
  }

  async function runGroup(
    input: RolloutGroupsInput,
    taskId: string,
    budgeted: boolean,
  ): Promise<GroupSummary> {
    const done = await existingGroup(input, taskId);
    if (done) return done;
    const env = getEnvironment(input.env);
    const config = env.configSchema.parse(input.config);
    const [row] = await deps.db
      .select()
      .from(tasks)
      .where(and(eq(tasks.runId, input.runId), eq(tasks.env, input.env), eq(tasks.taskId, taskId)));
    if (!row) throw new Error(`task ${input.env}/${taskId} of run ${input.runId} is not stored`);
    const task: Task = { id: taskId, data: row.data as Task['data'] };
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
      trajectories = await env.rollout(
        task,
        policy(input.policyUrl),
        {
          n: input.groupSize,
          sampling,
          blobDir: deps.blobDir,
          heartbeat: () => Context.current().heartbeat(),
        },
        config,
      );
    } catch (err) {
      throw asActivityError(err, input);
    }
    const specs: RewardSpec[] = [...((input.rewards as RewardSpec[] | undefined) ?? env.rewards)];
    if (reasoning && input.reasoning) {
      specs.push({
        checker: 'budget',
        weight: input.reasoning.brevity_weight,
        // Completion tokens over the budget cost reward, the whole weight at twice the budget.
        config: {
          count: 'completion',
          budgetTokens: input.reasoning.budget_tokens,
          costPerToken: 1 / input.reasoning.budget_tokens,
          maxCost: 1,
        },
      });
    }
    const scored = await Promise.all(
      trajectories.map(async (t) => {
        if (t.status !== 'ok') return { total: 0, components: [] };
        const completionTokens = t.completionMask
          ? t.completionMask.reduce<number>((a, m) => a + m, 0)
          : t.completionTokenIds.length;
        return scoreTrajectory(
          specs,
          {
            completion: t.completion,
            turns: t.turns,
            completionTokens,
            thinkingTokens: t.thinkingTokens,
            finishReason: t.finishReason,
            extra: t.extra,
          },
          { id: task.id, data: task.data },
          env.checkerTimeoutMs,
        );
      }),
    );
    // One multi-row insert per group and one for its rewards (row by row cost 2G round trips). Only
    // rollouts inserted now get reward rows: a conflicting (already written) rollout keeps its own.
    await writeGroup(deps, async (tx) => {
      if (trajectories.length === 0) return;
      const inserted = await tx
        .insert(rollouts)
        .values(
          trajectories.map((t, sample) => ({
            runId: input.runId,
            step: input.step,
            env: input.env,
            taskId,
            sample,
            status: t.status,
            error: t.error ? noNul(t.error) : null,
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
            reward: scored[sample]!.total,
            extra: t.extra ? noNulJson(t.extra) : null,
          })),
        )
        .onConflictDoNothing()
        .returning({ id: rollouts.id, sample: rollouts.sample });
      const rewardValues = inserted.flatMap(({ id, sample }) =>
        scored[sample]!.components.map((c) => ({
          rolloutId: id,
          checker: c.checker,
          weight: c.weight,
          value: c.value,
          details: noNulJson(c.details),
        })),
      );
      if (rewardValues.length > 0) await tx.insert(rewardRows).values(rewardValues).onConflictDoNothing();
    });
    return summarize(
      taskId,
      trajectories.flatMap((t, i) => (t.status === 'ok' ? [scored[i]!.total] : [])),
      trajectories.length,
    );
  }

  return {
    async rolloutGroups(input) {
      await ensurePlugins(input.plugins);
      const ctx = Context.current();
      // Heartbeat details list the finished groups with their summaries; a retry starts from them and
      // runs only the rest (groups written but not yet heartbeated are found in the database).
      const resumed = new Map(
        ((ctx.info.heartbeatDetails as { done?: GroupSummary[] } | undefined)?.done ?? []).map((g) => [
          g.taskId,
          g,
        ]),
      );
      const results: GroupSummary[] = new Array(input.taskIds.length);
      const done: GroupSummary[] = [...resumed.values()];
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
          results[i] = await runGroup(input, taskId, i < input.reasoningCount);
          done.push(results[i]);
          ctx.heartbeat({ done });
        }
      });
      await Promise.all(workers);
      const rolloutsCount = results.reduce((a, g) => a + g.rewards.length + g.skipped, 0);
      return { groups: results, rollouts: rolloutsCount };
    },
  };
}

/** PostgreSQL text and jsonb cannot hold U+0000, which a sampling model can emit: store U+FFFD instead. */
const noNul = (text: string): string => text.replaceAll('\u0000', '\ufffd');
const noNulJson = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('\\u0000', '\\ufffd')) as T;

type Tx = Parameters<Parameters<ActivityDeps['db']['transaction']>[0]>[0];

/**
 * Writes a group in one transaction. A database error is rethrown with a short message: drizzle's
 * includes every parameter, which would exceed Temporal's failure size limit.
 */
async function writeGroup(deps: ActivityDeps, fn: (tx: Tx) => Promise<void>): Promise<void> {
  try {
    await deps.db.transaction(fn);
  } catch (err) {
    const e = err as Error & { cause?: { message?: string } };
    throw new Error(`writing rollouts failed: ${(e.cause?.message ?? e.message).slice(0, 500)}`);
  }
}

function summarize(taskId: string, rewardsOk: number[], total: number): GroupSummary {
  return {
    taskId,
    rewards: rewardsOk,
    skipped: total - rewardsOk.length,
    zeroVariance: rewardsOk.length === 0 || groupAdvantages(rewardsOk).zeroVariance,
  };
}
