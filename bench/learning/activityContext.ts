/**
 * Runs an activity function in process, inside an activity `Context` of `@temporalio/activity`, as a
 * Temporal worker would (heartbeats are accepted and dropped). Unlike `@temporalio/testing`'s
 * `MockActivityEnvironment` it needs no `@temporalio/worker` (and so no native core bridge), which
 * lets the learning-proof driver be bundled into one file that runs where only Node is carried.
 */
import { asyncLocalStorage, Context, type Info } from '@temporalio/activity';
import { noopMetricMeter } from '@temporalio/common';

const info = (type: string): Info =>
  ({
    attempt: 1,
    taskQueue: 'in-process',
    isLocal: false,
    taskToken: new Uint8Array(),
    base64TaskToken: '',
    activityId: type,
    activityType: type,
    workflowType: 'in-process',
    heartbeatTimeoutMs: undefined,
    heartbeatDetails: undefined,
    activityNamespace: 'default',
    workflowNamespace: 'default',
    workflowExecution: { workflowId: 'in-process', runId: 'in-process' },
    scheduledTimestampMs: Date.now(),
    startToCloseTimeoutMs: 3_600_000,
    scheduleToCloseTimeoutMs: 3_600_000,
    currentAttemptScheduledTimestampMs: Date.now(),
    priority: undefined,
    retryPolicy: undefined,
    namespace: 'default',
    inWorkflow: false,
  }) as unknown as Info;

const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };

/** `fn(input)` inside a fresh activity context named `type`; failures propagate unchanged. */
export function runActivity<I, O>(type: string, fn: (input: I) => Promise<O>, input: I): Promise<O> {
  const ctx = new (Context as unknown as new (...args: unknown[]) => Context)(
    info(type),
    new Promise<never>(() => {}),
    new AbortController().signal,
    () => {},
    undefined,
    quiet,
    noopMetricMeter,
    {},
  );
  return asyncLocalStorage.run(ctx, () => fn(input));
}
