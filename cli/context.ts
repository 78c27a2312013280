/**
 * Shared CLI plumbing: the project's data directory, the database and the Temporal client.
 */
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { type DatabaseHandle, openDatabase } from '../db/client.js';

/** Project state directory (PGlite database, blobs, checkpoints, reports): `MULTIGYM_HOME` or `./.multigym`. */
export const homeDir = (): string => resolve(process.env.MULTIGYM_HOME ?? '.multigym');

/** Opens `DATABASE_URL`, or the project's embedded PGlite database. */
export function openProjectDatabase(): Promise<DatabaseHandle> {
  return openDatabase({ pgliteDir: resolve(homeDir(), 'pglite') });
}

/** Connects a Temporal client to `TEMPORAL_ADDRESS` (default 127.0.0.1:7233). */
export async function temporalClient(address?: string): Promise<Client> {
  const connection = await Connection.connect({
    address: address ?? process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
  });
  return new Client({ connection });
}

/** Prints an error for the user and exits 1. */
export function fail(message: string): never {
  console.error(`multigym: ${message}`);
  process.exit(1);
}
