/**
 * `multigym dev` as a child process for end-to-end tests: its output collected, a wait for a line of
 * it, and a stop that asks first (SIGINT, so it stops its own children) and kills after a minute.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { repoRoot } from '../helpers/paths.js';

/** A running `multigym dev`. */
export interface DevProcess {
  child: ChildProcess;
  /** Everything it printed so far, stdout and stderr together, escape codes removed. */
  log(): string;
  /**
   * Resolves with the first match of `re` in the output; rejects after `timeoutMs` or when the
   * process exits first, with the output in the message.
   */
  waitForLog(re: RegExp, timeoutMs: number): Promise<RegExpExecArray>;
  /** SIGINT, then SIGKILL after 60 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts `multigym dev ARGS` (through `cli/bin.js`, so any `cwd` works). */
export function startDev(args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): DevProcess {
  const child = spawn(process.execPath, [resolve(repoRoot, 'cli/bin.js'), 'dev', ...args], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const log = () => stripVTControlCharacters(out);
  const waitForLog = (re: RegExp, timeoutMs: number) =>
    new Promise<RegExpExecArray>((resolveMatch, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no ${re} in multigym dev's output:\n${log()}`)),
        timeoutMs,
      );
      const check = () => {
        const m = re.exec(log());
        if (m) {
          clearTimeout(timer);
          resolveMatch(m);
        } else if (child.exitCode !== null) {
          clearTimeout(timer);
          reject(new Error(`multigym dev exited (${child.exitCode}):\n${log()}`));
        } else setTimeout(check, 250);
      };
      check();
    });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    await exited;
    clearTimeout(timer);
  };
  return { child, log, waitForLog, stop };
}
