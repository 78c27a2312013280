/**
 * Shared CLI plumbing: the project's data directory, the database and the Temporal client.
 */
import { resolve } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { type DatabaseHandle, openDatabase } from '../db/client.js';
import { homeDir } from './home.js';

export { homeDir, modelsDir } from './home.js';

/** Opens `DATABASE_URL`, or the project's embedded PGlite database. */
export function openProjectDatabase(): Promise<DatabaseHandle> {
  return openDatabase({ pgliteDir: resolve(homeDir(), 'pglite') });
}

/** The Temporal frontend address: `TEMPORAL_ADDRESS`, default 127.0.0.1:7233. */
export const temporalAddress = (): string => process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';

/**
 * Base URL of the Temporal web UI: `TEMPORAL_UI_URL`, else the dev server's own for `address` (its
 * frontend port + 1000, as `temporal server start-dev` and `multigym dev` place it).
 */
export function temporalUiUrl(address = temporalAddress()): string {
  if (process.env.TEMPORAL_UI_URL) return process.env.TEMPORAL_UI_URL.replace(/\/+$/, '');
  const m = /^(.*):(\d+)$/.exec(address);
  return m ? `http://${m[1]}:${Number(m[2]) + 1000}` : `http://${address}`;
}

/** Link to a workflow in the web UI (namespace `default`). */
export function workflowUiLink(workflowId: string, uiUrl = temporalUiUrl()): string {
  return `${uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`;
}

/** Thrown when no Temporal server answers; the message names the address and what to do. */
export class TemporalUnreachableError extends Error {
  readonly type = 'TemporalUnreachableError';
}

/**
 * Connects a Temporal client to `address` (default `TEMPORAL_ADDRESS` or 127.0.0.1:7233).
 * @throws TemporalUnreachableError naming the address and suggesting `multigym dev` when nothing answers within 5 s.
 */
export async function temporalClient(address = temporalAddress(), connectTimeoutMs = 5000): Promise<Client> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: connectTimeoutMs });
    return new Client({ connection });
  } catch (err) {
    throw new TemporalUnreachableError(
      `no Temporal server answers at ${address} (${(err as Error).message}). Start the local stack with ` +
        '`npx multigym dev` (Temporal dev server, web UI, policy worker and workers), or set ' +
        "TEMPORAL_ADDRESS to your cluster's frontend.",
    );
  }
}

/** Prints an error for the user and exits 1. */
export function fail(message: string): never {
  console.error(`multigym: ${message}`);
  process.exit(1);
}
