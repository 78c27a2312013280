/**
 * The checker pool: reward checkers run in worker threads (piscina), so a checker past its time
 * budget is stopped by terminating its thread — a synchronous loop or a catastrophic regular
 * expression cannot be interrupted any other way in Node. A terminated thread is replaced; the others
 * keep serving.
 *
 * The budget counts from the moment `score` starts in the thread (the thread reports it over a
 * MessagePort), so time spent queued behind other calls or starting a thread is not charged to the
 * checker. Threads load the built-ins at start-up and a plugin module on first use; each thread holds
 * its own copy of a checker's state (caches, sessions). Idle threads are unreferenced: they never keep
 * a process alive.
 *
 * Options come from the environment: `MULTIGYM_CHECKER_THREADS` (threads, default min(4, cores)) and
 * `MULTIGYM_CHECKER_HEAP_MB` (old-generation heap per thread, default 1024: a checker that allocates
 * past it is stopped and reported as `memory`).
 */
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { type CheckerOutcome, CheckerStatus, failureOf, timeoutFailure } from '../outcome.js';
import type { PoolCall } from './thread.js';

/** Time a call may wait for its thread to start and load the checker's module, ms, on top of its budget. */
export const STARTUP_GRACE_MS = 60_000;

let pool: Piscina | undefined;

const envInt = (name: string, fallback: number): number => {
  const v = Number.parseInt(process.env[name] ?? '', 10);
  return Number.isFinite(v) && v > 0 ? v : fallback;
};

/** The process's checker pool, created on first use. */
export function checkerPool(): Piscina {
  const threads = envInt('MULTIGYM_CHECKER_THREADS', Math.min(4, availableParallelism()));
  pool ??= new Piscina({
    filename: new URL('./thread.mjs', import.meta.url).href,
    // A thread loads every built-in checker (0.5 s idle, 2–3 s on a loaded host). With the minimum at
    // the maximum, a thread terminated by a time-out is replaced at once, not when the next call
    // finds none free. Idle threads are unreferenced: they never keep the process alive.
    minThreads: threads,
    maxThreads: threads,
    resourceLimits: { maxOldGenerationSizeMb: envInt('MULTIGYM_CHECKER_HEAP_MB', 1024) },
  });
  return pool;
}

/** Stops the pool's threads (in-flight calls are rejected); the next call starts a new pool. */
export async function closeCheckerPool(): Promise<void> {
  const p = pool;
  pool = undefined;
  await p?.destroy();
}

/**
 * Runs one checker call in the pool with a time budget of `timeoutMs` from the start of `score`.
 * Never throws: a time-out (the thread is terminated), a thread that died (out of memory,
 * `process.exit`) or an exception is returned as a `CheckerFailure`.
 */
export async function runInPool(call: Omit<PoolCall, 'started'>, timeoutMs: number): Promise<CheckerOutcome> {
  const { port1, port2 } = new MessageChannel();
  const abort = new AbortController();
  let timedOut: 'budget' | 'startup' | undefined;
  let budget: NodeJS.Timeout | undefined;
  port1.once('message', () => {
    budget = setTimeout(() => {
      timedOut = 'budget';
      abort.abort();
    }, timeoutMs);
  });
  const startup = setTimeout(() => {
    timedOut ??= 'startup';
    abort.abort();
  }, timeoutMs + STARTUP_GRACE_MS);
  try {
    return (await checkerPool().run(
      { ...call, started: port2 },
      { transferList: [port2], signal: abort.signal },
    )) as CheckerOutcome;
  } catch (err) {
    if (timedOut === 'budget') return timeoutFailure(timeoutMs, true);
    if (timedOut === 'startup') {
      return {
        status: CheckerStatus.checkerError,
        kind: 'timeout',
        message: `did not start within ${timeoutMs + STARTUP_GRACE_MS} ms (loading its module)`,
      };
    }
    return failureOf(err);
  } finally {
    clearTimeout(budget);
    clearTimeout(startup);
    port1.close();
  }
}
