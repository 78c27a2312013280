/**
 * stdin/stdout cases: the program runs once per case in the sandbox (in parallel, through the pool),
 * fed the case's input; its output is compared here, outside the sandbox, with the expected output,
 * which the program never sees. stderr is cut at the output cap and drained (it is not the answer);
 * stdout may be as long as the expected output plus 64 KiB, past which it cannot be right.
 */
import { runInSandbox } from '../../sandbox/index.js';
import {
  DEFAULTS,
  type RunReport,
  type RunTestsOptions,
  summarize,
  type TestOutcome,
  tail,
} from './report.js';
import type { CodeTaskData } from './task.js';

const SLACK_BYTES = 64 << 10;

/** Runs the first `maxCases` cases of `task` on `program`. */
export async function runCases(
  task: CodeTaskData,
  program: string,
  opts: RunTestsOptions,
): Promise<RunReport> {
  const cases = (task.cases ?? []).slice(0, opts.maxCases ?? DEFAULTS.maxCases);
  const testMs = opts.testTimeoutMs ?? DEFAULTS.testTimeoutMs;
  const baseCap = opts.limits?.maxOutputBytes ?? 1 << 20;
  const runs = await Promise.all(
    cases.map((c) =>
      runInSandbox({
        ...opts.limits,
        language: task.language,
        code: program,
        stdin: c.input,
        timeoutMs: testMs,
        maxOutputBytes: Math.max(baseCap, Buffer.byteLength(c.output) + SLACK_BYTES),
        overflow: 'truncate',
        unsafe: opts.unsafe,
      }),
    ),
  );
  const tests = runs.map((run, i): TestOutcome => {
    const name = `case_${i}`;
    if (run.status === 'ok' && run.stdoutTruncated)
      return {
        name,
        status: 'fail',
        error: 'the output is longer than the expected output',
        ms: run.durationMs,
      };
    if (run.status === 'ok') {
      const want = normalizeOutput(cases[i]!.output);
      const got = normalizeOutput(run.stdout);
      return want === got
        ? { name, status: 'pass', ms: run.durationMs }
        : { name, status: 'fail', error: `expected ${clip(want)}, got ${clip(got)}`, ms: run.durationMs };
    }
    if (run.status === 'infra_error') return { name, status: 'not_run', error: run.error };
    return { name, status: run.status, error: tail(run.stderr).at(-1), ms: run.durationMs };
  });
  const failing = runs.find((r) => r.status !== 'ok') ?? runs[0];
  const infra = runs.find((r) => r.status === 'infra_error');
  const report = summarize(tests, {
    stderrTail: tail(failing?.stderr ?? ''),
    runStatus: failing?.status ?? 'not_run',
    outputTruncated: runs.some((r) => r.truncated),
    durationMs: runs.reduce((a, r) => Math.max(a, r.durationMs), 0),
  });
  return infra ? { ...report, infraError: infra.error ?? 'sandbox infrastructure error' } : report;
}

/** Trailing whitespace of each line and trailing blank lines do not count (competitive-programming judges). */
export function normalizeOutput(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n+$/, '');
}

const clip = (s: string): string => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
