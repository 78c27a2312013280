/**
 * The concurrency pool of sandbox executions, and the unprivileged uids they run as.
 *
 * RLIMIT_NPROC counts every process of a uid, so sandboxes sharing a uid would share one process
 * budget (a fork bomb in one would starve the others). Each running execution therefore holds a uid of
 * its own. The kernel also releases a uid's process count a little after a PID namespace dies, so
 * freed uids go to the back of a FIFO and are reused as late as possible. The uid block is derived
 * from this process's pid, so two Node processes on one host (a worker and a test) never share uids.
 */
import { availableParallelism } from 'node:os';

/** Uids one process rotates through (more than any pool holds at once). */
export const UIDS_PER_PROCESS = 256;
/** First uid of the blocks; well above system and login users (Debian's ranges end at 59999/65533). */
export const UID_BASE = 100_000;

/** First uid of the block that belongs to the process with this pid. */
export const uidBlockStart = (pid: number): number => UID_BASE + (pid % 4_194_304) * UIDS_PER_PROCESS;

/** A held pool slot: the uid an execution runs as. Give it back with `release`. */
export interface Lease {
  uid: number;
}

/** A counting semaphore over execution slots that hands out distinct uids. */
export class SandboxPool {
  private readonly freeUids: number[];
  private readonly waiters: ((lease: Lease) => void)[] = [];
  private running = 0;

  /**
   * @param size concurrent executions; default the number of cores (`os.availableParallelism()`).
   * @param uidStart first uid of this pool's block; default the block of this process.
   */
  constructor(
    readonly size = availableParallelism(),
    uidStart = uidBlockStart(process.pid),
  ) {
    if (!Number.isInteger(size) || size < 1 || size > UIDS_PER_PROCESS / 2) {
      throw new RangeError(
        `sandbox pool size must be an integer in [1, ${UIDS_PER_PROCESS / 2}], got ${size}`,
      );
    }
    this.freeUids = Array.from({ length: UIDS_PER_PROCESS }, (_, i) => uidStart + i);
  }

  /** Executions running now. */
  get active(): number {
    return this.running;
  }

  /** Waits for a free slot. */
  acquire(): Promise<Lease> {
    if (this.running < this.size) {
      this.running++;
      return Promise.resolve({ uid: this.freeUids.shift()! });
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives a slot back; its uid goes to the back of the queue. */
  release(lease: Lease): void {
    this.freeUids.push(lease.uid);
    const next = this.waiters.shift();
    if (next) next({ uid: this.freeUids.shift()! });
    else this.running--;
  }

  /** Runs `fn` holding a slot. */
  async with<T>(fn: (lease: Lease) => Promise<T>): Promise<T> {
    const lease = await this.acquire();
    try {
      return await fn(lease);
    } finally {
      this.release(lease);
    }
  }
}
