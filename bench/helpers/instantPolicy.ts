/**
 * A policy that answers at once, for orchestration benchmarks: `generate` returns fixed short
 * completions (a `\boxed{k}` answer, 8 token ids and their log-probs per sample), `train_step`
 * returns metrics and bumps the policy version (replaying a seen idempotency key, as the real worker
 * does). Injected through `ActivityDeps.policyFor`, so no model and no HTTP are timed.
 */
import type { Policy } from '../../activities/deps.js';
import type {
  CheckpointResponse,
  GenerateRequest,
  GenerateResponse,
  InfoResponse,
  SftStepResponse,
  TokenizeRequest,
  TokenizeResponse,
  TrainStepRequest,
  TrainStepResponse,
} from '../../policy/protocol.js';

/** Prompt length the stub reports, tokens. */
export const STUB_PROMPT_TOKENS = 48;
/** Completion length of every stub sample, tokens. */
export const STUB_COMPLETION_TOKENS = 8;

const promptIds = Array.from({ length: STUB_PROMPT_TOKENS }, (_, i) => 10 + i);
const completionIds = Array.from({ length: STUB_COMPLETION_TOKENS }, (_, i) => 100 + i);
const logprobs = completionIds.map(() => -0.7);

/** Builds the stub; `calls` counts requests by route. */
export function instantPolicy(): Policy & { calls: Record<string, number> } {
  let version = 0;
  const seen = new Map<string, TrainStepResponse>();
  const calls: Record<string, number> = { generate: 0, train_step: 0 };
  return {
    calls,
    async generate(req: GenerateRequest | Partial<GenerateRequest>): Promise<GenerateResponse> {
      calls.generate!++;
      const prompts = req.prompts?.length ?? req.messages?.length ?? req.prompt_token_ids?.length ?? 1;
      const n = req.n ?? 1;
      return {
        policy_version: version,
        results: Array.from({ length: prompts }, () => ({
          prompt_token_ids: promptIds,
          samples: Array.from({ length: n }, (_, i) => ({
            // Different answers inside a group, so groups have reward variance now and then.
            text: `Adding up gives \\boxed{${i % 8}}`,
            token_ids: completionIds,
            logprobs,
            finish_reason: 'stop' as const,
            thinking_tokens: 0,
            answer_tokens: STUB_COMPLETION_TOKENS,
          })),
        })),
      } as GenerateResponse;
    },
    async tokenize(req: TokenizeRequest): Promise<TokenizeResponse> {
      return { counts: req.texts.map((t) => Math.ceil(t.length / 4)) };
    },
    async info(): Promise<InfoResponse> {
      return {
        model: 'instant-stub',
        tokenizer: 'none',
        device: 'cpu',
        dtype: 'float32',
        policy_version: version,
        run_id: null,
        max_context: 4096,
        vocab_size: 256,
        parameters: 0,
        base_model: 'instant-stub',
        last_idempotency_key: null,
        checkpoint_dir: '/nonexistent',
        loaded_from: null,
      };
    },
    async trainStep(req: TrainStepRequest): Promise<TrainStepResponse> {
      calls.train_step!++;
      const old = seen.get(req.idempotency_key);
      if (old) return { ...old, replayed: true };
      version++;
      const tokens = req.samples.reduce((a, s) => a + s.completion_token_ids.length, 0);
      const res: TrainStepResponse = {
        policy_version: version,
        metrics: {
          loss: 0,
          kl: 0,
          clip_frac_low: 0,
          clip_frac_high: 0,
          entropy: 1,
          grad_norm: 0,
          tokens,
          seconds: 0,
          learning_rate: req.hyper?.learning_rate ?? 1e-5,
        },
        replayed: false,
      } as TrainStepResponse;
      seen.set(req.idempotency_key, res);
      return res;
    },
    async sftStep(): Promise<SftStepResponse> {
      version++;
      return { policy_version: version, loss: 0, tokens: 0, seconds: 0, replayed: false };
    },
    async checkpoint(req: { path: string }): Promise<CheckpointResponse> {
      return { path: req.path, policy_version: version, run_id: null, last_idempotency_key: null };
    },
  } as Policy & { calls: Record<string, number> };
}
