/**
 * Progress of a running `rlRun`, for `multigym run` and the quickstart: on a terminal a step bar
 * (policy version, rollouts, rollouts/s) and one bar per environment (pass rate, mean reward of the
 * last step); elsewhere (a log file, CI) plain lines without escape codes, one per step. Both show
 * what the run is waiting for when an activity is being retried (the policy worker unreachable, say),
 * read from Temporal's description of the workflow (pending activities' attempt and last failure).
 * A failed run throws `RunFailedError` with the failure's cause chain and the run's web UI link.
 */
import type { WorkflowHandle } from '@temporalio/client';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { POLICY_UNREACHABLE } from '../activities/deps.js';
import type { EnvStepStats } from '../workflows/contracts.js';
import { type Progress, progressQuery } from '../workflows/messages.js';
import type { RlRunResult } from '../workflows/rlRun.js';
import { formatFailure } from './failure.js';

/**
 * One environment's step reward for progress lines: the mean over ok rollouts ("-" when none), then
 * the rollouts left out by checker or infrastructure errors, so a failing checker never reads as 0.
 */
export function envRewardText(s: EnvStepStats, digits = 3): string {
  const mean = s.rollouts > 0 ? s.meanReward.toFixed(digits) : '-';
  const errors = [
    s.checkerErrors ? `${s.checkerErrors} checker error${s.checkerErrors === 1 ? '' : 's'}` : '',
    s.infraErrors ? `${s.infraErrors} infra error${s.infraErrors === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  return errors.length ? `${mean} (${errors.join(', ')})` : mean;
}

/** A run that ended in failure; `message` is the formatted cause chain with the UI link. */
export class RunFailedError extends Error {
  readonly type = 'RunFailedError';
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
  }
}

/**
 * What a run waits for: one line per pending activity that has failed at least once and is being
 * retried, e.g. `waiting for the policy worker at http://127.0.0.1:8765: ECONNREFUSED (attempt 4)`.
 */
export async function retryingActivities(handle: WorkflowHandle): Promise<string[]> {
  const description = await handle.describe();
  const lines: string[] = [];
  for (const a of description.raw.pendingActivities ?? []) {
    const failure = a.lastFailure;
    if (!failure?.message || (a.attempt ?? 1) < 2) continue;
    const type = failure.applicationFailureInfo?.type;
    const what =
      type === POLICY_UNREACHABLE
        ? failure.message
        : `activity ${a.activityType?.name ?? '?'} is being retried: ${failure.message}`;
    lines.push(`${what} (attempt ${a.attempt})`);
  }
  return lines;
}

/** Options of `watchRun`. */
export interface WatchOptions {
  steps: number;
  envs: readonly string[];
  /** Terminal output (bars); default: whether stdout is a TTY. */
  tty?: boolean;
  intervalMs?: number;
  log?: (line: string) => void;
  /** The run's link in the Temporal web UI, printed with a failure. */
  uiLink?: string;
}

/**
 * Polls the workflow's `progress` query (and its description, for retried activities) until it
 * ends; returns its result. Throws `RunFailedError` when the run failed, was terminated or timed out.
 */
export async function watchRun(handle: WorkflowHandle, opts: WatchOptions): Promise<RlRunResult> {
  const log = opts.log ?? console.log;
  const tty = opts.tty ?? Boolean(process.stdout.isTTY);
  const multi = tty
    ? new MultiBar(
        { hideCursor: true, clearOnComplete: false, format: '{label} |{bar}| {text}' },
        Presets.shades_classic,
      )
    : undefined;
  const stepBar = multi?.create(opts.steps, 0, { label: 'steps'.padEnd(13), text: 'starting…' });
  const envBars = new Map<string, SingleBar | undefined>(
    opts.envs.map((e) => [e, multi?.create(100, 0, { label: e.padEnd(13), text: 'reward —' })]),
  );
  let lastLogged = -1;
  let waiting: string[] = [];
  let lastWaiting = '';
  const stepText = (p: Progress) =>
    `step ${p.step}/${p.steps} · policy v${p.policyVersion} · ${p.rollouts} rollouts · ${p.rolloutsPerSecond.toFixed(1)}/s`;
  const show = (p: Progress) => {
    const note = waiting.length ? ` · ${waiting.join('; ')}` : '';
    stepBar?.update(p.step, { text: `${stepText(p)}${note}` });
    for (const [env, bar] of envBars) {
      const s = p.envs[env];
      if (s)
        bar?.update(Math.round(s.passRate * 100), {
          text: `reward ${envRewardText(s)} · pass ${(s.passRate * 100).toFixed(0)}%`,
        });
    }
    if (!tty && p.step > lastLogged && p.step > 0) {
      lastLogged = p.step;
      const envs = Object.entries(p.envs)
        .map(([e, s]) => `${e} ${envRewardText(s)} (pass ${(s.passRate * 100).toFixed(0)}%)`)
        .join(' · ');
      log(`${stepText(p)} · reward ${envs}`);
    }
  };
  let ticks = 0;
  const tick = async () => {
    // The description costs more than the query: every third tick.
    if (ticks++ % 3 === 0) {
      try {
        waiting = await retryingActivities(handle);
      } catch {
        waiting = [];
      }
      const joined = waiting.join('; ');
      if (!tty && joined && joined !== lastWaiting) log(joined);
      lastWaiting = joined;
    }
    try {
      show(await handle.query(progressQuery));
    } catch {
      // between executions (continue-as-new) or finished: the next tick retries
    }
  };
  const timer = setInterval(() => void tick(), opts.intervalMs ?? 1000);
  try {
    const result = (await handle.result()) as RlRunResult;
    try {
      waiting = [];
      show(await handle.query(progressQuery));
    } catch {}
    return result;
  } catch (err) {
    throw new RunFailedError(
      formatFailure(err, { headline: `run ${handle.workflowId} failed`, uiLink: opts.uiLink }),
      err,
    );
  } finally {
    clearInterval(timer);
    multi?.stop();
  }
}
