/**
 * The run config's `algorithm` block: the GRPO family as verl, TRL and OpenRLHF configure it. Each
 * option, its formula, its paper and the equivalent setting in those three are in
 * docs/algorithms.md. Imported by workflow code: zod only, no I/O.
 */
import { z } from 'zod';
import { ADV_ESTIMATORS, type AdvantageOptions, defaultScaleRewards } from '../policy/advantages.js';
import { lossOptionFields, trainHyperIssues } from '../policy/protocol.js';

const OverlongBuffer = z
  .strictObject({
    len: z
      .number()
      .int()
      .positive()
      .describe('L_cache: tokens before each environment’s sampling.max_tokens where the penalty ramps up.'),
    penalty_factor: z
      .number()
      .min(0)
      .default(1)
      .describe('Penalty at the limit (the ramp goes 0 → −factor).'),
  })
  .describe(
    'DAPO soft overlong punishment (eq. 13): a completion longer than max_tokens − len loses up to ' +
      'penalty_factor of reward, linearly. Off when absent.',
  );

/** GRPO-family algorithm settings: advantages and reward shaping here, the loss in the worker. */
export const AlgorithmConfig = z
  .strictObject({
    adv_estimator: z
      .enum(ADV_ESTIMATORS)
      .default('grpo')
      .describe(
        'grpo: group-mean baseline; rloo: leave-one-out mean; reinforce_plus_plus: batch whitening of ' +
          'the rewards; reinforce_plus_plus_baseline: group mean, then batch whitening.',
      ),
    scale_rewards: z
      .enum(['group', 'batch', 'none'])
      .optional()
      .describe(
        'Divide the centred rewards by the group std (group, GRPO), the batch std (batch) or nothing ' +
          '(none, Dr. GRPO). Default: group for grpo, none otherwise.',
      ),
    std_estimator: z
      .enum(['unbiased', 'population'])
      .default('unbiased')
      .describe('Std with Bessel’s correction (torch.std; verl, TRL, OpenRLHF) or the population std.'),
    adv_epsilon: z
      .number()
      .positive()
      .default(1e-6)
      .describe('ε added to a std before dividing (TRL: 1e-4).'),
    loss_agg_norm: z
      .number()
      .positive()
      .optional()
      .describe(
        'Constant C of seq-mean-token-sum-norm (Dr. GRPO’s generation budget); default the largest ' +
          'sampling.max_tokens of the run’s environments. Only with seq-mean-token-sum-norm.',
      ),
    clip_low: z.number().min(0).max(1).default(0.2).describe('ε_low of the clipped ratio.'),
    clip_high: z.number().min(0).default(0.28).describe('ε_high (DAPO clip-higher when > clip_low).'),
    kl_coef: z.number().min(0).default(0).describe('β of the KL to the reference policy; 0 disables.'),
    ...lossOptionFields,
    use_kl_in_reward: z
      .boolean()
      .default(false)
      .describe('Subtract kl_coef · Σ_t KL_t from each reward before advantages instead of a loss term.'),
    mask_truncated_completions: z
      .boolean()
      .default(false)
      .describe('Leave completions cut off at max_tokens out of the loss (they still count in their group).'),
    overlong_buffer: OverlongBuffer.optional(),
    learning_rate: z.number().positive().default(1e-5).describe('AdamW learning rate.'),
    micro_batch_size: z.number().int().positive().default(16).describe('Samples per forward/backward.'),
    max_grad_norm: z.number().positive().default(1).describe('Gradient-norm clip.'),
    dynamic_sampling: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe('Replace zero-variance groups with fresh prompts (DAPO).'),
        max_rounds: z.number().int().min(0).default(2).describe('Resampling rounds per step at most.'),
      })
      .default({ enabled: false, max_rounds: 2 }),
  })
  .superRefine((a, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (a.loss_agg_norm !== undefined) for (const i of trainHyperIssues(a)) issue(i.path[0]!, i.message);
    if (a.adv_estimator.startsWith('reinforce_plus_plus') && (a.scale_rewards ?? 'none') !== 'none')
      issue(
        'scale_rewards',
        `${a.adv_estimator} already whitens the advantages over the batch: leave scale_rewards out or "none"`,
      );
    if (a.use_kl_in_reward && a.kl_coef === 0)
      issue('kl_coef', 'use_kl_in_reward subtracts kl_coef · KL from the reward: give kl_coef > 0');
    if (a.sync_ref_model && a.kl_coef === 0)
      issue('sync_ref_model', 'the reference policy is unused with kl_coef 0: nothing to refresh');
    if (a.rollout_is !== undefined && a.clip_ratio_c !== undefined)
      issue(
        'clip_ratio_c',
        'with rollout_is the ratio is taken to the step’s own starting weights (1 in a one-update step), so ' +
          'dual-clip never binds: the importance weight is capped by rollout_is_threshold instead',
      );
  });
export type AlgorithmConfig = z.infer<typeof AlgorithmConfig>;

/** Option names this block had before the GRPO family (issue 19), and what replaced them. */
export const RENAMED_ALGORITHM_KEYS: Record<string, string> = {
  advantage: 'use adv_estimator and scale_rewards ("dr-grpo" is scale_rewards "none")',
  loss_aggregation:
    'use loss_agg_mode ("dr-grpo" is "seq-mean-token-sum-norm" with a constant loss_agg_norm)',
};

/**
 * The algorithm of a step recipe (`step_metrics.recipe`), in today's terms with the same arithmetic
 * when an older multigym stored it: `advantage` grpo → scale_rewards group with the population std
 * it used, dr-grpo → scale_rewards none; `loss_aggregation` → loss_agg_mode.
 * @throws Error for loss_aggregation dr-grpo, whose normaliser was the batch's longest completion
 *   (no constant reproduces it), or a recipe today's schema refuses
 */
export function recipeAlgorithm(stored: Record<string, unknown>): AlgorithmConfig {
  const { advantage, loss_aggregation, ...rest } = stored;
  if (advantage !== undefined)
    Object.assign(rest, {
      adv_estimator: 'grpo',
      scale_rewards: advantage === 'dr-grpo' ? 'none' : 'group',
      std_estimator: 'population',
    });
  if (loss_aggregation === 'dr-grpo')
    throw new Error(
      'this step was trained with the old dr-grpo aggregation (normalised by the batch’s longest ' +
        'completion): it cannot be rebuilt exactly',
    );
  if (loss_aggregation !== undefined) rest.loss_agg_mode = loss_aggregation;
  return AlgorithmConfig.parse(rest);
}

/** The advantage options of an algorithm config, with `scale_rewards` resolved. */
export function advantageOptions(a: AlgorithmConfig): AdvantageOptions {
  return {
    adv_estimator: a.adv_estimator,
    scale_rewards: a.scale_rewards ?? defaultScaleRewards(a.adv_estimator),
    std_estimator: a.std_estimator,
    adv_epsilon: a.adv_epsilon,
  };
}

/**
 * Issues of an algorithm block against the run's environments (paths relative to the run config):
 * an overlong buffer that does not fit inside an environment's max_tokens.
 */
export function algorithmEnvIssues(
  a: AlgorithmConfig,
  envs: { name: string; sampling: { max_tokens: number } }[],
): { path: (string | number)[]; message: string }[] {
  const len = a.overlong_buffer?.len;
  if (len === undefined) return [];
  return envs.flatMap((e) =>
    len >= e.sampling.max_tokens
      ? [
          {
            path: ['algorithm', 'overlong_buffer', 'len'],
            message: `${len} leaves no room before environment "${e.name}"'s sampling.max_tokens (${e.sampling.max_tokens}): use a buffer below it`,
          },
        ]
      : [],
  );
}
