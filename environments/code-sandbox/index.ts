/**
 * The `code-sandbox` environment: write a program, scored by running unit tests on it in a bubblewrap
 * sandbox (see the top-level `sandbox/`).
 *
 * Tasks come from a data set (HumanEval, MBPP, or stdin/stdout `{inputs, outputs}` records; JSONL or a
 * JSON array) or, with none, from the built-in easy tasks (one-line Python functions: the CPU default
 * and a curriculum's first rung). Tasks follow a seeded shuffle per epoch of the data set, so
 * (seed, split, start) fixes the stream. A rollout samples the group, then runs every sample's tests
 * (through the sandbox pool) and stores the report in `extra.tests`, so the `unit-tests` and
 * `unit-tests-fraction` checkers need not run them again. A sample whose sandbox failed for
 * infrastructure reasons keeps its report (with `infraError`) and stays a sample: the checkers run its
 * tests again, and while the sandbox still fails they report `infra_error`, which the rollout activity
 * retries by scoring again without sampling again; it is never scored 0.
 */

import { ensureSandbox } from '../../sandbox/index.js';
import { defineEnvironment, type Task } from '../api.js';
import { epochOrder } from '../epochOrder.js';
import { singleTurnRollout } from '../singleTurn.js';
import { CodeSandboxConfig } from './config.js';
import { loadCodeDataset } from './dataset.js';
import { easyTasks } from './easy.js';
import { promptText, referenceCompletion, renderPrompt } from './prompt.js';
import { type RunTestsOptions, runTests } from './runTests.js';
import { type CodeTaskData, parseCodeRecord } from './task.js';

export { CodeSandboxConfig } from './config.js';
export type { TestReport } from './runTests.js';
export type { CodeTaskData } from './task.js';

/** Task data of a task of this environment. */
const dataOf = (task: Task): CodeTaskData => task.data as unknown as CodeTaskData;

/** Test-run options from the environment config. */
export const testOptions = (config: CodeSandboxConfig): RunTestsOptions => ({
  limits: config.limits,
  testTimeoutMs: config.testTimeoutMs,
  maxCases: config.maxCases,
  extraction: config.extraction,
  unsafe: config.unsafe,
});

/** The code-sandbox environment plugin. */
export const codeSandboxEnvironment = defineEnvironment({
  name: 'code-sandbox',
  description:
    'Python programming tasks (HumanEval, MBPP, stdin/stdout, built-in easy set) scored by unit tests in a sandbox.',
  configSchema: CodeSandboxConfig,
  // Scoring text without a rollout runs the tests inside the checker: allow for slow test suites.
  checkerTimeoutMs: 60_000,

  async *tasks(config, ctx) {
    const ds = config.dataset
      ? await loadCodeDataset(config.dataset, ctx.split, ctx.dataDir)
      : { name: 'easy', split: ctx.split, tasks: easyTasks(ctx.split) };
    const keyOf = (e: number) => `${ctx.seed}:${ctx.split}:code-sandbox:${ds.name}:${e}`;
    for (const index of epochOrder(ds.tasks.length, ctx.start, keyOf)) {
      const data = ds.tasks[index]!;
      yield { id: `${ds.name}/${ds.split}/${index}`, data: data as unknown as Task['data'] };
    }
  },

  async rollout(task, policy, ctx, config) {
    if (!config.unsafe) await ensureSandbox(dataOf(task).language); // fail before sampling, not after
    const trajectories = await singleTurnRollout(renderPrompt(dataOf(task), config.prompt), policy, ctx);
    const options = testOptions(config);
    return Promise.all(
      trajectories.map(async (t) => {
        if (t.status !== 'ok') return t;
        const report = await runTests(dataOf(task), t.completion, {
          ...options,
          finishReason: t.finishReason,
        });
        ctx.heartbeat?.();
        // A report with `infraError` is kept as is: the checkers run such tests again (see above).
        return { ...t, extra: { ...t.extra, tests: report as unknown as Task['data'] } };
      }),
    );
  },

  rewards: [{ checker: 'unit-tests', weight: 1 }],

  parseTask(record, index) {
    const data = parseCodeRecord(record, index);
    return { id: data.source, data: data as unknown as Task['data'] };
  },

  async demonstration(task, config) {
    const data = dataOf(task);
    const completion = referenceCompletion(data, config.prompt);
    if (completion === undefined) return undefined;
    return { prompt: promptText(renderPrompt(data, config.prompt)), completion };
  },
});

export default codeSandboxEnvironment;
