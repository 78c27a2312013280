/**
 * Dependencies of the activities, passed in by the worker (STYLE: activities built by a factory that
 * receives its dependencies, so tests pass real or fake parts without module mocking).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { Database } from '../db/client.js';
import type { PolicySampler } from '../environments/api.js';
import { loadPlugin } from '../environments/registry.js';
import { PolicyClient, PolicyWorkerError } from '../policy/client.js';

/** A policy worker as the activities use it: sampling, training, checkpoints, load and reset. */
export type Policy = PolicySampler &
  Pick<PolicyClient, 'trainStep' | 'checkpoint' | 'sftStep' | 'load' | 'reset' | 'referenceKl'>;

export interface ActivityDeps {
  db: Database;
  /** Directory of large payloads stored by reference (long contexts). */
  blobDir: string;
  /** Default directory of real data sets (`MULTIGYM_DATA`); a run's `data_dir` wins. */
  dataDir?: string;
  /** Makes the policy client of a URL; default an axios `PolicyClient`. */
  policyFor?: (url: string) => Policy;
  /** Concurrent groups inside one rollout activity (default 4). */
  groupConcurrency?: number;
  /**
   * Whether a run (workflow id) is still going, to decide if a worker holding its weights may be
   * claimed by another run; default: the workflow's status on the activity's own Temporal client.
   */
  isRunActive?: (runId: string) => Promise<boolean>;
  /**
   * How long `validateRun` waits for a worker to poll an environment's task queue before failing the
   * run with the command that serves it, ms (default 5000).
   */
  queueWaitMs?: number;
  /** The Temporal frontend's address, when known: put into the commands of error messages. */
  temporalAddress?: string;
}

/**
 * Runs `work` while heartbeating every 5 s: a long call (a train step, a restore that trains several
 * steps again) is alive as long as this process is, and the heartbeat timeout still detects a dead one.
 */
export async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 5000);
  try {
    return await work();
  } finally {
    clearInterval(beat);
  }
}

/** A sampler whose every generate expects the worker to hold `runId` at `policyVersion`. */
export function pinnedSampler(inner: PolicySampler, runId: string, policyVersion: number): PolicySampler {
  const expect = { run_id: runId, policy_version: policyVersion };
  return {
    generate: (req) => inner.generate({ ...req, expect }),
    tokenize: (req) => inner.tokenize(req),
    info: () => inner.info(),
  };
}

/** Returns a cached policy client per URL. */
export function policyCache(deps: ActivityDeps): (url: string) => Policy {
  const cache = new Map<string, Policy>();
  return (url) => {
    let p = cache.get(url);
    if (!p) {
      p = deps.policyFor ? deps.policyFor(url) : new PolicyClient({ url, connectRetries: 2 });
      cache.set(url, p);
    }
    return p;
  };
}

const loaded = new Set<string>();

/** Loads a run's plugins once per process. */
export async function ensurePlugins(plugins: string[]): Promise<void> {
  for (const p of plugins) {
    if (loaded.has(p)) continue;
    await loadPlugin(p);
    loaded.add(p);
  }
}

/** Failure type of a policy worker that does not answer (the CLI shows its message while retrying). */
export const POLICY_UNREACHABLE = 'PolicyWorkerUnreachable';

/** How long an activity waits for a policy worker that does not answer, by default (seconds). */
export const DEFAULT_POLICY_WAIT_S = 600;

/**
 * A policy worker that does not answer (connection refused, reset, unknown host): retried by Temporal
 * with the message `waiting for the policy worker at URL: CODE`, until it has not answered for
 * `waitSeconds` across attempts; then a non-retryable failure that fails the run with that message.
 * The time of the first failure travels in the activity's heartbeat details from attempt to attempt.
 */
function policyUnreachable(err: PolicyWorkerError, waitSeconds: number): unknown {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return err; // not inside an activity
  }
  const previous = ctx.info.heartbeatDetails as Record<string, unknown> | undefined;
  const since =
    typeof previous?.policyUnreachableSinceMs === 'number' ? previous.policyUnreachableSinceMs : Date.now();
  ctx.heartbeat({ ...(previous ?? {}), policyUnreachableSinceMs: since });
  const waited = (Date.now() - since) / 1000;
  const what = `the policy worker at ${err.unreachable!.url}: ${err.unreachable!.code}`;
  if (waited < waitSeconds) return ApplicationFailure.retryable(`waiting for ${what}`, POLICY_UNREACHABLE);
  return ApplicationFailure.nonRetryable(
    `gave up waiting for ${what}, unanswered for ${Math.round(waited)} s over ${ctx.info.attempt} attempts. ` +
      'Is it running? `multigym dev` starts one on CPU; check policy.url in the run config ' +
      `(timeouts.policy_unreachable_s, now ${waitSeconds}, sets how long a run waits)`,
    POLICY_UNREACHABLE,
  );
}

/**
 * Maps an error to Temporal's retry semantics: a policy-worker 4xx (bad input) and any error marked
 * `retryable: false` are non-retryable; a policy worker that does not answer is retried for
 * `policyWaitSeconds` (default 600) and then fails the run; 5xx and the rest are retried with back-off.
 */
export function asActivityError(err: unknown, opts: { policyWaitSeconds?: number } = {}): unknown {
  if (err instanceof PolicyWorkerError && err.errorType === 'connection' && err.unreachable) {
    return policyUnreachable(err, opts.policyWaitSeconds ?? DEFAULT_POLICY_WAIT_S);
  }
  if (err instanceof PolicyWorkerError && !err.retryable) {
    return ApplicationFailure.nonRetryable(err.message, err.errorType);
  }
  // Environments mark configuration and data errors (and a host that cannot sandbox) `retryable: false`.
  if (err instanceof Error && (err as { retryable?: unknown }).retryable === false) {
    const type = (err as { type?: unknown }).type;
    return ApplicationFailure.nonRetryable(err.message, typeof type === 'string' ? type : err.name);
  }
  return err;
}

/** A 31-bit seed from strings (FNV-1a), so a group's sampling seed is stable across retries. */
export function stableSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0000')) {
    h ^= ch.codePointAt(0)!;
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) & 0x7fffffff;
}
