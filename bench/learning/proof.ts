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
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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
    // The peer phase: training seconds to stop after, an evaluation every this many training seconds
    // (in addition to spec.peer.evalEvery steps; 0 = none), and a wall-clock deadline (s since the
    // driver started) after which training stops and a last evaluation runs, so that a device call
    // with a hard limit still ends with a saved result.
    'peer-seconds': { type: 'string' },
    'peer-eval-seconds': { type: 'string' },
    'peer-eval-every': { type: 'string' },
    'peer-eval-tasks': { type: 'string' },
    deadline: { type: 'string' },
  },
});
const started = performance.now();
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
if (spec.peer) {
  if (args['peer-seconds']) spec.peer.maxTrainSeconds = Number(args['peer-seconds']);
  if (args['peer-eval-every']) spec.peer.evalEvery = Number(args['peer-eval-every']);
  if (args['peer-eval-tasks']) spec.peer.evalTasks = Number(args['peer-eval-tasks']);
  if (args['peer-eval-seconds']) spec.peer.evalEverySeconds = Number(args['peer-eval-seconds']);
}
const deadline = args.deadline ? Number(args.deadline) : Number.POSITIVE_INFINITY;
const wallSeconds = () => (performance.now() - started) / 1000;
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
// Written whole and renamed, so a copy taken while the run goes on is never half a file.
const save = () => {
  writeFileSync(`${resultsFile}.tmp`, JSON.stringify(results, null, 1));
  renameSync(`${resultsFile}.tmp`, resultsFile);
};
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
const runConfig = (name: string, envs: EnvSpec[], algorithm = spec.algorithm) =>
  RunConfig.parse({
    name,
    seed: spec.seed,
    steps: Math.max(1, spec.steps),
    policy: { url: worker.url },
    environments: envs,
    algorithm,
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
  algorithm = spec.algorithm,
  strict?: number,
): Promise<{ scores: PhaseResult['eval']; seconds: number }> {
  const t0 = performance.now();
  // A run id names one config (startRun refuses another): the algorithm is the training run's.
  const cfg = runConfig(runId, envs, algorithm);
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
      return [
        e.name,
        score(
          rewards.map((r) => r[0] ?? 0),
          strict,
        ),
      ] as const;
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
  steps: StepRecord[] = [],
): Promise<{ steps: StepRecord[]; seconds: number }> {
  const all = [...new Map(schedule.flat().map((e) => [e.name, e])).values()];
  const cfg = runConfig(runId, all, algorithm);
  // Outside an activity context: validateRun then checks the config only. Inside one it also asks the
  // Temporal server which environments have pollers (commit 2d5b8d4), and here there is no server.
  await acts.validateRun({ config: cfg });
  await call('startRun', { runId, config: cfg });
  await policy.reset({ run_id: runId });
  const cursors: Record<string, number> = {};
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

/** The first `n` completions (by task) of one evaluation of a run: what the held-out answers look like. */
async function sampleCompletions(runId: string, phase: string, n = 6): Promise<string[]> {
  const res = await database.db.execute(
    sql`SELECT task_id, completion FROM rollouts WHERE run_id = ${runId} AND phase = ${phase} ORDER BY task_id LIMIT ${n}`,
  );
  const rows = ((res as { rows?: unknown[] }).rows ?? (res as unknown as unknown[])) as {
    task_id: string;
    completion: string;
  }[];
  return rows.map((r) => `${r.task_id}: ${r.completion.slice(0, 200)}`);
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
        const peerSteps: StepRecord[] = [];
        let trained = 0;
        // Rewritten after every evaluation, so a run cut short keeps its curve.
        const record = () => {
          results.phases.peer = {
            eval: { [p.env.name]: curve[curve.length - 1]!.score },
            evalSeconds: curve.reduce((a, c) => a + (c.evalSeconds ?? 0), 0),
            steps: peerSteps,
            trainSeconds: trained,
            curve,
          };
          save();
        };
        const probe = async (step: number, seconds: number) => {
          // strictPassed: right number after "Answer:" and the format bonus (reward 1.1), TRL's criterion.
          const ev = await evaluate(runId, [p.env], p.evalTasks, `eval:${step}`, p.algorithm, 1.1);
          const s = ev.scores[p.env.name]!;
          const samples = await sampleCompletions(runId, `eval:${step}`);
          curve.push({ step, trainSeconds: seconds, score: s, evalSeconds: ev.seconds, samples });
          log(
            `${runId} held-out after ${step} steps, ${seconds.toFixed(0)} s: ${s.passed}/${s.tasks} ` +
              `(with "Answer:" ${s.strictPassed}) ` +
              `(eval ${ev.seconds.toFixed(1)} s, wall ${wallSeconds().toFixed(0)} s)`,
          );
          record();
          return ev;
        };
        await policy.reset({ run_id: runId });
        await call('startRun', { runId, config: runConfig(runId, [p.env], p.algorithm) });
        await probe(0, 0);
        const every = p.evalEverySeconds ?? 0;
        let nextEval = every;
        await train(
          runId,
          Array.from({ length: 100_000 }, () => [p.env]),
          async (step, seconds) => {
            trained = seconds;
            const late = wallSeconds() >= deadline;
            if (late) log(`${runId}: wall-clock deadline ${deadline} s reached after step ${step}`);
            const last = seconds >= p.maxTrainSeconds || late;
            const due = (p.evalEvery > 0 && step % p.evalEvery === 0) || (every > 0 && seconds >= nextEval);
            if (due || last) await probe(step, seconds);
            while (every > 0 && nextEval <= seconds) nextEval += every;
            return last;
          },
          p.algorithm,
          peerSteps,
        );
        record();
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
