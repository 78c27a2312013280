/**
 * HumanEval through the real sandbox and the `unit-tests` checker: the canonical solutions pass (all
 * 164 with the whole set, else the 30 of the committed excerpt), the same tasks with a wrong body fail, and a solution that sleeps past the limit scores 0 with a
 * timeout in the details.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import type { Task } from '../../environments/api.js';
import { getEnvironment } from '../../environments/registry.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { closeSandboxes } from '../../sandbox/index.js';
import { dataPath, hasFullData } from '../helpers/data.js';
import { sandboxProcesses } from '../sandbox/leftovers.js';

const env = getEnvironment('code-sandbox');
/** Generous checker budget: these runs queue behind each other on 2 cores. */
const BUDGET_MS = 600_000;

const score = (task: Task, completion: string, checker = 'unit-tests', config?: Record<string, unknown>) =>
  scoreTrajectory(
    [{ checker, weight: 1, config }],
    { completion, completionTokens: 0 },
    task,
    BUDGET_MS,
  ).then((o) => o.components[0]!);

describe('code-sandbox on HumanEval', () => {
  let tasks: { task: Task; canonical: string }[] = [];
  beforeAll(() => {
    const lines = readFileSync(dataPath('humaneval/HumanEval.jsonl'), 'utf8').trim().split('\n');
    tasks = lines.map((line, i) => {
      const record = JSON.parse(line) as { canonical_solution: string };
      return { task: env.parseTask(record, i), canonical: record.canonical_solution };
    });
  });

  it('passes every canonical solution', async () => {
    expect(tasks).toHaveLength(hasFullData('humaneval') ? 164 : 30);
    const results = await Promise.all(tasks.map(({ task, canonical }) => score(task, canonical)));
    const failed = results.flatMap((r, i) =>
      r.value === 1 ? [] : [`${tasks[i]!.task.id}: ${JSON.stringify(r.details)}`],
    );
    expect(failed).toEqual([]);
    await closeSandboxes();
    expect(sandboxProcesses()).toEqual([]);
  });

  it('fails every task when the body is wrong', async () => {
    const results = await Promise.all(tasks.map(({ task }) => score(task, '    return None\n')));
    const passed = results.flatMap((r, i) => (r.value === 0 ? [] : [tasks[i]!.task.id]));
    expect(passed).toEqual([]);
    expect(results[0]!.details.tests).toEqual([{ name: 'test_0', status: 'fail', error: 'AssertionError' }]);
  });

  it('scores a solution that sleeps past the time limit 0, with the timeout in the details', async () => {
    const { task } = tasks[0]!;
    const r = await score(task, '    import time\n    time.sleep(60)\n', 'unit-tests', {
      testTimeoutMs: 1000,
    });
    expect(r.value).toBe(0);
    expect(r.details.timeouts).toBe(1);
    expect(r.details.tests).toEqual([{ name: 'test_0', status: 'timeout', error: 'time limit exceeded' }]);
  });

  it('kills a solution that ignores the per-test alarm at the wall-clock limit, still a timeout', async () => {
    const { task } = tasks[2]!;
    const busy =
      '    import signal\n    signal.signal(signal.SIGALRM, signal.SIG_IGN)\n    while True:\n        pass\n';
    const r = await score(task, busy, 'unit-tests', { testTimeoutMs: 500 });
    expect(r.value).toBe(0);
    expect(r.details.run_status, JSON.stringify(r.details)).toBe('timeout');
    expect(r.details.timeouts).toBe(1);
  });

  it('accepts a full function in a fenced block (chat style) and a body in the completion style', async () => {
    const { task, canonical } = tasks[4]!;
    const prompt = (task.data as { codePrefix: string }).codePrefix;
    const fenced = `Here you go:\n\`\`\`python\n${prompt}${canonical}\`\`\`\nDone.`;
    const a = await score(task, fenced);
    expect(a.value).toBe(1);
    expect(a.details.extraction).toBe('full_function');
    const b = await score(task, `${canonical}\nif __name__ == "__main__":\n    print(1)\n`);
    expect(b.value).toBe(1);
    expect(b.details.extraction).toBe('body');
  });

  it('reports a crash in the solution with its last stderr-free error line, and sys.exit(0) does not pass', async () => {
    const { task } = tasks[0]!;
    const exit = await score(task, '    pass\nimport sys\nsys.exit(0)\n');
    expect(exit.value).toBe(0);
    expect(exit.details.tests).toEqual([
      { name: 'test_0', status: 'error', error: 'solution failed: SystemExit: 0' },
    ]);
    const osExit = await score(task, '    pass\nimport os\nos._exit(0)\n');
    expect(osExit.value).toBe(0);
    const syntax = await score(task, '    return (\n');
    expect(syntax.value).toBe(0);
    expect(JSON.stringify(syntax.details.tests)).toContain('SyntaxError');
  });
});
