/**
 * Tool-use GRPO bench: after a supervised warm start, does GRPO on multi-turn tool-use rollouts
 * (completion streams with tool results masked out, see `environments/tool-use/rollout.ts`) raise the
 * reward? One run: SFT on demonstrations of generated `train` tasks, greedy evaluation on held-out
 * `test` tasks, `--grpo-steps` GRPO steps (groups of `--group` samples at temperature 1 on fresh
 * `train` tasks, the environment's own rewards, group-relative advantages of `policy/advantages.ts`,
 * `/v1/train_step`), then the same evaluation again; the two evaluations are printed side by side.
 *
 *   npx tsx bench/tool_use_grpo.ts --worker URL [--sft-steps 1000] [--batch 32] [--grpo-steps 20]
 *       [--tasks 12] [--group 8] [--eval 48] [--kinds calc,convert] [--lr 3e-4]
 */
import { parseArgs } from 'node:util';
import '../environments/builtin.js';
import type { Task, Trajectory } from '../environments/api.js';
import { getEnvironment } from '../environments/registry.js';
import { groupAdvantages } from '../policy/advantages.js';
import { PolicyClient } from '../policy/client.js';
import type { TrainSample } from '../policy/protocol.js';
import { scoreTrajectory } from '../rewards/score.js';

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    'sft-steps': { type: 'string', default: '1000' },
    batch: { type: 'string', default: '32' },
    'sft-lr': { type: 'string', default: '2e-3' },
    'grpo-steps': { type: 'string', default: '20' },
    tasks: { type: 'string', default: '12' },
    group: { type: 'string', default: '8' },
    eval: { type: 'string', default: '48' },
    kinds: { type: 'string' },
    lr: { type: 'string', default: '3e-4' },
  },
});
if (!values.worker) throw new Error('--worker URL is required');

const env = getEnvironment('tool-use');
const config = env.configSchema.parse({
  toolListing: 'compact',
  maxTurns: 4,
  ...(values.kinds ? { generatorKinds: values.kinds.split(',') } : {}),
}) as Record<string, unknown>;
const policy = new PolicyClient({ url: values.worker });

async function take(split: string, start: number, n: number): Promise<Task[]> {
  const out: Task[] = [];
  for await (const t of env.tasks(config, { seed: 0, split, start, blobDir: '/tmp' })) {
    out.push(t);
    if (out.length === n) break;
  }
  return out;
}

async function rewardOf(task: Task, t: Trajectory) {
  const s = await scoreTrajectory(
    env.rewards,
    { completion: t.completion, turns: t.turns, completionTokens: 0, extra: t.extra },
    task,
  );
  // A checker failure is not a reward: the bench stops rather than count it as 0.
  if (s.total === null) throw new Error(`scoring failed: ${s.error}`);
  return { total: s.total, answer: s.components.find((c) => c.checker === 'final-answer')?.value ?? 0 };
}

async function evaluate(tasks: Task[]): Promise<{ answer: number; reward: number }> {
  let answer = 0;
  let reward = 0;
  for (const task of tasks) {
    const [t] = (await env.rollout(
      task,
      policy,
      { n: 1, sampling: { max_tokens: 80, temperature: 0, top_p: 1 }, blobDir: '/tmp' },
      config,
    )) as [Trajectory];
    const r = await rewardOf(task, t);
    answer += r.answer;
    reward += r.total;
  }
  return { answer: answer / tasks.length, reward: reward / tasks.length };
}

const sftSteps = Number(values['sft-steps']);
const batch = Number(values.batch);
const evalTasks = await take('test', 0, Number(values.eval));
let t0 = performance.now();
let loss = Number.NaN;
for (let step = 0; step < sftSteps; step++) {
  const tasks = await take('train', step * batch, batch);
  const examples = await Promise.all(tasks.map(async (t) => (await env.demonstration!(t, config))!));
  loss = (
    await policy.sftStep({ examples, learning_rate: Number(values['sft-lr']), micro_batch_size: batch })
  ).loss;
}
console.log(
  `SFT: ${sftSteps} steps × ${batch} demos in ${((performance.now() - t0) / 1000).toFixed(0)} s, final loss ${loss.toFixed(4)}`,
);
const before = await evaluate(evalTasks);
console.log(
  `after SFT: final-answer ${(before.answer * 100).toFixed(1)}%, mean reward ${before.reward.toFixed(3)}`,
);

const group = Number(values.group);
const perStep = Number(values.tasks);
const grpoSteps = Number(values['grpo-steps']);
let next = sftSteps * batch;
t0 = performance.now();
for (let step = 0; step < grpoSteps; step++) {
  const tasks = await take('train', next, perStep);
  next += perStep;
  const groups = await Promise.all(
    tasks.map(async (task) => {
      const ts = await env.rollout(
        task,
        policy,
        { n: group, sampling: { max_tokens: 80, temperature: 1, top_p: 1 }, blobDir: '/tmp' },
        config,
      );
      const rewards = await Promise.all(ts.map((t) => rewardOf(task, t)));
      return { ts, rewards: rewards.map((r) => r.total) };
    }),
  );
  const samples: TrainSample[] = [];
  let zero = 0;
  let sum = 0;
  for (const g of groups) {
    sum += g.rewards.reduce((a, b) => a + b, 0);
    const adv = groupAdvantages(g.rewards);
    if (adv.zeroVariance) {
      zero++;
      continue;
    }
    g.ts.forEach((t, i) => {
      if (t.status !== 'ok' || t.completionTokenIds.length === 0) return;
      samples.push({
        prompt_token_ids: t.promptTokenIds,
        completion_token_ids: t.completionTokenIds,
        old_logprobs: t.logprobs,
        completion_mask: t.completionMask,
        advantage: adv.advantages[i]!,
      });
    });
  }
  const mean = sum / (groups.length * group);
  if (samples.length === 0) {
    console.log(
      `grpo step ${step}: mean reward ${mean.toFixed(3)}, all ${zero} groups zero-variance, skipped`,
    );
    continue;
  }
  const res = await policy.trainStep({
    idempotency_key: `tool-use-grpo-bench:${step}`,
    samples,
    hyper: { learning_rate: Number(values.lr), micro_batch_size: 32 },
  });
  const m = res.metrics;
  console.log(
    `grpo step ${step}: mean reward ${mean.toFixed(3)}, zero-variance groups ${zero}/${groups.length}, loss ${m.loss.toFixed(4)}, clip ${(m.clip_frac_low + m.clip_frac_high).toFixed(3)}, entropy ${m.entropy.toFixed(3)}, tokens ${m.tokens}`,
  );
}
console.log(`GRPO: ${grpoSteps} steps in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
const after = await evaluate(evalTasks);
console.log('| policy | final-answer = 1 (greedy, held-out) | mean total reward |');
console.log('| --- | --- | --- |');
console.log(
  `| tiny, after ${sftSteps} SFT steps | ${(before.answer * 100).toFixed(1)}% | ${before.reward.toFixed(3)} |`,
);
console.log(
  `| + ${grpoSteps} GRPO steps | ${(after.answer * 100).toFixed(1)}% | ${after.reward.toFixed(3)} |`,
);
