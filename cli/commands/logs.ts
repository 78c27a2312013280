/**
 * `multigym logs [RUN]`: rewards per step and environment in one compact table (and per checker with
 * --checkers), or the rollouts themselves with --samples (task, completion, each checker's value and
 * reason). Without RUN, lists the runs. Every filter (--env, --checker, --step, --min-reward,
 * --max-reward, --status, --grep, --phase) narrows the rollouts, in the tables, --json and --csv alike;
 * --follow keeps printing while the run goes. Reads the database, or the read API of the process that
 * holds the embedded one (`cli/logSource.ts`). Tables are plain text without colour codes.
 */
import type { CheckerStats, RolloutStats, TrainStats } from '../../db/logs/aggregates.js';
import type { RolloutView } from '../../db/logs/rollouts.js';
import type { LogParams, RewardLogSource } from '../../db/logs/source.js';
import { plainTable } from '../table.js';
import { csvLine } from './csv.js';

export interface LogsOptions {
  checkers?: boolean;
  /** Print rollouts: `true` for every step the filters keep, or a step / range (`3`, `2..5`). */
  samples?: number | string | boolean;
  /** Rollouts shown by --samples at most (default 20). */
  limit?: number;
  env?: string;
  checker?: string;
  step?: string;
  minReward?: string;
  maxReward?: string;
  status?: string;
  grep?: string;
  phase?: string;
  json?: boolean;
  csv?: boolean;
  follow?: boolean;
  /** Poll interval of --follow, ms (default 2000). */
  followMs?: number;
}

/** What each column of `multigym logs RUN` means (printed by `multigym logs --help`). */
export const LOGS_COLUMNS = `
Columns of \`multigym logs RUN\` (one row per step and environment; training rollouts unless --phase):
  step         training step, 1-based (rollouts of step N are sampled with policy version N − 1 and
               trained on in update N; a running step shows before its loss and kl)
  env          environment
  rollouts     rollouts sampled in the step (group size × tasks)
  reward       mean total reward of the scored (ok) rollouts (weighted sum of the reward checkers);
               "-" when none was scored
  pass         share of scored rollouts with total reward ≥ 1
  tokens       mean completion length, tokens
  checker err  rollouts whose reward checker failed (threw, timed out, rejected its config): no
               reward, left out of the batch (\`--samples --status checker_error\` shows which and why)
  infra err    rollouts lost to infrastructure failures (a sandbox that could not start, resources),
               in sampling, or in scoring after its retries: no reward, left out of the batch
  rejected     rollouts the environment refused (e.g. a context over the model's window)
  loss         the step's GRPO loss (clipped surrogate + KL term), once per step: every
               environment of a step is trained in the same update
  kl           mean KL divergence to the reference policy (k3 estimator), once per step
--checkers adds a table of each reward component: mean value (before weights) over the calls that
answered, their count n (n/a: of which "not applicable"), and the calls that failed.
--samples [STEP] prints rollouts with their task and every checker's value and reason (at most
--limit, default 20). --json and --csv print every field (pass@k, zero-variance groups, truncation
rate, …; docs/reward-logs.md) and honour every filter. An unknown run, environment, checker or step
is an error (exit 1) that lists what exists.`;

const f = (x: number | null | undefined, d = 3) =>
  x !== null && x !== undefined && Number.isFinite(x) ? x.toFixed(d) : '-';
const pct = (x: number | null) => (x === null ? '-' : `${(x * 100).toFixed(0)}%`);
const out = (line: string) => console.log(line);

/** The API parameters of the filter flags. */
export function filterParams(o: LogsOptions): LogParams {
  return {
    phase: o.phase,
    env: o.env,
    checker: o.checker,
    step: typeof o.samples === 'string' || typeof o.samples === 'number' ? String(o.samples) : o.step,
    min_reward: o.minReward,
    max_reward: o.maxReward,
    status: o.status,
    grep: o.grep,
  };
}

/** Prints a run's reward log (or the run list) to stdout. Throws `LogQueryError` for unknown names. */
export async function printLogs(
  source: RewardLogSource,
  runId: string | undefined,
  o: LogsOptions,
): Promise<void> {
  if (!runId) return printRuns(source, o);
  if (o.samples !== undefined && o.samples !== false) return printSamples(source, runId, o);
  const params = filterParams(o);
  const run = await source.run(runId);
  const steps = await source.steps(runId, params);
  const train = await source.train(runId, { step: params.step });
  const checkers = o.checkers ? await source.checkers(runId, params) : undefined;
  if (o.json) {
    const evals = await source.events(runId, { kind: 'eval' });
    return out(JSON.stringify({ run, steps, metrics: train, checkers, evals }, null, 2));
  }
  if (o.csv) return out(o.checkers ? checkerCsv(checkers!, true) : stepCsv(steps, train, true));
  if (steps.length === 0) {
    const filtered = Object.entries(params).some(([k, v]) => v !== undefined && k !== 'phase');
    return out(
      filtered
        ? `no rollouts of run "${runId}" match these filters`
        : `no ${params.phase ?? 'train'} rollouts logged for run "${runId}" yet (status ${run.status})`,
    );
  }
  out(stepTable(steps, train));
  if (checkers) out(checkerTable(checkers));
}

async function printRuns(source: RewardLogSource, o: LogsOptions): Promise<void> {
  const runs = await source.runs();
  if (o.json) return out(JSON.stringify(runs, null, 2));
  if (o.csv) {
    out(csvLine(['id', 'name', 'status', 'created_at', 'finished_steps', 'steps', 'envs']));
    for (const r of runs)
      out(csvLine([r.id, r.name, r.status, r.createdAt, r.finishedSteps, r.steps, r.envs.join(' ')]));
    return;
  }
  const t = plainTable(['run', 'name', 'status', 'steps', 'environments (latest reward)', 'created']);
  for (const r of runs) {
    const envs = r.envs.map((e) => `${e} ${f(r.latest[e]?.meanReward)}`).join(', ');
    t.push([r.id, r.name, r.status, `${r.finishedSteps}${r.steps ? `/${r.steps}` : ''}`, envs, r.createdAt]);
  }
  out(t.toString());
}

/** The compact step table: step, loss and KL on each step's first row only. */
export function stepTable(steps: RolloutStats[], train: TrainStats[]): string {
  const byStep = new Map(train.map((m) => [m.step, m.train as { loss?: number; kl?: number }]));
  // Rollouts without a reward are counted by why: a failed checker never shows as a mean of 0.
  const t = plainTable([
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
  let previous: number | undefined;
  for (const r of steps) {
    const first = r.step !== previous;
    previous = r.step;
    const m = first ? byStep.get(r.step!) : undefined;
    t.push([
      first ? (r.step ?? '') : '',
      r.env,
      r.rollouts,
      f(r.meanReward),
      pct(r.passRate),
      f(r.meanCompletionTokens, 1),
      r.checkerErrors,
      r.infraErrors,
      r.rejected,
      m ? f(m.loss, 4) : first ? '-' : '',
      m ? f(m.kl, 4) : first ? '-' : '',
    ]);
  }
  return t.toString();
}

function checkerTable(rows: CheckerStats[]): string {
  const c = plainTable(['step', 'env', 'checker', 'mean', 'n', 'n/a', 'checker err', 'infra err']);
  for (const r of rows)
    c.push([r.step, r.env, r.checker, f(r.mean), r.n, r.notApplicable, r.checkerErrors, r.infraErrors]);
  return c.toString();
}

const TRAIN_COLUMNS = ['loss', 'kl', 'entropy', 'clip_frac_low', 'clip_frac_high', 'grad_norm'] as const;
const STEP_COLUMNS = [
  'step',
  'env',
  'rollouts',
  'scored',
  'meanReward',
  'stdReward',
  'passRate',
  'passAtK',
  'groups',
  'zeroVarianceGroups',
  'smallGroups',
  'meanCompletionTokens',
  'maxCompletionTokens',
  'meanThinkingTokens',
  'truncationRate',
  'checkerErrors',
  'infraErrors',
  'rejected',
] as const;

/** Step rows as CSV (every aggregate, and the step's train metrics). */
export function stepCsv(steps: RolloutStats[], train: TrainStats[], header: boolean): string {
  const byStep = new Map(train.map((m) => [m.step, m.train]));
  const lines = header ? [csvLine([...STEP_COLUMNS, ...TRAIN_COLUMNS])] : [];
  for (const r of steps) {
    const m = byStep.get(r.step!) ?? {};
    lines.push(
      csvLine([...STEP_COLUMNS.map((c) => r[c]), ...TRAIN_COLUMNS.map((c) => m[c] as number | undefined)]),
    );
  }
  return lines.join('\n');
}

const CHECKER_COLUMNS = [
  'step',
  'env',
  'checker',
  'mean',
  'passRate',
  'n',
  'notApplicable',
  'checkerErrors',
  'infraErrors',
] as const;

/** Checker rows as CSV. */
export function checkerCsv(rows: CheckerStats[], header: boolean): string {
  const lines = header ? [csvLine([...CHECKER_COLUMNS])] : [];
  for (const r of rows) lines.push(csvLine(CHECKER_COLUMNS.map((c) => r[c])));
  return lines.join('\n');
}

async function printSamples(source: RewardLogSource, runId: string, o: LogsOptions): Promise<void> {
  const limit = o.limit ?? 20;
  const page = await source.rollouts(runId, { ...filterParams(o), limit: String(limit) });
  if (o.json) return out(JSON.stringify(page.rows, null, 2));
  if (o.csv) return out(sampleCsv(page.rows, true));
  for (const r of page.rows) out(sampleText(r));
  const where = typeof o.samples === 'boolean' ? '' : ` of step ${o.samples}`;
  if (page.total === 0) out(`no rollouts${where} of run "${runId}" match these filters`);
  else if (page.total > page.rows.length)
    out(
      `── showed ${page.rows.length} of ${page.total} rollouts${where}` +
        `${o.env ? ` (${o.env})` : ''}: --limit ${page.total} shows all, --env NAME one environment`,
    );
}

/** One rollout as text: header, error, task, each checker's value and reason, completion. */
export function sampleText(r: RolloutView): string {
  const lines = [
    `── step ${r.step} ${r.env} ${r.taskId} #${r.sample}  reward ${f(r.reward)}  advantage ${f(r.advantage)}  ${r.status}  (${r.completionTokens} tokens, ${r.finishReason})`,
  ];
  if (r.error) lines.push(`   ${r.status}: ${r.error}`);
  const task = JSON.stringify(r.task);
  lines.push(`   task: ${task.length > 300 ? `${task.slice(0, 300)}…` : task}`);
  for (const c of r.rewards)
    lines.push(`   ${c.checker} ×${c.weight}: ${c.value === null ? c.status : f(c.value)}  ${c.reason}`);
  lines.push(r.completion.length > 600 ? `${r.completion.slice(0, 600)}…` : r.completion);
  return lines.join('\n');
}

/** Rollouts as CSV: one row each, every checker's value and reason as columns of their own. */
export function sampleCsv(rows: RolloutView[], header: boolean, checkers?: string[]): string {
  const names = checkers ?? [...new Set(rows.flatMap((r) => r.rewards.map((c) => c.checker)))].sort();
  const base = [
    'id',
    'step',
    'env',
    'task_id',
    'sample',
    'status',
    'reward',
    'advantage',
    'finish_reason',
    'completion_tokens',
    'policy_version',
    'error',
    'completion',
  ];
  const lines = header ? [csvLine([...base, ...names.flatMap((n) => [n, `${n}.reason`])])] : [];
  for (const r of rows) {
    const by = new Map(r.rewards.map((c) => [c.checker, c]));
    lines.push(
      csvLine([
        r.id,
        r.step,
        r.env,
        r.taskId,
        r.sample,
        r.status,
        r.reward,
        r.advantage,
        r.finishReason,
        r.completionTokens,
        r.policyVersion,
        r.error,
        r.completion,
        ...names.flatMap((n) => {
          const c = by.get(n);
          return c ? [c.value ?? c.status, c.reason] : [null, null];
        }),
      ]),
    );
  }
  return lines.join('\n');
}
