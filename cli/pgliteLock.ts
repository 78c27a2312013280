/**
 * One process at a time may open the embedded PGlite database. The holder writes its pid to
 * `<home>/pglite.lock`; another process finds it alive and is told what to do instead.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { homeDir } from './context.js';

/** Thrown when another live process holds the embedded database. */
export class PgliteLockedError extends Error {
  readonly type = 'PgliteLockedError';
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Takes the lock (a stale one is taken over). Throws `PgliteLockedError` naming the holder. */
export function acquirePgliteLock(): { stop(): Promise<void> } {
  const file = resolve(homeDir(), 'pglite.lock');
  mkdirSync(homeDir(), { recursive: true });
  let holder: number | undefined;
  try {
    holder = Number(readFileSync(file, 'utf8').trim());
  } catch {}
  if (holder && holder !== process.pid && alive(holder)) {
    throw new PgliteLockedError(
      `the embedded database in ${homeDir()} is in use by process ${holder} (multigym dev or quickstart); ` +
        'stop it first, or use a PostgreSQL server for concurrent access: export DATABASE_URL=postgres://…',
    );
  }
  writeFileSync(file, String(process.pid));
  return {
    async stop() {
      rmSync(file, { force: true });
    },
  };
}
