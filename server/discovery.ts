/**
 * How a second process finds the read API: the process that owns the database (`multigym dev`,
 * `quickstart`, `serve`) writes `<MULTIGYM_HOME>/server.json` once it listens and removes it when it
 * stops; a reader trusts it only while that process is alive.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { homeDir } from '../cli/home.js';

/** What the owning process advertises. */
export interface ServerInfo {
  /** Base URL, e.g. `http://127.0.0.1:8280`. */
  url: string;
  pid: number;
  /** Database kind and location the server reads. */
  database: string;
  startedAt: string;
}

/** The discovery file of a state directory (default `MULTIGYM_HOME` or `./.multigym`). */
export const serverFile = (home = homeDir()): string => resolve(home, 'server.json');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Writes the discovery file; returns a function that removes it (only if it is still ours). */
export function advertise(info: ServerInfo, home = homeDir()): () => void {
  const file = serverFile(home);
  writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`);
  return () => {
    if (readServerInfo(home)?.pid === info.pid) rmSync(file, { force: true });
  };
}

/** The advertised server, or undefined when there is none or its process is gone. */
export function readServerInfo(home = homeDir()): ServerInfo | undefined {
  let info: ServerInfo;
  try {
    info = JSON.parse(readFileSync(serverFile(home), 'utf8')) as ServerInfo;
  } catch {
    return undefined;
  }
  if (typeof info?.url !== 'string' || typeof info.pid !== 'number' || !alive(info.pid)) return undefined;
  return info;
}

/**
 * The memo that links a run in the Temporal web UI to its dashboard page (`dashboard: URL`), when a
 * dashboard is advertised in this state directory; empty otherwise.
 */
export function dashboardMemo(runId: string, home = homeDir()): Record<string, string> {
  const info = readServerInfo(home);
  return info ? { dashboard: `${info.url}/runs/${encodeURIComponent(runId)}` } : {};
}
