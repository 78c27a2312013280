/**
 * The reward-log read API and the dashboard, as one Hono app. Hono because it has no dependencies,
 * speaks the Web-standard Request/Response (so tests call `app.request()` without a socket) and runs
 * on Node 20 through `@hono/node-server`; every route is a GET answering JSON, its query parameters
 * validated by the zod schemas of `db/logs/source.ts` (a bad one is a 400 naming the field).
 *
 * Routes (`:run` is the run id, URL-encoded):
 *   GET /api/health                    → { ok, database, pid }
 *   GET /api/runs?limit=               → RunSummary[]
 *   GET /api/runs/:run                 → RunDetail
 *   GET /api/runs/:run/steps?…&k=      → RolloutStats[] per step and environment
 *   GET /api/runs/:run/envs?…&k=       → RolloutStats[] per environment over the filter's steps
 *   GET /api/runs/:run/checkers?…      → CheckerStats[] per step, environment and reward component
 *   GET /api/runs/:run/train?step=     → TrainStats[] (loss, KL, clip fractions, entropy, …)
 *   GET /api/runs/:run/rollouts?…&limit=&offset=&order= → RolloutPage (tasks, turns, every component)
 *   GET /api/runs/:run/rollouts/:id    → RolloutView
 *   GET /api/runs/:run/events?kind=    → EventView[]
 *   GET /, /runs/:run                  → the dashboard (static files, no CDN)
 * Filters (`…`): phase, env, checker, step, policy_version, min_reward, max_reward, status, grep
 * (`db/logs/filter.ts`).
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serveStatic } from '@hono/node-server/serve-static';
import { type Context, Hono } from 'hono';
import { LogQueryError } from '../db/logs/filter.js';
import type { LogParams, RewardLogSource } from '../db/logs/source.js';
import { vendorFile } from './vendor.js';

const dashboardDir = resolve(dirname(fileURLToPath(import.meta.url)), 'dashboard');

export interface AppOptions {
  /** Database kind and location, for /api/health. */
  database: string;
  /**
   * Host names (without port) accepted in the Host header; default loopback names only, so a web page
   * elsewhere cannot read the logs through DNS rebinding. Empty accepts any.
   */
  allowedHosts?: string[];
  /** Base URL of the Temporal web UI, shown on a run's page. */
  temporalUiUrl?: string;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '[::1]'];

/** Builds the app over a reward-log source (normally `databaseSource(db)`). */
export function createLogApp(source: RewardLogSource, opts: AppOptions): Hono {
  const app = new Hono();
  const allowed = opts.allowedHosts ?? LOOPBACK;

  app.use('*', async (c, next) => {
    // node-server builds the URL from the Host header.
    const host = new URL(c.req.url).hostname;
    if (allowed.length > 0 && !allowed.includes(host)) {
      return c.json({ error: `host "${host}" is not served; open the dashboard at 127.0.0.1` }, 403);
    }
    await next();
  });

  app.onError((err, c) => {
    if (err instanceof LogQueryError) {
      return c.json(
        { error: err.message, field: err.field, available: err.available ?? null },
        err.kind === 'not_found' ? 404 : 400,
      );
    }
    return c.json({ error: (err as Error).message }, 500);
  });

  const params = (c: Context): LogParams => c.req.query();
  const run = (c: Context) => c.req.param('run') as string;
  const json = (c: Context, body: unknown) => {
    c.header('cache-control', 'no-store');
    return c.json(body);
  };

  app.get('/api/health', (c) => json(c, { ok: true, database: opts.database, pid: process.pid }));
  app.get('/api/config', (c) => json(c, { temporalUiUrl: opts.temporalUiUrl ?? null }));
  app.get('/api/runs', async (c) => json(c, await source.runs(params(c))));
  app.get('/api/runs/:run', async (c) => json(c, await source.run(run(c))));
  app.get('/api/runs/:run/steps', async (c) => json(c, await source.steps(run(c), params(c))));
  app.get('/api/runs/:run/envs', async (c) => json(c, await source.envs(run(c), params(c))));
  app.get('/api/runs/:run/checkers', async (c) => json(c, await source.checkers(run(c), params(c))));
  app.get('/api/runs/:run/train', async (c) => json(c, await source.train(run(c), params(c))));
  app.get('/api/runs/:run/rollouts', async (c) => json(c, await source.rollouts(run(c), params(c))));
  app.get('/api/runs/:run/rollouts/:id', async (c) => {
    const id = Number(c.req.param('id'));
    if (!Number.isSafeInteger(id) || id < 1)
      throw new LogQueryError('id: expected a rollout id (a positive integer)', 'id');
    return json(c, await source.rollout(run(c), id));
  });
  app.get('/api/runs/:run/events', async (c) => json(c, await source.events(run(c), params(c))));
  app.all('/api/*', (c) => c.json({ error: `no route ${c.req.method} ${c.req.path}` }, 404));

  // The dashboard: one page that reads the API; vendored Vega builds from node_modules.
  const index = () => readFileSync(resolve(dashboardDir, 'index.html'), 'utf8');
  app.get('/', (c) => c.html(index()));
  app.get('/runs/:run', (c) => c.html(index()));
  app.get(
    '/assets/*',
    serveStatic({ root: dashboardDir, rewriteRequestPath: (p) => p.replace(/^\/assets/, '') }),
  );
  for (const file of ['vega.min.js', 'vega-lite.min.js', 'vega-embed.min.js'] as const) {
    app.get(`/vendor/${file}`, serveStatic({ path: vendorFile(file) }));
  }
  return app;
}
