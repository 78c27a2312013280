/**
 * The learning proof's driver: GRPO on the project's environments with the workflow's own activities
 * (`sampleTasks` → chunked `rolloutGroups` → `trainStep`, as `rlRun`/`runEnvStep` call them, and the
 * greedy held-out evaluation of `evalRun`), called in process (no Temporal server: the device machine
 * that runs it has neither the Temporal CLI nor room to carry it), with an embedded PGlite database
 * and a policy worker it starts itself (`--coalesce-generate`, so the many one-task requests in flight
 * are decoded in large batches).
 *
 *   npx tsx bench/learning/proof.ts --data DIR --out DIR --phases base,joint,staged \
 *     --model smollm2-135m-instruct --device cuda [--python python3] [--worker-arg=--dtype=bf16]
 *
 * Phases: `base` evaluates the model as loaded; `joint` resets the worker to the model, trains all
 * environments at once for `spec.steps` steps (or `spec.maxTrainSeconds`) and evaluates; `staged`
 * resets again and spends exactly as many steps (read from the joint result) one environment after
 * another, each step with the joint step's number of rollouts, then evaluates. `DIR/results.json` is
 * rewritten after every phase, so a run cut short keeps what it finished.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { createActivities } from '../../activities/index.js';
import { openDatabase } from '../../db/client.js';
import '../../environments/builtin.js';
import { PolicyClient } from '../../policy/client.js';
import { type EnvSpec, RunConfig } from '../../workflows/config.js';
import type { Activities } from '../../workflows/contracts.js';
import { ROLLOUTS_PER_CHUNK } from '../../workflows/envStep.js';
import { runActivity } from './activityContext.js';
import { type PhaseResult, type ProofSpec, type StepRecord, score, stageSteps } from './spec.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string' },
    out: { type: 'string' },
    spec: { type: 'string' },
    phases: { type: 'string', default: 'base,joint,staged' },
    model: { type: 'string', default: 'smollm2-135m-instruct' },
    'models-dir': { type: 'string' },
    device: { type: 'string', default: 'cuda' },
    python: { type: 'string', default: 'python3' },
    'worker-dir': { type: 'string', default: 'policy/worker' },
    'worker-arg': { type: 'string', multiple: true, default: [] },
    steps: { type: 'string' },
    'unsafe-sandbox': { type: 'boolean', default: false },
    'eval-tasks': { type: 'string' },
  },
});
if (!args.data || !args.out) throw new Error('--data DIR and --out DIR are required');
const dataDir = resolve(args.data);
const outDir = resolve(args.out);
mkdirSync(outDir, { recursive: true });
const spec: ProofSpec = JSON.parse(readFileSync(args.spec ?? resolve(dataDir, 'spec.json'), 'utf8'));
if (args.steps) spec.steps = Number(args.steps);
// Only where bubblewrap cannot run (a throwaway GPU machine): code runs without isolation, and the results say so.
if (args['unsafe-sandbox'])
  for (const e of [...spec.envs, ...(spec.peer ? [spec.peer.env] : [])])
    if (e.name === 'code-sandbox') e.config = { ...e.config, unsafe: true };
if (args['eval-tasks']) spec.evalTasks = Number(args['eval-tasks']);
const resultsFile = resolve(outDir, 'results.json');
const results: {
  spec: ProofSpec;
  worker?: unknown;
  phases: Record<string, PhaseResult>;
  failures?: { runId: string; step: number; error: string }[];
  notOk?: Record<string, Record<string, number>>;
} = existsSync(resultsFile) ? JSON.parse(readFileSync(resultsFile, 'utf8')) : { spec, phases: {} };
results.failures ??= [];
const failures = results.failures;
const save = () => writeFileSync(resultsFile, JSON.stringify(results, null, 1));
const log = (line: string) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${line}`);

/** Starts the policy worker; resolves with its process and URL once it listens. */
function startWorker(): Promise<{ child: ChildProcess; url: string }> {
  const argv = ['-m', 'multigym_worker', '--model', args.model!, '--device', args.device!, '--port', '0'];
  argv.push('--coalesce-generate', '--seed', String(spec.seed), ...(args['worker-arg'] ?? []));
  if (args['models-dir']) argv.push('--models-dir', resolve(args['models-dir']));
  const child = spawn(args.python!, argv, {
    cwd: resolve(args['worker-dir']!),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  let out = '';
  return new Promise((ok, fail) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = /listening on (http:\/\/[\w.:]+)/.exec(out);
      if (m) ok({ child, url: m[1]! });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.length > 100_000) out = out.slice(-50_000);
    });
    child.once('exit', (code) => fail(new Error(`policy worker exited (${code}):\n${out.slice(-3000)}`)));
  });
}

const database = await openDatabase({ pgliteDir: resolve(outDir, 'pglite') });
const acts: Activities = createActivities({
  db: database.db,
  blobDir: resolve(outDir, 'blobs'),
  dataDir,
  groupConcurrency: ROLLOUTS_PER_CHUNK,
});
const call = <I, O>(name: keyof Activities, input: I): Promise<O> =>
  runActivity(name, acts[name] as unknown as (i: I) => Promise<O>, input);

const worker = await startWorker();
const policy = new PolicyClient({ url: worker.url });
results.worker = await policy.info();
log(`policy worker ${worker.url}: ${JSON.stringify(results.worker)}`);

/** The run config the activities see (validated like a real run's). */
const runConfig = (name: string, envs: EnvSpec[]) =>
  RunConfig.parse({
    name,
    seed: spec.seed,
    steps: Math.max(1, spec.steps),
    policy: { url: worker.url },
    environments: envs,
    algorithm: spec.algorithm,
    data_dir: dataDir,
  });

/** Rolls out `taskIds` of one environment in chunks of ROLLOUTS_PER_CHUNK, all chunks at once. */
async function rolloutChunks(
  runId: string,
  phase: string,
  step: number,
  spec0: EnvSpec,
  taskIds: string[],
  greedy: boolean,
  policyUrl: string,
): Promise<number[][]> {
  const perChunk = Math.max(1, Math.floor(ROLLOUTS_PER_CHUNK / spec0.group_size));
  const chunks = [];
  for (let i = 0; i < taskIds.length; i += perChunk) {
    chunks.push(
      call<unknown, { groups: { rewards: number[] }[] }>('rolloutGroups', {
        runId,
        env: spec0.name,
        phase,
        step,
        seed: spec.seed,
        taskIds: taskIds.slice(i, i + perChunk),
        reasoningCount: 0,
        groupSize: spec0.group_size,
        sampling: spec0.sampling,
        rewards: spec0.rewards,
        config: spec0.config,
        policyUrl,
        plugins: [],
        greedy,
      }),
    );
  }
  return (await Promise.all(chunks)).flatMap((c) => c.groups.map((g) => g.rewards));
}

/** Greedy held-out evaluation of every environment (evalRun with eval.n = 1), all at once. */
async function evaluate(
  runId: string,
  envs: EnvSpec[] = spec.envs,
  tasks = spec.evalTasks,
  phase = 'eval:0',
): Promise<{ scores: PhaseResult['eval']; seconds: number }> {
  const t0 = performance.now();
  const cfg = runConfig(runId, envs);
  if (phase === 'eval:0') await call('startRun', { runId, config: cfg });
  const per = await Promise.all(
    cfg.environments.map(async (e) => {
      const evalSpec = {
        ...e,
        group_size: 1,
        sampling: {
          ...e.sampling,
          temperature: 0,
          max_tokens: spec.evalMaxTokens[e.name] ?? e.sampling.max_tokens,
        },
      };
      const { taskIds } = await call<unknown, { taskIds: string[] }>('sampleTasks', {
        runId,
        env: e.name,
        phase,
        step: 0,
        seed: spec.seed,
        split: e.eval_split,
        start: 0,
        count: tasks,
        config: e.config,
        plugins: [],
      });
      const rewards = await rolloutChunks(runId, phase, 0, evalSpec, taskIds, true, cfg.policy.url);
      return [e.name, score(rewards.map((r) => r[0] ?? 0))] as const;
    }),
  );
  return { scores: Object.fromEntries(per), seconds: (performance.now() - t0) / 1000 };
}

/**
 * GRPO steps over `schedule` (the environments of each step), as rlRun does them. After each step
 * `after(step, trainSeconds)` may evaluate (its time is not counted) and returns true to stop.
 */
async function train(
  runId: string,
  schedule: EnvSpec[][],
  after: (step: number, trainSeconds: number) => Promise<boolean>,
  algorithm = spec.algorithm,
): Promise<{ steps: StepRecord[]; seconds: number }> {
  const all = [...new Map(schedule.flat().map((e) => [e.name, e])).values()];
  const cfg = { ...runConfig(runId, all), algorithm: RunConfig.shape.algorithm.parse(algorithm) };
  await call('validateRun', { config: cfg });
  await call('startRun', { runId, config: cfg });
  await policy.reset({ run_id: runId });
  const cursors: Record<string, number> = {};
  const steps: StepRecord[] = [];
  let seconds = 0;
  for (const [i, envs] of schedule.entries()) {
    const step = i + 1;
    const s0 = performance.now();
    try {
      await Promise.all(
        envs.map(async (e) => {
          const { taskIds } = await call<unknown, { taskIds: string[] }>('sampleTasks', {
            runId,
            env: e.name,
            phase: 'train',
            step,
            seed: spec.seed,
            split: e.split,
            start: cursors[e.name] ?? 0,
            count: e.prompts_per_step,
            config: e.config,
            plugins: [],
          });
          cursors[e.name] = (cursors[e.name] ?? 0) + e.prompts_per_step;
          await rolloutChunks(runId, 'train', step, e, taskIds, false, cfg.policy.url);
        }),
      );
      const out = await call<unknown, { loss: number; envs: StepRecord['envs'] }>('trainStep', {
        runId,
        step,
        policyUrl: cfg.policy.url,
        algorithm: cfg.algorithm,
        envWeights: Object.fromEntries(envs.map((e) => [e.name, e.weight])),
        dropZeroVariance: false,
      });
      const rec = { step, seconds: (performance.now() - s0) / 1000, loss: out.loss, envs: out.envs };
      steps.push(rec);
      seconds += rec.seconds;
      log(
        `${runId} step ${step}/${schedule.length} ${rec.seconds.toFixed(1)} s: ` +
          Object.entries(out.envs)
            .map(([k, v]) => `${k} ${v.meanReward.toFixed(3)} (pass ${(100 * v.passRate).toFixed(0)}%)`)
            .join(', '),
      );
    } catch (err) {
      // An out-of-memory or a failed sandbox ends this training run; its evaluation still runs.
      log(`${runId} step ${step} failed, training stops here: ${(err as Error).message}`);
      failures.push({ runId, step, error: String((err as Error).message).slice(0, 2000) });
      break;
    }
    if (await after(step, seconds)) break;
  }
  return { steps, seconds };
}

/** Rollouts of a run that are not `ok` (checker errors, rejected contexts…), by env and status. */
async function notOk(runId: string): Promise<Record<string, number>> {
  const res = await database.db.execute(
    sql`SELECT env, status, count(*)::int AS n FROM rollouts WHERE run_id LIKE ${`${runId}%`} AND status <> 'ok' GROUP BY 1, 2`,
  );
  const rows = ((res as { rows?: unknown[] }).rows ?? (res as unknown as unknown[])) as {
    env: string;
    status: string;
    n: number;
  }[];
  return Object.fromEntries(rows.map((r) => [`${r.env}:${r.status}`, Number(r.n)]));
}

const showEval = (name: string, r: PhaseResult['eval']) =>
  log(
    `${name} eval: ${Object.entries(r)
      .map(
        ([k, v]) =>
          `${k} ${v.passed}/${v.tasks} = ${(100 * v.passRate).toFixed(1)}% ± ${(100 * v.se).toFixed(1)}`,
      )
      .join(', ')}`,
  );

try {
  for (const phase of args.phases!.split(',')) {
    const runId = `${spec.name}-${phase}`;
    try {
      if (phase === 'base') {
        await policy.reset({ run_id: runId });
        const ev = await evaluate(runId);
        results.phases.base = { eval: ev.scores, evalSeconds: ev.seconds };
        showEval(phase, ev.scores);
      } else if (phase === 'joint' || phase === 'staged') {
        let schedule: EnvSpec[][];
        if (phase === 'joint') {
          schedule = Array.from({ length: spec.steps }, () => spec.envs);
        } else {
          const done = results.phases.joint?.steps?.length ?? spec.steps;
          // Same rollouts per step as a joint step: the whole step goes to the stage's environment.
          const rollouts = spec.envs.reduce((a, e) => a + e.prompts_per_step * e.group_size, 0);
          const parts = stageSteps(done, spec.stagedOrder.length);
          schedule = spec.stagedOrder.flatMap((name, k) => {
            const e = spec.envs.find((x) => x.name === name)!;
            const stageEnv = { ...e, prompts_per_step: Math.round(rollouts / e.group_size) };
            return Array.from({ length: parts[k]! }, () => [stageEnv]);
          });
        }
        const overTime = async (step: number, seconds: number) => {
          const stop = phase === 'joint' && seconds > spec.maxTrainSeconds;
          if (stop)
            log(`${runId}: stopping after step ${step}, over maxTrainSeconds ${spec.maxTrainSeconds}`);
          return stop;
        };
        const tr = await train(runId, schedule, overTime);
        const ev = await evaluate(`${runId}-eval`);
        results.phases[phase] = {
          eval: ev.scores,
          evalSeconds: ev.seconds,
          steps: tr.steps,
          trainSeconds: tr.seconds,
        };
        showEval(phase, ev.scores);
      } else if (phase === 'peer' && spec.peer) {
        const p = spec.peer;
        const curve: NonNullable<PhaseResult['curve']> = [];
        const probe = async (step: number, seconds: number) => {
          const ev = await evaluate(runId, [p.env], p.evalTasks, `eval:${step}`);
          const s = ev.scores[p.env.name]!;
          curve.push({ step, trainSeconds: seconds, score: s });
          log(`${runId} held-out after ${step} steps, ${seconds.toFixed(0)} s: ${s.passed}/${s.tasks}`);
          return ev;
        };
        await policy.reset({ run_id: runId });
        await call('startRun', { runId, config: runConfig(runId, [p.env]) });
        await probe(0, 0);
        const tr = await train(
          runId,
          Array.from({ length: 100_000 }, () => [p.env]),
          async (step, seconds) => {
            const last = seconds >= p.maxTrainSeconds;
            if (step % p.evalEvery === 0 || last) await probe(step, seconds);
            return last;
          },
          p.algorithm,
        );
        const final = curve[curve.length - 1]!;
        results.phases.peer = {
          eval: { [p.env.name]: final.score },
          evalSeconds: 0,
          steps: tr.steps,
          trainSeconds: tr.seconds,
          curve,
        };
      } else {
        throw new Error(`unknown phase ${phase}`);
      }
      const bad = await notOk(runId);
      if (Object.keys(bad).length) log(`${phase}: rollouts not ok: ${JSON.stringify(bad)}`);
      results.notOk = { ...results.notOk, [phase]: bad };
    } catch (err) {
      // One phase's failure (an out-of-memory in an evaluation, say) is recorded; the next phase runs.
      log(`phase ${phase} failed: ${(err as Error).stack ?? err}`);
      failures.push({ runId, step: -1, error: String((err as Error).message).slice(0, 2000) });
    }
    save();
  }
} finally {
  worker.child.kill('SIGTERM');
  await database.close();
}
log(`results in ${resultsFile}`);
process.exit(0);
