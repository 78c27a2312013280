/**
 * The files of a new plugin package (`multigym plugin new NAME`): a single-turn environment whose
 * tasks a seeded generator makes (add two integers), its own checker, a test of both with Node's test
 * runner, a README and a package.json depending on multigym (a `file:` path until it is published)
 * and zod. As generated it passes `multigym plugin test`.
 */

/** File path (relative to the package) → contents, for a plugin named `name` (kebab-case). */
export function pluginTemplate(name: string, multigymDependency: string): Record<string, string> {
  const checker = `${name}-answer`;
  return {
    'package.json': `${JSON.stringify(
      {
        name,
        version: '0.1.0',
        description: `multigym environment "${name}" with its checker "${checker}"`,
        type: 'module',
        exports: { '.': './index.ts' },
        files: ['*.ts', 'README.md'],
        scripts: {
          test: 'node --import tsx --test test/*.test.ts',
          'test:contract': 'multigym plugin test .',
        },
        dependencies: { multigym: multigymDependency, zod: '^4.0.0' },
        devDependencies: { tsx: '^4.0.0' },
      },
      null,
      2,
    )}\n`,
    'index.ts': `/**
 * The plugin: multigym loads this module's default export (\`--plugin PATH\`, \`MULTIGYM_PLUGINS\`
 * or a run config's "plugins").
 */
import checker from './checker.js';
import environment from './environment.js';

export default [environment, checker];
`,
    'tasks.ts': `/**
 * The tasks: two integers to add, drawn from a generator seeded by (seed, split, index), so the same
 * run seed gives the same tasks in the same order on every worker, and any index can be computed
 * without the ones before it (\`keyedRng\`: the seeded stream multigym's own environments use).
 */
import { keyedRng } from 'multigym';

/** What a task holds: JSON only (strings, finite numbers, booleans, null, arrays, plain objects). */
export interface SumTask {
  a: number;
  b: number;
}

/** Task \`index\` of (seed, split): operands in [0, max]. */
export function taskAt(seed: number, split: string, index: number, max: number): SumTask {
  const rand = keyedRng([seed, split, index].join('\\u0000'));
  return { a: Math.floor(rand() * (max + 1)), b: Math.floor(rand() * (max + 1)) };
}
`,
    'environment.ts': `/**
 * The "${name}" environment: one prompt per task, answered in one turn (\`singleTurnRollout\`),
 * scored by "${checker}".
 */
import { defineEnvironment, singleTurnRollout } from 'multigym';
import { z } from 'zod';
import { type SumTask, taskAt } from './tasks.js';

/** The environment's block in a run config: \`"config": { "max": 99 }\`. */
export const Config = z
  .object({
    max: z.number().int().min(1).max(1_000_000).default(99).describe('Largest operand.'),
  })
  .strict();

const prompt = (t: SumTask) => \`What is \${t.a} + \${t.b}? End with "Answer: <number>".\`;

export default defineEnvironment<typeof Config, SumTask>({
  name: '${name}',
  description: 'Add two integers (a seeded generator); answer checked by ${checker}.',
  configSchema: Config,
  async *tasks(config, ctx) {
    for (let i = ctx.start; ; i++) {
      yield { id: \`${name}/\${ctx.split}/\${i}\`, data: taskAt(ctx.seed, ctx.split, i, config.max) };
    }
  },
  rollout: (task, policy, ctx) => singleTurnRollout({ text: prompt(task.data) }, policy, ctx),
  rewards: [{ checker: '${checker}', weight: 1 }],
  parseTask(record, index) {
    const r = record as Partial<SumTask> | undefined;
    if (!Number.isInteger(r?.a) || !Number.isInteger(r?.b)) {
      throw new Error(\`${name} task \${index}: expected {"a": <integer>, "b": <integer>}\`);
    }
    return { id: \`${name}/\${index}\`, data: { a: r.a!, b: r.b! } };
  },
  demonstration: async (task) => ({
    prompt: prompt(task.data),
    completion: \`\${task.data.a} + \${task.data.b} = \${task.data.a + task.data.b}. Answer: \${task.data.a + task.data.b}\`,
  }),
});
`,
    'checker.ts': `/**
 * "${checker}": 1 when the last "Answer: <integer>" of the completion is a + b, else 0. A completion
 * without an answer scores 0 (the model's failure); the checker never throws on model output.
 */
import { defineReward } from 'multigym';
import { z } from 'zod';

export default defineReward({
  name: '${checker}',
  description: '1 when the final "Answer: <integer>" equals a + b, else 0 (range [0, 1]).',
  configSchema: z.object({}).strict(),
  range: [0, 1],
  score(trajectory, task) {
    const answers = [...trajectory.completion.matchAll(/Answer:\\s*(-?\\d+)/gi)];
    const last = answers.at(-1)?.[1];
    const expected = Number(task.data.a) + Number(task.data.b);
    if (last === undefined) return { value: 0, details: { reason: 'no "Answer: <number>"', expected } };
    const given = Number(last);
    return { value: given === expected ? 1 : 0, details: { given, expected } };
  },
});
`,
    'test/plugin.test.ts': `/**
 * Fast tests of the plugin without a policy: the generator and the checker.
 * The contract test with rollouts against a policy worker: \`npx multigym plugin test .\`.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import checker from '../checker.js';
import environment from '../environment.js';
import { taskAt } from '../tasks.js';

test('tasks are the same for a seed and split, and differ across splits', () => {
  assert.deepEqual(taskAt(1, 'train', 5, 99), taskAt(1, 'train', 5, 99));
  const train = Array.from({ length: 20 }, (_, i) => taskAt(1, 'train', i, 99));
  const test = Array.from({ length: 20 }, (_, i) => taskAt(1, 'test', i, 99));
  assert.notDeepEqual(train, test);
  for (const t of train) assert.ok(t.a >= 0 && t.a <= 99 && t.b >= 0 && t.b <= 99);
});

test('the checker rewards the right final answer only', async () => {
  const task = { id: 't', data: { a: 2, b: 3 } };
  const score = (completion: string) =>
    checker.score({ completion, completionTokens: 1 }, task, {});
  assert.equal((await score('2 + 3 = 5. Answer: 5')).value, 1);
  assert.equal((await score('Answer: 4')).value, 0);
  assert.equal((await score('Answer: 5, no wait. Answer: 6')).value, 0);
  assert.equal((await score('five')).value, 0);
});

test('the demonstration scores 1', async () => {
  const task = { id: 't', data: { a: 40, b: 2 } };
  const demo = await environment.demonstration!(task, environment.configSchema.parse({}));
  assert.equal((await checker.score({ completion: demo!.completion, completionTokens: 1 }, task, {})).value, 1);
});
`,
    'README.md': `# ${name}

A [multigym](https://github.com/) environment plugin: add two integers. Tasks come from a generator
seeded by (run seed, split, index); the checker \`${checker}\` gives 1 when the completion's final
\`Answer: <number>\` is the sum.

## Use it

\`\`\`bash
npx multigym dev --plugin ./${name}          # workers serve multigym-env-${name}
npx multigym run run.json                    # a config naming "${name}" (and "plugins": ["./${name}"])
\`\`\`

Config block (\`environments[].config\`): \`{ "max": 99 }\` — the largest operand.

## Test it

\`\`\`bash
npm test                        # generator and checker, no policy
npx multigym plugin test .      # the contract test, rollouts against a tiny CPU policy worker
\`\`\`

## Change it

- \`tasks.ts\`: what a task holds (\`SumTask\`, JSON only) and the seeded generator.
- \`environment.ts\`: the prompt, the config schema, the default checkers and weights.
- \`checker.ts\`: the reward; never throw on bad model output (score it low instead).

Running workers do not reload edited plugin code: restart \`multigym dev\` or \`multigym worker\`.
See multigym's docs/plugins.md.
`,
  };
}
