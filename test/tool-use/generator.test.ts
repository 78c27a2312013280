/**
 * The multi-turn task generator and the environment's task plumbing: reference results equal what the
 * real tools return (Python in the real sandbox), demonstrations score full marks with every tool-use
 * checker, `tasks()` is deterministic from (seed, split, start), and `parseTask` reads BFCL records.
 */
import { describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import { z } from 'zod';
import type { Task } from '../../environments/api.js';
import { getEnvironment } from '../../environments/registry.js';
import { executeCall } from '../../environments/tool-use/execute.js';
import { GENERATOR_KINDS, generateToolTask } from '../../environments/tool-use/generator.js';
import { callablesOf } from '../../environments/tool-use/rollout.js';
import { ToolTaskData } from '../../rewards/builtin/tool-task.js';
import { getReward } from '../../rewards/registry.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { dataDir, fullDataOnly } from '../helpers/data.js';

const env = getEnvironment('tool-use');
const config = env.configSchema.parse({}) as Record<string, unknown>;

async function take(
  n: number,
  cfg: unknown,
  ctx: { seed: number; split: string; start: number; dataDir?: string },
) {
  const out: Task[] = [];
  for await (const t of env.tasks(cfg, { ...ctx, blobDir: '/tmp' })) {
    out.push(t);
    if (out.length === n) break;
  }
  return out;
}

describe('tool-use environment contract', () => {
  it('registers its checkers, exports a JSON Schema config and yields JSON-round-trippable tasks', async () => {
    for (const spec of env.rewards) expect(() => getReward(spec.checker)).not.toThrow();
    const schema = z.toJSONSchema(env.configSchema, { io: 'input' }) as {
      properties: Record<string, unknown>;
    };
    expect(Object.keys(schema.properties)).toContain('maxTurns');
    const tasks = await take(100, config, { seed: 2, split: 'train', start: 0 });
    expect(new Set(tasks.map((t) => t.id)).size).toBe(100);
    for (const t of tasks) expect(JSON.parse(JSON.stringify(t))).toEqual(t);
    expect(JSON.stringify(tasks[0]).length).toBeLessThan(8000);
  });
});

describe('generated tool-use tasks', () => {
  it('reference results are what the real tools return, for every kind', async () => {
    for (const kind of GENERATOR_KINDS) {
      for (let i = 0; i < 8; i++) {
        const g = generateToolTask(11, 'train', i, [kind]);
        const data = ToolTaskData.parse(g.data);
        const callables = callablesOf(data);
        for (const step of g.data.reference) {
          const outcome = await executeCall(
            { name: step.name, arguments: step.arguments, format: 'json', raw: '' },
            callables,
            {
              timeoutMs: 10_000,
              maxResultChars: 10_000,
            },
          );
          expect(outcome.status, `${kind}/${i} ${step.name}: ${outcome.content}`).toBe('ok');
          expect(outcome.content, `${kind}/${i} ${step.name}`).toBe(step.result);
        }
      }
    }
  });

  it('demonstrations score 1 on tool-call-match and final-answer, no penalties', async () => {
    const tasks = await take(40, config, { seed: 3, split: 'train', start: 0 });
    for (const task of tasks) {
      const demo = await env.demonstration!(task, config);
      expect(demo).toBeDefined();
      const outcome = await scoreTrajectory(
        env.rewards,
        { completion: demo!.completion, completionTokens: 0 },
        task,
      );
      const byName = Object.fromEntries(outcome.components.map((c) => [c.checker, c.value]));
      expect(byName, `${task.id}\n${demo!.completion}\n${JSON.stringify(outcome.components)}`).toEqual({
        'tool-call-match': 1,
        'final-answer': 1,
        'invalid-call-penalty': 0,
        'turn-budget': 0,
      });
    }
  });

  it('the compact tool listing gives one signature line per tool', async () => {
    const [task] = await take(1, config, { seed: 1, split: 'train', start: 0 });
    const demo = await env.demonstration!(task!, { ...config, toolListing: 'compact' });
    expect(demo!.prompt).toContain(
      'convert_units(value: number, from_unit: string, to_unit: string) - Convert a quantity',
    );
    expect(demo!.prompt).toContain('search_kb(query: string, limit?: integer) - ');
    expect(demo!.prompt).not.toContain('"parameters"');
  });

  it('a wrong final answer scores 0 on final-answer', async () => {
    const [task] = await take(
      1,
      { ...config, generatorKinds: ['calc'] },
      { seed: 5, split: 'train', start: 0 },
    );
    const demo = await env.demonstration!(task!, config);
    const wrong = demo!.completion.replace(/Answer: .*$/, 'Answer: 123456789');
    const outcome = await scoreTrajectory(env.rewards, { completion: wrong, completionTokens: 0 }, task!);
    expect(outcome.components.find((c) => c.checker === 'final-answer')?.value).toBe(0);
  });

  it('tasks() is deterministic from (seed, split, start)', async () => {
    const a = await take(10, config, { seed: 7, split: 'train', start: 0 });
    const b = await take(5, config, { seed: 7, split: 'train', start: 5 });
    const c = await take(10, config, { seed: 8, split: 'train', start: 0 });
    const t = await take(10, config, { seed: 7, split: 'test', start: 0 });
    expect(b).toEqual(a.slice(5));
    expect(c.map((x) => x.data)).not.toEqual(a.map((x) => x.data));
    expect(t.map((x) => x.data)).not.toEqual(a.map((x) => x.data));
    expect(new Set(a.map((x) => (x.data as { category: string }).category)).size).toBeGreaterThan(3);
  });
});

describe('BFCL tasks', () => {
  const bfcl = env.configSchema.parse({ source: 'bfcl' });

  it('train and test splits are disjoint, deterministic and cover all four categories', async () => {
    const train = await take(800, bfcl, { seed: 1, split: 'train', start: 0, dataDir: dataDir('bfcl') });
    const test = await take(200, bfcl, { seed: 1, split: 'test', start: 0, dataDir: dataDir('bfcl') });
    const trainIds = new Set(train.map((t) => t.id));
    expect(test.filter((t) => trainIds.has(t.id))).toEqual([]);
    const categories = new Set(train.map((t) => (t.data as { category: string }).category));
    expect([...categories].sort()).toEqual(['multiple', 'parallel', 'parallel_multiple', 'simple_python']);
    const again = await take(20, bfcl, { seed: 1, split: 'train', start: 100, dataDir: dataDir('bfcl') });
    expect(again).toEqual(train.slice(100, 120));
  });

  it('every category puts about bfclTestFraction of its records in test', fullDataOnly('bfcl'), async () => {
    for (const category of ['simple_python', 'multiple', 'parallel', 'parallel_multiple'] as const) {
      const config = env.configSchema.parse({ source: 'bfcl', bfclCategories: [category] });
      const ctx = { seed: 1, start: 0, dataDir: dataDir('bfcl') };
      // tasks() cycles through a split once per epoch: 1,000 draws see every record of a category.
      const distinct = async (split: string) =>
        new Set((await take(1000, config, { ...ctx, split })).map((t) => t.id)).size;
      const all = await distinct('all');
      const inTest = await distinct('test');
      // 200–400 records a category: a binomial share of 0.2 lies within 0.12–0.28 (≥ 3 sd).
      expect(inTest / all, category).toBeGreaterThan(0.12);
      expect(inTest / all, category).toBeLessThan(0.28);
    }
  });

  it('parseTask reads a BFCL record with its possible answer, and its demonstration scores 1', async () => {
    const record = {
      id: 'parallel_75',
      question: [[{ role: 'user', content: 'What are the prime factors of the numbers 45, 100, and 150?' }]],
      function: [
        {
          name: 'number_analysis.prime_factors',
          description: 'Compute the prime factors of a number.',
          parameters: {
            type: 'dict',
            properties: { number: { type: 'integer', description: 'The number to be factored.' } },
            required: ['number'],
          },
        },
      ],
      ground_truth: [
        { 'number_analysis.prime_factors': { number: [45] } },
        { 'number_analysis.prime_factors': { number: [100] } },
        { 'number_analysis.prime_factors': { number: [150] } },
      ],
    };
    const task = env.parseTask(record, 0);
    expect(task.id).toBe('parallel_75');
    expect((task.data as { category: string }).category).toBe('parallel');
    const demo = await env.demonstration!(task, config);
    expect(demo!.prompt).toContain('<tools>');
    const outcome = await scoreTrajectory(
      env.rewards,
      { completion: demo!.completion, completionTokens: 0 },
      task,
    );
    expect(outcome.components.find((c) => c.checker === 'tool-call-match')?.value).toBe(1);
    expect(outcome.components.find((c) => c.checker === 'invalid-call-penalty')?.value).toBe(0);
    expect(() => env.parseTask({ question: 'hi' }, 3)).toThrow(/function|ground_truth|question/);
  });
});
