/**
 * Runs a list of weighted reward checkers on one trajectory, each under a time budget, and returns
 * the weighted total with every component — or, when a checker failed, the failure as a status and
 * no total: a checker's failure is never a reward (DESIGN.md).
 *
 * Checkers run in the checker pool (`pool/pool.ts`), where a time-out stops them, unless they are
 * `runsIn: 'caller'` or were defined in code rather than loaded from a module (then in this thread,
 * where a time-out is reported but cannot stop synchronous work).
 */
import type { RewardChecker, RewardSpec, ScoredTask, ScoredTrajectory } from './api.js';
import {
  answerOf,
  type CheckerOutcome,
  CheckerStatus,
  failureOf,
  isFailure,
  timeoutFailure,
} from './outcome.js';
import { runInPool } from './pool/pool.js';
import { getReward, rewardSource } from './registry.js';

/** One scored component, as logged on its own reward row. */
export interface RewardComponent {
  /** The component's name: `spec.name`, else the checker name. Unique within an environment. */
  name: string;
  checker: string;
  weight: number;
  status: CheckerStatus;
  /** The checker's value; null when it failed. */
  value: number | null;
  details: Record<string, unknown>;
  /** What failed, for a failed component. */
  error?: string;
}

/** Status of a whole scoring: `ok`, or the worst failure among the components (infra first: it is retried). */
export type ScoreStatus = 'ok' | 'checker_error' | 'infra_error';

/** The total reward (Σ weight·value) and its components, in spec order. */
export interface ScoreOutcome {
  status: ScoreStatus;
  /** Σ weight·value over the components; null unless `status` is `ok`. */
  total: number | null;
  components: RewardComponent[];
  /** `name: message` of every failed component, joined by `; `. */
  error?: string;
}

/** Default per-call time budget of a checker, milliseconds. */
export const DEFAULT_CHECKER_TIMEOUT_MS = 1000;

/** A component's name (see `RewardSpec.name`). */
export const componentName = (spec: RewardSpec): string => spec.name ?? spec.checker;

/** Runs `score` in this thread: the budget is reported, but synchronous work cannot be stopped. */
async function runInCaller(
  checker: RewardChecker,
  trajectory: ScoredTrajectory,
  task: ScoredTask,
  rawConfig: unknown,
  timeoutMs: number,
): Promise<CheckerOutcome> {
  const config = checker.configSchema.safeParse(rawConfig ?? {});
  if (!config.success) {
    const message = config.error.issues
      .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
      .join('; ');
    return { status: CheckerStatus.checkerError, kind: 'invalid_config', message };
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckerOutcome>((resolve) => {
    timer = setTimeout(() => resolve(timeoutFailure(timeoutMs, false)), timeoutMs);
  });
  try {
    return await Promise.race([
      Promise.resolve()
        .then(() => checker.score(trajectory, task, config.data))
        .then(answerOf, failureOf),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs one checker with a time budget (ms, counted from the start of `score`). Never throws: an
 * exception, a time-out, a non-finite value or a rejected config comes back as a `CheckerFailure`
 * (`checker_error`, or `infra_error` for an error marked `retryable: true`).
 */
export async function runChecker(
  checker: RewardChecker,
  trajectory: ScoredTrajectory,
  task: ScoredTask,
  rawConfig: unknown,
  timeoutMs = DEFAULT_CHECKER_TIMEOUT_MS,
): Promise<CheckerOutcome> {
  const source = rewardSource(checker);
  if (source && (checker.runsIn ?? 'pool') === 'pool') {
    return runInPool({ checker: checker.name, source, config: rawConfig, trajectory, task }, timeoutMs);
  }
  return runInCaller(checker, trajectory, task, rawConfig, timeoutMs);
}

/** The status, total and error of a set of components (see `ScoreOutcome`). */
export function combineComponents(components: RewardComponent[]): ScoreOutcome {
  const failed = components.filter((c) => c.status === 'checker_error' || c.status === 'infra_error');
  if (failed.length === 0) {
    return {
      status: 'ok',
      total: components.reduce((sum, c) => sum + c.weight * (c.value ?? 0), 0),
      components,
    };
  }
  return {
    status: failed.some((c) => c.status === 'infra_error') ? 'infra_error' : 'checker_error',
    total: null,
    components,
    error: failed.map((c) => `${c.name}: ${c.error}`).join('; '),
  };
}

/** A reward component from a spec and its checker's outcome. */
export function componentOf(spec: RewardSpec, outcome: CheckerOutcome): RewardComponent {
  const base = { name: componentName(spec), checker: spec.checker, weight: spec.weight };
  if (isFailure(outcome)) {
    return {
      ...base,
      status: outcome.status,
      value: null,
      details: {
        error: outcome.message,
        kind: outcome.kind,
        ...(outcome.errorType ? { errorType: outcome.errorType } : {}),
      },
      error: [
        outcome.kind === 'exception' || outcome.kind === 'infra' ? outcome.errorType : outcome.kind,
        outcome.message,
      ]
        .filter(Boolean)
        .join(': '),
    };
  }
  return { ...base, status: outcome.status, value: outcome.value, details: outcome.details };
}

/** Scores a trajectory with every spec; checker names are looked up in the registry. */
export async function scoreTrajectory(
  specs: RewardSpec[],
  trajectory: ScoredTrajectory,
  task: ScoredTask,
  timeoutMs = DEFAULT_CHECKER_TIMEOUT_MS,
): Promise<ScoreOutcome> {
  const components = await Promise.all(
    specs.map(async (spec) =>
      componentOf(spec, await runChecker(getReward(spec.checker), trajectory, task, spec.config, timeoutMs)),
    ),
  );
  return combineComponents(components);
}
