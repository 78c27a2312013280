/**
 * Unit-test runs for `bench/sandbox.ts`: one task's tests on its reference solution, either judged
 * (`runTests`: the solution in one sandbox, the judge with the tests in another) or the way a plain
 * harness would do it — one `python3` subprocess that runs solution and tests together, no isolation,
 * no judge. Tasks: the built-in easy set, plus HumanEval when the shared data is there.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allEasyTasks } from '../../environments/code-sandbox/easy.js';
import { runTests } from '../../environments/code-sandbox/runTests.js';
import { type CodeTaskData, parseCodeRecord } from '../../environments/code-sandbox/task.js';

/** A task and its reference program (prefix + body when the task has a prefix). */
export interface BenchTask {
  task: CodeTaskData;
  program: string;
}

/** The easy tasks and, if `dataDir/humaneval/HumanEval.jsonl` exists, HumanEval's first `humaneval`. */
export function benchTasks(dataDir: string, humaneval: number): { name: string; tasks: BenchTask[] }[] {
  const program = (t: CodeTaskData): string => (t.codePrefix ?? '') + t.solution!;
  const sets = [{ name: 'easy', tasks: allEasyTasks().map((task) => ({ task, program: program(task) })) }];
  const file = join(dataDir, 'humaneval/HumanEval.jsonl');
  if (existsSync(file)) {
    const records = readFileSync(file, 'utf8').trim().split('\n').slice(0, humaneval);
    const tasks = records.map((l, i) => parseCodeRecord(JSON.parse(l), i));
    sets.push({
      name: `HumanEval (first ${tasks.length})`,
      tasks: tasks.map((task) => ({ task, program: program(task) })),
    });
  }
  return sets;
}

let serial = 0;

/** Runs one task through the judge; throws unless every test passes. */
export async function judgedRun({ task, program }: BenchTask): Promise<void> {
  // A fresh comment per run: runTests memoises by program, and every run must execute.
  const r = await runTests(task, `${program}\n# run ${++serial}\n`, { extraction: 'whole' });
  if (r.passed !== r.total) throw new Error(`${task.source}: ${JSON.stringify(r.tests)}`);
}

/** The same tests in one plain `python3` process (solution, setup and tests together); throws unless all pass. */
export function plainRun({ task, program }: BenchTask, dir: string): Promise<void> {
  const main = join(dir, `main_${++serial}.py`); // runs go side by side: a file each
  writeFileSync(main, [program, task.setup ?? '', ...(task.tests ?? [])].join('\n'));
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/python3', ['-E', '-s', '-B', main], {
      cwd: dir,
      env: { PATH: '/usr/bin:/bin' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (d: Buffer) => {
      err += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      rmSync(main, { force: true });
      if (code === 0) resolve();
      else reject(new Error(`${task.source}: ${err}`));
    });
  });
}
