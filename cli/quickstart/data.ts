/**
 * Which real data sets the quickstart finds, and the mixed task files it writes: for math,
 * code-sandbox and tool-use, tasks drawn from the real set are interleaved with the environment's
 * built-in easy tasks (a ratio of `realShare`) and written, as the environment's own task data, to a
 * JSONL file that the run config then points at. Long-context tasks are generated either way; the
 * real corpus only replaces the built-in filler text.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Task } from '../../environments/api.js';
import { getEnvironment } from '../../environments/registry.js';

/** A real data set the quickstart can use, and the file that shows it is there. */
export const REAL_SETS = {
  gsm8k: 'gsm8k/train.jsonl',
  math500: 'math500/test.jsonl',
  humaneval: 'humaneval/HumanEval.jsonl',
  bfcl: 'bfcl/BFCL_v4_simple_python.json',
  haystack: 'haystack_gutenberg/manifest.jsonl',
} as const;
export type RealSet = keyof typeof REAL_SETS;

/** The real sets present in `dir` (none when `dir` is undefined or missing). */
export function findRealSets(dir: string | undefined): RealSet[] {
  if (!dir || !existsSync(dir)) return [];
  return (Object.keys(REAL_SETS) as RealSet[]).filter((s) => existsSync(resolve(dir, REAL_SETS[s])));
}

/** Draws the first `n` tasks an environment yields for a config and split. */
export async function takeTasks(
  envName: string,
  config: unknown,
  ctx: { seed: number; split: string; dataDir?: string; blobDir: string },
  n: number,
): Promise<Task[]> {
  const env = getEnvironment(envName);
  const parsed = env.configSchema.parse(config);
  const out: Task[] = [];
  if (n <= 0) return out;
  for await (const t of env.tasks(parsed, { ...ctx, start: 0 })) {
    out.push(t);
    if (out.length >= n) break;
  }
  return out;
}

/** Interleaves two lists so that about `share` of the result comes from `b`, spread evenly. */
export function interleave<T>(a: T[], b: T[], share: number): T[] {
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const wantB = j < b.length && (i >= a.length || (j + 1) / (i + j + 1) <= share + 1e-9);
    if (wantB) out.push(b[j++]!);
    else out.push(a[i++]!);
  }
  return out;
}

/** How many tasks of each source went into one environment's mixed file. */
export interface MixSummary {
  env: string;
  builtin: number;
  real: number;
  /** Real sets used, e.g. `gsm8k`, `math500`. */
  realSets: string[];
  /** The JSONL file with `{split}` in its name. */
  file: string;
}

/**
 * Writes `<dir>/<env>.{train,test}.jsonl`: built-in tasks mixed with real ones (each real config
 * contributes an equal part of `realShare`). Returns the summary; `file` holds `{split}`.
 */
export async function writeMixedTasks(opts: {
  env: string;
  dir: string;
  seed: number;
  dataDir?: string;
  blobDir: string;
  perSplit: number;
  realShare: number;
  builtin: unknown;
  real: { set: string; config: unknown }[];
}): Promise<MixSummary> {
  mkdirSync(opts.dir, { recursive: true });
  const nReal = opts.real.length ? Math.round(opts.perSplit * opts.realShare) : 0;
  const nBuiltin = opts.perSplit - nReal;
  let realCount = 0;
  for (const split of ['train', 'test']) {
    const ctx = { seed: opts.seed, split, dataDir: opts.dataDir, blobDir: opts.blobDir };
    const builtin = await takeTasks(opts.env, opts.builtin, ctx, nBuiltin);
    const real: Task[] = [];
    for (const [k, r] of opts.real.entries()) {
      const n = Math.floor(nReal / opts.real.length) + (k < nReal % opts.real.length ? 1 : 0);
      real.push(...(await takeTasks(opts.env, r.config, ctx, n)));
    }
    if (split === 'train') realCount = real.length;
    const mixed = interleave(builtin, real, nReal / opts.perSplit);
    const lines = mixed.map((t) => JSON.stringify(t.data));
    writeFileSync(resolve(opts.dir, `${opts.env}.${split}.jsonl`), `${lines.join('\n')}\n`);
  }
  return {
    env: opts.env,
    builtin: nBuiltin,
    real: realCount,
    realSets: opts.real.map((r) => r.set),
    file: resolve(opts.dir, `${opts.env}.{split}.jsonl`),
  };
}
