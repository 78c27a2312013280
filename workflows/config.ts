/**
 * The run config: what a user pastes into the Temporal UI or passes to `multigym run`.
 * zod is the source of truth; `multigym config-schema` prints it as JSON Schema.
 * Imported by workflow code: zod only, no I/O.
 */
import { z } from 'zod';
import { AlgorithmConfig, algorithmEnvIssues, RENAMED_ALGORITHM_KEYS } from './algorithm.js';

export { AlgorithmConfig } from './algorithm.js';

const kebab = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, 'must be kebab-case, e.g. "code-sandbox"')
  .describe('Environment name in the registry (kebab-case).');

/** A weighted reward component overriding an environment's defaults. */
export const RewardOverride = z.strictObject({
  checker: z.string().min(1).describe('Reward checker name, e.g. "math-equivalence".'),
  name: z
    .string()
    .regex(/^[a-z][a-z0-9]*([-_][a-z0-9]+)*$/, 'must be kebab-case, e.g. "boxed-format"')
    .optional()
    .describe(
      'Name of this component in reward rows and metrics; default the checker name. Names are unique ' +
        'within an environment: give one to list a checker twice (two regex patterns, say).',
    ),
  weight: z.number().describe('Weight of this component in the total reward.'),
  config: z
    .record(z.string(), z.unknown())
    .optional()
    .describe("Checker config, validated by the checker's schema."),
});

/** Sampling parameters of an environment's rollouts. */
export const SamplingConfig = z.strictObject({
  max_tokens: z.number().int().min(1).default(256).describe('Maximum new tokens per model turn.'),
  temperature: z.number().min(0).default(1).describe('Sampling temperature (1 for on-policy GRPO).'),
  top_p: z.number().gt(0).max(1).default(1).describe('Nucleus mass.'),
  top_k: z.number().int().min(0).default(0).describe('Top-k; 0 disables.'),
  stop: z.array(z.string()).default([]).describe('Stop strings.'),
});

/** Nemotron-3-style reasoning-budget control for a share of an environment's prompts. */
export const ReasoningControl = z.strictObject({
  share: z.number().min(0).max(1).describe('Fraction of prompts sampled under a reasoning budget.'),
  budget_tokens: z.number().int().positive().describe('Tokens allowed inside <think> for those prompts.'),
  brevity_weight: z
    .number()
    .min(0)
    .default(0.2)
    .describe(
      'Weight of the `budget` checker added to budgeted rollouts (correctness and brevity together).',
    ),
});

/** Name of the component that reasoning-budget control adds to budgeted rollouts (`reasoning`). */
export const BUDGET_COMPONENT = 'budget';

/**
 * Problems with the component names of one environment's reward list: two components with one name
 * (one reward row would be dropped while the total counted both), or a component named like the
 * `budget` component that `reasoning` adds. `path` is relative to the reward list.
 */
export function rewardNameIssues(
  rewards: { checker: string; name?: string }[],
  reasoning: boolean,
): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const seen = new Map<string, number>();
  rewards.forEach((r, j) => {
    const name = r.name ?? r.checker;
    const field = r.name === undefined ? 'checker' : 'name';
    const first = seen.get(name);
    if (first !== undefined) {
      issues.push({
        path: [j, field],
        message: `component "${name}" is listed twice (also at ${first}): give one a distinct "name"`,
      });
    } else if (reasoning && name === BUDGET_COMPONENT) {
      issues.push({
        path: [j, field],
        message:
          `"${BUDGET_COMPONENT}" is added automatically for the reasoning budget (its weight is ` +
          'reasoning.brevity_weight): remove this component or give it another "name"',
      });
    }
    seen.set(name, first ?? j);
  });
  return issues;
}

/** One environment of the mixture. */
export const EnvSpec = z
  .strictObject({
    name: kebab,
    weight: z
      .number()
      .min(0)
      .default(1)
      .describe(
        "Scales this environment's advantages in the shared batch; 0 collects rollouts without training.",
      ),
    prompts_per_step: z
      .number()
      .int()
      .min(1)
      .describe('Tasks (groups) sampled from this environment per step.'),
    group_size: z
      .number()
      .int()
      .min(2)
      .max(256)
      .describe('Samples per task (G); advantages are computed per group.'),
    split: z.string().default('train').describe('Data split to sample from.'),
    eval_split: z.string().default('test').describe('Held-out split for evalRun.'),
    rewards: z
      .array(RewardOverride)
      .optional()
      .describe("Overrides the environment's default reward checkers."),
    sampling: SamplingConfig.default(SamplingConfig.parse({})).describe('Sampling parameters.'),
    reasoning: ReasoningControl.optional().describe('Reasoning-budget control; off when absent.'),
    config: z
      .record(z.string(), z.unknown())
      .default({})
      .describe("The environment's own config (dataset, generator…), validated by its schema."),
  })
  .superRefine((spec, ctx) => {
    for (const issue of rewardNameIssues(spec.rewards ?? [], spec.reasoning !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['rewards', ...issue.path], message: issue.message });
    }
  });
export type EnvSpec = z.infer<typeof EnvSpec>;

/**
 * Activity timeouts, seconds. A crashed worker's activities are retried only once their heartbeat
 * timeout has passed, so these bound how long a run stalls after a crash; tests shorten them.
 */
export const TimeoutsConfig = z.strictObject({
  rollout_heartbeat_s: z
    .number()
    .positive()
    .default(120)
    .describe('Heartbeat timeout of rollout activities (environment queues), seconds.'),
  main_heartbeat_s: z
    .number()
    .positive()
    .default(300)
    .describe('Heartbeat timeout of main-queue activities (training, checkpoints, bookkeeping), seconds.'),
  policy_unreachable_s: z
    .number()
    .positive()
    .default(600)
    .describe(
      'How long the run waits for a policy worker that does not answer (connection refused, unknown host) ' +
        'before it fails with that error, seconds. Meanwhile `multigym run` shows what it waits for.',
    ),
  stop_grace_s: z
    .number()
    .nonnegative()
    .default(60)
    .describe(
      'After a `stop`, how long the step in flight may take to finish before it is abandoned (its ' +
        'activities cancelled, e.g. while they retry against an unreachable policy worker), seconds.',
    ),
});
export type TimeoutsConfig = z.infer<typeof TimeoutsConfig>;

/** How rollouts are scored. */
export const ScoringConfig = z.strictObject({
  infra_attempts: z
    .number()
    .int()
    .min(1)
    .default(3)
    .describe(
      'Attempts of a rollout chunk while checkers meet infrastructure errors (a sandbox cannot start, ' +
        'resources run out); each retry re-scores without sampling again. After the last, those ' +
        'rollouts stay infra_error and out of the batch. Default 3.',
    ),
});
export type ScoringConfig = z.infer<typeof ScoringConfig>;

/** Where a run's weights start: the worker's base model, or a checkpoint directory. */
export const PolicyInit = z.union([
  z.literal('base'),
  z.strictObject({
    checkpoint: z.string().min(1).describe('A /v1/checkpoint directory, as the worker sees it.'),
  }),
]);
export type PolicyInit = z.infer<typeof PolicyInit>;

/** The fields of the run config. */
const RunConfigFields = z.strictObject({
  name: z.string().min(1).default('run').describe('Human-readable run name (shown in the UI list).'),
  seed: z.number().int().default(0).describe('Seeds task order and sampling.'),
  steps: z.number().int().min(1).describe('Training steps (one train_step each).'),
  policy: z.strictObject({
    url: z.string().url().describe('Policy worker base URL, e.g. http://127.0.0.1:8765.'),
    init: PolicyInit.default('base').describe(
      'Weights the run starts from: "base" (the worker\'s --model, reset: fresh weights, no optimizer ' +
        'state) or {"checkpoint": DIR} (a /v1/checkpoint directory on the worker host, e.g. a supervised ' +
        'warm start). Never the weights another run left in the worker.',
    ),
    model: z
      .string()
      .min(1)
      .optional()
      .describe(
        'The model the worker must serve, as its /v1/info names it (e.g. "builtin:tiny" or a directory); ' +
          'the run refuses a worker serving another. Unchecked when absent.',
      ),
    rollout_mode: z
      .enum(['sync', 'one_step_off'])
      .default('sync')
      .describe(
        'How sampling and training share the worker\'s GPUs. "sync" (default): each step samples with ' +
          'the newest weights, then trains. "one_step_off" (one-step off-policy, as verl\'s ' +
          'one_step_off_policy recipe, AReaL and prime-rl): the worker samples step N+1 on its own GPUs ' +
          'with the weights of step N while step N trains, the trainer handing each new version to ' +
          'the sampler after its step; every rollout keeps the policy version that sampled it ' +
          '(its staleness is the trained version minus that, corrected by the importance ratio). The ' +
          'run refuses a mode the worker does not list in /v1/info rollout_modes.',
      ),
  }),
  environments: z.array(EnvSpec).min(1).describe('The environment mixture, trained simultaneously.'),
  algorithm: AlgorithmConfig.default(AlgorithmConfig.parse({})),
  eval_every: z.number().int().min(0).default(0).describe('Run evalRun every K steps; 0 disables.'),
  eval: z
    .object({
      prompts: z.number().int().min(1).default(16).describe('Held-out tasks per environment.'),
      n: z.number().int().min(1).default(1).describe('Samples per task (pass@k uses k ≤ n).'),
    })
    .default({ prompts: 16, n: 1 }),
  checkpoint_every: z
    .number()
    .int()
    .min(0)
    .default(10)
    .describe(
      "Checkpoint the policy every K steps; 0 disables. A worker that loses the run's weights (a " +
        'restart) gets back the newest checkpoint and the steps after it are trained again from their ' +
        'stored rollouts; with no checkpoint the run fails instead. Default 10.',
    ),
  checkpoint_dir: z
    .string()
    .min(1)
    .default('runs')
    .describe(
      "Directory of checkpoints on the worker host, under the worker's --checkpoint-dir root (a relative " +
        'path is taken from that root); a run writes <dir>/<run id>/step-<N>. Default runs.',
    ),
  checkpoint_keep: z
    .number()
    .int()
    .min(0)
    .default(3)
    .describe(
      'Checkpoints kept: the newest N, plus the one of the step with the highest mean training reward; ' +
        'older ones are deleted (when the policy worker writes to this host’s disk). 0 keeps all. Default 3.',
    ),
  continue_as_new_every: z.number().int().min(1).default(10).describe('Steps per workflow execution.'),
  plugins: z.array(z.string()).default([]).describe('Plugin modules to load (paths or npm packages).'),
  data_dir: z.string().optional().describe('Directory of real data sets; default MULTIGYM_DATA.'),
  timeouts: TimeoutsConfig.default(TimeoutsConfig.parse({})).describe('Activity timeouts (crash detection).'),
  scoring: ScoringConfig.default(ScoringConfig.parse({})).describe(
    'Scoring: retries of infrastructure errors.',
  ),
});
/** The whole run config: its fields, and the checks that involve several of them. */
export const RunConfig = RunConfigFields.superRefine((c, ctx) => {
  for (const issue of algorithmEnvIssues(c.algorithm, c.environments))
    ctx.addIssue({ code: 'custom', ...issue });
});
export type RunConfig = z.infer<typeof RunConfig>;
export type RunConfigInput = z.input<typeof RunConfig>;

/** Formats zod issues as `path: message` lines for a failure message (with the new name of a renamed option). */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const renamed =
        i.code === 'unrecognized_keys' && i.path.at(-1) === 'algorithm'
          ? i.keys.flatMap((k) => (RENAMED_ALGORITHM_KEYS[k] ? [`${k}: ${RENAMED_ALGORITHM_KEYS[k]}`] : []))
          : [];
      const hint = renamed.length ? ` (renamed: ${renamed.join('; ')}; see docs/algorithms.md)` : '';
      return `${i.path.join('.') || '(root)'}: ${i.message}${hint}`;
    })
    .join('; ');
}
