/**
 * Reading the judge's reports (one unit: synthetic sandbox results, no sandbox). The judge's channel is
 * out of the solution's reach, and it is still read strictly: a duplicated, out-of-order, malformed or
 * missing line never turns into a pass.
 */
import { describe, expect, it } from 'vitest';
import type { JudgeSession } from '../../environments/code-sandbox/judge/session.js';
import { readVerdict } from '../../environments/code-sandbox/judge/verdict.js';
import type { SandboxResult } from '../../sandbox/index.js';

const run = (o: Partial<SandboxResult> = {}): SandboxResult => ({
  status: 'ok',
  exitCode: 0,
  stdout: '',
  stderr: '',
  channel: '',
  truncated: false,
  durationMs: 1,
  isolated: true,
  ...o,
});
const session = (
  reports: object[],
  judge: Partial<SandboxResult> = {},
  solution: Partial<SandboxResult> = {},
) =>
  ({
    solution: run(solution),
    judge: run({ ...judge, channel: reports.map((r) => `${JSON.stringify(r)}\n`).join('') }),
    solutionStopped: false,
  }) satisfies JudgeSession;
const NAMES = ['test_0', 'test_1'];
const ok = { solution: 'ok' };
const pass = (i: number) => ({ test: i, status: 'pass', ms: 1 });
const done = { done: true };

describe('readVerdict', () => {
  it('reads a complete, ordered report', () => {
    const v = readVerdict(
      session([ok, pass(0), { test: 1, status: 'fail', error: 'AssertionError', ms: 2 }, done]),
      NAMES,
    );
    expect(v.tests.map((t) => t.status)).toEqual(['pass', 'fail']);
    expect(v.judgeError).toBeUndefined();
  });

  it('refuses duplicated, out-of-order, unknown-status and missing lines', () => {
    const broken = [
      [ok, pass(0), pass(0), done],
      [ok, pass(1), pass(0), done],
      [ok, pass(0), { test: 1, status: 'passed', ms: 1 }, done],
      [ok, pass(0), done],
      [ok, pass(0), pass(1), pass(2), done],
      [pass(0), pass(1), done],
    ];
    for (const lines of broken) {
      const v = readVerdict(session(lines), NAMES);
      expect(v.judgeError, JSON.stringify(lines)).toBeDefined();
    }
  });

  it('passes nothing when the judge stopped before its last line', () => {
    const crashed = readVerdict(session([ok, pass(0)], { status: 'error', stderr: 'Traceback…' }), NAMES);
    expect(crashed.judgeError).toMatch(/without a verdict/);
    const slow = readVerdict(session([ok, pass(0)], { status: 'timeout' }), NAMES);
    expect(slow.tests.map((t) => t.status)).toEqual(['pass', 'timeout']);
    const silent = readVerdict(session([], { status: 'timeout' }), NAMES);
    expect(silent.tests.map((t) => t.status)).toEqual(['timeout', 'not_run']);
  });

  it('fails every test on a protocol violation, even those reported as passed before it', () => {
    const v = readVerdict(session([ok, pass(0), { done: true, violation: 'reply out of order' }]), NAMES);
    expect(v.violation).toBe('reply out of order');
    expect(v.tests.map((t) => t.status)).toEqual(['error', 'error']);
  });

  it('gives every test the failure of the solution, and an ended process the status it ended with', () => {
    const v = readVerdict(
      session([{ solution: 'error', phase: 'solution', error: 'SystemExit: 0' }, done]),
      NAMES,
    );
    expect(v.tests).toEqual(
      NAMES.map((name) => ({ name, status: 'error', error: 'solution failed: SystemExit: 0' })),
    );
    const oom = readVerdict(
      session(
        [ok, { test: 0, status: 'exited', ms: 1 }, { test: 1, status: 'not_run', ms: 0 }, done],
        {},
        { status: 'memory' },
      ),
      NAMES,
    );
    expect(oom.tests.map((t) => t.status)).toEqual(['memory', 'not_run']);
  });

  it('is an infrastructure error, not a verdict, when either sandbox failed to start', () => {
    const v = readVerdict(
      session([ok, pass(0), pass(1), done], {}, { status: 'infra_error', error: 'bwrap: fork failed' }),
      NAMES,
    );
    expect(v.infraError).toBe('bwrap: fork failed');
    expect(v.tests.every((t) => t.status === 'not_run')).toBe(true);
  });
});
