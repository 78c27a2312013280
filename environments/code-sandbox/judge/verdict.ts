/**
 * Reads the judge's reports (its fd 3: trusted, no solution output reaches it) into one outcome per
 * test, strictly: the lines must come in the order `judge.py` writes them, and a test without a
 * report never passes.
 */
import type { SandboxResult, SandboxStatus } from '../../../sandbox/index.js';
import type { TestOutcome, TestStatus } from '../report.js';
import type { JudgeSession } from './session.js';

/** The tests' outcomes, or why there are none that can be scored. */
export interface Verdict {
  tests: TestOutcome[];
  /** The solution's process broke the protocol (a forged or out-of-order line): every test failed. */
  violation?: string;
  /** The judge failed (a broken task, or a fault of ours): not the model's score. */
  judgeError?: string;
  /** A sandbox failed for reasons that are not the program's: retry, never score. */
  infraError?: string;
  /** How the solution's run ended, for the report. */
  runStatus: SandboxStatus;
}

type Line = Record<string, unknown>;
const JUDGE_STATUSES = new Set(['pass', 'fail', 'error', 'timeout', 'memory', 'exited', 'not_run']);
const SOLUTION_STATUSES = new Set(['error', 'timeout', 'memory', 'exited']);

/** How a process that stopped answering ended, as a test status. */
export function endedStatus(run: SandboxResult): TestStatus {
  if (run.status === 'timeout' || run.status === 'memory' || run.status === 'output_limit') return run.status;
  return 'error';
}

/** The verdict of one session for tests named `names`. */
export function readVerdict(session: JudgeSession, names: string[]): Verdict {
  const { solution, judge } = session;
  const notRun = (): TestOutcome[] => names.map((name) => ({ name, status: 'not_run' }));
  const infra = [solution, judge].find((r) => r.status === 'infra_error');
  if (infra)
    return {
      tests: notRun(),
      infraError: infra.error ?? 'sandbox infrastructure error',
      runStatus: 'infra_error',
    };
  const lines: Line[] = [];
  for (const text of judge.channel.split('\n')) {
    if (!text) continue;
    try {
      lines.push(JSON.parse(text) as Line);
    } catch {
      // only a last line cut by a kill can be partial; the order checks below catch the rest
    }
  }
  const tests = notRun();
  const fail = (judgeError: string): Verdict => ({ tests, judgeError, runStatus: solution.status });
  const first = lines.shift();
  if (!first) return judgeEnded(judge, tests, solution, fail);
  if (first.done === true)
    lines.unshift(first); // the judge stopped before the solution was ready
  else if (first.solution !== 'ok') {
    if (!SOLUTION_STATUSES.has(first.solution as string))
      return fail(`unexpected judge line ${JSON.stringify(first)}`);
    const status = first.solution === 'exited' ? endedStatus(solution) : (first.solution as TestStatus);
    const error = `${first.phase === 'setup' ? 'setup' : 'solution'} failed: ${String(first.error ?? status)}`;
    return { tests: tests.map((t) => ({ ...t, status, error })), runStatus: solution.status };
  }
  let next = 0;
  for (const line of lines) {
    if (line.done === true) {
      if (typeof line.judgeError === 'string') return fail(line.judgeError);
      if (typeof line.violation === 'string') {
        const error = `the solution's process broke the test protocol: ${line.violation}`;
        return {
          tests: tests.map((t) => ({ ...t, status: 'error', error })),
          violation: line.violation,
          runStatus: solution.status,
        };
      }
      if (next !== names.length) return fail(`the judge reported ${next} of ${names.length} tests`);
      return { tests, runStatus: runStatusOf(session, tests) };
    }
    const status = line.status as string;
    if (line.test !== next || next >= names.length || !JUDGE_STATUSES.has(status))
      return fail(`unexpected judge line ${JSON.stringify(line)}`);
    const error = typeof line.error === 'string' ? line.error : undefined;
    tests[next] = {
      name: names[next]!,
      status: status === 'exited' ? endedStatus(solution) : (status as TestStatus),
      ...(error === undefined ? {} : { error }),
      ms: typeof line.ms === 'number' ? line.ms : undefined,
    };
    next++;
  }
  return judgeEnded(judge, tests, solution, fail);
}

/** The judge stopped before its last line: killed at the wall clock (a timeout), or it failed. */
function judgeEnded(
  judge: SandboxResult,
  tests: TestOutcome[],
  solution: SandboxResult,
  fail: (e: string) => Verdict,
): Verdict {
  if (judge.status !== 'timeout')
    return fail(`the judge ended without a verdict (${judge.status}): ${judge.stderr.trim().slice(-1500)}`);
  const first = tests.find((t) => t.status === 'not_run');
  if (first) {
    first.status = 'timeout';
    first.error = 'the whole test run passed its time limit';
  }
  return { tests, runStatus: solution.status === 'ok' ? 'timeout' : solution.status };
}

/** The solution's run status; a solution killed because the judge had finished counts as it ended. */
function runStatusOf(session: JudgeSession, tests: TestOutcome[]): SandboxStatus {
  if (!session.solutionStopped) return session.solution.status;
  return tests.some((t) => t.status === 'timeout') ? 'timeout' : 'ok';
}
