/**
 * The handler a checker-pool thread runs for each call: load the checker (built-ins at start-up, a
 * plugin module on first use), validate its config, tell the pool that scoring starts (the time
 * budget counts from there, not from the queue or the thread's start-up), score, and answer with a
 * plain-JSON `CheckerOutcome`. Never throws: a failure is an outcome.
 */
import type { MessagePort } from 'node:worker_threads';
import '../builtin/index.js';
import type { RewardChecker, ScoredTask, ScoredTrajectory } from '../api.js';
import { answerOf, type CheckerOutcome, CheckerStatus, failureOf } from '../outcome.js';
import { BUILTIN_SOURCE, getReward, registerReward } from '../registry.js';

/** One checker call, as posted to a pool thread. */
export interface PoolCall {
  /** Registered checker name. */
  checker: string;
  /** `BUILTIN_SOURCE` or the plugin module URL that registers it. */
  source: string;
  /** Raw checker config; validated here by the checker's schema. */
  config: unknown;
  trajectory: ScoredTrajectory;
  task: ScoredTask;
  /** Receives one message when `score` starts (transferred to the thread). */
  started: MessagePort;
}

const modules = new Map<string, Promise<void>>();

/** Imports a plugin module once per thread and registers the checkers among its default export. */
function load(source: string): Promise<void> {
  if (source === BUILTIN_SOURCE) return Promise.resolve();
  let loading = modules.get(source);
  if (!loading) {
    loading = import(source).then((mod: { default?: unknown }) => {
      const items = Array.isArray(mod.default) ? mod.default : [mod.default];
      for (const item of items) {
        if (item && typeof item === 'object' && 'score' in item && 'name' in item && !('rollout' in item)) {
          registerReward(item as RewardChecker, source);
        }
      }
    });
    loading.catch(() => modules.delete(source));
    modules.set(source, loading);
  }
  return loading;
}

/** Scores one call; see the module comment. */
export default async function scoreInThread(call: PoolCall): Promise<CheckerOutcome> {
  try {
    await load(call.source);
    const checker = getReward(call.checker);
    const config = checker.configSchema.safeParse(call.config ?? {});
    if (!config.success) {
      const issues = config.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      return { status: CheckerStatus.checkerError, kind: 'invalid_config', message: issues.join('; ') };
    }
    call.started.postMessage(0);
    // JSON round trip: details must be plain JSON to be stored, and cloning fails on anything else.
    return JSON.parse(JSON.stringify(answerOf(await checker.score(call.trajectory, call.task, config.data))));
  } catch (err) {
    return failureOf(err);
  } finally {
    call.started.close();
  }
}
