/**
 * Orchestration overhead: rollouts per second through the full path — the Temporal dev server, the
 * `rlRun` workflow, per-environment task queues, math scoring, PostgreSQL writes, the batch read and
 * advantage update of `trainStep` — beside the same activities called in a plain in-process loop (no
 * Temporal server: the same `sampleTasks` → chunked `rolloutGroups` → `trainStep` per step, same
 * database, same policy), measured in one run. The policy answers at once (bench/helpers/instantPolicy.ts),
 * so only orchestration, scoring and storage are timed.
 *
 *   npx tsx bench/orchestration.ts [--steps 5] [--prompts 64] [--group 16] [--repeats 2]
 *
 * Needs PostgreSQL at TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test; a fresh
 * database is created and dropped) and the venv's `temporal` binary. Prints rollouts/s of each path,
 * the overhead ratio (Temporal ÷ plain wall time, per repeat and of the best runs), the CPU seconds
 * of this process (workers + workflow code + scoring) and of the Temporal server and their ratio (less
 * sensitive to other jobs' load than wall time; PostgreSQL's own CPU is not counted), and the load
 * average.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { and, count, eq } from 'drizzle-orm';
import { createActivities } from '../activities/index.js';
import { startTemporalDevServer } from '../cli/services.js';
import { installQuietRuntime, startWorkers } from '../cli/workers.js';
import { rewards, rollouts } from '../db/schema.js';
import { freePort } from '../test/e2e/ports.js';
import { createTestDatabase } from '../test/helpers/postgres.js';
import { RunConfig, type RunConfigInput } from '../workflows/config.js';
import { ROLLOUTS_PER_CHUNK } from '../workflows/envStep.js';
import { MAIN_QUEUE } from '../workflows/queues.js';
import { instantPolicy } from './helpers/instantPolicy.js';

const { values } = parseArgs({
  options: {
    steps: { type: 'string', default: '5' },
    prompts: { type: 'string', default: '64' },
    group: { type: 'string', default: '16' },
    repeats: { type: 'string', default: '2' },
  },
});
const steps = Number(values.steps);
const prompts = Number(values.prompts);
const group = Number(values.group);
const repeats = Number(values.repeats);

installQuietRuntime('ERROR');
const policy = instantPolicy();
const database = await createTestDatabase('mgbench');
const blobDir = mkdtempSync(join(tmpdir(), 'multigym-bench-'));
const deps = { db: database.db, blobDir, policyFor: () => policy };
const temporal = await startTemporalDevServer({ port: await freePort(), uiPort: await freePort() });
const workers = await startWorkers({ address: temporal.address, deps, envs: ['math'] });
const connection = await Connection.connect({ address: temporal.address });
const client = new Client({ connection });

const config = (n: number): RunConfigInput => ({
  name: 'bench-orchestration',
  steps: n,
  seed: 3,
  policy: { url: 'http://instant-policy.invalid' },
  environments: [
    { name: 'math', prompts_per_step: prompts, group_size: group, sampling: { max_tokens: 16 }, config: {} },
  ],
});

/** The full path: one `rlRun` through the Temporal server and the workers. */
async function viaTemporal(runId: string, n: number): Promise<void> {
  const result = await client.workflow.execute('rlRun', {
    taskQueue: MAIN_QUEUE,
    workflowId: runId,
    args: [{ config: config(n) }],
  });
  if (result.status !== 'completed') throw new Error(`run ${runId} ended ${result.status}`);
}

/** The same activities in a plain loop: what `rlRun` + `runEnvStep` do, without a server. */
async function plainLoop(runId: string, n: number): Promise<void> {
  const acts = createActivities(deps);
  const call = <I, O>(fn: (input: I) => Promise<O>, input: I): Promise<O> =>
    new MockActivityEnvironment().run(fn, input) as Promise<O>;
  const cfg = RunConfig.parse(config(n));
  const spec = cfg.environments[0]!;
  await call(acts.validateRun, { config: cfg });
  await call(acts.startRun, { runId, config: cfg });
  let cursor = 0;
  for (let step = 1; step <= n; step++) {
    const { taskIds } = await call(acts.sampleTasks, {
      runId,
      env: spec.name,
      phase: 'train',
      step,
      seed: cfg.seed,
      split: spec.split,
      start: cursor,
      count: spec.prompts_per_step,
      config: spec.config,
      plugins: [],
    });
    cursor += spec.prompts_per_step;
    const perChunk = Math.max(1, Math.floor(ROLLOUTS_PER_CHUNK / spec.group_size));
    const chunks: Promise<unknown>[] = [];
    for (let i = 0; i < taskIds.length; i += perChunk) {
      chunks.push(
        call(acts.rolloutGroups, {
          runId,
          env: spec.name,
          phase: 'train',
          step,
          seed: cfg.seed,
          taskIds: taskIds.slice(i, i + perChunk),
          reasoningCount: 0,
          groupSize: spec.group_size,
          sampling: spec.sampling,
          config: spec.config,
          policyUrl: cfg.policy.url,
          plugins: [],
        }),
      );
    }
    await Promise.all(chunks);
    await call(acts.trainStep, {
      runId,
      step,
      policyUrl: cfg.policy.url,
      algorithm: cfg.algorithm,
      envWeights: { [spec.name]: spec.weight },
      dropZeroVariance: false,
    });
  }
  await call(acts.finishRun, { runId, status: 'completed' });
}

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}
const serverPid = temporal.process.pid!;

interface Measured {
  seconds: number;
  rolloutsPerSecond: number;
  cpuSelf: number;
  cpuServer: number;
}
async function measure(kind: 'temporal' | 'plain', runId: string, n: number): Promise<Measured> {
  const self0 = process.cpuUsage();
  const server0 = cpuSeconds(serverPid);
  const t0 = performance.now();
  await (kind === 'temporal' ? viaTemporal(runId, n) : plainLoop(runId, n));
  const seconds = (performance.now() - t0) / 1000;
  const self = process.cpuUsage(self0);
  const [row] = await database.db
    .select({ n: count() })
    .from(rollouts)
    .where(and(eq(rollouts.runId, runId), eq(rollouts.status, 'ok')));
  const expected = n * prompts * group;
  if (row!.n !== expected) throw new Error(`${runId}: ${row!.n} rollouts stored, expected ${expected}`);
  const [rewarded] = await database.db
    .select({ n: count() })
    .from(rewards)
    .innerJoin(rollouts, eq(rewards.rolloutId, rollouts.id))
    .where(eq(rollouts.runId, runId));
  if (rewarded!.n !== expected) throw new Error(`${runId}: ${rewarded!.n} reward rows, expected ${expected}`);
  return {
    seconds,
    rolloutsPerSecond: expected / seconds,
    cpuSelf: (self.user + self.system) / 1e6,
    cpuServer: cpuSeconds(serverPid) - server0,
  };
}

try {
  const total = steps * prompts * group;
  console.log(
    `orchestration bench: math, ${steps} steps × ${prompts} prompts × G=${group} = ${total} rollouts per run, ` +
      `${ROLLOUTS_PER_CHUNK} rollouts per activity; load average before: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  // Warm-up (bundle, JIT, compute engine, connection pools): one small run each, not reported.
  await measure('plain', 'warm-plain', 1);
  await measure('temporal', 'warm-temporal', 1);
  const rows: { repeat: number; plain: Measured; temporal: Measured }[] = [];
  for (let r = 1; r <= repeats; r++) {
    // Alternate which path goes first, so a trend in the machine's load (or the growing tables) hits both alike.
    let plain: Measured;
    let temporalRun: Measured;
    if (r % 2 === 1) {
      plain = await measure('plain', `plain-${r}`, steps);
      temporalRun = await measure('temporal', `temporal-${r}`, steps);
    } else {
      temporalRun = await measure('temporal', `temporal-${r}`, steps);
      plain = await measure('plain', `plain-${r}`, steps);
    }
    rows.push({ repeat: r, plain, temporal: temporalRun });
  }
  const fmt = (m: Measured) =>
    `${m.rolloutsPerSecond.toFixed(0).padStart(6)} rollouts/s (${m.seconds.toFixed(2)} s; CPU node ${m.cpuSelf.toFixed(1)} s, temporal server ${m.cpuServer.toFixed(1)} s)`;
  for (const { repeat, plain, temporal: t } of rows) {
    console.log(`repeat ${repeat}: plain loop ${fmt(plain)}`);
    console.log(`          Temporal   ${fmt(t)}`);
    console.log(
      `          overhead ratio (Temporal time ÷ plain time): ${(t.seconds / plain.seconds).toFixed(2)}×; ` +
        `CPU ratio ((node + server) ÷ node): ${((t.cpuSelf + t.cpuServer) / plain.cpuSelf).toFixed(2)}×`,
    );
  }
  const bestPlain = Math.max(...rows.map((r) => r.plain.rolloutsPerSecond));
  const bestTemporal = Math.max(...rows.map((r) => r.temporal.rolloutsPerSecond));
  console.log(
    `best: plain ${bestPlain.toFixed(0)} rollouts/s, Temporal ${bestTemporal.toFixed(0)} rollouts/s, ` +
      `ratio ${(bestPlain / bestTemporal).toFixed(2)}×; load average after: ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
} finally {
  await workers.shutdown();
  await connection.close();
  await temporal.stop();
  await database.drop();
  rmSync(blobDir, { recursive: true, force: true });
}
