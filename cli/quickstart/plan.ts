/**
 * The quickstart's run: sizes tuned for a tiny policy on 2 CPU cores, each environment's config
 * (real data mixed with its built-in easy tasks) and the resulting `RunConfig`.
 */
import { resolve } from 'node:path';
import type { RunConfigInput } from '../../workflows/config.js';
import { type MixSummary, type RealSet, writeMixedTasks } from './data.js';

/** Sizes of the quickstart run (defaults measured to finish in about 10 minutes on 2 cores). */
export interface QuickstartSizes {
  /** GRPO steps. */
  steps: number;
  /** Tasks per step of tool-use and long-context; math and code-sandbox get `ENV_SHARE` times more. */
  promptsPerStep: number;
  /** Samples per task (G). */
  groupSize: number;
  /** GRPO learning rate (AdamW). */
  learningRate: number;
  /** Supervised warm-start steps before GRPO. */
  sftSteps: number;
  /** Demonstrations per supervised step (spread over the environments). */
  sftBatch: number;
  /** Supervised learning rate. */
  sftLearningRate: number;
  /** Share of real tasks in each environment's mix when real data is found. */
  realShare: number;
  /** Tasks per split written to each mixed task file. */
  tasksPerSplit: number;
  /** Max new tokens per environment (default `MAX_TOKENS`). */
  maxTokens?: Record<string, number>;
  /** Prompt math and code as chat messages through the model's template (instruct models). */
  chat?: boolean;
  /**
   * Heartbeat timeout of rollout activities, s (default the run config's 120): a rollout activity
   * heartbeats per finished group, and a 135M model on two busy cores can take minutes for one.
   */
  rolloutHeartbeatS?: number;
  /** Policy-worker flags (e.g. `--coalesce-generate`, so concurrent groups decode as one batch). */
  workerArgs?: string[];
  /** Sequences per forward/backward pass of a GRPO step (default 32). */
  microBatch?: number;
}

/** Default sizes for `--model tiny`. */
export const TINY_SIZES: QuickstartSizes = {
  steps: 12,
  promptsPerStep: 3,
  groupSize: 6,
  learningRate: 5e-4,
  sftSteps: 140,
  sftBatch: 16,
  sftLearningRate: 2e-3,
  realShare: 0.25,
  tasksPerSplit: 400,
};

/** `--model small` is ~20× the compute of tiny: fewer steps. */
export const SMALL_SIZES: QuickstartSizes = {
  ...TINY_SIZES,
  steps: 6,
  sftSteps: 60,
  learningRate: 2e-4,
  sftLearningRate: 1e-3,
};

/**
 * `--model smollm2-135m-instruct`: a pretrained instruct model (docs/models.md), ~100× tiny's compute
 * per token. It follows chat prompts already, so no warm start, and few, short steps on 2 CPU cores.
 */
export const SMOLLM2_SIZES: QuickstartSizes = {
  ...TINY_SIZES,
  steps: 4,
  promptsPerStep: 2,
  groupSize: 4,
  learningRate: 1e-5,
  sftSteps: 0,
  maxTokens: { math: 48, 'code-sandbox': 80, 'tool-use': 64, 'long-context': 24 },
  chat: true,
  rolloutHeartbeatS: 1800,
  workerArgs: ['--coalesce-generate'],
  // The fp32 logits over its 49,152-token vocabulary: 32 sequences a pass took the worker to 20 GB and
  // the out-of-memory killer on a 24 GB machine; 4 keep a pass to a few hundred MB.
  microBatch: 4,
};

/** Sizes by `--model`. */
export const QUICKSTART_SIZES: Record<string, QuickstartSizes> = {
  tiny: TINY_SIZES,
  small: SMALL_SIZES,
  'smollm2-135m-instruct': SMOLLM2_SIZES,
};

/** Max new tokens per environment (answers are short; tool use needs a call and an answer turn). */
const MAX_TOKENS: Record<string, number> = {
  math: 12,
  'code-sandbox': 24,
  'tool-use': 48,
  'long-context': 12,
};

/**
 * Relative share of each environment in the supervised batches and in the tasks per step: math and
 * code have short prompts (cheap on CPU) and the clearest signal for a tiny model, so they get more.
 */
export const ENV_SHARE: Record<string, number> = {
  math: 2,
  'code-sandbox': 2,
  'tool-use': 1,
  'long-context': 1,
};

/** Relative share of each environment in the supervised warm-start batches (math facts and one-line bodies need the most examples). */
export const SFT_SHARE: Record<string, number> = {
  math: 3,
  'code-sandbox': 3,
  'tool-use': 1,
  'long-context': 1,
};

/** The four environments the quickstart trains at once. */
export const QUICKSTART_ENVS = ['math', 'code-sandbox', 'tool-use', 'long-context'] as const;

/** What `planRun` returns: the config and where each environment's tasks come from. */
export interface QuickstartPlan {
  config: RunConfigInput;
  /** Environment config blocks by name (also inside `config`). */
  envConfigs: Record<string, Record<string, unknown>>;
  sources: { env: string; text: string }[];
}

/**
 * Writes the mixed task files under `<stateDir>/tasks` and returns the run config.
 * `dataDir` and `sets` come from `findRealSets`; without real sets every environment uses only its
 * built-in tasks.
 */
export async function planRun(opts: {
  name: string;
  stateDir: string;
  blobDir: string;
  dataDir?: string;
  sets: RealSet[];
  sizes: QuickstartSizes;
  policyUrl: string;
  seed?: number;
}): Promise<QuickstartPlan> {
  const { sizes, dataDir, sets } = opts;
  const seed = opts.seed ?? 0;
  const taskDir = resolve(opts.stateDir, 'tasks');
  const data = (p: string) => resolve(dataDir ?? '.', p);
  const mix = (env: string, builtin: unknown, real: { set: string; config: unknown }[]) =>
    writeMixedTasks({
      env,
      dir: taskDir,
      seed,
      dataDir,
      blobDir: opts.blobDir,
      perSplit: sizes.tasksPerSplit,
      realShare: sizes.realShare,
      builtin,
      real,
    });

  const mathPrompt = { demonstration: 'answer', ...(sizes.chat ? { prompt: { template: 'chat' } } : {}) };
  const mathReal: { set: string; config: unknown }[] = [];
  if (sets.includes('gsm8k'))
    mathReal.push({
      set: 'gsm8k',
      config: { dataset: { path: data('gsm8k/train.jsonl'), format: 'gsm8k' } },
    });
  if (sets.includes('math500'))
    mathReal.push({
      set: 'math500',
      config: { dataset: { path: data('math500/test.jsonl'), format: 'math' } },
    });
  const math = await mix('math', { generator: { levels: [1] } }, mathReal);

  const codeReal = sets.includes('humaneval')
    ? [
        {
          set: 'humaneval',
          config: { dataset: { path: data('humaneval/HumanEval.jsonl'), name: 'humaneval' } },
        },
      ]
    : [];
  const code = await mix('code-sandbox', {}, codeReal);

  const toolBase = { toolListing: 'compact', maxTurns: 2 };
  const toolReal = sets.includes('bfcl')
    ? [{ set: 'bfcl', config: { ...toolBase, source: 'bfcl', bfclCategories: ['simple_python'] } }]
    : [];
  const tool = await mix('tool-use', { ...toolBase, generatorKinds: ['calc', 'convert'] }, toolReal);

  const envConfigs: Record<string, Record<string, unknown>> = {
    math: {
      ...mathPrompt,
      dataset: { path: math.file, format: 'jsonl', name: 'quickstart', solutionField: 'solution' },
    },
    'code-sandbox': {
      dataset: { path: code.file, name: 'quickstart', mbppSplits: false },
      ...(sizes.chat ? { prompt: 'chat' } : {}),
    },
    'tool-use': { ...toolBase, source: 'jsonl', dataset: tool.file.replace('{split}', 'train') },
    'long-context': {
      mixture: { 'niah-single': 1 },
      lengths: [256, 384],
      corpus: sets.includes('haystack') ? data('haystack_gutenberg') : 'builtin',
      maxDemonstrationTokens: 1024,
    },
  };
  const describe = (m: MixSummary, builtin: string) =>
    m.real
      ? `${builtin} mixed with ${m.realSets.join(' + ')} (${Math.round(sizes.realShare * 100)}% real)`
      : `${builtin} only`;
  const sources = [
    { env: 'math', text: describe(math, 'generated one-digit sums') },
    { env: 'code-sandbox', text: describe(code, 'built-in one-line Python functions') },
    { env: 'tool-use', text: describe(tool, 'generated calculator/unit-conversion tasks') },
    {
      env: 'long-context',
      text: `needle retrieval in ${sets.includes('haystack') ? 'public-domain books (haystack_gutenberg)' : 'built-in filler text'}, 256-384 tokens`,
    },
  ];

  const config: RunConfigInput = {
    name: opts.name,
    seed,
    steps: sizes.steps,
    policy: { url: opts.policyUrl },
    environments: QUICKSTART_ENVS.map((name) => ({
      name,
      prompts_per_step: sizes.promptsPerStep * (ENV_SHARE[name] ?? 1),
      group_size: sizes.groupSize,
      sampling: { max_tokens: (sizes.maxTokens ?? MAX_TOKENS)[name] ?? 32, temperature: 1 },
      config: envConfigs[name],
    })),
    algorithm: { learning_rate: sizes.learningRate, micro_batch_size: sizes.microBatch ?? 32 },
    checkpoint_every: 1,
    checkpoint_dir: resolve(opts.stateDir, 'checkpoints'),
    continue_as_new_every: 50,
    ...(sizes.rolloutHeartbeatS ? { timeouts: { rollout_heartbeat_s: sizes.rolloutHeartbeatS } } : {}),
  };
  return { config, envConfigs, sources };
}
