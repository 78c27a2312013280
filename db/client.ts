/**
 * Database connection: PostgreSQL through `pg` when a URL is given (`DATABASE_URL`), otherwise an
 * embedded PGlite database in a data directory. Both get the same schema and migrations.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import * as schema from './schema.js';

/** A drizzle database over either driver. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

/** An open database with its driver's close function. */
export interface DatabaseHandle {
  db: Database;
  /** `postgres` or `pglite`. */
  kind: 'postgres' | 'pglite';
  /** Where it lives: the URL without password, or the PGlite directory. */
  location: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** PostgreSQL URL; default `DATABASE_URL`. When unset, PGlite is used. */
  url?: string;
  /** PGlite data directory; default `<cwd>/.multigym/pglite`. `memory://` for an in-memory one. */
  pgliteDir?: string;
  /** Apply pending migrations (default true). */
  migrate?: boolean;
  /** Pool size for PostgreSQL (default 10). */
  poolSize?: number;
}

/** Folder of the generated SQL migrations (committed). */
export const migrationsFolder = resolve(dirname(fileURLToPath(import.meta.url)), 'migrations');

/** Thrown when the database cannot be opened or migrated; the message says how to fix it. */
export class DatabaseError extends Error {
  readonly type = 'DatabaseError';
}

/**
 * Opens the database and applies migrations. Throws `DatabaseError` naming the URL or directory.
 */
export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<DatabaseHandle> {
  const url = options.url ?? process.env.DATABASE_URL;
  const migrate = options.migrate ?? true;
  if (url) {
    const { default: pg } = await import('pg');
    const { drizzle } = await import('drizzle-orm/node-postgres');
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    // A restarted server drops idle connections; without a listener the error would crash the process.
    pool.on('error', () => {});
    // The pool's listener covers idle clients only: a client checked out (a transaction between two
    // statements, or mid-query) emits 'error' on itself when the server goes away, an uncaught
    // exception without this. Its pending queries still reject, and the pool discards it on release.
    pool.on('connect', (client) => client.on('error', () => {}));
    const db = drizzle(pool, { schema }) as unknown as Database;
    const location = url.replace(/:[^:@/]*@/, ':***@');
    try {
      if (migrate) {
        const { migrate: run } = await import('drizzle-orm/node-postgres/migrator');
        await run(db as never, { migrationsFolder });
      }
    } catch (err) {
      await pool.end();
      throw new DatabaseError(`cannot open PostgreSQL at ${location}: ${(err as Error).message}`);
    }
    return { db, kind: 'postgres', location, close: () => pool.end() };
  }
  const dir = options.pgliteDir ?? resolve(process.cwd(), '.multigym/pglite');
  if (!dir.startsWith('memory://')) mkdirSync(dir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { drizzle } = await import('drizzle-orm/pglite');
  const client = new PGlite(dir);
  const db = drizzle(client, { schema }) as unknown as Database;
  try {
    if (migrate) {
      const { migrate: run } = await import('drizzle-orm/pglite/migrator');
      await run(db as never, { migrationsFolder });
    }
  } catch (err) {
    await client.close();
    throw new DatabaseError(`cannot open PGlite database in ${dir}: ${(err as Error).message}`);
  }
  return { db, kind: 'pglite', location: dir, close: () => client.close() };
}
