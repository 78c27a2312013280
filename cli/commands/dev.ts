/**
 * `multigym dev`: the local stack in one command — the Temporal dev server with its web UI, the
 * policy worker on CPU and the orchestrator workers — all stopped on Ctrl-C, and all ending with it
 * when it is killed (cli/services.ts). A run still going on this worker gets its weights back first.
 *
 * The policy worker gets a fresh bearer token per start (or `MULTIGYM_POLICY_TOKEN` when set), in its
 * environment; this process (whose orchestrator workers call the policy worker) gets it in
 * `process.env.MULTIGYM_POLICY_TOKEN`, and other processes can read `<home>/policy.token` (mode 0600).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { DatabaseHandle } from '../../db/client.js';
import { startLogServer } from '../../server/serve.js';
import { homeDir, openProjectDatabase, temporalClient } from '../context.js';
import { acquirePgliteLock } from '../pgliteLock.js';
import { resumeRunPolicy } from '../resumePolicy.js';
import { type Service, startPolicyWorkerProcess, startTemporalDevServer } from '../services.js';
import { type RunningWorkers, startWorkers } from '../workers.js';

export interface DevOptions {
  temporalPort: number;
  uiPort: number;
  policyPort: number;
  model: string;
  policy: boolean;
  /** Leave the web UI's address out of the start-up lines (the quickstart prints the run's link instead). */
  quietUi?: boolean;
  /** Root of the policy worker's checkpoints (default `<home>/checkpoints`). */
  checkpointDir?: string;
  /** Port of the reward-log API and dashboard (0: any free port); default 8280. */
  dashboardPort?: number;
  /** Serve the dashboard (default true; `--no-dashboard`). */
  dashboard?: boolean;
  /** Called once the policy worker and the database are up, before the orchestrator workers start. */
  beforeWorkers?: (policyUrl: string | undefined) => Promise<void>;
  /**
   * The run whose weights the new policy worker gets back before the workers start; default the one
   * running run whose `policy.url` is this worker (cli/resumePolicy.ts).
   */
  resumeRun?: string;
  /** Extra policy-worker flags (the quickstart's `--coalesce-generate` for a pretrained model). */
  workerArgs?: string[];
}

/** A running local stack. */
export interface DevStack {
  temporalAddress: string;
  uiUrl: string;
  policyUrl?: string;
  /** Bearer token of the policy worker this stack started. */
  policyToken?: string;
  /** The reward-log API and dashboard, when served. */
  dashboardUrl?: string;
  /** The open database (the embedded PGlite one serves only this process). */
  database: DatabaseHandle;
  stop(): Promise<void>;
}

/** Starts the local stack; returns once every part is ready. */
export async function startDevStack(
  opts: DevOptions,
  log: (line: string) => void = console.log,
): Promise<DevStack> {
  const started: { stop(): Promise<void> }[] = [];
  const stop = async () => {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    const temporal = await startTemporalDevServer({
      port: opts.temporalPort,
      uiPort: opts.uiPort,
      dbFilename: resolve(homeDir(), 'temporal.sqlite'),
    });
    started.push(temporal);
    log(`Temporal dev server on ${temporal.address}${opts.quietUi ? '' : `; web UI: ${temporal.uiUrl}`}`);
    let policy: (Service & { url: string }) | undefined;
    let policyToken: string | undefined;
    if (opts.policy) {
      policyToken = shareToken(process.env.MULTIGYM_POLICY_TOKEN || randomBytes(32).toString('base64url'));
      const checkpointDir = opts.checkpointDir ?? resolve(homeDir(), 'checkpoints');
      policy = await startPolicyWorkerProcess({
        model: opts.model,
        port: opts.policyPort,
        token: policyToken,
        checkpointDir,
        extraArgs: opts.workerArgs,
      });
      started.push(policy);
      log(`policy worker (${opts.model}, cpu) on ${policy.url}; checkpoints under ${checkpointDir}`);
      log(
        `policy worker token in ${tokenFile()} (for other processes: MULTIGYM_POLICY_TOKEN_FILE=${tokenFile()})`,
      );
    }
    if (!process.env.DATABASE_URL) started.push(acquirePgliteLock());
    const database = await openProjectDatabase();
    started.push({ stop: () => database.close() });
    log(`database: ${database.kind} at ${database.location}`);
    // The embedded database serves this process only: other processes read the logs through this API.
    const dashboard =
      opts.dashboard === false
        ? undefined
        : await startLogServer({
            db: database.db,
            database: `${database.kind} at ${database.location}`,
            port: opts.dashboardPort,
            temporalUiUrl: temporal.uiUrl,
            // A taken port must not stop the stack: the discovery file tells readers where it went.
            fallbackToFreePort: true,
          });
    if (dashboard) {
      started.push(dashboard);
      log(`reward-log dashboard and API: ${dashboard.url}`);
    }
    await opts.beforeWorkers?.(policy?.url);
    if (policy) {
      const client = await temporalClient(temporal.address);
      try {
        await resumeRunPolicy({ db: database.db, client, policyUrl: policy.url, runId: opts.resumeRun, log });
      } finally {
        await client.connection.close();
      }
    }
    const workers: RunningWorkers = await startWorkers({
      address: temporal.address,
      deps: { db: database.db, blobDir: resolve(homeDir(), 'blobs'), dataDir: process.env.MULTIGYM_DATA },
    });
    started.push({ stop: () => workers.shutdown() });
    log(`orchestrator workers on queues: ${workers.workers.map((w) => w.options.taskQueue).join(', ')}`);
    return {
      temporalAddress: temporal.address,
      uiUrl: temporal.uiUrl,
      policyUrl: policy?.url,
      policyToken,
      dashboardUrl: dashboard?.url,
      database,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

const tokenFile = () => resolve(homeDir(), 'policy.token');

/**
 * Makes `token` the one this process's policy clients send (`MULTIGYM_POLICY_TOKEN`) and writes it to
 * `<home>/policy.token` (0600) for other orchestrator processes; returns it.
 */
function shareToken(token: string): string {
  process.env.MULTIGYM_POLICY_TOKEN = token;
  mkdirSync(homeDir(), { recursive: true });
  writeFileSync(tokenFile(), `${token}\n`, { mode: 0o600 });
  chmodSync(tokenFile(), 0o600);
  return token;
}

/** Runs the stack until Ctrl-C (SIGINT) or SIGTERM, then stops every process it started. */
export async function runDev(opts: DevOptions): Promise<void> {
  const stack = await startDevStack(opts);
  console.log(
    'ready. Start a run with `multigym run CONFIG.json` or from the web UI; Ctrl-C stops everything.',
  );
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', resolveStop);
    process.once('SIGTERM', resolveStop);
  });
  console.log('\nstopping…');
  await stack.stop();
}
