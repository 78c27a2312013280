/**
 * Reward shaping applied before advantages (docs/algorithms.md): DAPO's soft overlong punishment
 * and the length a completion is judged by. The KL penalty in the reward (verl `use_kl_in_reward`)
 * is computed by the policy worker (`/v1/reference_kl`) and subtracted in `activities/train.ts`.
 */

/**
 * DAPO's soft overlong punishment (Yu et al. 2025, eq. 13), scaled by `factor` (verl
 * `overlong_buffer.penalty_factor`, OpenRLHF `overlong_penalty_factor`):
 *
 *   0                                   if |y| ≤ L_max − L_cache
 *   factor · ((L_max − L_cache) − |y|) / L_cache   if L_max − L_cache < |y| ≤ L_max
 *   −factor                             if |y| > L_max
 *
 * @param length |y|, tokens the model wrote (see `modelTurnLength`)
 * @param maxTokens L_max, the generation limit (the environment's `sampling.max_tokens`)
 * @param buffer L_cache, the buffer before the limit (0 < buffer < maxTokens)
 * @returns a penalty ≤ 0 to add to the reward
 * @throws RangeError when the buffer is not inside (0, maxTokens)
 */
export function overlongPenalty(length: number, maxTokens: number, buffer: number, factor: number): number {
  if (!(buffer > 0 && buffer < maxTokens))
    throw new RangeError(`overlong buffer ${buffer} must lie inside (0, max_tokens = ${maxTokens})`);
  const expected = maxTokens - buffer;
  if (length <= expected) return 0;
  return (-Math.min(length - expected, buffer) / buffer) * factor;
}

/**
 * The length an overlong penalty judges: the longest run of tokens the model wrote without an
 * inserted token between them, i.e. its longest turn (`max_tokens` limits each model turn). For a
 * single-turn completion this is its length.
 * @param length completion tokens (T)
 * @param mask shape (T,): 1 for model-written tokens, 0 for inserted ones; absent means all 1
 */
export function modelTurnLength(length: number, mask?: readonly (0 | 1)[] | null): number {
  if (!mask) return length;
  let best = 0;
  let run = 0;
  for (const m of mask) {
    run = m === 1 ? run + 1 : 0;
    best = Math.max(best, run);
  }
  return best;
}

/** True when a rollout was cut off by the token limit (its last turn's finish reason is `length`). */
export function isTruncated(finishReason: string): boolean {
  return finishReason === 'length';
}
