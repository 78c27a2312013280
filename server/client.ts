/**
 * The reward-log source spoken over HTTP to the read API (`server/app.ts`): what `multigym logs` uses
 * when another process holds the embedded database. Same calls, same JSON, same errors as reading
 * the database directly.
 */
import { LogQueryError } from '../db/logs/filter.js';
import type { LogParams, RewardLogSource } from '../db/logs/source.js';

/** Thrown when the API does not answer or answers something unexpected. */
export class LogApiError extends Error {
  readonly type = 'LogApiError';
}

/** A source reading `baseUrl`'s API (e.g. `http://127.0.0.1:8280`). */
export function httpSource(baseUrl: string, timeoutMs = 60_000): RewardLogSource {
  const base = baseUrl.replace(/\/+$/, '');
  async function get<T>(path: string, params: LogParams = {}): Promise<T> {
    const query = new URLSearchParams(
      Object.entries(params).filter((e): e is [string, string] => e[1] !== undefined),
    ).toString();
    const url = `${base}${path}${query ? `?${query}` : ''}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new LogApiError(
        `the reward-log API at ${base} does not answer: ${(err as Error).cause ?? (err as Error).message}`,
      );
    }
    const body = (await res.json().catch(() => undefined)) as
      | (T & { error?: string; field?: string; available?: unknown })
      | undefined;
    if (res.ok && body !== undefined) return body;
    if ((res.status === 400 || res.status === 404) && body?.field) {
      throw new LogQueryError(
        body.error ?? res.statusText,
        body.field,
        res.status === 404 ? 'not_found' : 'bad_request',
        body.available ?? undefined,
      );
    }
    throw new LogApiError(`${url}: HTTP ${res.status} ${body?.error ?? res.statusText}`);
  }
  const run = (id: string) => `/api/runs/${encodeURIComponent(id)}`;
  return {
    where: `the reward-log API at ${base}`,
    runs: (p) => get('/api/runs', p),
    run: (id) => get(run(id)),
    steps: (id, p) => get(`${run(id)}/steps`, p),
    envs: (id, p) => get(`${run(id)}/envs`, p),
    checkers: (id, p) => get(`${run(id)}/checkers`, p),
    train: (id, p) => get(`${run(id)}/train`, p),
    rollouts: (id, p) => get(`${run(id)}/rollouts`, p),
    rollout: (id, rid) => get(`${run(id)}/rollouts/${rid}`),
    events: (id, p) => get(`${run(id)}/events`, p),
  };
}
