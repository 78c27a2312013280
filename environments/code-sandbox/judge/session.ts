/**
 * One unit-test run of a solution: two sandboxes, connected through this process.
 *
 * - The solution's sandbox runs `runner.py`: it executes the program (and the task's setup code), then
 *   answers requests — look a name up, call a function — writing each result as plain data (`codec.py`)
 *   on fd 3. It holds no test and no expected value.
 * - The judge's sandbox runs `judge.py` (with `link.py`, `codec.py`): the task's prompt, setup and tests
 *   run there, trusted, with the solution's names bound to proxies that send requests down its stdout
 *   and read the replies on its stdin; its verdicts come out on its own fd 3, which no solution output
 *   reaches.
 *
 * The two sandboxes have separate PID namespaces, uids and work dirs and hold one pool slot between
 * them (they take turns on the CPU). The solution's stdout/stderr are cut at the output cap and
 * drained (never the verdict's business); it is killed as soon as the judge has reported.
 */
import { readFileSync } from 'node:fs';
import { PassThrough, Writable } from 'node:stream';
import {
  runInSandboxes,
  type SandboxLanguage,
  type SandboxLimits,
  type SandboxResult,
} from '../../../sandbox/index.js';

const source = (name: string): string => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');
const RUNNER_PY = source('runner.py');
const JUDGE_PY = source('judge.py');
const LINK_PY = source('link.py');
const CODEC_PY = source('codec.py');

/** What the judge reads from `spec.json` (see `judge.py`). */
export interface JudgeSpec {
  /** Trusted code run before the tests in the judge (HumanEval's prompt: imports, helpers). */
  prefix: string;
  /** The task's setup code, run in both processes (the judge's copy may fail: names then come from the solution). */
  setup: string;
  tests: string[];
  /** The function under test: always the solution's, even where the prompt or a builtin has the name. */
  entryPoint: string | null;
  solutionTimeoutS: number;
  testTimeoutS: number;
  /** Time allowed for the solution's sandbox and interpreter to start, seconds. */
  startupS: number;
}

/** How one session went: both sandboxes' results; the judge's reports are its `channel`. */
export interface JudgeSession {
  solution: SandboxResult;
  judge: SandboxResult;
  /** The solution was still running when the judge finished, and was killed for it. */
  solutionStopped: boolean;
}

/** Options of a session. */
export interface SessionOptions {
  language: SandboxLanguage;
  limits?: Partial<SandboxLimits>;
  /** Wall clock of the solution's sandbox, ms; the judge gets `startupS` more to report. */
  timeoutMs: number;
  unsafe?: boolean;
}

/**
 * Runs `program` against `spec` and returns both sandboxes' results.
 * @throws SandboxUnavailableError when sandboxes cannot start on this host.
 */
export async function runJudged(
  program: string,
  spec: JudgeSpec,
  opts: SessionOptions,
): Promise<JudgeSession> {
  const toSolution = new PassThrough();
  const toJudge = new PassThrough();
  const stop = new AbortController();
  let reports = '';
  // The judge's reports, watched for its last line: after it the solution has nothing left to do.
  const verdicts = new Writable({
    write(chunk: Buffer, _encoding, done) {
      reports += chunk.toString('utf8');
      if (reports.includes('{"done":true')) stop.abort();
      done();
    },
    final(done) {
      stop.abort();
      done();
    },
  });
  const files: Record<string, string> = {
    'codec.py': CODEC_PY,
    'solution.py': program,
    'limits.json': JSON.stringify({ solutionTimeoutS: spec.solutionTimeoutS }),
  };
  if (spec.setup) files['setup.py'] = spec.setup;
  const common = { ...opts.limits, language: opts.language, channel: true, unsafe: opts.unsafe };
  const [solution, judge] = await runInSandboxes([
    {
      ...common,
      code: RUNNER_PY,
      files,
      stdin: toSolution,
      channelTo: toJudge,
      overflow: 'truncate',
      signal: stop.signal,
      timeoutMs: opts.timeoutMs,
    },
    {
      ...common,
      code: JUDGE_PY,
      files: { 'codec.py': CODEC_PY, 'link.py': LINK_PY, 'spec.json': JSON.stringify(spec) },
      stdin: toJudge,
      stdoutTo: toSolution,
      channelTo: verdicts,
      overflow: 'truncate',
      timeoutMs: opts.timeoutMs + spec.startupS * 1000,
    },
  ]);
  return {
    solution: solution!,
    judge: { ...judge!, channel: reports },
    solutionStopped: stop.signal.aborted && solution!.exitCode === 137,
  };
}
