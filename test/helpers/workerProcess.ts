/**
 * multigym's orchestrator workers (`multigym worker`) in a separate OS process, so a test can kill
 * them with SIGKILL like a crashed host. Spawned as `node --import tsx cli/main.ts worker` (one
 * process, no tsx launcher in between) in its own process group.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { repoRoot } from './paths.js';

/** A running `multigym worker` process. */
export interface WorkerProcess {
  process: ChildProcess;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Sends `signal` to the whole process group and waits for the process to exit. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerProcessOptions {
  /** Temporal frontend, `host:port`. */
  temporalAddress: string;
  /** PostgreSQL URL of the run's database. */
  databaseUrl: string;
  /** `MULTIGYM_HOME` of the worker (blobs). */
  home: string;
  /** Environment queues to serve (default every registered one). */
  envs?: string[];
  /** How long to wait for the `serving` line, ms (default 120 000). */
  timeoutMs?: number;
}

/** Thrown when the worker process exits or stays silent before it serves its queues. */
export class WorkerProcessError extends Error {
  readonly type = 'WorkerProcessError';
}

/** Starts `multigym worker` and resolves once it prints `serving …` (its workers are polling). */
export function startWorkerProcess(options: WorkerProcessOptions): Promise<WorkerProcess> {
  const args = ['--import', 'tsx', resolve(repoRoot, 'cli/main.ts'), 'worker'];
  if (options.envs?.length) args.push('--env', ...options.envs);
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: options.temporalAddress,
      DATABASE_URL: options.databaseUrl,
      MULTIGYM_HOME: options.home,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  const append = (b: Buffer) => {
    log += b.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const alive = () => child.exitCode === null && child.signalCode === null;
  // Last resort if the test process exits without afterAll (the group would outlive it otherwise).
  const reap = () => {
    if (alive()) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }
  };
  process.once('exit', reap);
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      process.off('exit', reap);
      r();
    }),
  );
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (!alive()) return;
    try {
      process.kill(-child.pid!, signal);
    } catch {}
    const force = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, 15_000);
    await exited;
    clearTimeout(force);
  };
  const handle: WorkerProcess = { process: child, output: () => log, kill };
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => {
      void kill('SIGKILL').then(() =>
        reject(new WorkerProcessError(`worker did not start in time:\n${log.slice(-4000)}`)),
      );
    }, options.timeoutMs ?? 120_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new WorkerProcessError(`worker exited (code ${code}) before serving:\n${log.slice(-4000)}`));
    };
    child.once('exit', onExit);
    const check = () => {
      if (/serving /.test(log)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        child.stdout?.off('data', check);
        resolveReady(handle);
      }
    };
    child.stdout?.on('data', check);
  });
}
