/**
 * Task `i` of a seeded stream, computed directly from `(seed, split, i)`: its kind, target length and
 * depth are drawn from a generator seeded by that triple alone, so skipping to `ctx.start` costs
 * nothing. The context is built into the blob directory once; its sidecar makes later calls (another
 * worker, a retry, a continue-as-new) read the task back instead of rebuilding it.
 */
import { existsSync } from 'node:fs';
import { z } from 'zod';
import type { JsonObject } from '../../rewards/api.js';
import type { Task } from '../api.js';
import { blobPath, readSidecar, specKey, writeSidecar } from './blobs.js';
import { buildContext } from './build.js';
import type { LongContextConfig } from './config.js';
import { LongContextError } from './errors.js';
import type { Corpus } from './haystack.js';
import { planNiah, round4 } from './kinds/niah.js';
import { planQa } from './kinds/qa.js';
import { type KindPlan, TASK_KINDS, type TaskKind } from './kinds/types.js';
import { planVariableTracking } from './kinds/variableTracking.js';
import { planCommonWords, planFrequentWords } from './kinds/wordExtraction.js';
import { hash32, Rng } from './rng.js';
import { buildEnv } from './setup.js';
import { LongContextTaskData } from './taskData.js';
import { perTextOverhead, type TokenCounter } from './tokens.js';

/** What a task is made of, before building. Also the blob key's input. */
export interface TaskSpec {
  seed: number;
  split: string;
  index: number;
  kind: TaskKind;
  targetTokens: number;
  depth: number;
}

/** Shared, per-stream inputs of the builder. */
export interface BuildEnv {
  blobDir: string;
  corpus: Corpus;
  /** Calibrated (or configured) characters per token. */
  charsPerToken: number;
  /** Tokenizer name the lengths refer to (`estimate` without a counter). */
  tokenizerId: string;
  counter?: TokenCounter;
}

/** Draws the kind, length and depth of task `index`. */
export function taskSpec(config: LongContextConfig, seed: number, split: string, index: number): TaskSpec {
  const rng = Rng.of('long-context', seed, split, index);
  const weights = TASK_KINDS.map((k) => config.mixture[k] ?? 0);
  const kind = TASK_KINDS[rng.weighted(weights)] as TaskKind;
  const targetTokens = rng.pick(config.lengths);
  const depth = config.depths === 'uniform' ? round4(rng.next()) : rng.pick(config.depths);
  return { seed, split, index, kind, targetTokens, depth };
}

/** The plan of a spec: needles, question and answers (no context yet). */
export function planTask(spec: TaskSpec, config: LongContextConfig): KindPlan {
  const rng = Rng.of('long-context/plan', spec.seed, spec.split, spec.index);
  switch (spec.kind) {
    case 'niah-single':
    case 'niah-multikey':
    case 'niah-multivalue':
    case 'niah-multiquery':
      return planNiah(spec.kind, spec.depth, config.needles, rng);
    case 'variable-tracking':
      return planVariableTracking(config.variableTracking, rng);
    case 'common-words':
      return planCommonWords(config.commonWords, rng);
    case 'frequent-words':
      return planFrequentWords(config.frequentWords, rng);
    case 'qa':
      return planQa(spec.depth, config.qa, rng);
  }
}

/** Task id: `long-context/<split>/s<seed>/<index>`. */
export const taskId = (spec: Pick<TaskSpec, 'seed' | 'split' | 'index'>): string =>
  `long-context/${spec.split}/s${spec.seed}/${spec.index}`;

/** Builds (or reads back) the task of `spec`. */
export async function makeTask(spec: TaskSpec, config: LongContextConfig, env: BuildEnv): Promise<Task> {
  const exact = env.counter !== undefined && spec.targetTokens <= config.tokenizer.exactUpTo;
  const plan = planTask(spec, config);
  const charsPerToken = await charsPerTokenOf(plan, env);
  const keySpec = {
    v: 1,
    spec,
    corpus: env.corpus.id,
    tokenizer: env.tokenizerId,
    charsPerToken: round4(charsPerToken),
    exact,
    tolerance: exact ? config.tokenizer.tolerance : null,
    answerPrefix: config.answerPrefix,
    params: paramsOf(spec.kind, config),
  };
  const key = specKey('lc', keySpec);
  const id = taskId(spec);
  const cached = LongContextTaskData.safeParse(readSidecar(env.blobDir, key));
  if (cached.success) return { id, data: cached.data as JsonObject };

  const built = await buildContext(plan, {
    blobDir: env.blobDir,
    key,
    targetTokens: spec.targetTokens,
    corpus: env.corpus,
    haystackSeed: hash32(`long-context/haystack\u0000${spec.seed}\u0000${spec.split}\u0000${spec.index}`),
    charsPerToken,
    ...(exact ? { counter: env.counter } : {}),
    tolerance: config.tokenizer.tolerance,
    answerPrefix: config.answerPrefix,
  });
  const data = {
    kind: spec.kind,
    blob: key,
    blobFile: built.blob.path,
    answers: built.answers,
    answer: built.answers.join(', '),
    distractors: built.distractors,
    needles: built.needles,
    question: plan.question,
    targetTokens: spec.targetTokens,
    tokens: built.tokens,
    exactTokens: built.exactTokens,
    tokenizer: env.tokenizerId,
    chars: built.blob.chars,
    bytes: built.blob.bytes,
    sha256: built.blob.sha256,
    body: built.body,
    facts: built.facts,
    seed: spec.seed,
    split: spec.split,
    index: spec.index,
    depth: spec.depth,
    corpus: env.corpus.id,
  } as unknown as JsonObject;
  await writeSidecar(env.blobDir, key, data);
  return { id, data };
}

/** Characters of a generated body tokenized to calibrate its characters per token. */
const BODY_CALIBRATION_CHARS = 64 * 1024;

/**
 * Characters per token for planning `plan`: the corpus rate for haystack kinds; for generated bodies
 * (word lists, coded text), whose rate is far from prose and varies with the task's made-up words, the
 * rate of the first 64 Ki characters of the task's own body, counted by the tokenizer (one small
 * request; deterministic since the body is).
 */
async function charsPerTokenOf(plan: KindPlan, env: BuildEnv): Promise<number> {
  if (!env.counter || plan.body === 'haystack') return env.charsPerToken;
  const sample = [...plan.body.units(BODY_CALIBRATION_CHARS)].join('');
  const [tokens] = await env.counter.count([sample]);
  const net = (tokens ?? 0) - (await perTextOverhead(env.counter));
  return net > 0 ? sample.length / net : env.charsPerToken;
}

function paramsOf(kind: TaskKind, c: LongContextConfig): unknown {
  if (kind.startsWith('niah')) return c.needles;
  if (kind === 'variable-tracking') return c.variableTracking;
  if (kind === 'common-words') return c.commonWords;
  if (kind === 'frequent-words') return c.frequentWords;
  return c.qa;
}

/**
 * Rebuilds the blob of a task when this host's blob directory lacks it (blobs are a cache of a
 * deterministic build: a rollout worker on another host can regenerate the context from the task's
 * spec). Does nothing when the blob is present or the task is not a generated one.
 * @throws LongContextError (`blob`) when the rebuild gives another key (config, corpus or tokenizer
 * differ from the ones the task was built with).
 */
export async function ensureBlob(
  data: LongContextTaskData,
  config: LongContextConfig,
  blobDir: string,
  counter?: TokenCounter,
): Promise<void> {
  if (!data.blob || existsSync(blobPath(blobDir, data.blob))) return;
  const spec = RebuildSpec.safeParse(data);
  if (!spec.success)
    throw new LongContextError(
      'blob',
      `blob ${data.blob} is missing and the task has no spec to rebuild it from`,
    );
  const { corpus, ...rest } = spec.data;
  const cfg = { ...config, corpus };
  const env = await buildEnv(cfg, blobDir, undefined, counter);
  const rebuilt = await makeTask(rest, cfg, env);
  if (rebuilt.data.blob !== data.blob) {
    throw new LongContextError(
      'blob',
      `blob ${data.blob} is missing and rebuilding it gave ${String(rebuilt.data.blob)}: the config, corpus or tokenizer differ from the build's`,
    );
  }
}

const RebuildSpec = z.object({
  seed: z.number().int(),
  split: z.string(),
  index: z.number().int(),
  kind: z.enum(TASK_KINDS),
  targetTokens: z.number().int(),
  depth: z.number(),
  corpus: z.string(),
});
