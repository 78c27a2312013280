/**
 * A single-turn rollout: one prompt (text or chat), one batched `/v1/generate` call with `n` samples,
 * one trajectory per sample. Environments whose task is "answer this prompt" use it as their
 * `rollout`; multi-turn environments write their own loop.
 */
import type { ChatMessage } from '../policy/protocol.js';
import type { PolicySampler, RolloutContext, Trajectory } from './api.js';

/** The prompt of a single-turn task: raw text, or chat messages the worker templates. */
export type Prompt = { text: string } | { messages: ChatMessage[] };

/**
 * Samples `ctx.n` completions of `prompt` in one request and maps each to a trajectory.
 * Throws `PolicyWorkerError` on infrastructure errors (the activity retries); a 400 for a too-long
 * prompt yields trajectories with status `rejected` instead, so the group is logged and skipped.
 */
export async function singleTurnRollout(
  prompt: Prompt,
  policy: PolicySampler,
  ctx: RolloutContext,
): Promise<Trajectory[]> {
  const { sampling } = ctx;
  const input = 'text' in prompt ? { prompts: [prompt.text] } : { messages: [prompt.messages] };
  const promptTurns = 'text' in prompt ? [{ role: 'user' as const, content: prompt.text }] : prompt.messages;
  let res: Awaited<ReturnType<PolicySampler['generate']>>;
  try {
    res = await policy.generate({ ...input, n: ctx.n, ...sampling });
  } catch (err) {
    const e = err as { status?: number; errorType?: string; message?: string };
    if (e.status === 400 && e.errorType === 'context_too_long') {
      return Array.from({ length: ctx.n }, () =>
        rejectedTrajectory(promptTurns, e.message ?? 'context too long'),
      );
    }
    throw err;
  }
  const result = res.results[0];
  if (!result) throw new Error('policy worker returned no result for the prompt');
  return result.samples.map((s) => ({
    status: 'ok',
    completion: s.text,
    turns: [...promptTurns, { role: 'assistant', content: s.text, tokens: s.token_ids.length }],
    promptTokenIds: result.prompt_token_ids,
    completionTokenIds: s.token_ids,
    logprobs: s.logprobs,
    finishReason: s.finish_reason,
    policyVersion: res.policy_version,
    thinkingTokens: s.thinking_tokens,
  }));
}

/**
 * A trajectory left out of the batch because the policy refused the prompt (e.g. a context over the
 * model's window): logged with its reason, never scored.
 */
export function rejectedTrajectory(turns: Trajectory['turns'], error: string): Trajectory {
  return {
    status: 'rejected',
    error,
    completion: '',
    turns,
    promptTokenIds: [],
    completionTokenIds: [],
    logprobs: [],
    finishReason: 'rejected',
    policyVersion: -1,
    thinkingTokens: 0,
  };
}
