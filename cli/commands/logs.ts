/**
 * `multigym logs [RUN]`: rewards per step and environment (and per checker with --checkers), or the
 * sampled completions of one step with --samples STEP. Without RUN, lists the runs.
 */
import Table from 'cli-table3';
import type { Database } from '../../db/client.js';
import { checkerMeans, eventsOf, listRuns, rewardsByStep, samplesOf, stepMetricsOf } from '../../db/logs.js';

export interface LogsOptions {
  checkers?: boolean;
  samples?: number;
  env?: string;
  json?: boolean;
}

/** Plain tables (no colour codes), so piped output stays readable. */
const table = (head: string[]) => new Table({ head, style: { head: [], border: [] } });

const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : '-');

/** Prints a run's reward log (or the run list) to stdout. */
export async function printLogs(db: Database, runId: string | undefined, opts: LogsOptions): Promise<void> {
  if (!runId) {
    const rows = await listRuns(db);
    if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
    const t = table(['run', 'name', 'status', 'created']);
    for (const r of rows) t.push([r.id, r.name, r.status, r.createdAt.toISOString()]);
    console.log(t.toString());
    return;
  }
  if (opts.samples !== undefined) {
    const rows = await samplesOf(db, runId, opts.samples, opts.env);
    if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
    for (const r of rows) {
      console.log(
        `── ${r.env} ${r.taskId} #${r.sample}  reward ${f(r.reward)}  advantage ${f(r.advantage ?? Number.NaN)}  ${r.status}`,
      );
      console.log(r.completion.length > 600 ? `${r.completion.slice(0, 600)}…` : r.completion);
    }
    return;
  }
  const byStep = (await rewardsByStep(db, runId)).filter((r) => !opts.env || r.env === opts.env);
  const metrics = await stepMetricsOf(db, runId);
  if (opts.json) {
    const checkers = opts.checkers ? await checkerMeans(db, runId) : undefined;
    const evals = await eventsOf(db, runId, 'eval');
    return void console.log(JSON.stringify({ steps: byStep, metrics, checkers, evals }, null, 2));
  }
  if (byStep.length === 0) {
    console.log(`no rollouts logged for run "${runId}" (see \`multigym logs\` for the list of runs)`);
    return;
  }
  const loss = new Map(metrics.map((m) => [m.step, m.train as { loss: number; kl: number }]));
  const t = table(['step', 'env', 'rollouts', 'mean reward', 'pass rate', 'tokens', 'skipped', 'loss', 'kl']);
  for (const r of byStep) {
    const m = loss.get(r.step);
    t.push([
      r.step,
      r.env,
      r.rollouts,
      f(r.meanReward),
      f(r.passRate),
      f(r.meanCompletionTokens, 1),
      r.skipped,
      m ? f(m.loss, 4) : '-',
      m ? f(m.kl, 4) : '-',
    ]);
  }
  console.log(t.toString());
  if (opts.checkers) {
    const c = table(['step', 'env', 'checker', 'mean', 'n']);
    for (const r of await checkerMeans(db, runId)) {
      if (!opts.env || r.env === opts.env) c.push([r.step, r.env, r.checker, f(r.mean), r.n]);
    }
    console.log(c.toString());
  }
}
