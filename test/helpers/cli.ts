/**
 * Runs the `multigym` command line as a user does, with its output going to a file (not a terminal),
 * so tests see exactly what a log file or CI would hold: escape codes and all.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { repoRoot } from './paths.js';

/** What a CLI run left: exit code and stdout + stderr (interleaved, as written to one file). */
export interface CliResult {
  code: number | null;
  output: string;
  /** The file the output went to. */
  file: string;
}

/** ESC (0x1b), the start of every ANSI escape sequence. */
export const ESC = '\u001b';

/**
 * `multigym ARGS` (through tsx) with stdout and stderr both written to one file; resolves when it
 * exits, or rejects after `timeoutMs` (the process is killed).
 */
export async function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; cwd?: string } = {},
): Promise<CliResult> {
  const file = join(mkdtempSync(join(tmpdir(), 'multigym-cli-')), 'output.log');
  const fd = openSync(file, 'w');
  try {
    // Outside the repository `--import tsx` does not resolve: run the `multigym` launcher there.
    const outside = opts.cwd !== undefined && !resolve(opts.cwd).startsWith(repoRoot);
    const entry = outside
      ? [resolve(repoRoot, 'cli/bin.js')]
      : ['--import', 'tsx', resolve(repoRoot, 'cli/main.ts')];
    const child = spawn(process.execPath, [...entry, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', fd, fd],
    });
    const code = await new Promise<number | null>((resolveExit, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(
          new Error(
            `multigym ${args.join(' ')} ran past ${opts.timeoutMs} ms:\n${readFileSync(file, 'utf8')}`,
          ),
        );
      }, opts.timeoutMs ?? 120_000);
      child.once('exit', (c) => {
        clearTimeout(timer);
        resolveExit(c);
      });
    });
    return { code, output: readFileSync(file, 'utf8'), file };
  } finally {
    closeSync(fd);
  }
}
