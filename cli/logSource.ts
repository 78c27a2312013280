/**
 * Where `multigym logs` reads: `DATABASE_URL` directly (PostgreSQL serves many processes); else the
 * embedded database when no other process holds it; else the read API of the process that does
 * (`multigym dev`, `quickstart`, `serve` advertise it in `<MULTIGYM_HOME>/server.json`), so logs work
 * while a run trains on the embedded default.
 */

import type { Database } from '../db/client.js';
import { databaseSource, type RewardLogSource } from '../db/logs/source.js';
import { httpSource } from '../server/client.js';
import { readServerInfo } from '../server/discovery.js';
import { openProjectDatabase } from './context.js';
import { acquirePgliteLock, PgliteLockedError } from './pgliteLock.js';

/** An open log source; `db` is set when it reads the database directly. */
export interface OpenLogSource {
  source: RewardLogSource;
  db?: Database;
  close(): Promise<void>;
}

/**
 * Opens the log source. Throws `PgliteLockedError` (with what to do) when another process holds the
 * embedded database and advertises no API.
 */
export async function openLogSource(): Promise<OpenLogSource> {
  let lock: { stop(): Promise<void> } | undefined;
  if (!process.env.DATABASE_URL) {
    try {
      lock = acquirePgliteLock();
    } catch (err) {
      if (!(err instanceof PgliteLockedError)) throw err;
      const server = readServerInfo();
      if (!server)
        throw new PgliteLockedError(
          `${err.message}. That process serves no reward-log API (started with --no-dashboard?); ` +
            'start it without, or run `multigym serve` once it has stopped',
        );
      return { source: httpSource(server.url), close: async () => {} };
    }
  }
  const database = await openProjectDatabase();
  return {
    source: databaseSource(database.db, `${database.kind} at ${database.location}`),
    db: database.db,
    async close() {
      await database.close();
      await lock?.stop();
    },
  };
}
