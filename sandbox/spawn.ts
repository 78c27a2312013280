/**
 * Spawns one execution and collects what it wrote: capped stdout/stderr/side channel, a wall-clock
 * timeout, bwrap's JSON status (to tell "bwrap never started the program" from "the program
 * failed"), and a kill that takes the whole PID namespace down.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { FD } from './bwrap.js';

/** What to spawn. */
export interface ProcessSpec {
  argv: string[];
  /** Run as this uid and gid, with no supplementary groups (only when Node runs as root). */
  uid?: number;
  env: Record<string, string>;
  cwd?: string;
  /** Pipes opened on fds FD.firstFile…, written at `begin` (bwrap `--file` copies them into the sandbox). */
  fileFds: number;
  channel: boolean;
  /** Read bwrap's `--json-status-fd` on FD.status. */
  bwrapStatus: boolean;
  /** Spawn in a new process group and kill the group at the end (unsafe mode, no PID namespace). */
  processGroup: boolean;
  maxOutputBytes: number;
  /** Until `begin`, do not keep Node's event loop alive for this process (a pre-started sandbox). */
  idle?: boolean;
}

/** What an execution is given when it begins. */
export interface BeginInput {
  /** Bytes for stdin (then closed), or a stream piped into it as it comes (interactive programs). */
  stdin: string | Readable;
  /** One string (UTF-8) or buffer per file fd. */
  fileContents: (string | Buffer)[];
  /** Wall-clock limit from `begin`, ms. */
  timeoutMs: number;
  /** Forward stdout / the side channel to these streams as they come (not collected); ended at exit. */
  stdoutTo?: Writable;
  channelTo?: Writable;
  /** What passing `maxOutputBytes` on a collected stream does: kill the program (default) or cut and go on. */
  overflow?: 'kill' | 'truncate';
  /** Kills the execution when aborted. */
  signal?: AbortSignal;
}

/** A process spawned now and given its input (and its clock) later: see `startProcess`. */
export interface StartedProcess {
  /** False once the process has exited. */
  readonly alive: boolean;
  /** Host pid of the sandbox's program once bwrap reported it (the process is set up and waiting). */
  readonly sandboxPid: number | undefined;
  /** Writes the input, starts the wall clock and resolves when the process is gone. Call once. */
  begin(input: BeginInput): Promise<SpawnOutcome>;
  /** Kills a process that will not be begun; resolves once it has exited. */
  dispose(): Promise<SpawnOutcome>;
}

/** Spawn spec and input of a one-shot execution. */
export type SpawnSpec = Omit<ProcessSpec, 'fileFds'> & BeginInput;

/** What came back. */
export interface SpawnOutcome {
  /** Set when the process could not be spawned at all (ENOENT, EAGAIN…). */
  spawnError?: NodeJS.ErrnoException;
  /** Exit status as the shell reports it (128 + n for signal n), null if unknown. */
  exitCode: number | null;
  stdout: string;
  stderr: string;
  channel: string;
  truncated: boolean;
  /** stdout itself was cut. */
  stdoutCut?: boolean;
  /** A stream passed `maxOutputBytes` and the execution was killed for it. */
  outputLimitHit: boolean;
  /** The wall-clock limit passed and the execution was killed for it. */
  timedOut: boolean;
  /** Host pid of the sandbox's PID-namespace init, from bwrap's status; absent if bwrap never got there. */
  sandboxPid?: number;
  /** The process had already exited when `begin` was called (a pre-started sandbox that died waiting). */
  exitedBeforeBegin?: boolean;
  /** From `begin` to exit, ms. */
  durationMs: number;
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGTERM: 15,
  SIGXCPU: 24,
  SIGXFSZ: 25,
};
/** Grace for the pipes to drain after the process exits, ms. */
const DRAIN_MS = 2000;
/** Time bwrap has to exit after its program was killed before it is killed too, ms. */
const ESCALATE_MS = 1000;

/** Runs one spawn spec to completion. Never throws; spawn failures come back in `spawnError`. */
export function spawnCapture(spec: SpawnSpec): Promise<SpawnOutcome> {
  return startProcess({ ...spec, fileFds: spec.fileContents.length }).begin(spec);
}

/**
 * Spawns a process whose input and wall clock come later (`begin`), so that a sandbox can be set up
 * ahead of need. Never throws; spawn failures come back in the outcome's `spawnError`.
 */
export function startProcess(spec: ProcessSpec): StartedProcess {
  let started = performance.now();
  const stdio: StdioSlot[] = [
    'pipe',
    'pipe',
    'pipe',
    spec.channel ? 'pipe' : 'ignore',
    spec.bwrapStatus ? 'pipe' : 'ignore',
  ];
  for (let i = 0; i < spec.fileFds; i++) stdio.push('pipe');
  const [bin, ...args] = shadowInheritedFds(spec.argv, stdio);
  let child: ChildProcess;
  try {
    const ids = spec.uid === undefined ? {} : { uid: spec.uid, gid: spec.uid };
    child = spawn(bin!, args, {
      stdio,
      env: spec.env,
      cwd: spec.cwd ?? '/',
      detached: spec.processGroup,
      ...ids,
    });
  } catch (err) {
    const outcome = failed(err as NodeJS.ErrnoException, started);
    return {
      alive: false,
      sandboxPid: undefined,
      begin: () => Promise.resolve(outcome),
      dispose: () => Promise.resolve(outcome),
    };
  }

  let total = 0;
  const out = {
    stdout: new Collector(spec.maxOutputBytes),
    stderr: new Collector(spec.maxOutputBytes),
    channel: new Collector(spec.maxOutputBytes),
  };
  let status = '';
  let sandboxPid: number | undefined;
  let exited = false;
  let begun = false;
  let timedOut = false;
  let outputLimitHit = false;
  let spawnError: NodeJS.ErrnoException | undefined;
  let timer: NodeJS.Timeout | undefined;
  let escalation: NodeJS.Timeout | undefined;
  let resolveOutcome!: (o: SpawnOutcome) => void;
  const outcome = new Promise<SpawnOutcome>((r) => {
    resolveOutcome = r;
  });

  let killRequested = false;
  const kill = () => {
    if (exited) return;
    killRequested = true;
    if (!child.pid) return;
    const target = spec.processGroup ? -child.pid : child.pid;
    if (!spec.bwrapStatus) {
      tryKill(target); // no sandbox (unsafe mode): the process group is all there is
      return;
    }
    // Kill the program, which is pid 1 of the sandbox's PID namespace: its death kills every process
    // inside, and bwrap, its parent, reaps it and exits. Killing bwrap first would orphan the program
    // (a zombie left to the host's init), so when bwrap has not reported the program's pid yet the
    // kill waits for it (see the status reader); bwrap itself is killed only if it has not exited soon
    // after (its --die-with-parent then takes the program down).
    if (sandboxPid) tryKill(sandboxPid);
    escalation ??= setTimeout(() => {
      if (exited) return;
      // bwrap's child, killed first even when its pid never came: orphaned during set-up it would
      // wait for bwrap forever (it has no parent-death signal yet).
      for (const pid of childrenOf(child.pid!)) tryKill(pid);
      tryKill(target);
    }, ESCALATE_MS);
  };

  // Where each output stream goes; set at `begin` (a pre-started sandbox gets its program, and so its
  // consumers, later). Until then nothing is written (the interpreter waits for its job).
  const route: { stdout?: Writable; channel?: Writable; overflow: 'kill' | 'truncate' } = {
    overflow: 'kill',
  };
  const collect = (
    stream: Readable | null | undefined,
    sink: Collector,
    forward: () => Writable | undefined,
  ) => {
    stream?.on('data', (chunk: Buffer) => {
      const to = forward();
      if (to) {
        // Backpressure: a consumer that stops reading stops the program's writes, not Node's memory.
        if (!to.write(chunk)) {
          stream.pause();
          to.once('drain', () => stream.resume());
        }
        return;
      }
      if (!sink.push(chunk) && !outputLimitHit && route.overflow === 'kill') {
        outputLimitHit = true;
        kill();
      }
    });
    stream?.on('end', () => endOnce(forward()));
    stream?.on('error', () => {});
  };
  collect(child.stdout, out.stdout, () => route.stdout);
  collect(child.stderr, out.stderr, () => undefined);
  if (spec.channel) collect(child.stdio[FD.channel] as Readable, out.channel, () => route.channel);
  const statusStream = spec.bwrapStatus ? (child.stdio[FD.status] as Readable) : undefined;
  statusStream?.on('data', (chunk: Buffer) => {
    status += chunk.toString('utf8');
    const m = /"child-pid"\s*:\s*(\d+)/.exec(status);
    if (m && sandboxPid === undefined) {
      sandboxPid = Number(m[1]);
      if (killRequested) tryKill(sandboxPid);
    }
  });
  statusStream?.on('error', () => {});
  child.stdin?.on('error', () => {}); // EPIPE when the program exits without reading: not our failure
  const files = Array.from(
    { length: spec.fileFds },
    (_, i) => child.stdio[FD.firstFile + i] as unknown as Writable & Readable,
  );
  for (const f of files) {
    f.on('error', () => {});
    f.on('data', () => {}); // a program writing into a consumed file fd is ignored, not buffered
  }

  child.on('error', (err: NodeJS.ErrnoException) => {
    spawnError = err;
  });
  child.on('exit', (code, signal) => {
    exited = true;
    total = performance.now() - started;
    clearTimeout(timer);
    clearTimeout(escalation);
    // unsafe mode: no PID namespace, so take down what the program left in its process group.
    if (spec.processGroup && child.pid) tryKill(-child.pid);
    const exitCode = code ?? (signal ? 128 + (SIGNALS[signal] ?? 0) : null);
    const drain = setTimeout(() => finish(exitCode), DRAIN_MS);
    child.on('close', () => {
      clearTimeout(drain);
      finish(exitCode);
    });
  });
  // 'exit' never comes when spawn itself failed.
  child.on('close', () => {
    if (!exited) finish(null);
  });

  const handles = [child, ...child.stdio] as ({ ref?: () => void; unref?: () => void } | null)[];
  if (spec.idle) for (const h of handles) h?.unref?.();

  let done = false;
  function finish(exitCode: number | null) {
    if (done) return;
    done = true;
    clearTimeout(timer);
    for (const s of child.stdio) (s as Readable | null)?.destroy?.();
    endOnce(route.stdout);
    endOnce(route.channel);
    const exitStatus = /"exit-code"\s*:\s*(\d+)/.exec(status);
    resolveOutcome({
      spawnError,
      exitCode: exitStatus ? Number(exitStatus[1]) : exitCode,
      stdout: out.stdout.text(),
      stderr: out.stderr.text(),
      channel: out.channel.text(),
      truncated: out.stdout.cut || out.stderr.cut || out.channel.cut,
      stdoutCut: out.stdout.cut,
      outputLimitHit,
      timedOut,
      sandboxPid,
      exitedBeforeBegin: !begun,
      durationMs: total || performance.now() - started,
    });
  }

  return {
    get alive() {
      return !exited && !done;
    },
    get sandboxPid() {
      return sandboxPid;
    },
    begin(input: BeginInput) {
      if (begun) throw new Error('startProcess: begin() called twice');
      begun = !exited;
      started = performance.now();
      if (spec.idle) for (const h of handles) h?.ref?.();
      // A process that died before its input came leaves the streams alone: the caller starts another.
      if (!exited) {
        route.stdout = input.stdoutTo;
        route.channel = input.channelTo;
        route.overflow = input.overflow ?? 'kill';
        timer = setTimeout(() => {
          timedOut = true;
          kill();
        }, input.timeoutMs);
        if (input.signal?.aborted) kill();
        input.signal?.addEventListener('abort', kill, { once: true });
        void outcome.then(() => input.signal?.removeEventListener('abort', kill));
        if (typeof input.stdin === 'string') child.stdin?.end(input.stdin);
        else if (child.stdin) input.stdin.pipe(child.stdin);
        files.forEach((f, i) => {
          f.end(input.fileContents[i] ?? '');
        });
      }
      return outcome;
    },
    dispose() {
      if (!begun) kill();
      return outcome;
    },
  };
}

const endOnce = (w: Writable | undefined): void => {
  if (w && !w.writableEnded) w.end();
};

/** Keeps the first `cap` bytes of a stream. */
class Collector {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  cut = false;
  constructor(private readonly cap: number) {}
  /** Returns false once the cap is passed. */
  push(chunk: Buffer): boolean {
    if (this.cut) return false;
    const room = this.cap - this.size;
    if (chunk.length > room) {
      this.chunks.push(chunk.subarray(0, room));
      this.size = this.cap;
      this.cut = true;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

const O_CLOEXEC = 0o2000000;
const BASH = '/bin/bash';
/** Leaked fds below this are shadowed through the stdio array; above it, a bash closes them. */
const MAX_SHADOWED_FD = 1024;
/** How long a scan of this process's inheritable fds is reused, ms (Node's own fds are all close-on-exec). */
const SCAN_TTL_MS = 1000;

type StdioSlot = 'pipe' | 'ignore' | number;
let scan: { at: number; fds: number[] } | undefined;
let devNull: number | undefined;

/** Fds of this process that a child would inherit (no close-on-exec), from /proc; cached briefly. */
function inheritableFds(): number[] {
  const now = performance.now();
  if (scan && now - scan.at < SCAN_TTL_MS) return scan.fds;
  let fds: number[] = [];
  try {
    fds = readdirSync('/proc/self/fd')
      .map(Number)
      .filter((fd) => fd > 2 && fd !== devNull && !isCloexec(fd));
  } catch {
    // no /proc: nothing we can check
  }
  scan = { at: now, fds };
  return fds;
}

/**
 * Node does not close file descriptors it inherited without close-on-exec (a parent's pipe, say), so
 * every child would inherit them — and a sandboxed program could write to them. Each such fd past the
 * ones we pass is shadowed in the child by /dev/null (the stdio array dup2s it over the fd: no extra
 * process); fds too high for that are closed by a bash prefix instead (about 3 ms).
 */
function shadowInheritedFds(argv: string[], stdio: StdioSlot[]): string[] {
  const leaked = inheritableFds().filter((fd) => fd >= stdio.length);
  const high = leaked.filter((fd) => fd >= MAX_SHADOWED_FD);
  for (const fd of leaked) {
    if (fd >= MAX_SHADOWED_FD) continue;
    devNull ??= openSync('/dev/null', 'r');
    while (stdio.length < fd) stdio.push('ignore');
    stdio[fd] = devNull;
  }
  if (high.length === 0) return argv;
  const closes = high.map((fd) => `exec ${fd}>&-`).join('; ');
  return [BASH, '--norc', '--noprofile', '-c', `${closes}; exec "$@"`, 'bash', ...argv];
}

function isCloexec(fd: number): boolean {
  try {
    const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return flags ? (Number.parseInt(flags[1]!, 8) & O_CLOEXEC) !== 0 : true;
  } catch {
    return true; // closed meanwhile (the fd of readdir itself)
  }
}

/** Host pids whose parent is `parent` (from /proc; empty when unreadable). */
function childrenOf(parent: number): number[] {
  const out: number[] = [];
  try {
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        // "pid (comm) state ppid …": comm may contain spaces, so split after the last ')'.
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) out.push(Number(name));
      } catch {
        // exited meanwhile
      }
    }
  } catch {
    // no /proc
  }
  return out;
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function failed(err: NodeJS.ErrnoException, started: number): SpawnOutcome {
  return {
    spawnError: err,
    exitCode: null,
    stdout: '',
    stderr: '',
    channel: '',
    truncated: false,
    outputLimitHit: false,
    timedOut: false,
    durationMs: performance.now() - started,
  };
}
