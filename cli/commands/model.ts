/**
 * `multigym model fetch | import-gguf | verify | list`: pretrained models for the policy worker. The
 * work is done by the worker's Python importer (`python -m multigym_worker.importer`, which reads and
 * dequantises GGUF files with PyPI's `gguf`); models land in `<MULTIGYM_HOME>/models/<name>/`.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { modelsDir } from '../home.js';
import { repoRoot } from '../services.js';

/**
 * Runs the importer with `args` (e.g. `['fetch', 'smollm2-135m-instruct']`), its output shown as it
 * comes. Resolves with its exit code (1 with the cause on stderr when a fetch or import fails).
 */
export function runModelCommand(args: string[]): Promise<number> {
  const python = resolve(repoRoot, '.venv/bin/python');
  if (!existsSync(python)) {
    console.error(`multigym: ${python} not found; run \`npm run setup\` first`);
    return Promise.resolve(1);
  }
  const child = spawn(python, ['-m', 'multigym_worker.importer', '--models-dir', modelsDir(), ...args], {
    cwd: resolve(repoRoot, 'policy/worker'),
    stdio: 'inherit',
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  return new Promise((r) => child.once('exit', (code) => r(code ?? 1)));
}
