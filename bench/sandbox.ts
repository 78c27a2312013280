/**
 * Benchmark: executions per second of a trivial Python program through the code sandbox
 * (uid drop → prlimit → bwrap → /usr/bin/python3, see sandbox/bwrap.ts) and,
 * side by side in the same run, through a plain `python3` subprocess (Node `spawn`, stdout captured,
 * the same interpreter and flags, no isolation). Rounds alternate between the two so load from other
 * jobs on the machine hits both alike.
 *
 * The sandbox is measured twice: with its default pre-started sandboxes (bwrap and the interpreter
 * set up ahead of need, see sandbox/warm.ts) and with `warm: false` (every
 * run starts bwrap on the critical path). Two regimes: one at a time (latency) and `--concurrency` at
 * a time (throughput; default: the number of cores, as the sandbox pool is sized). Printed: exec/s and mean ms per run of each, and the
 * overhead ratio (plain exec/s ÷ sandbox exec/s). Targets (issue 5): overhead ≤ 1.5×, ≥ 30 exec/s on
 * 2 cores. Also the cost of each layer alone (bwrap without Python, prlimit only) to show
 * where the time goes.
 *
 * Then whole unit-test runs, the way the code-sandbox environment scores (issue 13): each task's
 * reference solution judged by `runTests` (the solution in one sandbox, the trusted judge with the
 * tests in another, talking through this process), against one plain `python3` subprocess running
 * solution and tests together (what an unisolated harness costs). Tasks: the built-in easy set and
 * HumanEval's first 40 when `--data` (default ../shared/data) has it; ratios printed per set.
 *
 * Run: `npx tsx bench/sandbox.ts [--runs 200] [--rounds 5] [--concurrency N] [--test-runs 60] [--data DIR]`
 * (as root, with bubblewrap).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { bwrapArgv } from '../sandbox/bwrap.js';
import { closeSandboxes, configureSandbox, ensureSandbox, runInSandbox } from '../sandbox/index.js';
import { RUNTIMES } from '../sandbox/runtimes.js';
import { sandboxLimitsSchema } from '../sandbox/types.js';
import { benchTasks, judgedRun, plainRun } from './helpers/testRuns.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    concurrency: { type: 'string', default: String(availableParallelism()) },
    'test-runs': { type: 'string', default: '60' },
    data: { type: 'string', default: join(import.meta.dirname, '../../shared/data') },
  },
});
const RUNS = Number(values.runs);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);
const PROGRAM = 'print("hi")\n';
const python = RUNTIMES.python;

const dir = mkdtempSync(join(tmpdir(), 'mg-bench-sandbox-'));
writeFileSync(join(dir, python.mainFile), PROGRAM);

/** Spawns argv (as `uid` if given; fds 3 and 4 are pipes, for bwrap's status), captures stdout, resolves on exit 0. */
function run(argv: string[], cwd?: string, uid?: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const ids = uid === undefined ? {} : { uid, gid: uid };
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
      ...ids,
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d;
    });
    child.stdio[4]!.on('data', () => {});
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(code) : reject(new Error(`${argv[0]} exited ${code}: ${out}`)),
    );
  });
}

type Exec = () => Promise<unknown>;
const sandboxRun = async () => {
  const r = await runInSandbox({ code: PROGRAM });
  if (r.status !== 'ok' || r.stdout !== 'hi\n') throw new Error(`sandbox run failed: ${JSON.stringify(r)}`);
};
const plainKey = 'plain python3 subprocess';
const warmKey = 'sandbox, pre-started (default)';
const coldKey = 'sandbox, cold start (warm: false)';
const modes: Record<string, Exec> = {
  [plainKey]: () => run(python.argv(python.mainFile, []), dir),
  [warmKey]: sandboxRun,
  [coldKey]: sandboxRun,
};
/** Switches the sandbox's warm start on or off before a mode's batch (killing idle warm sandboxes). */
const before: Record<string, () => void> = {
  [warmKey]: () => configureSandbox({ warm: true }),
  [coldKey]: () => configureSandbox({ warm: false }),
};
const limits = sandboxLimitsSchema.parse({});
const LAYER_UID = 99_998;
const layers: Record<string, Exec> = {
  'prlimit + bwrap, /usr/bin/true': () =>
    run(bwrapArgv({ limits, files: [], argv: ['/usr/bin/true'] }), undefined, LAYER_UID),
  'prlimit, /usr/bin/true': () =>
    run(['/usr/bin/prlimit', '--nproc=64', '--', '/usr/bin/true'], undefined, LAYER_UID),
  '/usr/bin/true': () => run(['/usr/bin/true']),
};

/** CPU ms used so far by this process and its reaped children (/proc/self/stat utime…cstime, in ticks). */
function cpuMs(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  // After "pid (comm) ": state is field 0, utime 11, stime 12, cutime 13, cstime 14 (clock ticks of 10 ms).
  return [11, 12, 13, 14].reduce((a, i) => a + Number(fields[i]), 0) * 10;
}

const cpuPerRun: Record<string, number[]> = {};

/** Runs `fn` `n` times, `c` at a time; returns elapsed ms. */
async function batch(fn: Exec, n: number, c: number, label?: string): Promise<number> {
  const cpu0 = cpuMs();
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(c, n) }, async () => {
      while (next < n) {
        next++;
        await fn();
      }
    }),
  );
  const elapsed = performance.now() - t0;
  if (label) {
    cpuPerRun[label] ??= [];
    cpuPerRun[label].push((cpuMs() - cpu0) / n);
  }
  return elapsed;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function measure(set: Record<string, Exec>, c: number, runs: number): Promise<Record<string, number>> {
  const ms: Record<string, number[]> = Object.fromEntries(Object.keys(set).map((k) => [k, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, fn] of Object.entries(set)) {
      before[name]?.();
      ms[name]!.push(await batch(fn, runs, c, name));
    }
  }
  // exec/s from the median round
  return Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, (runs / median(v)) * 1000]));
}

function report(title: string, rates: Record<string, number>, c: number): void {
  console.log(`\n${title}`);
  for (const [name, rate] of Object.entries(rates)) {
    console.log(
      `  ${name.padEnd(44)} ${rate.toFixed(1).padStart(7)} exec/s  ${((1000 / rate) * c).toFixed(1).padStart(6)} ms/run`,
    );
  }
}

await ensureSandbox();
configureSandbox({ concurrency: CONCURRENCY });
for (const [name, fn] of Object.entries(modes)) {
  before[name]?.();
  await batch(fn, 20, CONCURRENCY); // warm-up (page cache, probe)
}
console.log(
  `sandbox benchmark: ${RUNS} runs × ${ROUNDS} rounds per mode, program ${JSON.stringify(PROGRAM)}, ` +
    `${availableParallelism()} cores, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
);
for (const c of [1, CONCURRENCY]) {
  const rates = await measure(modes, c, RUNS);
  report(`${c} at a time`, rates, c);
  for (const key of [warmKey, coldKey]) {
    console.log(
      `  overhead ratio, ${key}: ${(rates[plainKey]! / rates[key]!).toFixed(2)}× (plain ÷ sandbox exec/s)`,
    );
  }
}
const cpu = (k: string) => median(cpuPerRun[k]!);
console.log(
  `\nCPU time per run (this process + its children, all rounds; insensitive to other jobs' load):\n` +
    `  plain ${cpu(plainKey).toFixed(1)} ms, pre-started sandbox ${cpu(warmKey).toFixed(1)} ms (${(cpu(warmKey) / cpu(plainKey)).toFixed(2)}×), ` +
    `cold sandbox ${cpu(coldKey).toFixed(1)} ms (${(cpu(coldKey) / cpu(plainKey)).toFixed(2)}×) ` +
    `→ on 2 idle cores about ${((2 * 1000) / cpu(warmKey)).toFixed(0)} sandboxed exec/s`,
);
report('layers alone, 1 at a time', await measure(layers, 1, Math.max(20, RUNS / 2)), 1);

// Whole unit-test runs: judged (two sandboxes) against one plain subprocess.
const TEST_RUNS = Number(values['test-runs']);
for (const set of benchTasks(values.data!, 40)) {
  let next = 0;
  const task = () => set.tasks[next++ % set.tasks.length]!;
  const plainTests = 'plain python3, solution + tests in one process';
  const judgedWarm = 'judged, pre-started sandboxes (default)';
  const judgedCold = 'judged, cold starts';
  const testModes: Record<string, Exec> = {
    [plainTests]: () => plainRun(task(), dir),
    [judgedWarm]: () => judgedRun(task()),
    [judgedCold]: () => judgedRun(task()),
  };
  before[judgedWarm] = before[warmKey]!;
  before[judgedCold] = before[coldKey]!;
  for (const [name, fn] of Object.entries(testModes)) {
    before[name]?.();
    await batch(fn, 10, CONCURRENCY);
  }
  console.log(`\nunit-test runs, ${set.name}: ${TEST_RUNS} runs × ${ROUNDS} rounds per mode`);
  for (const c of [1, CONCURRENCY]) {
    const rates = await measure(testModes, c, TEST_RUNS);
    report(`${c} at a time`, rates, c);
    for (const key of [judgedWarm, judgedCold])
      console.log(
        `  overhead ratio, ${key}: ${(rates[plainTests]! / rates[key]!).toFixed(2)}× (plain ÷ judged)`,
      );
  }
  const tcpu = (k: string) => median(cpuPerRun[k]!);
  console.log(
    `  CPU ms per run: plain ${tcpu(plainTests).toFixed(1)}, judged pre-started ${tcpu(judgedWarm).toFixed(1)} ` +
      `(${(tcpu(judgedWarm) / tcpu(plainTests)).toFixed(2)}×), judged cold ${tcpu(judgedCold).toFixed(1)} ` +
      `(${(tcpu(judgedCold) / tcpu(plainTests)).toFixed(2)}×)`,
  );
  for (const k of [plainTests, judgedWarm, judgedCold]) delete cpuPerRun[k];
}
console.log(
  `\nload average after: ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
await closeSandboxes();
rmSync(dir, { recursive: true, force: true });
