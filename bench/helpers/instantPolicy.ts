/**
 * A policy that answers at once, for orchestration benchmarks: `generate` returns fixed short
 * completions (a `\boxed{k}` answer, 8 token ids and their log-probs per sample), `train_step`
 * returns metrics and bumps the policy version (replaying a seen idempotency key, as the real worker
 * does), and holds a run id like the worker (`reset`/`load` claim it; a request whose `expect` names
 * other weights is refused with a 409 `policy_mismatch`). Injected through `ActivityDeps.policyFor`,
 * so no model and no HTTP are timed.
 */
import type { Policy } from '../../activities/deps.js';
import { PolicyWorkerError } from '../../policy/client.js';
import type {
  CheckpointRequest,
  CheckpointResponse,
  GenerateRequest,
  GenerateResponse,
  InfoResponse,
  LoadRequest,
  PolicyExpectation,
  ReferenceKlRequest,
  ReferenceKlResponse,
  ResetRequest,
  ResetResponse,
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
  let runId: string | null = null;
  const seen = new Map<string, TrainStepResponse>();
  const check = (expect?: PolicyExpectation) => {
    if (expect && (expect.run_id !== runId || expect.policy_version !== version)) {
      throw new PolicyWorkerError('policy mismatch', 409, 'policy_mismatch', false, 'expect', {
        run_id: runId,
        policy_version: version,
      });
    }
  };
  const calls: Record<string, number> = { generate: 0, train_step: 0 };
  return {
    calls,
    async generate(req: GenerateRequest | Partial<GenerateRequest>): Promise<GenerateResponse> {
      calls.generate!++;
      check(req.expect);
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
        run_id: runId,
        max_context: 4096,
        vocab_size: 256,
        parameters: 0,
        base_model: 'instant-stub',
        last_idempotency_key: null,
        checkpoint_dir: '/nonexistent',
        loaded_from: null,
        rollout_modes: ['sync'],
      };
    },
    async trainStep(req: TrainStepRequest): Promise<TrainStepResponse> {
      calls.train_step!++;
      const old = seen.get(req.idempotency_key);
      if (old) return { ...old, replayed: true };
      check(req.expect);
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
    async referenceKl(req: ReferenceKlRequest): Promise<ReferenceKlResponse> {
      return { policy_version: version, kl: req.samples.map(() => 0), replayed: false };
    },
    async sftStep(): Promise<SftStepResponse> {
      version++;
      return { policy_version: version, loss: 0, tokens: 0, seconds: 0, replayed: false };
    },
    async checkpoint(req: CheckpointRequest): Promise<CheckpointResponse> {
      check(req.expect);
      return { path: req.path, policy_version: version, run_id: runId, last_idempotency_key: null };
    },
    async load(req: LoadRequest): Promise<CheckpointResponse> {
      runId = req.run_id ?? runId;
      return { path: req.path, policy_version: version, run_id: runId, last_idempotency_key: null };
    },
    async reset(req: ResetRequest): Promise<ResetResponse> {
      version = 0;
      runId = req.run_id ?? null;
      seen.clear();
      return { policy_version: 0, run_id: runId };
    },
  } as Policy & { calls: Record<string, number> };
}
