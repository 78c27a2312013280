/**
 * The reward-checker plugin API.
 *
 * A reward checker scores one trajectory of one task and returns `{ value, details }`. Environments
 * declare default checkers with weights (`RewardSpec`); a run may override them. The total reward of a
 * rollout is the weighted sum of its components, and every component is logged on its own row.
 * Checkers depend on nothing above `rewards/`: they see the trajectory and task as plain JSON.
 */
import type { z } from 'zod';

/** A JSON value: the only thing that crosses a boundary. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** What a checker sees of a trajectory: the model's text and token counts. */
export interface ScoredTrajectory {
  /** Everything the model wrote, all assistant turns joined by newlines. */
  completion: string;
  /** Assistant turns (multi-turn environments); single-turn environments have one. */
  turns?: { role: string; content: string; [key: string]: unknown }[];
  /** Completion tokens the model wrote (all turns). */
  completionTokens: number;
  /** Tokens inside `<think>` blocks, when the worker reported them. */
  thinkingTokens?: number;
  /**
   * Why sampling stopped (`stop`, `eos`, `length`; the last turn's in multi-turn rollouts, whose turns
   * carry their own). `length` (cut at the token limit) means no final answer: see `answerText.ts`.
   * Absent when unknown (raw text), which is read as a sample that finished.
   */
  finishReason?: string;
  /** Environment-specific facts the checkers read (parsed tool calls, extracted answer, …). */
  extra?: Record<string, unknown>;
}

/** What a checker sees of a task: its id and the environment's own task data. */
export interface ScoredTask {
  id: string;
  data: Record<string, unknown>;
}

/**
 * A checker's answer. `value` is the reward component (range documented per checker); `details`
 * says why. `applicable: false` means "not applicable" (TRL style): it counts as 0 and is logged so.
 * A checker that cannot decide does not answer: it throws (see `RewardInfraError`), and the rollout
 * gets an error status instead of a reward.
 */
export interface RewardResult {
  value: number;
  details?: Record<string, unknown>;
  applicable?: boolean;
}

/**
 * Where a checker's `score` runs (see `rewards/score.ts`):
 * - `pool` (default): in a thread of the checker pool, where a time-out terminates it. Needed by any
 *   checker that does synchronous work on the model's output (parsing, regular expressions, algebra):
 *   in the calling thread such work cannot be stopped.
 * - `caller`: in the calling thread. Only for checkers whose work is asynchronous I/O that enforces
 *   its own limits (a sandboxed subprocess, a native inference session): a thread would only add a
 *   copy of their state. Their time-out is still reported, but what they started runs on.
 */
export type CheckerPlacement = 'pool' | 'caller';

/**
 * A reward checker plugin. `score` may be sync or async; it must not throw on bad model output (that
 * is a low reward), only when it cannot score at all: a bug or bad config (recorded as
 * `checker_error`) or an infrastructure failure (`RewardInfraError` or any error with
 * `retryable: true`, recorded as `infra_error` and retried).
 */
export interface RewardChecker<C extends z.ZodType = z.ZodType> {
  /** kebab-case, unique in the registry. */
  name: string;
  /** One line: what it rewards and its output range. */
  description: string;
  /** Validated before the run starts; errors name the field. */
  configSchema: C;
  /**
   * Declared range of `value`, `[min, max]` (e.g. `[0, 1]`); `multigym plugin test` checks every
   * scored rollout against it. Optional: without it only finiteness is checked.
   */
  range?: readonly [number, number];
  /** Where `score` runs: `pool` (default) or `caller`. See `CheckerPlacement`. */
  runsIn?: CheckerPlacement;
  score(
    trajectory: ScoredTrajectory,
    task: ScoredTask,
    config: z.output<C>,
  ): Promise<RewardResult> | RewardResult;
}

/** Identity helper that types a checker; a plugin module's default export is its result. */
export const defineReward = <C extends z.ZodType>(r: RewardChecker<C>): RewardChecker<C> => r;

/**
 * Thrown by a checker when scoring failed for reasons that are not the model's (a sandbox cannot
 * start, a reward-model server is down, the host ran out of resources). The rollout is recorded as
 * `infra_error`, its scoring is retried without sampling again, and it never enters a batch as a
 * reward. Any error with `retryable: true` (e.g. the sandbox's `SandboxInfraError`) is treated alike.
 */
export class RewardInfraError extends Error {
  readonly type = 'RewardInfraError';
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'RewardInfraError';
  }
}

/**
 * Thrown by a checker that stops its own work at an internal time budget (e.g. `math-equivalence`'s
 * `budgetMs`) without deciding: recorded as a `checker_error` of kind `timeout`, like a call stopped
 * by the checker pool, never as a value of 0.
 */
export class RewardTimeoutError extends Error {
  readonly type = 'RewardTimeoutError';
  constructor(message: string) {
    super(message);
    this.name = 'RewardTimeoutError';
  }
}

/** One weighted reward component of an environment or a run's override. */
export interface RewardSpec {
  /** Checker name in the registry. */
  checker: string;
  /**
   * The component's name in reward rows and metrics; default the checker name. Needed only to list
   * one checker twice (two `regex` patterns, say): names are unique within an environment.
   */
  name?: string;
  /** Weight in the total reward. */
  weight: number;
  /** Checker config; validated by the checker's `configSchema`. */
  config?: Record<string, unknown>;
}
