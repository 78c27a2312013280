/**
 * `multigym logs [RUN]`: rewards per step and environment in one compact table (and per checker with
 * --checkers), or the sampled completions of one step with --samples STEP. Without RUN, lists the runs.
 * Tables are plain text without colour codes or lines between rows, so piped output stays readable.
 */
import type { Database } from '../../db/client.js';
import { checkerMeans, eventsOf, listRuns, rewardsByStep, samplesOf, stepMetricsOf } from '../../db/logs.js';
import { plainTable } from '../table.js';

export interface LogsOptions {
  checkers?: boolean;
  samples?: number;
  /** Rollouts shown by --samples at most (default 20). */
  limit?: number;
  env?: string;
  json?: boolean;
}

/** What each column of `multigym logs RUN` means (printed by `multigym logs --help`). */
export const LOGS_COLUMNS = `
Columns of \`multigym logs RUN\` (one row per step and environment; training rollouts only):
  step         training step (1 = the first update)
  env          environment
  rollouts     rollouts sampled in the step (group size × tasks)
  reward       mean total reward of the scored (ok) rollouts (weighted sum of the reward checkers);
               "-" when none was scored
  pass         share of scored rollouts with total reward ≥ 1
  tokens       mean completion length, tokens
  checker err  rollouts whose reward checker failed (threw, timed out, rejected its config): no
               reward, left out of the batch (\`--samples STEP\` shows which checker and why)
  infra err    rollouts lost to infrastructure failures (a sandbox that could not start, resources),
               in sampling, or in scoring after its retries: no reward, left out of the batch
  rejected     rollouts the environment refused (e.g. a context over the model's window)
  loss         the step's GRPO loss (clipped surrogate + KL term), once per step: every
               environment of a step is trained in the same update
  kl           mean KL divergence to the reference policy (k3 estimator), once per step
--checkers adds a table of each reward component: mean value (before weights) over the calls that
answered, their count n (n/a: of which "not applicable"), and the calls that failed.
--samples STEP prints the completions of that step (at most --limit, default 20).`;

const table = plainTable;

const f = (x: number | null, d = 3) => (x !== null && Number.isFinite(x) ? x.toFixed(d) : '-');

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
    const limit = opts.limit ?? 20;
    const { rows, total } = await samplesOf(db, runId, opts.samples, opts.env, limit);
    if (opts.json) return void console.log(JSON.stringify(rows, null, 2));
    for (const r of rows) {
      console.log(
        `── ${r.env} ${r.taskId} #${r.sample}  reward ${f(r.reward)}  advantage ${f(r.advantage)}  ${r.status}`,
      );
      if (r.error) console.log(`   ${r.status}: ${r.error}`);
      console.log(r.completion.length > 600 ? `${r.completion.slice(0, 600)}…` : r.completion);
    }
    if (total === 0) console.log(`no training rollouts at step ${opts.samples} of run "${runId}"`);
    else if (total > rows.length)
      console.log(
        `── showed ${rows.length} of ${total} rollouts of step ${opts.samples}` +
          `${opts.env ? ` (${opts.env})` : ''}: --limit ${total} shows all, --env NAME one environment`,
      );
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
  // Rollouts without a reward are counted by why: a failed checker never shows as a mean of 0.
  const t = table([
    'step',
    'env',
    'rollouts',
    'reward',
    'pass',
    'tokens',
    'checker err',
    'infra err',
    'rejected',
    'loss',
    'kl',
  ]);
  let previousStep: number | undefined;
  for (const r of byStep) {
    // step, loss and KL belong to the step: printed on its first row only
    const first = r.step !== previousStep;
    previousStep = r.step;
    const m = first ? loss.get(r.step) : undefined;
    t.push([
      first ? r.step : '',
      r.env,
      r.rollouts,
      r.scored > 0 ? f(r.meanReward) : '-',
      r.scored > 0 ? `${(r.passRate * 100).toFixed(0)}%` : '-',
      f(r.meanCompletionTokens, 1),
      r.checkerErrors,
      r.infraErrors,
      r.rejected,
      m ? f(m.loss, 4) : first ? '-' : '',
      m ? f(m.kl, 4) : first ? '-' : '',
    ]);
  }
  console.log(t.toString());
  if (opts.checkers) {
    const c = table(['step', 'env', 'checker', 'mean', 'n', 'n/a', 'checker err', 'infra err']);
    for (const r of await checkerMeans(db, runId)) {
      if (!opts.env || r.env === opts.env) {
        c.push([r.step, r.env, r.checker, f(r.mean), r.n, r.notApplicable, r.checkerErrors, r.infraErrors]);
      }
    }
    console.log(c.toString());
  }
}
