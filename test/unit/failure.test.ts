/** The cause chain of Temporal failures, printed innermost message first (cli/failure.ts). */
import { WorkflowFailedError } from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  RetryState,
  TerminatedFailure,
  TimeoutFailure,
} from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { failureChain, formatFailure, rootCause } from '../../cli/failure.js';

const activity = (cause: Error, type = 'sampleTasks', retry: RetryState = RetryState.NON_RETRYABLE_FAILURE) =>
  new ActivityFailure('Activity task failed', type, '3', retry, 'worker@host', cause);
const workflow = (cause: Error) =>
  new WorkflowFailedError('Workflow execution failed', cause, RetryState.RETRY_POLICY_NOT_SET);

describe('failure chains', () => {
  it('workflow ← activity ← application failure: the application message is the root cause', () => {
    const err = workflow(
      activity(ApplicationFailure.nonRetryable('cannot read /d/gsm8k.jsonl: ENOENT', 'CodeDatasetError')),
    );
    expect(failureChain(err)).toEqual([
      { what: 'workflow', message: 'Workflow execution failed', wrapper: true },
      { what: 'activity sampleTasks', message: 'failed (not retryable)', wrapper: true },
      { what: 'CodeDatasetError', message: 'cannot read /d/gsm8k.jsonl: ENOENT', wrapper: false },
    ]);
    expect(formatFailure(err, { headline: 'run r failed', uiLink: 'http://ui/x' })).toBe(
      [
        'run r failed: cannot read /d/gsm8k.jsonl: ENOENT',
        '  cause chain (outermost first):',
        '    ← workflow: Workflow execution failed',
        '    ← activity sampleTasks: failed (not retryable)',
        '    ← CodeDatasetError: cannot read /d/gsm8k.jsonl: ENOENT',
        '  Temporal UI: http://ui/x',
      ].join('\n'),
    );
  });

  it('a child workflow, a heartbeat timeout, a termination and a plain error', () => {
    const child = new ChildWorkflowFailure(
      'default',
      { workflowId: 'r-eval-2', runId: 'x' },
      'evalRun',
      RetryState.NON_RETRYABLE_FAILURE,
      activity(new TimeoutFailure(undefined, undefined, 'HEARTBEAT'), 'rolloutGroups', RetryState.TIMEOUT),
    );
    expect(failureChain(workflow(child)).map((l) => `${l.what}: ${l.message}`)).toEqual([
      'workflow: Workflow execution failed',
      'child workflow evalRun r-eval-2: failed',
      'activity rolloutGroups: failed (retries timed out)',
      'timeout: HEARTBEAT timeout expired',
    ]);
    expect(rootCause(workflow(child))).toBe('HEARTBEAT timeout expired');
    expect(rootCause(workflow(new TerminatedFailure('operator stop')))).toBe('operator stop');
    expect(formatFailure(new Error('boom'))).toBe('failed: boom');
  });

  it('a cycle in the chain ends the walk', () => {
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b') as Error & { cause?: unknown };
    a.cause = b;
    b.cause = a;
    expect(failureChain(a).map((l) => l.message)).toEqual(['a', 'b']);
  });
});
