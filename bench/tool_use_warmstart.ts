/**
 * Tool-use warm-start bench: is the built-in multi-turn task generator learnable by the tiny CPU model
 * after a supervised warm start? Measures, side by side in one run, greedy multi-turn rollouts on held-out
 * generated tasks (split `test`) before and after `--steps` SFT steps on demonstrations of `train`
 * tasks: share of rollouts scoring 1 on `tool-call-match` and `final-answer`, mean invalid-call penalty,
 * mean assistant turns; plus the demonstration length in tokens and the SFT time.
 *
 *   npx tsx bench/tool_use_warmstart.ts [--steps 200] [--batch 16] [--eval 32] [--kinds calc,convert]
 *       [--listing compact|json] [--lr 3e-3] [--threads 1] [--eval-every N] [--worker URL]
 *
 * `--eval-every N` also evaluates after every N steps (a learning curve in the same run).
 *
 * Without `--worker` it starts a tiny CPU worker (seed 0) and stops it at the end.
 */
import { parseArgs } from 'node:util';
import { startPolicyWorkerProcess } from '../cli/services.js';
import '../environments/builtin.js';
import type { Task, Trajectory } from '../environments/api.js';
import { getEnvironment } from '../environments/registry.js';
import { PolicyClient } from '../policy/client.js';
import { scoreTrajectory } from '../rewards/score.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '200' },
    batch: { type: 'string', default: '16' },
    eval: { type: 'string', default: '32' },
    kinds: { type: 'string' },
    listing: { type: 'string', default: 'compact' },
    lr: { type: 'string', default: '3e-3' },
    worker: { type: 'string' },
    threads: { type: 'string', default: '1' },
    'eval-every': { type: 'string', default: '0' },
  },
});

const env = getEnvironment('tool-use');
const config = env.configSchema.parse({
  toolListing: values.listing,
  maxTurns: 4,
  ...(values.kinds ? { generatorKinds: values.kinds.split(',') } : {}),
}) as Record<string, unknown>;

async function take(split: string, start: number, n: number): Promise<Task[]> {
  const out: Task[] = [];
  for await (const t of env.tasks(config, { seed: 0, split, start, blobDir: '/tmp' })) {
    out.push(t);
    if (out.length === n) break;
  }
  return out;
}

interface Summary {
  /** Share of rollouts with at least one call that ran (`status: ok`). */
  ran: number;
  match: number;
  answer: number;
  penalty: number;
  turns: number;
  seconds: number;
}

async function evaluate(policy: PolicyClient, tasks: Task[]): Promise<Summary> {
  const t0 = performance.now();
  let ran = 0;
  let match = 0;
  let answer = 0;
  let penalty = 0;
  let turns = 0;
  for (const task of tasks) {
    const [t] = (await env.rollout(
      task,
      policy,
      { n: 1, sampling: { max_tokens: 80, temperature: 0, top_p: 1 }, blobDir: '/tmp' },
      config,
    )) as [Trajectory];
    const s = await scoreTrajectory(
      env.rewards,
      { completion: t.completion, turns: t.turns, completionTokens: 0, extra: t.extra },
      task,
    );
    const v = Object.fromEntries(s.components.map((c) => [c.checker, c.value]));
    ran += ((t.extra?.calls ?? []) as { status: string }[]).some((c) => c.status === 'ok') ? 1 : 0;
    match += v['tool-call-match'] === 1 ? 1 : 0;
    answer += v['final-answer'] === 1 ? 1 : 0;
    penalty += v['invalid-call-penalty'] ?? 0;
    turns += Number(t.extra?.assistantTurns ?? 0);
  }
  const n = tasks.length;
  return {
    ran: ran / n,
    match: match / n,
    answer: answer / n,
    penalty: penalty / n,
    turns: turns / n,
    seconds: (performance.now() - t0) / 1000,
  };
}

const worker = values.worker
  ? undefined
  : await startPolicyWorkerProcess({
      model: 'tiny',
      seed: 0,
      timeoutMs: 120_000,
      extraArgs: ['--threads', values.threads],
    });
const policy = new PolicyClient({ url: values.worker ?? worker!.url });
try {
  const steps = Number(values.steps);
  const batch = Number(values.batch);
  const evalTasks = await take('test', 0, Number(values.eval));
  const sample = await env.demonstration!(evalTasks[0]!, config);
  const lengths = await policy.tokenize({ texts: [sample!.prompt, sample!.completion] });
  console.log(`demonstration: prompt ${lengths.counts[0]} tokens, completion ${lengths.counts[1]} tokens`);
  const before = await evaluate(policy, evalTasks);
  const row = (name: string, s: Summary) =>
    `| ${name} | ${(s.ran * 100).toFixed(1)}% | ${(s.match * 100).toFixed(1)}% | ${(s.answer * 100).toFixed(1)}% | ${s.penalty.toFixed(3)} | ${s.turns.toFixed(2)} | ${s.seconds.toFixed(1)} |`;
  const t0 = performance.now();
  let loss = Number.NaN;
  for (let step = 0; step < steps; step++) {
    const tasks = await take('train', step * batch, batch);
    const examples = await Promise.all(tasks.map(async (t) => (await env.demonstration!(t, config))!));
    const res = await policy.sftStep({ examples, learning_rate: Number(values.lr), micro_batch_size: batch });
    loss = res.loss;
    if (step % 25 === 0 || step === steps - 1) console.log(`sft step ${step}: loss ${loss.toFixed(4)}`);
    const every = Number(values['eval-every']);
    if (every > 0 && (step + 1) % every === 0 && step + 1 < steps) {
      const mid = await evaluate(policy, evalTasks);
      console.log(row(`tiny, after ${step + 1} SFT steps`, mid));
    }
  }
  const sftSeconds = (performance.now() - t0) / 1000;
  const after = await evaluate(policy, evalTasks);
  console.log(
    `\nkinds: ${(config.generatorKinds as string[]).join(', ')}; listing ${values.listing}; ${steps} SFT steps × ${batch} demos in ${sftSeconds.toFixed(0)} s (final loss ${loss.toFixed(4)})`,
  );
  console.log(
    '| policy | a call ran | tool-call-match = 1 | final-answer = 1 | mean invalid-call penalty | mean turns | eval s |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  console.log(row('tiny, fresh', before));
  console.log(row(`tiny, after ${steps} SFT steps`, after));
  console.log(
    `ratio final-answer after/before: ${before.answer > 0 ? (after.answer / before.answer).toFixed(1) : `${(after.answer * 100).toFixed(1)}% vs 0%`}`,
  );
} finally {
  await worker?.stop();
}
