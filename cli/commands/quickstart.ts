/**
 * `multigym quickstart`: the whole product in one command on a machine with no GPU and no servers.
 * Starts the embedded stack (Temporal dev server + web UI, database, policy worker on CPU,
 * orchestrator workers), warm-starts a fresh policy on demonstrations of every environment, runs one
 * GRPO `rlRun` on math, code-sandbox, tool-use and long-context at once (real data sets when found,
 * mixed with each environment's built-in easy tasks), shows progress, and ends with a first-vs-last
 * reward table, an HTML + PNG report and how to query the logs. Ctrl-C stops everything it started;
 * `--resume` continues the previous run, otherwise the previous quickstart state is wiped.
 */
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import { databaseSource } from '../../db/logs/source.js';
import { PolicyClient } from '../../policy/client.js';
import { dashboardMemo } from '../../server/discovery.js';
import { RunConfig } from '../../workflows/config.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import { homeDir, temporalClient, workflowUiLink } from '../context.js';
import { defaultDataDir } from '../data/catalog.js';
import { findRealSets } from '../quickstart/data.js';
import { planRun, QUICKSTART_ENVS, QUICKSTART_SIZES, SFT_SHARE } from '../quickstart/plan.js';
import { type QuickstartState, readState, writeState } from '../quickstart/state.js';
import { collectDemonstrations, warmStart } from '../quickstart/warmstart.js';
import { scoredSteps, summarize, writeReport } from '../report/report.js';
import { plainTable } from '../table.js';
import { watchRun } from '../watch.js';
import { type DevStack, startDevStack } from './dev.js';

/** Options of `multigym quickstart`. */
export interface QuickstartOptions {
  data?: string;
  steps?: number;
  resume?: boolean;
  /** `tiny`, `small` or `smollm2-135m-instruct` (installed by `multigym model fetch`). */
  model: string;
  out?: string;
  temporalPort: number;
  uiPort: number;
  policyPort: number;
  dashboardPort?: number;
  sftSteps?: number;
  prompts?: number;
  groupSize?: number;
}

/** Thrown for unusable options (e.g. an unknown model). */
export class QuickstartError extends Error {
  readonly type = 'QuickstartError';
}

const fmt = (x: number) => x.toFixed(3);

/** Runs the quickstart; resolves when the run has ended and the report is written. */
export async function runQuickstart(o: QuickstartOptions): Promise<void> {
  const t0 = Date.now();
  const base = QUICKSTART_SIZES[o.model];
  if (!base)
    throw new QuickstartError(
      `--model must be one of ${Object.keys(QUICKSTART_SIZES).join(', ')}, not ${o.model}`,
    );
  const home = homeDir();
  const stateDir = resolve(home, 'quickstart');
  const checkpointDir = resolve(stateDir, 'checkpoints');
  const blobDir = resolve(home, 'blobs');
  const sizes = {
    ...base,
    steps: o.steps ?? base.steps,
    sftSteps: o.sftSteps ?? base.sftSteps,
    promptsPerStep: o.prompts ?? base.promptsPerStep,
    groupSize: o.groupSize ?? base.groupSize,
  };

  const previous = readState(stateDir);
  let resume = Boolean(o.resume && previous);
  if (o.resume && !previous) console.log('nothing to resume (no previous quickstart state): starting clean');
  if (!resume && existsSync(stateDir)) {
    console.log(
      `starting clean: removing the previous quickstart state in ${stateDir}` +
        (previous ? ` (run ${previous.workflowId}; its logs stay in the database)` : '') +
        '; use --resume to continue it instead',
    );
    rmSync(stateDir, { recursive: true, force: true });
  }

  // Ctrl-C: stop every process started so far, then exit.
  let stack: DevStack | undefined;
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    console.log(
      '\ninterrupted: stopping the Temporal dev server, the policy worker and the workers… (`multigym quickstart --resume` continues)',
    );
    if (stack) void stack.stop().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const policyPort = resume ? previous!.policyPort : o.policyPort;
  const temporalAddress = `127.0.0.1:${o.temporalPort}`;
  stack = await startDevStack({
    temporalPort: o.temporalPort,
    uiPort: o.uiPort,
    policyPort,
    model: resume ? previous!.model : o.model,
    policy: true,
    quietUi: true,
    workerArgs: (QUICKSTART_SIZES[resume ? previous!.model : o.model] ?? base).workerArgs,
    checkpointDir,
    dashboardPort: o.dashboardPort,
    // Resuming: the new worker gets the run's newest checkpoint (and the steps after it) back, as
    // under `multigym dev` (cli/resumePolicy.ts).
    resumeRun: resume ? previous!.workflowId : undefined,
    beforeWorkers: async () => {
      if (!previous || resume) return;
      const client = await temporalClient(temporalAddress);
      try {
        await client.workflow
          .getHandle(previous.workflowId)
          .terminate('quickstart started clean')
          .catch(() => undefined);
      } finally {
        await client.connection.close();
      }
    },
  });
  if (interrupted) {
    await stack.stop();
    process.exit(130);
  }
  const client = await temporalClient(stack.temporalAddress);
  try {
    let state: QuickstartState;
    if (resume) {
      state = previous!;
      try {
        const d = await client.workflow.getHandle(state.workflowId).describe();
        if (d.status.name !== 'RUNNING' && d.status.name !== 'COMPLETED') resume = false;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
        resume = false;
      }
      if (!resume)
        console.log(`run ${state.workflowId} cannot be resumed (not found or not running): starting clean`);
    }
    if (!resume) state = await startFresh();
    else console.log(`reattached to run ${state!.workflowId}`);
    const run = state!;
    const uiLink = workflowUiLink(run.workflowId, stack.uiUrl);
    const dashboard = stack.dashboardUrl
      ? `; dashboard: ${stack.dashboardUrl}/runs/${encodeURIComponent(run.workflowId)}`
      : '';
    console.log(`run ${run.workflowId}; Temporal web UI: ${uiLink}${dashboard}`);
    const result = await watchRun(client.workflow.getHandle(run.workflowId), {
      uiLink,
      steps: run.steps,
      envs: run.envs,
    });
    await finish(run, result.status);
  } catch (err) {
    // after Ctrl-C, requests to the stopped services fail: the signal handler exits once all is stopped
    if (interrupted) await new Promise(() => undefined);
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.connection.close();
    if (!interrupted) await stack.stop();
  }

  async function startFresh(): Promise<QuickstartState> {
    const dataDir =
      o.data ??
      process.env.MULTIGYM_DATA ??
      (existsSync(defaultDataDir(home)) ? defaultDataDir(home) : undefined);
    const sets = findRealSets(dataDir && resolve(dataDir));
    if (sets.length) console.log(`real data in ${resolve(dataDir!)}: ${sets.join(', ')}`);
    else
      console.log(
        `no real data sets found${dataDir ? ` in ${dataDir}` : ''}: training on the built-in tasks only. ` +
          'To add GSM8K, MATH-500, HumanEval and BFCL: `npx multigym data fetch all`, or pass `--data DIR`.',
      );
    const workflowId = `quickstart-${new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-')}`;
    const plan = await planRun({
      name: 'quickstart',
      stateDir,
      blobDir,
      dataDir: dataDir && resolve(dataDir),
      sets,
      sizes,
      policyUrl: stack!.policyUrl!,
    });
    for (const s of plan.sources) console.log(`  ${s.env.padEnd(13)} ${s.text}`);
    if (sizes.sftSteps > 0) {
      const demos = await collectDemonstrations({
        envConfigs: plan.envConfigs,
        perEnv: Math.min(
          sizes.tasksPerSplit,
          Math.ceil((sizes.sftSteps * sizes.sftBatch) / QUICKSTART_ENVS.length) * 2,
        ),
        seed: 0,
        dataDir: dataDir && resolve(dataDir),
        blobDir,
      });
      console.log(
        `warm start: ${sizes.sftSteps} supervised steps on ${demos.map((d) => `${d.length} ${d[0]!.env}`).join(', ')} demonstrations`,
      );
      const ws = await warmStart({
        policyUrl: stack!.policyUrl!,
        demonstrations: demos,
        steps: sizes.sftSteps,
        batch: sizes.sftBatch,
        learningRate: sizes.sftLearningRate,
        weights: SFT_SHARE,
      });
      console.log(
        `warm start done in ${ws.seconds.toFixed(0)} s: loss ${fmt(ws.firstLoss)} → ${fmt(ws.lastLoss)} nats/token`,
      );
    } else console.log('no warm start (--sft-steps 0): GRPO starts from the model as loaded');
    const warm = await new PolicyClient({ url: stack!.policyUrl! }).checkpoint({
      path: resolve(checkpointDir, 'warm-start'),
    });
    // The run starts from the warm-started weights, named in its config (never "whatever the worker holds").
    const config = RunConfig.parse({
      ...plan.config,
      policy: { ...plan.config.policy, init: { checkpoint: warm.path } },
    });
    const state: QuickstartState = {
      workflowId,
      startedAt: new Date().toISOString(),
      steps: config.steps,
      envs: config.environments.map((e) => e.name),
      model: o.model,
      policyPort: o.policyPort,
      dataDir: dataDir && resolve(dataDir),
      sets,
      warmCheckpoint: warm.path,
    };
    await client.workflow.start('rlRun', {
      taskQueue: MAIN_QUEUE,
      workflowId,
      args: [{ config }],
      memo: dashboardMemo(workflowId),
    });
    writeState(stateDir, state);
    console.log(
      `GRPO: ${config.steps} steps × (${config.environments.map((e) => `${e.prompts_per_step} ${e.name}`).join(', ')} tasks) × ${sizes.groupSize} samples`,
    );
    return state;
  }

  async function finish(run: QuickstartState, status: string): Promise<void> {
    const rows = scoredSteps(await databaseSource(stack!.database.db).steps(run.workflowId));
    const summary = summarize(rows);
    const table = plainTable([
      'environment',
      'reward, first step',
      'reward, last step',
      'change',
      'pass first',
      'pass last',
    ]);
    for (const s of summary) {
      const d = s.lastReward - s.firstReward;
      table.push([
        s.env,
        `${fmt(s.firstReward)} (step ${s.firstStep})`,
        `${fmt(s.lastReward)} (step ${s.lastStep})`,
        `${d >= 0 ? '+' : ''}${fmt(d)}`,
        `${(s.firstPass * 100).toFixed(0)}%`,
        `${(s.lastPass * 100).toFixed(0)}%`,
      ]);
    }
    const minutes = ((Date.now() - t0) / 60_000).toFixed(1);
    console.log(`\nrun ${run.workflowId} ${status} in ${minutes} min (this invocation)`);
    console.log(table.toString());
    const rising = summary.filter((s) => s.lastReward > s.firstReward).map((s) => s.env);
    console.log(
      `mean reward rose on ${rising.length} of ${summary.length} environments${rising.length ? ` (${rising.join(', ')})` : ''}`,
    );
    const logsCmd = `npx multigym logs ${run.workflowId}`;
    const report = await writeReport({
      dir: resolve(o.out ?? resolve(stateDir, 'report')),
      runId: run.workflowId,
      rows,
      notes: [
        `real data sets: ${run.sets.length ? `${run.sets.join(', ')} from ${run.dataDir}` : 'none (built-in tasks only)'}`,
        `query the logs: ${logsCmd} (add --checkers, or --samples STEP to read completions)`,
        `time: ${minutes} min`,
      ],
    });
    console.log(`report: ${report.html}\n        ${report.png}`);
    console.log(
      `query the logs: ${logsCmd}   (--checkers per reward checker, --samples STEP for completions)`,
    );
  }
}
