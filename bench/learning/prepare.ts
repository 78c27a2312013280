/**
 * Writes the learning proof's data directory: the mixed task files of math (GSM8K + generated
 * arithmetic) and code-sandbox (MBPP + the built-in easy functions), the public-domain haystack of
 * long-context, the seeded arithmetic set of the TRL comparison, and `spec.json` (bench/learning/spec.ts).
 * Everything `proof.ts` reads is in it, so it can be carried to a machine without the data sets.
 *
 *   npx tsx bench/learning/prepare.ts --shared ../shared/data --out .lp/data [--steps 40] [--seconds 200]
 */
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { interleave, takeTasks, writeMixedTasks } from '../../cli/quickstart/data.js';
import '../../environments/builtin.js';
import { EnvSpec } from '../../workflows/config.js';
import { ARITHMETIC_ENV, writeArithmeticSet } from './arithmetic.js';
import type { ProofSpec } from './spec.js';

const { values } = parseArgs({
  options: {
    shared: { type: 'string', default: '../shared/data' },
    out: { type: 'string', default: '.lp/data' },
    steps: { type: 'string', default: '60' },
    seconds: { type: 'string', default: '150' },
    seed: { type: 'string', default: '0' },
    'peer-seconds': { type: 'string', default: '150' },
  },
});
const shared = resolve(values.shared!);
const out = resolve(values.out!);
const seed = Number(values.seed);
const steps = Number(values.steps);
mkdirSync(resolve(out, 'tasks'), { recursive: true });
const blobDir = resolve(out, '.blobs');

const mix = (env: string, builtin: unknown, real: { set: string; config: unknown }[], share: number) =>
  writeMixedTasks({
    env,
    dir: resolve(out, 'tasks'),
    seed,
    dataDir: shared,
    blobDir,
    perSplit: 1200,
    realShare: share,
    builtin,
    real,
  });

// math: half GSM8K (train for training, test held out), half generated problems of levels 3-5 (two-
// digit sums and differences, times tables, products, quotients, order of operations, linear
// equations; levels 1-2 are too few distinct problems to hold any out).
const math = await mix(
  'math',
  { generator: { levels: [3, 4, 5] } },
  [{ set: 'gsm8k', config: { dataset: { path: 'gsm8k/{split}.jsonl', format: 'gsm8k' } } }],
  0.5,
);
// code-sandbox: every MBPP task of the split (upstream ids: train 601-974, test 11-510) and every
// built-in easy function of the split (28 train, 7 test), once each.
const codeCounts: Record<string, [number, number]> = { train: [374, 28], test: [500, 7] };
for (const [split, [nMbpp, nEasy]] of Object.entries(codeCounts)) {
  const ctx = { seed, split, dataDir: shared, blobDir };
  const mbpp = await takeTasks(
    'code-sandbox',
    { dataset: { path: 'mbpp/mbpp.jsonl', name: 'mbpp' } },
    ctx,
    nMbpp,
  );
  const easy = await takeTasks('code-sandbox', {}, ctx, nEasy);
  const tasks = interleave(mbpp, easy, nEasy / (nMbpp + nEasy));
  const file = resolve(out, 'tasks', `code-sandbox.${split}.jsonl`);
  writeFileSync(file, `${tasks.map((t) => JSON.stringify(t.data)).join('\n')}\n`);
}
cpSync(resolve(shared, 'haystack_gutenberg'), resolve(out, 'haystack_gutenberg'), { recursive: true });
writeArithmeticSet(resolve(out, 'tasks'), seed);
console.log(`math: ${math.builtin} generated + ${math.real} GSM8K per split; code: MBPP + easy`);

const chat = { template: 'chat' };
const envs: EnvSpec[] = [
  {
    name: 'math',
    weight: 1,
    prompts_per_step: 8,
    group_size: 8,
    split: 'train',
    eval_split: 'test',
    sampling: { max_tokens: 320, temperature: 1, top_p: 1 },
    config: { dataset: { path: 'tasks/math.{split}.jsonl', format: 'jsonl', name: 'mix' }, prompt: chat },
  },
  {
    name: 'code-sandbox',
    weight: 1,
    prompts_per_step: 8,
    group_size: 8,
    split: 'train',
    eval_split: 'test',
    sampling: { max_tokens: 320, temperature: 1, top_p: 1 },
    config: {
      dataset: { path: 'tasks/code-sandbox.{split}.jsonl', name: 'mix', mbppSplits: false },
      prompt: 'chat',
    },
  },
  {
    name: 'tool-use',
    weight: 1,
    prompts_per_step: 8,
    group_size: 8,
    split: 'train',
    eval_split: 'test',
    sampling: { max_tokens: 160, temperature: 1, top_p: 1 },
    config: { source: 'generated', maxTurns: 3 },
  },
  {
    name: 'long-context',
    weight: 1,
    prompts_per_step: 8,
    group_size: 8,
    split: 'train',
    eval_split: 'test',
    sampling: { max_tokens: 48, temperature: 1, top_p: 1 },
    config: {
      mixture: { 'niah-single': 1, 'niah-multikey': 1 },
      lengths: [2048, 4096, 6144, 7168],
      corpus: 'haystack_gutenberg',
    },
  },
].map((e) => EnvSpec.parse(e));

const spec: ProofSpec = {
  name: 'smollm2',
  seed,
  steps,
  maxTrainSeconds: Number(values.seconds),
  evalTasks: 200,
  evalMaxTokens: { math: 320, 'code-sandbox': 320, 'tool-use': 160, 'long-context': 48 },
  algorithm: { learning_rate: 1.5e-5, kl_coef: 0, micro_batch_size: 8, loss_agg_mode: 'token-mean' },
  envs,
  stagedOrder: ['math', 'code-sandbox', 'tool-use', 'long-context'],
  // TRL 1.16 GRPOTrainer's settings in the issue: lr 5e-6, DAPO loss (token-mean, clip 0.2/0.28), no KL.
  peer: {
    env: ARITHMETIC_ENV,
    algorithm: { learning_rate: 5e-6, kl_coef: 0, loss_agg_mode: 'token-mean', micro_batch_size: 64 },
    maxTrainSeconds: Number(values['peer-seconds']),
    evalEvery: 15,
    evalTasks: 200,
  },
};
writeFileSync(resolve(out, 'spec.json'), JSON.stringify(spec, null, 1));
console.log(`wrote ${out}`);
