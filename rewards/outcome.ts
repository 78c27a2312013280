/**
 * What one checker call came to. A checker either answers (`ok`, or `not_applicable`) or fails, and a
 * failure is a status, never a value (DESIGN: "a checker's own failure is a status"):
 * - `checker_error`: the checker threw, timed out, ran out of memory, returned a non-finite value or
 *   was given a config it rejects. Retrying would fail the same way; the rollout is left out of the batch.
 * - `infra_error`: the checker met an infrastructure failure (`RewardInfraError`, or any error with
 *   `retryable: true` such as the sandbox's `SandboxInfraError`). Transient: scoring is retried.
 * Plain JSON, so it crosses the checker pool's thread boundary and lands in a reward row as it is.
 */

/** Status of one checker call, as stored in `rewards.status`. */
export const CheckerStatus = {
  ok: 'ok',
  notApplicable: 'not_applicable',
  checkerError: 'checker_error',
  infraError: 'infra_error',
} as const;
export type CheckerStatus = (typeof CheckerStatus)[keyof typeof CheckerStatus];

/** How a checker failed: `exception` (it threw), `timeout`, `memory`, `invalid_config`, `non_finite`, `infra`. */
export type CheckerFailureKind =
  | 'exception'
  | 'timeout'
  | 'memory'
  | 'invalid_config'
  | 'non_finite'
  | 'infra';

/** A checker call that produced a reward component. */
export interface CheckerAnswer {
  status: typeof CheckerStatus.ok | typeof CheckerStatus.notApplicable;
  value: number;
  details: Record<string, unknown>;
  /** `false` exactly when `status` is `not_applicable` (as the checker's `RewardResult` said). */
  applicable?: false;
}

/** A checker call that produced no reward. `message` says what failed (one line, at most 500 characters). */
export interface CheckerFailure {
  status: typeof CheckerStatus.checkerError | typeof CheckerStatus.infraError;
  kind: CheckerFailureKind;
  message: string;
  /** The error's `type` or class name, when it had one (e.g. `SandboxInfraError`). */
  errorType?: string;
  /** A failure has no value (typed so that `outcome.value` reads as undefined, never as 0). */
  value?: undefined;
  details?: undefined;
  applicable?: undefined;
}

export type CheckerOutcome = CheckerAnswer | CheckerFailure;

/** True for the two failure statuses. */
export const isFailure = (o: CheckerOutcome): o is CheckerFailure =>
  o.status === CheckerStatus.checkerError || o.status === CheckerStatus.infraError;

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 500);

/** Classifies what a checker threw: `retryable: true` is an infrastructure error, anything else the checker's. */
export function failureOf(err: unknown): CheckerFailure {
  const e = err as { message?: unknown; type?: unknown; name?: unknown; retryable?: unknown; code?: unknown };
  const message = oneLine(
    err instanceof Error || typeof e?.message === 'string' ? String(e.message) : String(err),
  );
  const errorType =
    typeof e?.type === 'string'
      ? e.type
      : typeof e?.name === 'string' && e.name !== 'Error'
        ? e.name
        : undefined;
  if (e?.retryable === true) {
    return { status: CheckerStatus.infraError, kind: 'infra', message, ...(errorType ? { errorType } : {}) };
  }
  const kind: CheckerFailureKind =
    e?.code === 'ERR_WORKER_OUT_OF_MEMORY'
      ? 'memory'
      : e?.type === 'RewardTimeoutError'
        ? 'timeout'
        : 'exception';
  return { status: CheckerStatus.checkerError, kind, message, ...(errorType ? { errorType } : {}) };
}

/** A time-out: `stopped` says whether the checker's work was terminated (pool) or runs on (caller). */
export const timeoutFailure = (timeoutMs: number, stopped: boolean): CheckerFailure => ({
  status: CheckerStatus.checkerError,
  kind: 'timeout',
  message: `${timeoutMs} ms budget exceeded${stopped ? ' (stopped)' : ' (not stopped: it runs in the calling thread)'}`,
});

/**
 * Turns what `score` returned into an outcome: a non-finite or non-numeric value is a checker error,
 * `applicable: false` is `not_applicable` (value as returned, 0 by convention).
 */
export function answerOf(result: unknown): CheckerOutcome {
  const r = result as { value?: unknown; details?: unknown; applicable?: unknown } | null | undefined;
  if (!r || typeof r !== 'object' || typeof r.value !== 'number' || !Number.isFinite(r.value)) {
    const got = r && typeof r === 'object' ? String(r.value) : String(r);
    return {
      status: CheckerStatus.checkerError,
      kind: 'non_finite',
      message: `returned ${got} instead of a finite { value }`,
    };
  }
  const details =
    r.details && typeof r.details === 'object' ? { ...(r.details as Record<string, unknown>) } : {};
  if (r.applicable === false) {
    return {
      status: CheckerStatus.notApplicable,
      value: r.value,
      details: { ...details, applicable: false },
      applicable: false,
    };
  }
  return { status: CheckerStatus.ok, value: r.value, details };
}
