/**
 * Starts the real Python policy worker (CPU) on a free port for a test, and stops it.
 * Usage: `const w = await startPolicyWorker(); ... await w.stop();`
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { repoRoot, venvPython } from './paths.js';

export interface RunningPolicyWorker {
  url: string;
  process: ChildProcess;
  /** Everything the worker printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

/** Spawns `python -m multigym_worker --model <model> --port 0` and waits for its listening line. */
export async function startPolicyWorker(
  options: { model?: string; seed?: number; extraArgs?: string[]; timeoutMs?: number } = {},
): Promise<RunningPolicyWorker> {
  const args = ['-m', 'multigym_worker', '--model', options.model ?? 'tiny', '--device', 'cpu'];
  args.push('--host', '127.0.0.1', '--port', '0', '--seed', String(options.seed ?? 0), ...(options.extraArgs ?? []));
  const child = spawn(venvPython, args, {
    cwd: resolve(repoRoot, 'policy/worker'),
    env: { ...process.env, PYTHONUNBUFFERED: '1', OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`policy worker did not start in time:\n${log}`)),
      options.timeoutMs ?? 90_000,
    );
    const onData = (buf: Buffer) => {
      log += buf.toString();
      const m = /listening on (http:\/\/[\w.:[\]-]+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`policy worker exited with ${code}:\n${log}`));
    });
  });
  return {
    url,
    process: child,
    output: () => log,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
