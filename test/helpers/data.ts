/**
 * Where tests find the public data sets: the one place that decides it.
 *
 * Each set is looked up, in order, in `MULTIGYM_DATA`, `../shared/data` beside the checkout and
 * `.multigym/data` (what `npx multigym data fetch` writes; `MULTIGYM_HOME/data` when that is set).
 * When none holds it, tests read the excerpt committed under `test/fixtures/data/` (a few dozen real
 * records of each set, same layout, licence beside it), so every data-dependent test runs on a
 * fresh clone. Tests about a whole set use `fullDataOnly(...)`: skipped without the full set, and
 * `test/helpers/dataSkipReporter.ts` prints one line naming them and how to run them.
 *
 * With `MULTIGYM_REQUIRE_DATA=1` (set by `.ci/run`) a missing full set throws instead, so CI fails
 * rather than skipping or testing on excerpts. `MULTIGYM_TEST_EXCERPTS_ONLY=1` ignores the full sets
 * (what a fresh clone sees).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { repoRoot } from './paths.js';

/** The data sets tests use, each with the file that shows it is present. */
export const DATA_SETS = {
  gsm8k: 'gsm8k/test.jsonl',
  math500: 'math500/test.jsonl',
  humaneval: 'humaneval/HumanEval.jsonl',
  mbpp: 'mbpp/mbpp.jsonl',
  bfcl: 'bfcl/possible_answer/BFCL_v4_parallel_multiple.json',
  haystack_gutenberg: 'haystack_gutenberg/manifest.jsonl',
} as const;
export type DataSetName = keyof typeof DATA_SETS;

/** The committed excerpts (always present). */
export const excerptDataDir = resolve(repoRoot, 'test/fixtures/data');

/** Environment variable that turns a missing full data set into an error (CI sets it to 1). */
export const REQUIRE_DATA_ENV = 'MULTIGYM_REQUIRE_DATA';

/** Set to 1 to test on the excerpts only, as a fresh clone does, even where full sets are found. */
export const EXCERPTS_ONLY_ENV = 'MULTIGYM_TEST_EXCERPTS_ONLY';

/** The directories searched for full data sets, in order, with where each comes from. */
export function dataCandidates(env: NodeJS.ProcessEnv = process.env): { dir: string; from: string }[] {
  if (env[EXCERPTS_ONLY_ENV] === '1') return [];
  const home = env.MULTIGYM_HOME ? resolve(env.MULTIGYM_HOME) : resolve(repoRoot, '.multigym');
  return [
    ...(env.MULTIGYM_DATA ? [{ dir: resolve(env.MULTIGYM_DATA), from: 'MULTIGYM_DATA' }] : []),
    { dir: resolve(repoRoot, '../shared/data'), from: '../shared/data' },
    { dir: resolve(home, 'data'), from: '.multigym/data' },
  ];
}

const requireData = () => ['1', 'true', 'yes'].includes(process.env[REQUIRE_DATA_ENV] ?? '');

/** Thrown under `MULTIGYM_REQUIRE_DATA=1` when a full data set is missing. */
export class MissingDataError extends Error {
  readonly type = 'MissingDataError';
}

/**
 * The directory holding the full sets `names` (the first candidate that holds all of them), or
 * undefined. Throws `MissingDataError` under `MULTIGYM_REQUIRE_DATA=1` when there is none.
 */
export function fullDataDir(...names: DataSetName[]): string | undefined {
  const found = dataCandidates().find((c) => names.every((n) => existsSync(resolve(c.dir, DATA_SETS[n]))));
  if (!found && requireData()) {
    const searched = dataCandidates()
      .map((c) => `${c.from} (${c.dir})`)
      .join(', ');
    throw new MissingDataError(
      `${REQUIRE_DATA_ENV} is set but no directory holds the full data set(s) ${names.join(', ')}; ` +
        `searched ${searched}. Point MULTIGYM_DATA at them or run \`npx multigym data fetch all\`.`,
    );
  }
  return found?.dir;
}

/** True when the full sets `names` are found (see `fullDataDir`, which may throw). */
export const hasFullData = (...names: DataSetName[]): boolean => fullDataDir(...names) !== undefined;

/** Directory holding the sets `names`: the full sets when one directory has them all, else the excerpts. */
export function dataDir(...names: DataSetName[]): string {
  return fullDataDir(...names) ?? excerptDataDir;
}

/** A file inside the data directory, e.g. `dataPath('gsm8k/test.jsonl')` (set = first path segment). */
export function dataPath(rel: string): string {
  const name = rel.split('/')[0] as DataSetName;
  if (!(name in DATA_SETS)) throw new Error(`dataPath: unknown data set "${name}" in ${rel}`);
  return resolve(dataDir(name), rel);
}

/** Meta key the skip reporter reads: the sets a skipped test needed. */
export const NEEDS_DATA = 'needsFullData';

/**
 * Options for `describe`/`it` of a test about a whole data set: skipped when the full sets are
 * missing (the reporter lists it), an error under `MULTIGYM_REQUIRE_DATA=1`.
 * Usage: `describe('all 164 canonical solutions pass', fullDataOnly('humaneval'), () => …)`.
 */
export function fullDataOnly(...names: DataSetName[]): { skip: boolean; meta: Record<string, string> } {
  return { skip: !hasFullData(...names), meta: { [NEEDS_DATA]: names.join(',') } };
}
