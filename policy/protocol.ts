/**
 * The policy-worker HTTP protocol, version 1: the single source of truth.
 *
 * Every request and response the orchestrator exchanges with the Python policy worker
 * (`policy/worker/`) is defined here with zod. `npm run protocol:schema` writes the JSON Schema of
 * these shapes to `policy/worker/multigym_worker/protocol.schema.json`, which the worker validates
 * against, so both sides check the same shapes. Field names are snake_case because they are wire
 * names shared with Python.
 *
 * Checks that JSON Schema cannot express (equal lengths of a sample's token ids, log-probs and mask)
 * are zod refinements here, used by the TS client on what it sends and receives, and repeated by the
 * worker on what it receives. Every number is finite (JSON has no NaN; the worker refuses `NaN` and
 * `Infinity` literals and never writes one).
 *
 * Access: when the worker has a token, every route but `GET /health` needs
 * `Authorization: Bearer <token>` (the client reads `MULTIGYM_POLICY_TOKEN`), and every POST needs
 * `Content-Type: application/json`.
 */
import { z } from 'zod';

/** One chat message in OpenAI form. `tool` messages carry a tool's result back to the model. */
export const ChatMessage = z
  .object({
    role: z.enum(['system', 'user', 'assistant', 'tool']).describe('Who speaks.'),
    content: z.string().describe('The message text.'),
    name: z.string().optional().describe('Tool name, for `tool` messages.'),
  })
  .describe('A chat message.');
export type ChatMessage = z.infer<typeof ChatMessage>;

const tokenIds = z.array(z.number().int().nonnegative());

/** A log-probability: finite and ≤ 0. */
const logprob = z.number().max(0).describe('A log-probability (finite, ≤ 0).');

/** Reasoning-budget control (Nemotron 3 style): the worker closes `<think>` after this many tokens. */
export const ReasoningBudget = z
  .object({
    budget_tokens: z
      .number()
      .int()
      .positive()
      .describe('Maximum tokens inside the <think> block; at the budget the worker closes the block.'),
  })
  .describe('Reasoning budget for the samples of this request.');

/**
 * What a request expects the worker to hold: the weights of run `run_id` at `policy_version`. A
 * worker holding anything else refuses the request (409 `policy_mismatch`) and changes nothing, so a
 * run never samples from or trains another run's weights, or a restarted worker's fresh ones.
 */
export const PolicyExpectation = z
  .object({
    run_id: z
      .string()
      .min(1)
      .nullable()
      .describe('Run whose weights the worker must hold (null: weights no run has claimed).'),
    policy_version: z.number().int().nonnegative().describe('Policy version the worker must be at.'),
  })
  .describe('Precondition on the weights the worker holds; checked before the request runs.');
export type PolicyExpectation = z.infer<typeof PolicyExpectation>;

/** `POST /v1/generate`: batched sampling. Give exactly one of `prompts`, `messages`, `prompt_token_ids`. */
export const GenerateRequest = z
  .object({
    prompts: z.array(z.string()).min(1).optional().describe('Raw text prompts.'),
    messages: z
      .array(z.array(ChatMessage).min(1))
      .min(1)
      .optional()
      .describe('Chat conversations; the worker applies its chat template with a generation prompt.'),
    prompt_token_ids: z.array(tokenIds.min(1)).min(1).optional().describe('Already tokenized prompts.'),
    n: z.number().int().min(1).max(1024).default(1).describe('Samples per prompt (the GRPO group size).'),
    max_tokens: z.number().int().min(1).default(128).describe('Maximum new tokens per sample.'),
    temperature: z.number().min(0).default(1).describe('Sampling temperature; 0 means greedy.'),
    top_p: z.number().gt(0).max(1).default(1).describe('Nucleus sampling mass.'),
    top_k: z.number().int().min(0).default(0).describe('Keep the k most likely tokens; 0 disables.'),
    stop: z.array(z.string()).default([]).describe('Stop strings; the sample ends after the first match.'),
    seed: z.number().int().optional().describe('Makes the request reproducible.'),
    reasoning: ReasoningBudget.optional(),
    expect: PolicyExpectation.optional(),
  })
  .describe('Batched sampling request.');
export type GenerateRequest = z.input<typeof GenerateRequest>;

export const FinishReason = z.enum(['stop', 'length', 'eos']).describe('Why a sample ended.');

export const Sample = z
  .object({
    text: z.string().describe('Decoded completion text (stop string excluded).'),
    token_ids: tokenIds.describe('Sampled token ids, length T.'),
    logprobs: z
      .array(logprob)
      .describe('Log-probability of each sampled token under the sampling policy, length T.'),
    finish_reason: FinishReason,
    thinking_tokens: z.number().int().nonnegative().describe('Tokens inside the <think> block.'),
    answer_tokens: z
      .number()
      .int()
      .nonnegative()
      .describe('Tokens after the <think> block (or all, without one).'),
  })
  .superRefine((s, ctx) => {
    if (s.logprobs.length !== s.token_ids.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['logprobs'],
        message: `has ${s.logprobs.length} entries for ${s.token_ids.length} token ids`,
      });
    }
  });
export type Sample = z.infer<typeof Sample>;

export const GenerateResponse = z.object({
  policy_version: z.number().int().nonnegative().describe('Policy version that sampled these tokens.'),
  results: z
    .array(
      z.object({
        prompt_token_ids: tokenIds.describe('The tokenized prompt, as the model saw it.'),
        samples: z.array(Sample).describe('`n` samples for this prompt.'),
      }),
    )
    .describe('One entry per prompt, in request order.'),
});
export type GenerateResponse = z.infer<typeof GenerateResponse>;

/** One training sample: a completion of a prompt with its group-relative advantage. */
export const TrainSample = z
  .object({
    prompt_token_ids: tokenIds.min(1),
    completion_token_ids: tokenIds.min(1),
    old_logprobs: z.array(logprob).describe('Sampling policy log-probs, one per completion token.'),
    advantage: z.number().describe('Group-relative advantage of this sample (same for all its tokens).'),
    completion_mask: z
      .array(z.union([z.literal(0), z.literal(1)]))
      .optional()
      .describe('1 for tokens the model wrote, 0 for inserted tokens (tool results); default all 1.'),
  })
  .superRefine((s, ctx) => {
    const n = s.completion_token_ids.length;
    for (const field of ['old_logprobs', 'completion_mask'] as const) {
      const len = s[field]?.length;
      if (len !== undefined && len !== n) {
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `has ${len} entries for ${n} completion tokens`,
        });
      }
    }
  });
export type TrainSample = z.infer<typeof TrainSample>;

/** Loss aggregation over the batch's tokens, as verl's `loss_agg_mode` names it (docs/algorithms.md). */
export const LossAggMode = z
  .enum(['token-mean', 'seq-mean-token-sum', 'seq-mean-token-mean', 'seq-mean-token-sum-norm'])
  .describe(
    'token-mean: Σ loss / Σ tokens (DAPO). seq-mean-token-sum: mean over sequences of the token sum. ' +
      'seq-mean-token-mean: mean over sequences of the token mean (GRPO). seq-mean-token-sum-norm: ' +
      'Σ loss / (sequences · loss_agg_norm) (Dr. GRPO).',
  );
export type LossAggMode = z.infer<typeof LossAggMode>;

/** Per-token KL estimators (Schulman 2020), as OpenRLHF's `kl_estimator` names them. */
export const KlEstimator = z
  .enum(['k1', 'k2', 'k3'])
  .describe('k1: log π/π_ref; k2: ½(log π/π_ref)²; k3: r − log r − 1, r = π_ref/π (low variance).');
export type KlEstimator = z.infer<typeof KlEstimator>;

const klClamp = z
  .number()
  .positive()
  .default(10)
  .describe('Each token’s KL estimate is clamped to ±kl_clamp (verl and OpenRLHF use 10).');

/** The checks of `TrainHyper` that JSON Schema cannot express (the worker repeats them). */
export function trainHyperIssues(h: {
  loss_agg_mode?: string;
  loss_agg_norm?: number | undefined;
}): { path: string[]; message: string }[] {
  const norm = h.loss_agg_mode === 'seq-mean-token-sum-norm';
  if (norm && h.loss_agg_norm === undefined)
    return [
      {
        path: ['loss_agg_norm'],
        message:
          'seq-mean-token-sum-norm divides by a constant: give loss_agg_norm > 0 (Dr. GRPO: the generation budget)',
      },
    ];
  if (!norm && h.loss_agg_norm !== undefined)
    return [
      {
        path: ['loss_agg_norm'],
        message: `is used by seq-mean-token-sum-norm only, not ${h.loss_agg_mode ?? 'token-mean'}`,
      },
    ];
  return [];
}

/**
 * The loss options of one train_step (docs/algorithms.md has each formula and its source). Strict: a
 * misspelt option is refused (400 naming it), never silently left at its default.
 */
/**
 * The loss options that a run config's `algorithm` block passes to the worker unchanged (same name,
 * meaning and default on both sides): spread into `TrainHyper` here and `AlgorithmConfig` there.
 */
export const lossOptionFields = {
  clip_ratio_c: z
    .number()
    .gt(1)
    .optional()
    .describe(
      'Dual-clip constant c > 1: for A < 0 the token loss is at most −A·c (Ye et al. 2020). Off when absent.',
    ),
  kl_estimator: KlEstimator.default('k3'),
  kl_clamp: klClamp,
  entropy_coeff: z
    .number()
    .min(0)
    .default(0)
    .describe('Entropy bonus: the loss subtracts entropy_coeff × the aggregated token entropy; 0 disables.'),
  loss_agg_mode: LossAggMode.default('token-mean'),
  rollout_is: z
    .enum(['token', 'sequence'])
    .optional()
    .describe(
      'Rollout correction for stale samples (decoupled PPO): clip around the weights at the start of the ' +
        'step and weight by min(π_old/μ, rollout_is_threshold), per token or per sequence. Off when absent.',
    ),
  rollout_is_threshold: z
    .number()
    .positive()
    .default(2)
    .describe('Cap C of the truncated importance weight of rollout_is.'),
  sync_ref_model: z
    .boolean()
    .default(false)
    .describe(
      'Refresh π_ref every ref_model_sync_steps steps: π_ref ← α·π_θ + (1 − α)·π_ref (TR-DPO); else never.',
    ),
  ref_model_sync_steps: z.number().int().positive().default(512).describe('Steps between refreshes.'),
  ref_model_mixup_alpha: z
    .number()
    .gt(0)
    .max(1)
    .default(0.6)
    .describe('α of the refresh; 1 copies the policy.'),
};

export const TrainHyper = z
  .strictObject({
    learning_rate: z.number().positive().default(1e-5).describe('Peak AdamW learning rate.'),
    clip_low: z.number().min(0).max(1).default(0.2).describe('ε_low: ratio clipped below at 1 − ε_low.'),
    clip_high: z
      .number()
      .min(0)
      .default(0.2)
      .describe('ε_high: ratio clipped above at 1 + ε_high (DAPO clip-higher).'),
    kl_coef: z
      .number()
      .min(0)
      .default(0)
      .describe('β of the KL loss term to the reference policy; 0 disables.'),
    ...lossOptionFields,
    loss_agg_norm: z
      .number()
      .positive()
      .optional()
      .describe('The constant of seq-mean-token-sum-norm (required by it, refused otherwise).'),
    micro_batch_size: z.number().int().positive().default(8).describe('Samples per forward/backward pass.'),
    max_grad_norm: z.number().positive().default(1).describe('Global gradient-norm clip.'),
  })
  .superRefine((h, ctx) => {
    for (const issue of trainHyperIssues(h)) ctx.addIssue({ code: 'custom', ...issue });
  });
export type TrainHyper = z.input<typeof TrainHyper>;

/** `POST /v1/train_step`: one GRPO update. A repeated `idempotency_key` returns the recorded result. */
export const TrainStepRequest = z.object({
  idempotency_key: z.string().min(1).describe('Business key, e.g. `<run>:<step>`; never an attempt number.'),
  samples: z.array(TrainSample).min(1),
  hyper: TrainHyper.default(TrainHyper.parse({})),
  expect: PolicyExpectation.optional().describe(
    'Checked after the idempotency key: a recorded key replays its result whatever the worker holds now.',
  ),
});
export type TrainStepRequest = z.input<typeof TrainStepRequest>;

export const TrainMetrics = z.object({
  loss: z.number().describe('The step loss: pg_loss + kl_coef·kl_loss − entropy_coeff·entropy_loss.'),
  pg_loss: z.number().describe('The clipped policy-gradient term, aggregated by loss_agg_mode.'),
  kl_loss: z
    .number()
    .describe('The KL estimate aggregated by loss_agg_mode, before kl_coef (0 without a KL term).'),
  entropy_loss: z.number().describe('The token entropy aggregated by loss_agg_mode, before entropy_coeff.'),
  kl: z.number().describe('Mean KL estimate to the reference policy per loss token (0 without a KL term).'),
  clip_frac_low: z.number().describe('Share of loss tokens with A<0 clipped at 1 − ε_low.'),
  clip_frac_high: z.number().describe('Share of loss tokens with A>0 clipped at 1 + ε_high.'),
  clip_frac_dual: z.number().describe('Share of loss tokens with A<0 bounded by the dual-clip constant.'),
  ratio_mean: z.number().describe('Mean of π_θ/μ over loss tokens before the update (1 when on-policy).'),
  ratio_min: z.number().describe('Smallest π_θ/μ over loss tokens before the update.'),
  ratio_max: z.number().describe('Largest π_θ/μ over loss tokens before the update.'),
  rollout_is_weight_mean: z
    .number()
    .describe('Mean truncated importance weight min(π_old/μ, C) per loss token (1 when rollout_is is off).'),
  rollout_is_capped_frac: z.number().describe('Share of loss tokens whose importance weight hit the cap C.'),
  ref_model_synced: z.boolean().describe('True when this step refreshed the reference policy.'),
  entropy: z.number().describe('Mean token entropy of the current policy, nats.'),
  grad_norm: z.number().describe('Global gradient norm before clipping.'),
  tokens: z.number().int().describe('Completion tokens trained on.'),
  sequences: z.number().int().describe('Completions with at least one token in the loss.'),
  seconds: z.number().describe('Wall time of the step.'),
  learning_rate: z.number(),
});
export type TrainMetrics = z.infer<typeof TrainMetrics>;

export const TrainStepResponse = z.object({
  policy_version: z.number().int().describe('Policy version after the step.'),
  metrics: TrainMetrics,
  replayed: z.boolean().describe('True when the idempotency key was seen before and nothing changed.'),
});
export type TrainStepResponse = z.infer<typeof TrainStepResponse>;

/**
 * `POST /v1/reference_kl`: Σ_t KL_t(π_θ ‖ π_ref) over each sample's loss tokens, with the current
 * weights as π_θ, for a KL penalty in the reward (verl `use_kl_in_reward`). Changes no weights; a
 * worker with no reference policy yet takes its current weights as π_ref (as its first train_step
 * would). With an `idempotency_key` (the step's train_step key) the answer is recorded and a repeat
 * replays it, also after that train_step changed the weights, so a retried step gets the same rewards.
 */
export const ReferenceKlRequest = z.object({
  idempotency_key: z
    .string()
    .min(1)
    .optional()
    .describe('The train_step key of the step these rewards are for, e.g. `<run>:<step>`.'),
  expect: PolicyExpectation.optional().describe(
    'Checked after the idempotency key: a recorded key replays its answer whatever the worker holds now.',
  ),
  samples: z
    .array(
      z.object({
        prompt_token_ids: tokenIds.min(1),
        completion_token_ids: tokenIds.min(1),
        completion_mask: z
          .array(z.union([z.literal(0), z.literal(1)]))
          .optional()
          .describe('1 for tokens the model wrote (summed), 0 for inserted ones; default all 1.'),
      }),
    )
    .min(1),
  kl_estimator: KlEstimator.default('k3'),
  kl_clamp: klClamp,
  micro_batch_size: z.number().int().positive().default(8).describe('Samples per forward pass.'),
});
export type ReferenceKlRequest = z.input<typeof ReferenceKlRequest>;
export const ReferenceKlResponse = z.object({
  policy_version: z.number().int().describe('Policy version of π_θ.'),
  kl: z.array(z.number()).describe('One sum per sample, in request order (nats).'),
  replayed: z.boolean().describe('True when the idempotency key was seen before (the recorded answer).'),
});
export type ReferenceKlResponse = z.infer<typeof ReferenceKlResponse>;

/** `POST /v1/sft_step`: supervised cross-entropy on completions (warm start). */
export const SftStepRequest = z.object({
  idempotency_key: z.string().min(1).optional(),
  examples: z
    .array(
      z.object({
        prompt: z.string().optional(),
        messages: z.array(ChatMessage).optional().describe('Conversation before the completion.'),
        completion: z.string().describe('Target text the model should write.'),
      }),
    )
    .min(1),
  learning_rate: z.number().positive().default(1e-3),
  micro_batch_size: z.number().int().positive().default(16),
});
export type SftStepRequest = z.input<typeof SftStepRequest>;

export const SftStepResponse = z.object({
  policy_version: z.number().int(),
  loss: z.number().describe('Mean cross-entropy per completion token, nats.'),
  tokens: z.number().int(),
  seconds: z.number(),
  replayed: z.boolean(),
});
export type SftStepResponse = z.infer<typeof SftStepResponse>;

export const InfoResponse = z.object({
  model: z.string(),
  tokenizer: z.string(),
  device: z.string(),
  dtype: z.string(),
  policy_version: z.number().int().describe('Train/sft steps the weights contain (0: fresh model).'),
  run_id: z
    .string()
    .nullable()
    .describe('Run whose weights the worker holds (set by /v1/reset and /v1/load); null when none.'),
  max_context: z.number().int().describe('Longest prompt + completion the model accepts, tokens.'),
  vocab_size: z.number().int(),
  parameters: z.number().int(),
  base_model: z
    .string()
    .describe(
      'Identity of the weights the lineage started from: `builtin:<name>@seed=<seed>` or a model directory; kept through checkpoints.',
    ),
  last_idempotency_key: z
    .string()
    .nullable()
    .describe('Key of the last applied (not replayed) train step in these weights; null: none.'),
  checkpoint_dir: z.string().describe('The root every checkpoint path is confined to (absolute).'),
  loaded_from: z
    .string()
    .nullable()
    .describe('Checkpoint the current state was loaded from; null once a step changed it, or never loaded.'),
  rollout_modes: z
    .array(z.enum(['sync', 'one_step_off']))
    .default(['sync'])
    .describe(
      'Run config policy.rollout_mode values this worker serves; a worker that does not send the field serves "sync".',
    ),
});
export type InfoResponse = z.infer<typeof InfoResponse>;

export const TokenizeRequest = z.object({
  texts: z.array(z.string()).min(1),
  return_ids: z.boolean().default(false),
});
export type TokenizeRequest = z.input<typeof TokenizeRequest>;
export const TokenizeResponse = z.object({
  counts: z.array(z.number().int()),
  token_ids: z.array(tokenIds).optional(),
});
export type TokenizeResponse = z.infer<typeof TokenizeResponse>;

/** `POST /v1/checkpoint`: writes weights, optimizer state, policy version, run id and idempotency records. */
const checkpointPath = z
  .string()
  .min(1)
  .describe(
    "Checkpoint directory: relative to the worker's checkpoint root, or absolute inside it (400 path_outside_root otherwise).",
  );

export const CheckpointRequest = z.object({
  path: checkpointPath,
  expect: PolicyExpectation.optional().describe('Refuse to write a checkpoint of other weights.'),
});
export type CheckpointRequest = z.input<typeof CheckpointRequest>;
export const CheckpointResponse = z.object({
  path: z.string().describe('The directory written or read, absolute (symlinks resolved).'),
  policy_version: z.number().int(),
  run_id: z.string().nullable().describe('Run whose weights these are (null when none).'),
  last_idempotency_key: z.string().nullable().describe('Key of the last train step the weights contain.'),
});
export type CheckpointResponse = z.infer<typeof CheckpointResponse>;

/** `POST /v1/load`: restores a checkpoint; `run_id` claims the loaded weights for a run. */
export const LoadRequest = z.object({
  path: checkpointPath,
  run_id: z
    .string()
    .min(1)
    .nullable()
    .optional()
    .describe('Run the loaded weights now belong to; default: the run recorded in the checkpoint.'),
});
export type LoadRequest = z.input<typeof LoadRequest>;

/**
 * `POST /v1/reset`: back to the worker's base model (its `--model`, weights re-initialised from
 * `--seed` or re-read from the directory), with no optimizer state, reference policy or idempotency
 * records, at policy version 0, claimed for `run_id`.
 */
export const ResetRequest = z.object({
  run_id: z.string().min(1).nullable().default(null).describe('Run the fresh weights belong to.'),
});
export type ResetRequest = z.input<typeof ResetRequest>;
export const ResetResponse = z.object({
  policy_version: z.number().int(),
  run_id: z.string().nullable(),
});
export type ResetResponse = z.infer<typeof ResetResponse>;

/**
 * Stable `error.type` values and their HTTP status. 4xx are the request's fault or a state the
 * caller must resolve (never retried as is); 5xx may pass on retry.
 */
export const ErrorTypes = {
  /** 400: malformed JSON, a wrong shape or an inconsistent request. */
  validation: 400,
  /** 400: prompt (+ completion) longer than the model's context (`tokens`, `max_context`). */
  context_too_long: 400,
  /** 400: a token id ≥ the vocabulary size. */
  token_out_of_range: 400,
  /** 400: a checkpoint that cannot be written or read (incl. pickle files, another architecture). */
  checkpoint: 400,
  /** 400: a checkpoint path outside the worker's `--checkpoint-dir`. */
  path_outside_root: 400,
  /** 401: a bearer token is required and missing or wrong. */
  unauthorized: 401,
  /** 409: `expect` names other weights than the worker holds (`worker`: what it holds). */
  policy_mismatch: 409,
  /** 415: a POST body not sent as `Content-Type: application/json`. */
  unsupported_media_type: 415,
  /** 422: the step's loss or gradient norm is NaN/∞; nothing changed (weights, optimizer, version). */
  non_finite: 422,
  /** 500: an answer would hold NaN/∞ (broken weights); load a checkpoint. */
  non_finite_output: 500,
  /** 500: a bug in the worker. */
  internal: 500,
  /** 503: CUDA ran out of memory; the request was dropped and the worker keeps serving. */
  cuda_oom: 503,
} as const;
export type ErrorType = keyof typeof ErrorTypes;

/** Error body of every non-2xx answer. */
export const ErrorResponse = z.object({
  error: z.object({
    type: z.string().describe('Stable error type (`ErrorTypes`), e.g. `validation`, `non_finite`.'),
    message: z.string(),
    field: z.string().optional().describe('Dotted path of the offending field.'),
    worker: z
      .object({ run_id: z.string().nullable(), policy_version: z.number().int() })
      .optional()
      .describe('`policy_mismatch` only: what the worker holds.'),
    tokens: z.number().int().optional().describe('context_too_long: tokens of the prompt (+ completion).'),
    max_context: z.number().int().optional().describe("context_too_long: the model's context."),
  }),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

/** Every route with its request and response schema; used to export JSON Schema for the worker. */
export const routes = {
  '/v1/generate': { request: GenerateRequest, response: GenerateResponse },
  '/v1/train_step': { request: TrainStepRequest, response: TrainStepResponse },
  '/v1/sft_step': { request: SftStepRequest, response: SftStepResponse },
  '/v1/reference_kl': { request: ReferenceKlRequest, response: ReferenceKlResponse },
  '/v1/tokenize': { request: TokenizeRequest, response: TokenizeResponse },
  '/v1/checkpoint': { request: CheckpointRequest, response: CheckpointResponse },
  '/v1/load': { request: LoadRequest, response: CheckpointResponse },
  '/v1/reset': { request: ResetRequest, response: ResetResponse },
  '/v1/info': { request: z.object({}), response: InfoResponse },
} as const;
