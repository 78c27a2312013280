/** Request, result and limit shapes of the code sandbox. */
import type { Readable, Writable } from 'node:stream';
import { z } from 'zod';

/** Languages the sandbox can run; each maps to an interpreter under `/usr` (see `runtimes.ts`). */
export const SANDBOX_LANGUAGES = ['python'] as const;
export type SandboxLanguage = (typeof SANDBOX_LANGUAGES)[number];

/**
 * Resource limits of one execution. Shared by the sandbox API and the code-sandbox environment's
 * config block, so a run config can tighten or loosen them.
 */
export const sandboxLimitsSchema = z.object({
  timeoutMs: z
    .number()
    .int()
    .positive()
    .max(600_000)
    .default(10_000)
    .describe(
      'Wall-clock limit of one execution in milliseconds; the whole PID namespace is killed when it passes. CPU time is capped at the same number of seconds (rounded up) plus one.',
    ),
  memoryMb: z
    .number()
    .int()
    .min(64)
    .max(65_536)
    .default(512)
    .describe('Address-space limit (RLIMIT_AS) of each process, in MiB. Python raises MemoryError past it.'),
  maxOutputBytes: z
    .number()
    .int()
    .positive()
    .default(1 << 20)
    .describe(
      'Bytes kept of stdout and of stderr each; a program writing more is killed with status `output_limit` (or, with `overflow: truncate`, cut and let run).',
    ),
  maxProcesses: z
    .number()
    .int()
    .min(4)
    .max(4096)
    .default(64)
    .describe('Processes and threads of one execution (RLIMIT_NPROC on a uid of its own); stops fork bombs.'),
  maxFileBytes: z
    .number()
    .int()
    .positive()
    .default(16 << 20)
    .describe('Largest file a program may write (RLIMIT_FSIZE), in bytes.'),
  workdirBytes: z
    .number()
    .int()
    .positive()
    .default(64 << 20)
    .describe('Size of the private tmpfs work directory (and of /dev/shm), in bytes.'),
  maxOpenFiles: z
    .number()
    .int()
    .min(16)
    .default(256)
    .describe('Open file descriptors per process (RLIMIT_NOFILE).'),
});
/** Resource limits after defaults. */
export type SandboxLimits = z.output<typeof sandboxLimitsSchema>;

/** One program to run. */
export interface SandboxRequest extends Partial<SandboxLimits> {
  /** Default `python`. */
  language?: SandboxLanguage;
  /** The program's source; written to the work directory as the main file (`main.py`). */
  code: string;
  /** Extra files written beside it in the work directory: relative path → content. */
  files?: Record<string, string>;
  /**
   * Bytes fed to the program's standard input (UTF-8); empty input when omitted. A stream is piped
   * into it as it comes instead (a program that talks with another one, see `runInSandboxes`).
   */
  stdin?: string | Readable;
  /** Forward stdout to this stream as it comes instead of collecting it (`stdout` stays empty); ended at exit. */
  stdoutTo?: Writable;
  /** Forward the side channel (needs `channel`) to this stream instead of collecting it; ended at exit. */
  channelTo?: Writable;
  /**
   * What passing `maxOutputBytes` on stdout or stderr does: `kill` the program with status
   * `output_limit` (default), or `truncate`: keep the first bytes, drain the rest and let it finish
   * (`truncated` says so). For programs whose output is not the answer, like a solution under test.
   */
  overflow?: 'kill' | 'truncate';
  /** Aborting it kills the execution (its result then says how it ended, usually `error`). */
  signal?: AbortSignal;
  /** Command-line arguments after the main file. */
  args?: string[];
  /**
   * Opens a side channel: fd 3 inside the sandbox is a write-only pipe whose content comes back as
   * `channel` (capped like stdout). Harnesses report results on it so the program's own prints
   * cannot mix with them.
   */
  channel?: boolean;
  /**
   * Trusted development only: run without bubblewrap (a plain subprocess with the same rlimits in a
   * temp directory, the host's files and network reachable). Logs a warning on every run.
   */
  unsafe?: boolean;
}

/**
 * How an execution ended. `ok`: exit status 0. `error`: non-zero exit or a signal. `timeout`: the
 * wall-clock or CPU limit passed. `memory`: the program hit its memory limit. `output_limit`: it wrote
 * more than `maxOutputBytes`. `infra_error`: the sandbox failed, not the program (retry; never a reward).
 */
export type SandboxStatus = 'ok' | 'error' | 'timeout' | 'memory' | 'output_limit' | 'infra_error';

/** What one execution produced. */
export interface SandboxResult {
  status: SandboxStatus;
  /** Exit status of the program (128 + n when killed by signal n); null when it never started. */
  exitCode: number | null;
  /** Standard output, UTF-8, at most `maxOutputBytes` bytes. */
  stdout: string;
  /** Standard error, UTF-8, at most `maxOutputBytes` bytes. */
  stderr: string;
  /** Side-channel output (fd 3) when `channel` was asked for; otherwise empty. */
  channel: string;
  /** True when stdout, stderr or the channel was cut at `maxOutputBytes`. */
  truncated: boolean;
  /** True when stdout itself was cut (an answer on stdout is then incomplete). */
  stdoutTruncated?: boolean;
  /** Wall-clock time from spawn to exit, milliseconds. */
  durationMs: number;
  /** For `infra_error`: why the sandbox failed. */
  error?: string;
  /** Whether the run was isolated (`false` in `unsafe` mode). */
  isolated: boolean;
}
