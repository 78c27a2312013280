/**
 * The project's state directory and what lives in it (no other imports, so any module can use it).
 */
import { resolve } from 'node:path';

/** Project state directory (PGlite database, blobs, checkpoints, reports): `MULTIGYM_HOME` or `./.multigym`. */
export const homeDir = (): string => resolve(process.env.MULTIGYM_HOME ?? '.multigym');

/** Installed pretrained models (`multigym model fetch`): `<MULTIGYM_HOME>/models`. */
export const modelsDir = (): string => resolve(homeDir(), 'models');
