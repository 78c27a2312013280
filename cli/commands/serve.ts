/**
 * `multigym serve`: the reward-log read API and dashboard over `DATABASE_URL` (or the embedded
 * database, when no other process holds it), until Ctrl-C. `multigym dev` and `quickstart` serve the
 * same on their own database; this is for PostgreSQL users who train elsewhere.
 */
import { startLogServer } from '../../server/serve.js';
import { openProjectDatabase, temporalUiUrl } from '../context.js';
import { acquirePgliteLock } from '../pgliteLock.js';

export interface ServeOptions {
  host: string;
  port: number;
}

/** Serves until SIGINT/SIGTERM, then closes the server and the database. */
export async function runServe(o: ServeOptions): Promise<void> {
  const lock = process.env.DATABASE_URL ? undefined : acquirePgliteLock();
  const database = await openProjectDatabase();
  try {
    const server = await startLogServer({
      db: database.db,
      database: `${database.kind} at ${database.location}`,
      host: o.host,
      port: o.port,
      temporalUiUrl: temporalUiUrl(),
    });
    if (o.host !== '127.0.0.1' && o.host !== 'localhost')
      console.warn(`multigym: serving the reward logs on ${o.host}: anyone who can reach it can read them`);
    console.log(
      `reward-log API and dashboard: ${server.url} (database: ${database.kind} at ${database.location}); Ctrl-C stops`,
    );
    await new Promise<void>((r) => {
      process.once('SIGINT', r);
      process.once('SIGTERM', r);
    });
    await server.stop();
  } finally {
    await database.close();
    await lock?.stop();
  }
}
