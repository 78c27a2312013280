/**
 * Benchmark: the cost of running reward checkers in the checker pool (worker threads, where a
 * time-out stops them) against calling them in-process, side by side in one run; and user regular
 * expressions on RE2 (re2js) against JavaScript's backtracking RegExp.
 *
 * Printed, per checker: mean µs per call one at a time (latency) and calls/s with `--concurrency`
 * calls in flight (throughput), in-process and in the pool, and their ratio. Rounds alternate between
 * the two so load from other jobs hits both alike. Also: the pool's first call (thread start-up and
 * loading the built-ins), the recovery after a time-out (a terminated thread is replaced), the
 * memory a pool thread holds, and onnx-reward-model in the pool (one session per thread) against in
 * the caller (its placement). Regular expressions: µs per match of typical patterns, and
 * `^(a+)+$` on n `a`s and a `!` — exponential on RegExp, linear on RE2.
 *
 * Run: `npx tsx bench/checkers.ts [--calls 400] [--rounds 3] [--concurrency 32]`.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { RE2JS } from 're2js';
import '../rewards/builtin/index.js';
import { loadPlugin } from '../environments/registry.js';
import type { RewardChecker, ScoredTask, ScoredTrajectory } from '../rewards/api.js';
import { checkerPool, closeCheckerPool, runInPool } from '../rewards/pool/pool.js';
import { BUILTIN_SOURCE, getReward } from '../rewards/registry.js';
import { runChecker } from '../rewards/score.js';

const { values } = parseArgs({
  options: {
    calls: { type: 'string', default: '400' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '32' },
  },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);

interface Case {
  checker: string;
  trajectory: ScoredTrajectory;
  task: ScoredTask;
  config: Record<string, unknown>;
}
const traj = (completion: string): ScoredTrajectory => ({ completion, completionTokens: 64 });
const cases: Case[] = [
  {
    checker: 'exact-match',
    trajectory: traj('Let me add them. 17 + 25 = 42. The answer is 42.'),
    task: { id: 'a', data: { answer: '42' } },
    config: {},
  },
  {
    checker: 'math-equivalence',
    trajectory: traj('<think>half of it</think> So the result is \\boxed{\\dfrac{1}{2}}.'),
    task: { id: 'b', data: { answer: '0.5' } },
    config: {},
  },
  {
    checker: 'regex',
    trajectory: traj(`${'Reasoning step. '.repeat(60)}Final answer: <answer>42</answer>`),
    task: { id: 'c', data: {} },
    config: { pattern: '<answer>\\d+</answer>' },
  },
];

/** The old path: `score` called in this thread (validation included, no time-out). */
async function inProcess(c: Case): Promise<void> {
  const checker: RewardChecker = getReward(c.checker);
  await checker.score(c.trajectory, c.task, checker.configSchema.parse(c.config));
}
const inPool = async (c: Case) => {
  const o = await runChecker(getReward(c.checker), c.trajectory, c.task, c.config, 10_000);
  if (o.status !== 'ok') throw new Error(`${c.checker}: ${JSON.stringify(o)}`);
};

async function latencyUs(fn: () => Promise<void>, n: number): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - t) * 1000) / n;
}
async function throughput(fn: () => Promise<void>, n: number, concurrency: number): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await fn();
    }),
  );
  return n / ((performance.now() - t) / 1000);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mb = () => process.memoryUsage().rss / 2 ** 20;

const rssBefore = mb();
let t = performance.now();
await inPool(cases[0]!);
const firstCallMs = performance.now() - t;
const rssStarted = mb();
const threadsStarted = checkerPool().threads.length;

console.log(`checker pool: first call ${firstCallMs.toFixed(0)} ms (thread start-up, tsx, built-ins)`);
console.log(`calls ${CALLS} × ${ROUNDS} rounds, concurrency ${CONCURRENCY}; medians of the rounds\n`);
console.log(
  '| checker | in-process µs/call | pool µs/call | latency ratio | in-process calls/s | pool calls/s | throughput ratio |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const c of cases) {
  await inProcess(c);
  await inPool(c);
  const lat = { in: [] as number[], pool: [] as number[] };
  const thr = { in: [] as number[], pool: [] as number[] };
  for (let r = 0; r < ROUNDS; r++) {
    lat.in.push(await latencyUs(() => inProcess(c), CALLS));
    lat.pool.push(await latencyUs(() => inPool(c), CALLS));
    thr.in.push(await throughput(() => inProcess(c), CALLS, CONCURRENCY));
    thr.pool.push(await throughput(() => inPool(c), CALLS, CONCURRENCY));
  }
  const [li, lp, ti, tp] = [median(lat.in), median(lat.pool), median(thr.in), median(thr.pool)];
  console.log(
    `| ${c.checker} | ${li.toFixed(0)} | ${lp.toFixed(0)} | ${(lp / li).toFixed(1)}× | ${ti.toFixed(0)} | ${tp.toFixed(0)} | ${(tp / ti).toFixed(2)}× |`,
  );
}
const rssAll = mb();

// Recovery after a time-out: a plugin checker that loops forever is stopped at its 200 ms budget
// (its thread terminated); how long until the pool answers the next calls?
await loadPlugin(resolve(import.meta.dirname, '../test/fixtures/faulty-checkers.ts'));
t = performance.now();
const stopped = await runChecker(getReward('test-spin'), traj('x'), { id: 'd', data: {} }, {}, 200);
const stopMs = performance.now() - t;
t = performance.now();
await Promise.all(Array.from({ length: 8 }, () => inPool(cases[0]!)));
const afterMs = performance.now() - t;
console.log(
  `\ntime-out: a looping checker with a 200 ms budget came back as "${stopped.status}" after ${stopMs.toFixed(0)} ms; 8 calls right after took ${afterMs.toFixed(0)} ms (a new thread starts)`,
);
console.log(
  `memory: RSS ${rssBefore.toFixed(0)} MiB before the pool, ${rssStarted.toFixed(0)} MiB after its first call (${threadsStarted} threads starting), ${rssAll.toFixed(0)} MiB after the runs`,
);

// onnx-reward-model: in the caller (one session per process, its placement) vs in the pool.
const model = resolve(import.meta.dirname, '../test/fixtures/reward-model.onnx');
const onnx: Case = {
  checker: 'onnx-reward-model',
  trajectory: traj('a fine answer. '.repeat(20)),
  task: { id: 'e', data: {} },
  config: { model, missValue: 0 },
};
const onnxPool = async () => {
  const o = await runInPool(
    {
      checker: onnx.checker,
      source: BUILTIN_SOURCE,
      config: onnx.config,
      trajectory: onnx.trajectory,
      task: onnx.task,
    },
    10_000,
  );
  if (o.status !== 'ok') throw new Error(JSON.stringify(o));
};
const onnxCaller = async () => {
  const o = await runChecker(getReward(onnx.checker), onnx.trajectory, onnx.task, onnx.config, 10_000);
  if (o.status !== 'ok') throw new Error(JSON.stringify(o));
};
t = performance.now();
await onnxCaller();
const onnxFirstCaller = performance.now() - t;
t = performance.now();
await onnxPool();
const onnxFirstPool = performance.now() - t;
const on = { caller: [] as number[], pool: [] as number[] };
for (let r = 0; r < ROUNDS; r++) {
  on.caller.push(await throughput(onnxCaller, CALLS / 4, CONCURRENCY));
  on.pool.push(await throughput(onnxPool, CALLS / 4, CONCURRENCY));
}
console.log(
  `onnx-reward-model: first call ${onnxFirstCaller.toFixed(0)} ms in the caller, ${onnxFirstPool.toFixed(0)} ms in a pool thread (its own session); ` +
    `${median(on.caller).toFixed(0)} calls/s in the caller vs ${median(on.pool).toFixed(0)} in the pool (${(median(on.pool) / median(on.caller)).toFixed(2)}×)`,
);
await closeCheckerPool();

// Regular expressions: RE2 against RegExp.
console.log('\n| pattern | text | RegExp µs | RE2 µs | ratio |');
console.log('| --- | --- | --- | --- | --- |');
const typical: [string, string][] = [
  ['<answer>\\d+</answer>', cases[2]!.trajectory.completion],
  ['(?i)final answer:\\s*\\d+', cases[2]!.trajectory.completion],
];
for (const [pattern, text] of typical) {
  const js = new RegExp(pattern.replace('(?i)', ''), pattern.startsWith('(?i)') ? 'i' : '');
  const re2 = RE2JS.compile(pattern);
  const n = 20_000;
  t = performance.now();
  for (let i = 0; i < n; i++) js.test(text);
  const jsUs = ((performance.now() - t) * 1000) / n;
  t = performance.now();
  for (let i = 0; i < n; i++) re2.test(text);
  const reUs = ((performance.now() - t) * 1000) / n;
  console.log(
    `| \`${pattern}\` | ${text.length} chars | ${jsUs.toFixed(2)} | ${reUs.toFixed(2)} | ${(reUs / jsUs).toFixed(1)}× |`,
  );
}
for (const n of [16, 20, 22, 24]) {
  const text = `${'a'.repeat(n)}!`;
  t = performance.now();
  /^(a+)+$/.test(text);
  const jsUs = (performance.now() - t) * 1000;
  const re2 = RE2JS.compile('^(a+)+$');
  t = performance.now();
  re2.test(text);
  const reUs = (performance.now() - t) * 1000;
  console.log(
    `| \`^(a+)+$\` | ${n} a's and ! | ${jsUs.toFixed(0)} | ${reUs.toFixed(0)} | ${(jsUs / reUs).toFixed(0)}× faster on RE2 |`,
  );
}
