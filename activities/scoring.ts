/**
 * Scoring inside `rolloutGroups`: the reward list of a group, and the re-scoring of rollouts whose
 * checkers met an infrastructure error.
 *
 * A rollout whose scoring met an infrastructure failure is written at once with status `infra_error`
 * and one reward row per component — the failed ones with status `infra_error` and no value. A retry
 * of the activity finds the group in the database, runs again only those failed components on the
 * stored trajectory (never sampling again), and turns each rollout into `ok` or `checker_error`. Each
 * row changes at most once: the updates match only rows still in `infra_error`.
 */
import { and, eq, inArray } from 'drizzle-orm';
import { rewards as rewardRows, rollouts } from '../db/schema.js';
import type { Environment, Task, Trajectory } from '../environments/api.js';
import type { RewardSpec, ScoredTrajectory } from '../rewards/api.js';
import type { CheckerStatus } from '../rewards/outcome.js';
import {
  combineComponents,
  componentName,
  type RewardComponent,
  type ScoreOutcome,
  scoreTrajectory,
} from '../rewards/score.js';
import { BUDGET_COMPONENT } from '../workflows/config.js';
import type { RolloutGroupsInput } from '../workflows/contracts.js';
import type { ActivityDeps } from './deps.js';

/** The reward components of a group: the run's override or the environment's defaults, plus `budget` when budgeted. */
export function rewardSpecs(input: RolloutGroupsInput, env: Environment, budgeted: boolean): RewardSpec[] {
  const specs: RewardSpec[] = [...((input.rewards as RewardSpec[] | undefined) ?? env.rewards)];
  if (budgeted && input.reasoning) {
    specs.push({
      checker: BUDGET_COMPONENT,
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
  return specs;
}

/** What the checkers see of a trajectory (stored or fresh): tokens the model wrote, not inserted ones. */
export function scoredTrajectory(
  t: Pick<
    Trajectory,
    | 'completion'
    | 'turns'
    | 'completionTokenIds'
    | 'completionMask'
    | 'thinkingTokens'
    | 'finishReason'
    | 'extra'
  >,
): ScoredTrajectory {
  const completionTokens = t.completionMask
    ? t.completionMask.reduce<number>((a, m) => a + m, 0)
    : t.completionTokenIds.length;
  return {
    completion: t.completion,
    turns: t.turns,
    completionTokens,
    thinkingTokens: t.thinkingTokens,
    finishReason: t.finishReason,
    extra: t.extra,
  };
}

/** Scores one trajectory of a group; a trajectory that is not `ok` is not scored. */
export function scoreOne(
  specs: RewardSpec[],
  t: Trajectory,
  task: Task,
  env: Environment,
): Promise<ScoreOutcome> {
  return scoreTrajectory(specs, scoredTrajectory(t), { id: task.id, data: task.data }, env.checkerTimeoutMs);
}

/** Reward-row values of a scored rollout. */
export function rewardValues(components: RewardComponent[], clean: <T>(v: T) => T) {
  return components.map((c) => ({
    checker: c.name,
    weight: c.weight,
    status: c.status,
    value: c.value,
    error: c.error ?? null,
    details: clean(c.details),
  }));
}

/**
 * Re-scores the components that met an infrastructure error, for the given `infra_error` rollouts of
 * one group. Returns the new status of each rollout it changed; rollouts whose infrastructure error
 * came from sampling (no failed reward rows) are left as they are.
 */
export async function rescoreInfraErrors(
  deps: ActivityDeps,
  input: RolloutGroupsInput,
  env: Environment,
  task: Task,
  rolloutIds: number[],
  clean: <T>(v: T) => T,
): Promise<Map<number, ScoreOutcome>> {
  const changed = new Map<number, ScoreOutcome>();
  if (rolloutIds.length === 0) return changed;
  const stored = await deps.db.select().from(rewardRows).where(inArray(rewardRows.rolloutId, rolloutIds));
  const failedIds = [...new Set(stored.filter((r) => r.status === 'infra_error').map((r) => r.rolloutId))];
  if (failedIds.length === 0) return changed;
  const rows = await deps.db.select().from(rollouts).where(inArray(rollouts.id, failedIds));
  for (const row of rows) {
    const mine = new Map(stored.filter((r) => r.rolloutId === row.id).map((r) => [r.checker, r]));
    const specs = rewardSpecs(input, env, row.reasoningBudget !== null);
    const retry = specs.filter((s) => mine.get(componentName(s))?.status === 'infra_error');
    const trajectory = scoredTrajectory({
      completion: row.completion,
      turns: row.turns as Trajectory['turns'],
      completionTokenIds: row.completionTokenIds,
      completionMask: row.completionMask ?? undefined,
      thinkingTokens: row.thinkingTokens,
      finishReason: row.finishReason,
      extra: (row.extra ?? undefined) as Trajectory['extra'],
    });
    const fresh = await scoreTrajectory(retry, trajectory, task, env.checkerTimeoutMs);
    const byName = new Map(fresh.components.map((c) => [c.name, c]));
    const components = specs.flatMap((s): RewardComponent[] => {
      const name = componentName(s);
      const again = byName.get(name);
      if (again) return [again];
      const old = mine.get(name);
      if (!old) return [];
      const status = old.status as CheckerStatus;
      const details = old.details as Record<string, unknown>;
      return [
        {
          name,
          checker: s.checker,
          weight: old.weight,
          status,
          value: old.value,
          details,
          error: old.error ?? undefined,
        },
      ];
    });
    const outcome = combineComponents(components);
    await deps.db.transaction(async (tx) => {
      for (const c of fresh.components) {
        await tx
          .update(rewardRows)
          .set({ status: c.status, value: c.value, error: c.error ?? null, details: clean(c.details) })
          .where(
            and(
              eq(rewardRows.rolloutId, row.id),
              eq(rewardRows.checker, c.name),
              eq(rewardRows.status, 'infra_error'),
            ),
          );
      }
      await tx
        .update(rollouts)
        .set({
          status: outcome.status,
          reward: outcome.total,
          error: outcome.error ? clean(outcome.error) : null,
        })
        .where(and(eq(rollouts.id, row.id), eq(rollouts.status, 'infra_error')));
    });
    changed.set(row.id, outcome);
  }
  return changed;
}
