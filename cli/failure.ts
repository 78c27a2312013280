/**
 * Failures explained where the user looks: a Temporal failure is a chain (workflow failed ← activity
 * failed ← the error the activity threw), and only the end of it says what went wrong. These helpers
 * walk the `cause` chain of any error and print it, innermost message first, with the run's link in
 * the Temporal web UI. Used by `multigym run` and `quickstart`; plugins' loading errors reuse it.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  ChildWorkflowFailure,
  RetryState,
  ServerFailure,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';

/** One link of a failure's cause chain. */
export interface FailureLink {
  /** What failed: `workflow`, `activity sampleTasks`, `child workflow evalRun`, or the error type. */
  what: string;
  message: string;
  /** True for Temporal's wrappers (workflow, activity, child workflow), whose messages say only "failed". */
  wrapper: boolean;
}

const RETRY_WORDS: Record<string, string> = {
  [RetryState.NON_RETRYABLE_FAILURE]: 'not retryable',
  [RetryState.MAXIMUM_ATTEMPTS_REACHED]: 'out of attempts',
  [RetryState.TIMEOUT]: 'retries timed out',
  [RetryState.CANCEL_REQUESTED]: 'cancelled',
};

function link(err: unknown): FailureLink {
  if (err instanceof ActivityFailure) {
    const why = RETRY_WORDS[String(err.retryState)];
    return {
      what: `activity ${err.activityType}`,
      message: `failed${why ? ` (${why})` : ''}`,
      wrapper: true,
    };
  }
  if (err instanceof ChildWorkflowFailure) {
    const what = `child workflow ${err.workflowType} ${err.execution.workflowId}`;
    return { what, message: 'failed', wrapper: true };
  }
  if (err instanceof TimeoutFailure) {
    return { what: 'timeout', message: `${err.timeoutType ?? 'a'} timeout expired`, wrapper: false };
  }
  const plain = (what: string, message: string) => ({ what, message, wrapper: false });
  if (err instanceof TerminatedFailure) return plain('terminated', err.message || 'terminated');
  if (err instanceof CancelledFailure) return plain('cancelled', err.message || 'cancelled');
  if (err instanceof ApplicationFailure) return plain(err.type || 'error', err.message);
  if (err instanceof ServerFailure) return plain('server', err.message);
  if (err instanceof Error && err.name === 'WorkflowFailedError') {
    return { what: 'workflow', message: err.message, wrapper: true };
  }
  if (err instanceof Error) return plain(err.name || 'error', err.message);
  return plain('error', String(err));
}

/** The cause chain of `err`, outermost first (`err`, its `cause`, that one's `cause`, …). */
export function failureChain(err: unknown): FailureLink[] {
  const out: FailureLink[] = [];
  const seen = new Set<unknown>();
  for (let e: unknown = err; e !== undefined && e !== null && !seen.has(e); ) {
    seen.add(e);
    out.push(link(e));
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * The root cause's message: the innermost link that is not one of Temporal's wrappers (which say
 * only "Workflow execution failed" / "Activity task failed").
 */
export function rootCause(err: unknown): string {
  const chain = failureChain(err);
  const own = chain.filter((l) => !l.wrapper && l.message);
  return (own.at(-1) ?? chain.at(-1))?.message ?? String(err);
}

/**
 * A failure for people: `<headline>: <root cause>`, then the chain one link a line (`  ← what:
 * message`), then `Temporal UI: <link>` when given. Never only "Workflow execution failed".
 */
export function formatFailure(err: unknown, opts: { headline?: string; uiLink?: string } = {}): string {
  const chain = failureChain(err);
  const lines = [`${opts.headline ?? 'failed'}: ${rootCause(err)}`];
  if (chain.length > 1) {
    lines.push('  cause chain (outermost first):');
    for (const l of chain) lines.push(`    ← ${l.what}: ${l.message}`);
  }
  if (opts.uiLink) lines.push(`  Temporal UI: ${opts.uiLink}`);
  return lines.join('\n');
}
