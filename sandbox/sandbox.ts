/**
 * Runs untrusted programs isolated (bubblewrap; see `bwrap.ts` for the layers and why), with resource
 * limits, a wall-clock timeout that kills the whole PID namespace, capped output and a concurrency
 * pool sized to the cores. An infrastructure failure comes back as status `infra_error` (or a thrown
 * `SandboxUnavailableError` when the sandbox cannot work on this host at all), never as a program
 * failure.
 *
 * ```ts
 * const r = await runInSandbox({ code: 'print(input()[::-1])', stdin: 'abc', timeoutMs: 2000 });
 * // r.status === 'ok', r.stdout === 'cba\n'
 * ```
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { bwrapArgv, checkRelativePath, TOOLS } from './bwrap.js';
import { SandboxInfraError } from './errors.js';
import { tasksOfUid } from './ownTasks.js';
import { SandboxPool } from './pool.js';
import { ensureSandbox } from './probe.js';
import { encodeJob, RUNTIMES, type Runtime } from './runtimes.js';
import { type SpawnOutcome, type SpawnSpec, spawnCapture } from './spawn.js';
import { type SandboxLimits, type SandboxRequest, type SandboxResult, sandboxLimitsSchema } from './types.js';
import { WarmSandboxes } from './warm.js';

let pool: SandboxPool | undefined;
let warm: WarmSandboxes | undefined;
let warmEnabled = process.env.MULTIGYM_SANDBOX_WARM !== '0';
const EXIT_SIGXCPU = 128 + 24;

/**
 * Sets the size of the process-wide pool (default: the number of cores) and whether sandboxes are
 * started ahead of need (`warm`, default true unless `MULTIGYM_SANDBOX_WARM=0`; see `warm.ts`). Runs
 * already waiting keep their place in the old pool; idle warm sandboxes of the old pool are killed.
 */
export function configureSandbox(opts: { concurrency?: number; warm?: boolean }): void {
  void warm?.close();
  warm = undefined;
  if (opts.concurrency !== undefined) pool = new SandboxPool(opts.concurrency);
  if (opts.warm !== undefined) warmEnabled = opts.warm;
}

/** The process-wide pool. */
export function sandboxPool(): SandboxPool {
  pool ??= new SandboxPool();
  return pool;
}

/** Kills the idle pre-started sandboxes and waits until they are gone (tests, shutdown). */
export async function closeSandboxes(): Promise<void> {
  await warm?.close();
}

const isRoot = (): boolean => process.getuid?.() === 0;

/**
 * Runs one program in the sandbox, waiting for a pool slot first.
 *
 * @throws SandboxUnavailableError when isolated executions cannot start on this host (first call
 *   checks); RangeError for a file path that would leave the work directory or an invalid limit.
 * @returns the result; `status: 'infra_error'` (with `error`) when this one execution failed for a
 *   reason that is not the program's (retry it; never score it).
 */
export async function runInSandbox(req: SandboxRequest): Promise<SandboxResult> {
  return (await runInSandboxes([req]))[0]!;
}

/**
 * Runs several programs at once, each in a sandbox of its own (own namespaces, uid and work dir),
 * holding ONE pool slot: for programs that talk to each other through `stdin`/`stdoutTo`/`channelTo`
 * streams and take turns on the CPU (a solution and the judge of its tests). Holding one slot for
 * the group keeps two groups from each taking a slot and waiting for the second forever.
 *
 * @throws as `runInSandbox`.
 * @returns the results in request order.
 */
export async function runInSandboxes(reqs: SandboxRequest[]): Promise<SandboxResult[]> {
  const jobs = reqs.map((req) => {
    const language = req.language ?? 'python';
    const runtime = RUNTIMES[language];
    if (!runtime) throw new RangeError(`unsupported sandbox language "${language}"`);
    const files = Object.entries(req.files ?? {});
    for (const [path] of files) checkRelativePath(path);
    return { req, language, runtime, limits: sandboxLimitsSchema.parse(req), files };
  });
  for (const language of new Set(jobs.filter((j) => !j.req.unsafe).map((j) => j.language)))
    await ensureSandbox(language);
  const root = isRoot();
  const p = sandboxPool();
  const results = await p.with(() => Promise.all(jobs.map((job) => runOne(job, root, p))));
  // Refill pre-started sandboxes only while slots are free: when runs queue, they would not help.
  if (warmEnabled && p.active < p.size) {
    warm ??= new WarmSandboxes(p, root);
    for (const job of jobs.filter((j) => !j.req.unsafe))
      warm.fill(job.runtime, boxLimitsOf(job.limits, root), (p.size - p.active) * jobs.length);
  }
  return results;
}

/**
 * Limits of the sandbox itself. Without root the process budget is the user's, shared with everything
 * they run (see ownTasks.ts); rounded up so that pre-started sandboxes keep matching as the count moves.
 */
function boxLimitsOf(limits: SandboxLimits, root: boolean): SandboxLimits {
  if (root) return limits;
  return {
    ...limits,
    maxProcesses: limits.maxProcesses + Math.ceil(tasksOfUid(process.getuid!()) / 64) * 64,
  };
}

interface Job {
  req: SandboxRequest;
  runtime: Runtime;
  limits: SandboxLimits;
  files: [string, string][];
}

/** One program, inside a pool slot the caller holds: a pre-started sandbox if one is idle, else a cold start. */
async function runOne(
  { req, runtime, limits, files }: Job,
  root: boolean,
  p: SandboxPool,
): Promise<SandboxResult> {
  const io = {
    stdin: req.stdin ?? '',
    stdoutTo: req.stdoutTo,
    channelTo: req.channel ? req.channelTo : undefined,
    overflow: req.overflow,
    signal: req.signal,
  };
  if (req.unsafe) return classify(await runUnsafe(req, runtime, limits, files, io), runtime, false);
  const boxLimits = boxLimitsOf(limits, root);
  if (warmEnabled) {
    warm ??= new WarmSandboxes(p, root);
    const taken = warm.take(runtime, boxLimits);
    if (taken) {
      const job = encodeJob(runtime.mainFile, { [runtime.mainFile]: req.code, ...req.files }, req.args ?? []);
      const outcome = await taken.process.begin({
        ...io,
        fileContents: [job],
        timeoutMs: limits.timeoutMs,
      });
      taken.done();
      // A warm sandbox that died while waiting (killed, or bwrap failed) is not this program's run.
      if (!outcome.exitedBeforeBegin) {
        const result = classify(outcome, runtime, true);
        return req.channel ? result : { ...result, channel: '' };
      }
    }
  }
  const uid = root ? p.takeUid() : undefined;
  try {
    const outcome = await spawnCapture({
      argv: bwrapArgv({
        limits: boxLimits,
        files: [runtime.mainFile, ...files.map(([path]) => path)],
        argv: runtime.argv(runtime.mainFile, req.args ?? []),
      }),
      uid,
      env: { PATH: '/usr/bin:/bin' }, // bwrap's own environment: /proc/1/environ inside shows it
      ...io,
      fileContents: [req.code, ...files.map(([, c]) => c)],
      channel: req.channel ?? false,
      bwrapStatus: true,
      processGroup: false,
      timeoutMs: limits.timeoutMs,
      maxOutputBytes: limits.maxOutputBytes,
    });
    return classify(outcome, runtime, true);
  } finally {
    if (uid !== undefined) p.returnUid(uid);
  }
}

/**
 * Like `runInSandbox`, but an `infra_error` throws `SandboxInfraError` (retryable) so callers that
 * score programs cannot mistake it for the program's failure.
 */
export async function runInSandboxOrThrow(req: SandboxRequest): Promise<SandboxResult> {
  const result = await runInSandbox(req);
  if (result.status === 'infra_error')
    throw new SandboxInfraError(result.error ?? 'sandbox infrastructure error');
  return result;
}

/** Maps what the process did to a status (exported for tests). */
export function classify(o: SpawnOutcome, runtime: Runtime, isolated: boolean): SandboxResult {
  const base = {
    exitCode: o.exitCode,
    stdout: o.stdout,
    stderr: o.stderr,
    channel: o.channel,
    truncated: o.truncated,
    stdoutTruncated: o.stdoutCut ?? false,
    durationMs: Math.round(o.durationMs * 10) / 10,
    isolated,
  };
  if (o.spawnError) {
    return { ...base, status: 'infra_error', exitCode: null, error: `spawn failed: ${o.spawnError.message}` };
  }
  if (isolated && o.sandboxPid === undefined) {
    // bwrap never started the program: namespaces, mounts or fork failed (e.g. the host is out of
    // processes or memory), or it was killed while setting up.
    const why = o.timedOut
      ? 'sandbox setup did not finish before the timeout'
      : o.stderr.trim() || `bwrap exited ${o.exitCode}`;
    return { ...base, status: 'infra_error', exitCode: null, error: why };
  }
  if (o.outputLimitHit) return { ...base, status: 'output_limit' };
  if (o.timedOut || o.exitCode === EXIT_SIGXCPU) return { ...base, status: 'timeout' };
  if (o.exitCode === 0) return { ...base, status: 'ok' };
  if (runtime.memoryPatterns.some((re) => re.test(o.stderr))) return { ...base, status: 'memory' };
  return { ...base, status: 'error' };
}

/** Trusted development only: a plain subprocess with the same rlimits in a temp directory. */
async function runUnsafe(
  req: SandboxRequest,
  runtime: Runtime,
  limits: SandboxLimits,
  files: [string, string][],
  io: Pick<SpawnSpec, 'stdin' | 'stdoutTo' | 'channelTo' | 'overflow' | 'signal'>,
): Promise<SpawnOutcome> {
  console.warn(
    '[code-sandbox] WARNING: unsafe mode — running model-written code WITHOUT isolation (host files, network and ' +
      'environment are reachable). Use only with trusted code; remove `unsafe: true` for training.',
  );
  const dir = await mkdtemp(join(tmpdir(), 'multigym-unsafe-'));
  try {
    for (const [path, content] of [[runtime.mainFile, req.code] as [string, string], ...files]) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    const cpu = Math.ceil(limits.timeoutMs / 1000);
    return await spawnCapture({
      argv: [
        TOOLS.prlimit,
        `--cpu=${cpu}:${cpu + 1}`,
        `--as=${limits.memoryMb * 1024 * 1024}`,
        `--fsize=${limits.maxFileBytes}`,
        `--nofile=${limits.maxOpenFiles}`,
        '--core=0',
        '--',
        ...runtime.argv(runtime.mainFile, req.args ?? []),
      ],
      env: { PATH: '/usr/bin:/bin', HOME: dir, LANG: 'C.UTF-8' },
      cwd: dir,
      ...io,
      fileContents: [],
      channel: req.channel ?? false,
      bwrapStatus: false,
      processGroup: true,
      timeoutMs: limits.timeoutMs,
      maxOutputBytes: limits.maxOutputBytes,
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
