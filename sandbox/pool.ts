/**
 * The concurrency pool of sandbox executions, and the unprivileged uids they run as.
 *
 * RLIMIT_NPROC counts every process of a uid, so sandboxes sharing a uid would share one process
 * budget (a fork bomb in one would starve the others). Each sandbox process — running, or started
 * ahead and waiting for its program (see `warm.ts`) — therefore holds a uid of its own. Freed uids go
 * to the back of a FIFO and are reused as late as possible. The uid block is derived from this
 * process's pid, so two Node processes on one host (a worker and a test) never share uids.
 */
import { availableParallelism } from 'node:os';

/** Uids one process rotates through (more than its running plus waiting sandboxes). */
export const UIDS_PER_PROCESS = 256;
/** First uid of the blocks; well above system and login users (Debian's ranges end at 59999/65533). */
export const UID_BASE = 100_000;

/** First uid of the block that belongs to the process with this pid. */
export const uidBlockStart = (pid: number): number => UID_BASE + (pid % 4_194_304) * UIDS_PER_PROCESS;

/** A counting semaphore over execution slots, plus the FIFO of this process's sandbox uids. */
export class SandboxPool {
  private readonly freeUids: number[];
  private readonly waiters: (() => void)[] = [];
  private running = 0;

  /**
   * @param size concurrent executions; default the number of cores (`os.availableParallelism()`).
   * @param uidStart first uid of this pool's block; default the block of this process.
   */
  constructor(
    readonly size = availableParallelism(),
    uidStart = uidBlockStart(process.pid),
  ) {
    if (!Number.isInteger(size) || size < 1 || size > UIDS_PER_PROCESS / 4) {
      throw new RangeError(
        `sandbox pool size must be an integer in [1, ${UIDS_PER_PROCESS / 4}], got ${size}`,
      );
    }
    this.freeUids = Array.from({ length: UIDS_PER_PROCESS }, (_, i) => uidStart + i);
  }

  /** Executions running now. */
  get active(): number {
    return this.running;
  }

  /** Waits for a free execution slot. */
  acquire(): Promise<void> {
    if (this.running < this.size) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives a slot back. */
  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.running--;
  }

  /** Runs `fn` holding a slot. */
  async with<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  /**
   * A uid no other sandbox process of this pool holds; the least recently used one.
   * @throws RangeError when every uid of the block is held (more sandbox processes than the block).
   */
  takeUid(): number {
    const uid = this.freeUids.shift();
    if (uid === undefined)
      throw new RangeError(`all ${UIDS_PER_PROCESS} sandbox uids of this process are in use`);
    return uid;
  }

  /** Returns a uid once its sandbox process has exited; it goes to the back of the queue. */
  returnUid(uid: number): void {
    this.freeUids.push(uid);
  }
}
