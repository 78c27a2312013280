/**
 * `long-context`: RULER-style tasks (Hsieh et al. 2024, "RULER: What's the Real Context Size of Your
 * Long-Context Language Models?") from a few thousand to a million tokens of the policy's tokenizer —
 * needle in a haystack (single, multi-key, multi-value, multi-query), variable tracking, common- and
 * frequent-word extraction, and QA with distractor documents.
 *
 * Size discipline: a context is generated streaming into `<blobDir>/long-context/<key>.txt` and only
 * its key, answers and needle positions travel in `Task.data`. A rollout reads the blob once and sends
 * it as a raw-text prompt; the logged user turn holds a reference to the blob, not the text. A prompt
 * longer than the worker's window (known from its exact count, or the worker's 400
 * `context_too_long`) gives `rejected` trajectories — logged, left out of the batch, never retried.
 */
import { readFile } from 'node:fs/promises';
import type { RewardSpec } from '../../rewards/api.js';
import {
  defineEnvironment,
  type PolicySampler,
  type RolloutContext,
  type Task,
  type Trajectory,
} from '../api.js';
import { rejectedTrajectory, singleTurnRollout } from '../singleTurn.js';
import { readBlob } from './blobs.js';
import { LongContextConfig } from './config.js';
import { LongContextError } from './errors.js';
import { ensureBlob, makeTask, taskSpec } from './generate.js';
import { parseLongContextTask } from './parse.js';
import { buildEnv } from './setup.js';
import { answerFormsOf, LongContextTaskData } from './taskData.js';

export { buildEnv, calibrationSample } from './setup.js';

/**
 * Default rewards: `needle-recall` (weight 1): RULER's recall of the expected strings times the
 * precision against the task's distractors, so listing every candidate does not pay; DAPO's soft
 * overlong penalty on answers past 192 tokens (full at 256; weight 1, range [−1, 0]) — the answer is a
 * few needles, not an essay; and `exact-match` of the whole answer against the answers joined by ", "
 * (weight 0: logged as a diagnostic of clean answers, not rewarded). A run may override any of them.
 */
export const LONG_CONTEXT_REWARDS: RewardSpec[] = [
  { checker: 'needle-recall', weight: 1 },
  { checker: 'length-penalty', weight: 1, config: { maxTokens: 256, cacheTokens: 64 } },
  { checker: 'exact-match', weight: 0, config: { answerField: 'answer', extract: false } },
];

/** Reads the prompt of a task from its blob or its `contextPath`. */
export async function readPrompt(data: LongContextTaskData, blobDir: string): Promise<string> {
  if (data.blob) return readBlob(blobDir, data.blob);
  if (data.contextPath) return readFile(data.contextPath, 'utf8');
  throw new LongContextError(
    'task_record',
    'task has neither a blob nor a contextPath to read its prompt from',
  );
}

const rejected = (reference: string, error: string): Trajectory =>
  rejectedTrajectory([{ role: 'user', content: reference }], error);

/** The long-context environment. */
export const longContext = defineEnvironment({
  name: 'long-context',
  description:
    'RULER-style long-context tasks (NIAH variants, variable tracking, word extraction, QA with distractors) stored by reference.',
  configSchema: LongContextConfig,
  async *tasks(config, ctx) {
    const env = await buildEnv(config, ctx.blobDir, ctx.dataDir);
    for (let i = ctx.start; ; i++)
      yield await makeTask(taskSpec(config, ctx.seed, ctx.split, i), config, env);
  },
  async rollout(task: Task, policy: PolicySampler, ctx: RolloutContext, config): Promise<Trajectory[]> {
    const data = LongContextTaskData.parse(task.data);
    await ensureBlob(data, config, ctx.blobDir);
    const reference = `[long-context prompt ${data.blob ?? data.contextPath}: ${data.chars ?? '?'} characters, ${data.tokens ?? '?'} tokens]`;
    if (data.exactTokens && data.tokens !== undefined) {
      const { max_context } = await policy.info();
      if (data.tokens >= max_context) {
        const why = `context_too_long: prompt has ${data.tokens} tokens, the policy's window is ${max_context}`;
        return Array.from({ length: ctx.n }, () => rejected(reference, why));
      }
    }
    let prompt: string | undefined = await readPrompt(data, ctx.blobDir);
    const trajectories = await singleTurnRollout({ text: prompt }, policy, ctx);
    prompt = undefined;
    // The logged user turn refers to the blob instead of repeating megabytes of context.
    return trajectories.map((t) => ({
      ...t,
      turns: t.turns.map((turn) => (turn.role === 'user' ? { role: 'user', content: reference } : turn)),
      extra: { ...(t.extra ?? {}), blob: data.blob ?? data.contextPath ?? null },
    }));
  },
  rewards: LONG_CONTEXT_REWARDS,
  parseTask: parseLongContextTask,
  /**
   * The answers as a completion (`" 4821907, 1930482"`), with the full prompt read from the blob's
   * path at build time (`blobFile`) or `contextPath`, for SFT warm starts; undefined for prompts over
   * `maxDemonstrationTokens` or without a context file.
   */
  async demonstration(task, config) {
    const data = LongContextTaskData.parse(task.data);
    if ((data.tokens ?? 0) > config.maxDemonstrationTokens) return undefined;
    const file = data.contextPath ?? data.blobFile;
    if (!file) return undefined;
    const canonical = data.answers.map((a) => answerFormsOf(a)[0]);
    return { prompt: await readFile(file, 'utf8'), completion: ` ${canonical.join(', ')}` };
  },
});

export default longContext;
