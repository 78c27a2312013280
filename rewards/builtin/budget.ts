/**
 * `budget`: tokens over a budget cost reward. Each token of the counted kind beyond `budgetTokens`
 * costs `costPerToken`, up to `maxCost`: value = −min(maxCost, costPerToken · max(0, T − budgetTokens)).
 * Output range [−maxCost, 0].
 *
 * Config: `count` ("thinking", default: tokens inside `<think>`, as the worker reports them; or
 * "completion": all completion tokens), `budgetTokens` (default 512), `costPerToken` (default 0.001),
 * `maxCost` (default 0.5). Counting thinking tokens when the trajectory has no thinking count: not
 * applicable.
 */
import { z } from 'zod';
import { defineReward } from '../api.js';

const config = z
  .object({
    count: z
      .enum(['thinking', 'completion'])
      .default('thinking')
      .describe('Which tokens count: thinking (inside <think>, default) or completion (all).'),
    budgetTokens: z.number().int().min(0).default(512).describe('Free tokens (default 512).'),
    costPerToken: z
      .number()
      .min(0)
      .default(0.001)
      .describe('Reward lost per token over the budget (default 0.001).'),
    maxCost: z.number().min(0).default(0.5).describe('Largest total cost (default 0.5).'),
  })
  .describe('budget checker config.');

/** The `budget` checker. */
export const budget = defineReward({
  name: 'budget',
  description: 'Tokens (thinking or all) over a budget cost reward: in [-maxCost, 0] (default [-0.5, 0]).',
  configSchema: config,
  score(trajectory, _task, cfg) {
    const tokens = cfg.count === 'thinking' ? trajectory.thinkingTokens : trajectory.completionTokens;
    if (tokens === undefined) {
      return {
        value: 0,
        applicable: false,
        details: { reason: 'the trajectory has no thinking-token count' },
      };
    }
    const over = Math.max(0, tokens - cfg.budgetTokens);
    const cost = Math.min(cfg.maxCost, cfg.costPerToken * over);
    return {
      value: cost === 0 ? 0 : -cost,
      details: { count: cfg.count, tokens, over, budgetTokens: cfg.budgetTokens },
    };
  },
});

export default budget;
