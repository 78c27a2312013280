/** Typed errors of the code sandbox. Each has a stable `type` and says whether a retry can help. */

/**
 * The sandbox cannot run at all on this host (bubblewrap missing, no user namespaces, `setpriv`
 * unable to drop privileges…). `message` says why and how to fix it. Not retryable: every run on
 * this host would fail the same way, so a worker should stop serving the code-sandbox queue.
 */
export class SandboxUnavailableError extends Error {
  readonly type = 'SandboxUnavailableError';
  readonly retryable = false;
  constructor(
    message: string,
    /** What the probe printed (bwrap's stderr), for logs. */
    readonly probeOutput = '',
  ) {
    super(message);
    this.name = 'SandboxUnavailableError';
  }
}

/**
 * One execution failed for a reason that is not the program's fault (bwrap could not set up the
 * namespaces, the host ran out of processes or memory, a spawn failed). Retryable; never scored as a
 * model failure (DESIGN.md: "an infrastructure failure is never a reward").
 */
export class SandboxInfraError extends Error {
  readonly type = 'SandboxInfraError';
  readonly retryable = true;
  constructor(message: string) {
    super(message);
    this.name = 'SandboxInfraError';
  }
}
