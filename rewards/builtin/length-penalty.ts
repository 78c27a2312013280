/**
 * `length-penalty`: DAPO's soft overlong punishment (Yu et al. 2025, "DAPO", eq. 13). With L the
 * completion tokens, L_max = `maxTokens` and L_cache = `cacheTokens`:
 *
 *   R = 0                                  if L ≤ L_max − L_cache
 *   R = ((L_max − L_cache) − L) / L_cache  if L_max − L_cache < L ≤ L_max
 *   R = −1                                 if L > L_max
 *
 * scaled by `scale`. Output range [−scale, 0]. Config: `maxTokens` (default 1024), `cacheTokens`
 * (default 256, < maxTokens), `scale` (default 1). Add it next to a correctness checker.
 */
import { z } from 'zod';
import { defineReward } from '../api.js';

const config = z
  .object({
    maxTokens: z
      .number()
      .int()
      .positive()
      .default(1024)
      .describe('L_max: beyond it the penalty is full (default 1024).'),
    cacheTokens: z
      .number()
      .int()
      .positive()
      .default(256)
      .describe(
        'L_cache: the penalty ramps linearly over the last cacheTokens before maxTokens (default 256).',
      ),
    scale: z.number().positive().default(1).describe('Largest penalty (default 1).'),
  })
  .refine((c) => c.cacheTokens < c.maxTokens, {
    message: 'cacheTokens must be below maxTokens',
    path: ['cacheTokens'],
  })
  .describe('length-penalty checker config.');

/** The DAPO overlong penalty of `tokens` completion tokens, in [−1, 0] before scaling. */
export function overlongPenalty(tokens: number, maxTokens: number, cacheTokens: number): number {
  const soft = maxTokens - cacheTokens;
  if (tokens <= soft) return 0;
  if (tokens > maxTokens) return -1;
  return (soft - tokens) / cacheTokens;
}

/** The `length-penalty` checker. */
export const lengthPenalty = defineReward({
  name: 'length-penalty',
  description: 'DAPO soft overlong punishment of completion tokens: in [-scale, 0] (default [-1, 0]).',
  configSchema: config,
  score(trajectory, _task, cfg) {
    const tokens = trajectory.completionTokens;
    const value = cfg.scale * overlongPenalty(tokens, cfg.maxTokens, cfg.cacheTokens);
    return {
      value: value === 0 ? 0 : value,
      details: { tokens, maxTokens: cfg.maxTokens, cacheTokens: cfg.cacheTokens },
    };
  },
});

export default lengthPenalty;
