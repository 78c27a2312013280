/**
 * Runs a list of weighted reward checkers on one trajectory: each under a time budget, never
 * throwing, and returns the weighted total with every component.
 */
import type { RewardChecker, RewardResult, RewardSpec, ScoredTask, ScoredTrajectory } from './api.js';
import { getReward } from './registry.js';

/** One scored component, as logged on its own reward row. */
export interface RewardComponent {
  checker: string;
  weight: number;
  value: number;
  details: Record<string, unknown>;
}

/** The total reward (Σ weight·value) and its components, in spec order. */
export interface ScoreOutcome {
  total: number;
  components: RewardComponent[];
}

/** Default per-call time budget of a checker, milliseconds. */
export const DEFAULT_CHECKER_TIMEOUT_MS = 1000;

/**
 * Runs one checker with a time budget. A timeout or an exception yields 0 with the reason in
 * `details.error`: a checker never hangs or crashes a rollout. (A synchronous checker that loops
 * forever cannot be preempted in-process; built-ins are bounded.)
 */
export async function runChecker(
  checker: RewardChecker,
  trajectory: ScoredTrajectory,
  task: ScoredTask,
  rawConfig: unknown,
  timeoutMs = DEFAULT_CHECKER_TIMEOUT_MS,
): Promise<RewardResult> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const config = checker.configSchema.parse(rawConfig ?? {});
    const timeout = new Promise<RewardResult>((resolve) => {
      timer = setTimeout(
        () => resolve({ value: 0, details: { error: 'timeout', timeout_ms: timeoutMs } }),
        timeoutMs,
      );
    });
    const result = await Promise.race([
      Promise.resolve().then(() => checker.score(trajectory, task, config)),
      timeout,
    ]);
    if (!Number.isFinite(result.value)) {
      return { value: 0, details: { error: `non-finite reward ${result.value}`, ...result.details } };
    }
    return result;
  } catch (err) {
    return { value: 0, details: { error: err instanceof Error ? err.message : String(err) } };
  } finally {
    clearTimeout(timer);
  }
}

/** Scores a trajectory with every spec; checker names are looked up in the registry. */
export async function scoreTrajectory(
  specs: RewardSpec[],
  trajectory: ScoredTrajectory,
  task: ScoredTask,
  timeoutMs = DEFAULT_CHECKER_TIMEOUT_MS,
): Promise<ScoreOutcome> {
  const components = await Promise.all(
    specs.map(async (spec): Promise<RewardComponent> => {
      const result = await runChecker(getReward(spec.checker), trajectory, task, spec.config, timeoutMs);
      const details = { ...(result.details ?? {}) };
      if (result.applicable === false) details.applicable = false;
      return { checker: spec.checker, weight: spec.weight, value: result.value, details };
    }),
  );
  const total = components.reduce((sum, c) => sum + c.weight * c.value, 0);
  return { total, components };
}
