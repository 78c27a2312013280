/**
 * Starts the read API and dashboard on an HTTP port (127.0.0.1 by default) and advertises it in
 * `<MULTIGYM_HOME>/server.json` for `multigym logs` in other processes.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Database } from '../db/client.js';
import { databaseSource } from '../db/logs/source.js';
import { createLogApp } from './app.js';
import { advertise } from './discovery.js';

/** Default port of the dashboard (`--dashboard-port` / `--port` change it; 0 lets the OS pick). */
export const DEFAULT_DASHBOARD_PORT = 8280;

export interface LogServerOptions {
  db: Database;
  /** Database kind and location, shown by /api/health. */
  database: string;
  /** Interface to bind; default 127.0.0.1. Anything else serves the logs to the network. */
  host?: string;
  /** Port; default 8280, 0 for any free one. */
  port?: number;
  /** Write `<home>/server.json` (default true). */
  advertise?: boolean;
  /** State directory of the discovery file (default `MULTIGYM_HOME` or `./.multigym`). */
  home?: string;
  temporalUiUrl?: string;
  /** When the port is taken, listen on a free one instead of failing (default false). */
  fallbackToFreePort?: boolean;
}

/** A listening log server. */
export interface LogServer {
  url: string;
  stop(): Promise<void>;
}

/** Thrown when the port cannot be bound; the message names the port and the flag to change it. */
export class LogServerError extends Error {
  readonly type = 'LogServerError';
}

/** Starts the server; resolves once it listens. */
export async function startLogServer(opts: LogServerOptions): Promise<LogServer> {
  const host = opts.host ?? '127.0.0.1';
  const app = createLogApp(databaseSource(opts.db, opts.database), {
    database: opts.database,
    temporalUiUrl: opts.temporalUiUrl,
    // Bound to all interfaces, any Host is expected; on loopback only loopback names are.
    allowedHosts: host === '127.0.0.1' || host === 'localhost' || host === '::1' ? undefined : [],
  });
  const wanted = opts.port ?? DEFAULT_DASHBOARD_PORT;
  const listen = (port: number) => {
    const server = serve({ fetch: app.fetch, hostname: host, port });
    return new Promise<{ server: typeof server; port: number }>((resolveListen, reject) => {
      server.once('listening', () => resolveListen({ server, port: (server.address() as AddressInfo).port }));
      server.once('error', reject);
    });
  };
  let listening: Awaited<ReturnType<typeof listen>>;
  try {
    listening = await listen(wanted);
  } catch (err) {
    const taken = (err as NodeJS.ErrnoException).code === 'EADDRINUSE';
    if (!(taken && opts.fallbackToFreePort))
      throw new LogServerError(
        taken
          ? `port ${wanted} is taken: is another multigym dashboard running? Pass --port / --dashboard-port (0 for any free port)`
          : `cannot serve the dashboard on ${host}:${wanted}: ${(err as Error).message}`,
      );
    listening = await listen(0);
  }
  const { server, port } = listening;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const unadvertise =
    opts.advertise === false
      ? () => {}
      : advertise(
          { url, pid: process.pid, database: opts.database, startedAt: new Date().toISOString() },
          opts.home,
        );
  return {
    url,
    async stop() {
      unadvertise();
      await new Promise<void>((r) => {
        server.close(() => r());
        // Polling dashboards keep connections alive; close them so stop() does not wait for them.
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
