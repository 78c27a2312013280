/**
 * `turn-budget`: a penalty for turns past the task's turn budget. Output in [−1, 0]: 0 when the rollout
 * gave its final answer within `turn_budget` assistant turns; past it, linearly lower, reaching −1 at
 * `maxTurns` (−(turns − budget) / (maxTurns − budget)); −1 when it never answered (stopped at the turn
 * or context limit). A penalty rather than a bonus, so answering at once without the needed calls
 * earns nothing here. Not applicable to tasks without a budget (BFCL).
 */
import { z } from 'zod';
import { defineReward } from '../api.js';
import { readToolTask } from './tool-task.js';

/** Config of `turn-budget`. */
export const TurnBudgetConfig = z.object({
  budget: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Assistant turns allowed without penalty; default: the task's `turn_budget`."),
  maxTurns: z
    .number()
    .int()
    .positive()
    .default(6)
    .describe(
      'Turns at which the penalty reaches −1, when the rollout does not record its own limit. Default 6.',
    ),
});

/** The turn-budget penalty; value in [−1, 0]. */
export const turnBudget = defineReward({
  name: 'turn-budget',
  description:
    'Penalty for turns past the budget: 0 within it, linearly down to −1 at the turn limit; −1 without an answer.',
  configSchema: TurnBudgetConfig,
  range: [-1, 0],
  score(trajectory, task, config) {
    const data = readToolTask(task.data);
    const extra = (trajectory.extra ?? {}) as {
      assistantTurns?: unknown;
      maxTurns?: unknown;
      stoppedBy?: unknown;
    };
    const budget = config.budget ?? data?.turn_budget;
    if (!data || budget === undefined) {
      return { value: 0, applicable: false, details: { reason: 'no turn budget for this task' } };
    }
    const turns =
      typeof extra.assistantTurns === 'number'
        ? extra.assistantTurns
        : (trajectory.turns?.filter((t) => t.role === 'assistant').length ?? 1) || 1;
    const maxTurns = typeof extra.maxTurns === 'number' ? extra.maxTurns : config.maxTurns;
    const stoppedBy = typeof extra.stoppedBy === 'string' ? extra.stoppedBy : 'answer';
    if (stoppedBy !== 'answer' && stoppedBy !== 'single_turn') {
      return { value: -1, details: { turns, budget, maxTurns, stoppedBy, reason: 'no final answer' } };
    }
    const over = Math.max(0, turns - budget);
    const value = over === 0 ? 0 : -Math.min(1, over / Math.max(1, maxTurns - budget));
    return { value, details: { turns, budget, maxTurns, stoppedBy } };
  },
});

export default turnBudget;
