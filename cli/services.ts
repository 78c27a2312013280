/**
 * Child services the CLI starts: the Temporal dev server (with its web UI) and the Python policy
 * worker. Each is spawned in its own process group and is ready when it prints a known line or
 * answers on its port; `stop()` ends the whole group, and each dies with the CLI when the CLI is
 * killed outright (`exitingWithParent`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { devServerSearchAttributeArgs } from '../workflows/searchAttributes.js';
import { modelsDir } from './home.js';

/** Repository root (where `.venv` lives). */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const venvBin = (name: string) => resolve(repoRoot, '.venv/bin', name);

/** Thrown when a service cannot start; the message says what to run. */
export class ServiceError extends Error {
  readonly type = 'ServiceError';
}

/** A running child service. */
export interface Service {
  name: string;
  process: ChildProcess;
  /** Everything it printed so far. */
  output(): string;
  stop(): Promise<void>;
}

/** util-linux's `setpriv` (Debian's util-linux package, always installed). */
const SETPRIV = '/usr/bin/setpriv';

/**
 * The command line that runs `command` so that it dies with this process, even when this process is
 * SIGKILLed and no `stop()` runs: `setpriv --pdeathsig SIGKILL` sets the kernel's parent-death signal
 * (prctl PR_SET_PDEATHSIG), which survives the exec into `command` (a Go binary like the Temporal
 * CLI cannot watch its parent itself). Without setpriv (not Linux), `command` runs as is.
 */
export function exitingWithParent(command: string, args: string[]): [string, string[]] {
  if (process.platform !== 'linux' || !existsSync(SETPRIV)) return [command, args];
  return [SETPRIV, ['--pdeathsig', 'SIGKILL', '--', command, ...args]];
}

function startService(
  name: string,
  command: string,
  args: string[],
  ready: (log: string) => string | boolean | Promise<boolean>,
  options: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Service & { readyValue: string }> {
  if (!existsSync(command)) {
    throw new ServiceError(`${name}: ${command} not found; run \`npm run setup\` first`);
  }
  const [exe, argv] = exitingWithParent(command, args);
  const child = spawn(exe, argv, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group: stop() kills its children too
  });
  let log = '';
  const append = (b: Buffer) => {
    log += b.toString();
    if (log.length > 200_000) log = log.slice(-100_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {}
    const t = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    }, 5000);
    await exited;
    clearTimeout(t);
  };
  return new Promise((resolveReady, reject) => {
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    const onExit = (code: number | null) =>
      reject(new ServiceError(`${name} exited (code ${code}) before it was ready:\n${log.slice(-4000)}`));
    child.once('exit', onExit);
    const poll = async () => {
      const value = await ready(log);
      if (value) {
        child.off('exit', onExit);
        resolveReady({ name, process: child, output: () => log, stop, readyValue: String(value) });
        return;
      }
      if (Date.now() > deadline) {
        await stop();
        reject(new ServiceError(`${name} did not become ready in time:\n${log.slice(-4000)}`));
        return;
      }
      setTimeout(poll, 200);
    };
    void poll();
  });
}

/** True when something accepts TCP connections on host:port. */
export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((r) => {
    const s = createConnection({ host, port });
    s.once('connect', () => {
      s.destroy();
      r(true);
    });
    s.once('error', () => r(false));
  });
}

export interface TemporalDevServerOptions {
  port?: number;
  uiPort?: number;
  /** SQLite file that keeps workflow history across restarts; omit for in-memory. */
  dbFilename?: string;
}

/** Starts `temporal server start-dev` with multigym's search attributes. Resolves when the port answers. */
export async function startTemporalDevServer(
  options: TemporalDevServerOptions = {},
): Promise<Service & { address: string; uiUrl: string }> {
  const port = options.port ?? 7233;
  const uiPort = options.uiPort ?? 8233;
  if (await portOpen('127.0.0.1', port)) {
    throw new ServiceError(
      `port ${port} is taken: is another Temporal server running? Stop it or pass --temporal-port`,
    );
  }
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
  ];
  args.push('--log-level', 'error', ...devServerSearchAttributeArgs());
  if (options.dbFilename) {
    mkdirSync(dirname(options.dbFilename), { recursive: true });
    args.push('--db-filename', options.dbFilename);
  }
  const svc = await startService(
    'temporal',
    venvBin('temporal'),
    args,
    () => portOpen('127.0.0.1', port),
    {},
  );
  return { ...svc, address: `127.0.0.1:${port}`, uiUrl: `http://127.0.0.1:${uiPort}` };
}

export interface PolicyWorkerOptions {
  /**
   * Built-in architecture (`tiny`, `small`, `base`), a model directory, or the name of a model
   * installed in `<MULTIGYM_HOME>/models` (`multigym model fetch`). Default `tiny`.
   */
  model?: string;
  device?: string;
  port?: number;
  seed?: number;
  extraArgs?: string[];
  timeoutMs?: number;
  /** Data-parallel processes (torchrun, one per GPU); 1 (default) runs a single process. */
  nproc?: number;
  /**
   * Root every checkpoint path of `/v1/checkpoint` and `/v1/load` is confined to (`--checkpoint-dir`).
   * Default: the worker's own (`MULTIGYM_CHECKPOINT_DIR`, `$MULTIGYM_HOME/checkpoints`, …).
   */
  checkpointDir?: string;
  /**
   * Bearer token the worker requires, passed in its environment (`MULTIGYM_POLICY_TOKEN`), never on
   * its command line. Default: whatever this process's environment holds (none when unset).
   */
  token?: string;
}

/** Starts the Python policy worker; resolves with its URL once it prints `listening on`. */
export async function startPolicyWorkerProcess(
  options: PolicyWorkerOptions = {},
): Promise<Service & { url: string }> {
  const nproc = options.nproc ?? 1;
  // Several processes: torchrun launches one rank each and rank 0 serves HTTP (docs/distributed-worker.md).
  const launcher =
    nproc > 1 ? ['-m', 'torch.distributed.run', '--standalone', `--nproc-per-node=${nproc}`] : [];
  const args = [...launcher, '-m', 'multigym_worker', '--model', options.model ?? 'tiny'];
  args.push('--models-dir', modelsDir());
  args.push('--device', options.device ?? 'cpu', '--host', '127.0.0.1', '--port', String(options.port ?? 0));
  args.push(
    '--seed',
    String(options.seed ?? 0),
    ...(nproc > 1 ? ['--distributed'] : []),
    ...(options.checkpointDir ? ['--checkpoint-dir', options.checkpointDir] : []),
    ...(options.extraArgs ?? []),
  );
  const svc = await startService(
    'policy worker',
    venvBin('python'),
    args,
    (log) => /listening on (http:\/\/[\w.:[\]-]+)/.exec(log)?.[1] ?? false,
    {
      cwd: resolve(repoRoot, 'policy/worker'),
      // The worker exits when this process is gone, even if it was SIGKILLed (no stop() ran).
      env: {
        PYTHONUNBUFFERED: '1',
        OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2',
        MULTIGYM_EXIT_WITH_PARENT: '1',
        ...(options.token ? { MULTIGYM_POLICY_TOKEN: options.token } : {}),
      },
      timeoutMs: options.timeoutMs,
    },
  );
  return { ...svc, url: svc.readyValue };
}
