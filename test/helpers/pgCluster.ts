/**
 * A throwaway PostgreSQL 15 cluster a test may stop and start (the shared server on 5432 must never be
 * restarted). `initdb` in a temp dir, `pg_ctl start` on a free port with the socket in that dir;
 * `destroy()` stops it and removes the dir. PostgreSQL refuses to run as root: under root every
 * command runs as the `postgres` user (`runuser`) in a dir it owns.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Folder of the PostgreSQL 15 binaries (`PG_BIN` overrides). */
export const pgBin = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** True when initdb and pg_ctl are installed (tests needing a cluster are skipped otherwise, loudly). */
export const hasPgBinaries = existsSync(join(pgBin, 'initdb')) && existsSync(join(pgBin, 'pg_ctl'));

/** A running throwaway cluster. */
export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`. */
  url: string;
  port: number;
  dir: string;
  /** Stops the server (`fast` disconnects clients and rolls back open transactions). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops it (immediate) and deletes its files; never throws. */
  destroy(): Promise<void>;
}

/** A TCP port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePort(port));
    });
  });
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary as a user PostgreSQL accepts. */
function pg(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const file = join(pgBin, bin);
  return asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
}

/** Creates and starts a cluster (trust auth, fsync off: test data only). */
export async function startPgCluster(): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'multigym-pg-'));
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    chownSync(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const data = join(dir, 'data');
  const port = await freePort();
  await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8']);
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
  const start = async () => {
    await pg('pg_ctl', ['-D', data, '-o', opts, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  };
  const stop = async (mode: 'fast' | 'immediate' = 'fast') => {
    await pg('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
  };
  await start();
  // Last resort if the test process exits without destroy(): the server is not its child and would stay.
  const reap = () => {
    try {
      const args = ['-D', data, '-m', 'immediate', 'stop'];
      const file = join(pgBin, 'pg_ctl');
      if (asRoot) execFileSync('runuser', ['-u', 'postgres', '--', file, ...args], { stdio: 'ignore' });
      else execFileSync(file, args, { stdio: 'ignore' });
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', reap);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    stop,
    start,
    async destroy() {
      process.off('exit', reap);
      try {
        await stop('immediate');
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
