/**
 * Pre-started sandboxes. Setting up bwrap's namespaces and mounts and starting the interpreter take
 * ~25 ms of wall time, of which only ~60% is CPU (the kernel waits on namespace and mount set-up), so
 * one-at-a-time executions pay it all as latency. A warm sandbox is started ahead of need with the
 * same isolation and limits, its interpreter waiting on a pipe for the job (program, files, argv);
 * `runInSandbox` hands the next program to one and starts its clock then. Each warm sandbox runs
 * exactly one program and dies with it, as a cold one does; nothing is reused between programs.
 *
 * Warm sandboxes are kept per limits signature (the most recent two) and do not keep Node's event loop
 * alive. `runInSandbox` refills them after a run only while the pool has idle slots: a saturated pool
 * gains nothing from starting sandboxes early (the CPU is busy anyway) and runs cold. CPU time of a
 * warm sandbox is capped at `WARM_CPU_S` (its wall clock, set when the program arrives, binds first).
 */
import { bwrapArgv } from './bwrap.js';
import type { SandboxPool } from './pool.js';
import type { Runtime } from './runtimes.js';
import { type StartedProcess, startProcess } from './spawn.js';
import type { SandboxLimits } from './types.js';

/** CPU-seconds limit of a pre-started sandbox (its wall clock is the binding limit). */
export const WARM_CPU_S = 600;
/** Limits signatures kept warm at once. */
const SIGNATURES = 2;

interface Warm {
  process: StartedProcess;
  uid: number | undefined;
}

/** A pre-started sandbox handed to one execution. */
export interface TakenWarm {
  process: StartedProcess;
  /** Give the uid back once the process has exited. */
  done(): void;
}

/** Idle pre-started sandboxes by limits signature. */
export class WarmSandboxes {
  private readonly idle = new Map<string, Warm[]>();

  constructor(
    private readonly pool: SandboxPool,
    /** Uid to run as: a fresh one from the pool (root), or undefined (already unprivileged). */
    private readonly root: boolean,
  ) {}

  /** The signature of limits that a warm sandbox must match (everything but the wall clock). */
  static signature(runtime: Runtime, limits: SandboxLimits): string {
    const { timeoutMs: _ignored, ...rest } = limits;
    return JSON.stringify([runtime.binary, rest]);
  }

  /** Takes an idle warm sandbox for these limits, if one is alive. */
  take(runtime: Runtime, limits: SandboxLimits): TakenWarm | undefined {
    if (!runtime.warmArgv) return undefined;
    const key = WarmSandboxes.signature(runtime, limits);
    const list = this.idle.get(key) ?? [];
    let warm = list.shift();
    while (warm && !warm.process.alive) {
      this.returnUid(warm.uid);
      warm = list.shift();
    }
    if (!warm) return undefined;
    const uid = warm.uid;
    return { process: warm.process, done: () => this.returnUid(uid) };
  }

  /**
   * Starts warm sandboxes for these limits until `target` are idle (and forgets the oldest signature).
   */
  fill(runtime: Runtime, limits: SandboxLimits, target: number): void {
    if (!runtime.warmArgv) return;
    const key = WarmSandboxes.signature(runtime, limits);
    let list = this.idle.get(key);
    if (!list) {
      list = [];
      this.idle.set(key, list);
      while (this.idle.size > SIGNATURES) this.drop(this.idle.keys().next().value!);
    } else {
      // Most recently used last.
      this.idle.delete(key);
      this.idle.set(key, list);
    }
    while (list.length < target) list.push(this.start(runtime, limits));
  }

  /** Kills every idle warm sandbox and waits until they are gone. */
  async close(): Promise<void> {
    const all = [...this.idle.keys()].flatMap((k) => this.drop(k));
    await Promise.all(all);
  }

  private start(runtime: Runtime, limits: SandboxLimits): Warm {
    const uid = this.root ? this.pool.takeUid() : undefined;
    const process = startProcess({
      argv: bwrapArgv({
        limits: { ...limits, timeoutMs: WARM_CPU_S * 1000 },
        files: [],
        argv: runtime.warmArgv!,
      }),
      uid,
      env: { PATH: '/usr/bin:/bin' },
      fileFds: 1,
      channel: true,
      bwrapStatus: true,
      processGroup: false,
      maxOutputBytes: limits.maxOutputBytes,
      idle: true,
    });
    return { process, uid };
  }

  private drop(key: string): Promise<unknown>[] {
    const list = this.idle.get(key) ?? [];
    this.idle.delete(key);
    return list.map((w) => {
      const exited = w.process.dispose();
      return exited.then(() => this.returnUid(w.uid));
    });
  }

  private returnUid(uid: number | undefined): void {
    if (uid !== undefined) this.pool.returnUid(uid);
  }
}
