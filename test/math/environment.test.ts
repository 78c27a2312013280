import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import type { Environment, PolicySampler, Task, TaskContext } from '../../environments/api.js';
import type { MathConfig } from '../../environments/math/config.js';
import { generateProblem, MAX_LEVEL } from '../../environments/math/generator.js';
import { getEnvironment } from '../../environments/registry.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { dataDir, dataPath } from '../helpers/data.js';

const env = getEnvironment('math') as Environment<typeof MathConfig>;
const ctx = (over: Partial<TaskContext> = {}): TaskContext => ({
  seed: 7,
  split: 'train',
  start: 0,
  dataDir: dataDir('gsm8k', 'math500'),
  blobDir: '/tmp',
  ...over,
});

async function take(config: unknown, c: TaskContext, n: number): Promise<Task[]> {
  const out: Task[] = [];
  for await (const t of env.tasks(env.configSchema.parse(config), c)) {
    out.push(t);
    if (out.length === n) break;
  }
  return out;
}

describe('math environment', () => {
  it('is registered with math-equivalence as its default reward', () => {
    expect(env.name).toBe('math');
    expect(env.rewards).toEqual([{ checker: 'math-equivalence', weight: 1 }]);
  });

  it('rejects a bad config naming the field', () => {
    const r = env.configSchema.safeParse({ dataset: { path: 'x.jsonl', format: 'csv' } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues[0]?.path)).toContain('format');
    expect(env.configSchema.safeParse({ generator: { levels: [MAX_LEVEL + 1] } }).success).toBe(false);
  });

  it('generates level-1 single-digit additions by default, deterministically, from ctx.start', async () => {
    const a = await take({}, ctx(), 20);
    const b = await take({}, ctx({ start: 5 }), 15);
    expect(b).toEqual(a.slice(5));
    expect(a[0]!.id).toBe('gen/L1/train/0');
    for (const t of a) {
      const m = /^What is (\d) \+ (\d)\?$/.exec(String(t.data.question));
      expect(m).not.toBeNull();
      expect(Number(t.data.answer)).toBe(Number(m![1]) + Number(m![2]));
    }
    const other = await take({}, ctx({ seed: 8 }), 20);
    expect(other.map((t) => t.data.question)).not.toEqual(a.map((t) => t.data.question));
  });

  it('generator answers are right at every level (checked by the math-equivalence checker itself)', async () => {
    for (let level = 1; level <= MAX_LEVEL; level++) {
      const p = generateProblem(3, 'train', level * 11, [level]);
      expect(p.level).toBe(level);
      expect(p.answer).not.toBe('');
    }
    // Level 5: p x + q = r must hold at the answer.
    for (let i = 0; i < 50; i++) {
      const p = generateProblem(1, 'train', i, [5]);
      const m = /\$(-?\d+)x(?: ([+-]) (\d+))? = (-?\d+)\$/.exec(p.question)!;
      const q = m[2] ? (m[2] === '-' ? -1 : 1) * Number(m[3]) : 0;
      expect(Number(m[1]) * Number(p.answer) + q).toBe(Number(m[4]));
    }
  });

  it('reads GSM8K by relative and absolute path, with ids name/split/index and epoch cycling', async () => {
    const cfg = { dataset: { path: 'gsm8k/test.jsonl', format: 'gsm8k', limit: 16 } };
    const first = await take(cfg, ctx(), 40);
    const abs = await take(
      { dataset: { ...cfg.dataset, path: dataPath('gsm8k/test.jsonl') } },
      ctx({ dataDir: undefined }),
      40,
    );
    expect(abs).toEqual(first);
    expect(first[0]!.id).toMatch(/^gsm8k\/test\/\d+$/);
    const epoch0 = first.slice(0, 16).map((t) => t.id);
    expect(new Set(epoch0).size).toBe(16);
    expect(new Set(first.slice(16, 32).map((t) => t.id))).toEqual(new Set(epoch0));
    expect(first.slice(16, 32).map((t) => t.id)).not.toEqual(epoch0);
    const later = await take(cfg, ctx({ start: 21 }), 5);
    expect(later).toEqual(first.slice(21, 26));
    const josh = first.find((t) => t.id === 'gsm8k/test/2')!;
    expect(josh.data.answer).toBe('70000');
  });

  it('reads MATH-500 with levels, and a {split} template', async () => {
    const [t] = await take(
      { dataset: { path: 'math500/{split}.jsonl', format: 'math' } },
      ctx({ split: 'test' }),
      1,
    );
    expect(t!.id).toMatch(/^math\/test\/\d+$/);
    expect(t!.data).toMatchObject({
      source: 'math',
      level: expect.any(Number),
      solution: expect.stringContaining('boxed'),
    });
  });

  it('reads plain JSONL with configured field names and names file:line of a bad record', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-math-'));
    const file = join(dir, 'probs.jsonl');
    writeFileSync(
      file,
      `${JSON.stringify({ q: 'What is 2+2?', a: 4 })}\n\n${JSON.stringify({ q: 'Half of 1?', a: '\\frac12' })}\n`,
    );
    const cfg = { dataset: { path: file, questionField: 'q', answerField: 'a', name: 'mine' } };
    const got = await take(cfg, ctx(), 2);
    expect(got.map((t) => t.id).sort()).toEqual(['mine/probs/0', 'mine/probs/1']);
    expect(got.find((t) => t.id === 'mine/probs/0')!.data).toMatchObject({
      question: 'What is 2+2?',
      answer: '4',
    });
    writeFileSync(
      join(dir, 'bad.jsonl'),
      `${JSON.stringify({ q: 'x', a: '1' })}\n${JSON.stringify({ q: 'y' })}\n`,
    );
    await expect(
      take({ dataset: { ...cfg.dataset, path: join(dir, 'bad.jsonl') } }, ctx(), 1),
    ).rejects.toThrow(/bad\.jsonl:2: .*field "a"/);
    await expect(take({ dataset: { path: join(dir, 'missing.jsonl') } }, ctx(), 1)).rejects.toThrow(
      /cannot read/,
    );
  });

  it('parses GSM8K, MATH and plain records, and names the missing field', () => {
    const g = env.parseTask({ question: 'Q?', answer: 'so 1,000 <<1+1=2>>2\n#### 1,000' }, 3);
    expect(g).toEqual({
      id: 'gsm8k/record/3',
      data: expect.objectContaining({ answer: '1000', solution: 'so 1,000 2' }),
    });
    const m = env.parseTask({ problem: 'P', solution: 'thus $\\boxed{\\frac{1}{2}}$.' }, 0);
    expect(m.data.answer).toBe('\\frac{1}{2}');
    expect(
      env.parseTask({ problem: 'P', answer: '5', solution: '\\boxed{5}', level: 'Level 3' }, 0).data.level,
    ).toBe(3);
    expect(env.parseTask({ question: 'Q', answer: '\\pi' }, 1).data).toMatchObject({
      answer: '\\pi',
      source: 'jsonl',
    });
    expect(() => env.parseTask({ question: 'Q' }, 0)).toThrow(/"answer"/);
    // The environment's own task data round-trips (tasks stored in the database can be re-scored).
    expect(env.parseTask(g.data, 3)).toEqual(g);
    expect(env.parseTask(m.data, 0).data).toEqual(m.data);
    expect(() => env.parseTask({ problem: 'P', solution: 'no box' }, 0)).toThrow(/answer/);
    expect(() => env.parseTask({ text: 'x' }, 0)).toThrow(/question/);
  });

  it('demonstrations end in \\boxed{answer} and score 1', async () => {
    const config = env.configSchema.parse({});
    const task = env.parseTask({ question: 'Janet has 3 + 4 apples?', answer: 'x\n#### 7' }, 0);
    const demo = (await env.demonstration!(task, config))!;
    expect(demo.prompt).toContain('\\boxed{}');
    expect(demo.completion).toContain('\\boxed{7}');
    const short = (await env.demonstration!(task, env.configSchema.parse({ demonstration: 'answer' })))!;
    expect(short.completion).toBe(' \\boxed{7}');
    const out = await scoreTrajectory(
      env.rewards,
      { completion: demo.completion, completionTokens: 5 },
      task,
    );
    expect(out.total).toBe(1);
  });

  it('rollout sends the templated prompt and records the extracted answer', async () => {
    const seen: unknown[] = [];
    const policy: PolicySampler = {
      async generate(req) {
        seen.push(req);
        const texts = ['\\boxed{7}', 'I think 8'];
        return {
          policy_version: 2,
          results: [
            {
              prompt_token_ids: [1, 2],
              samples: texts.map((text) => ({
                text,
                token_ids: [5],
                logprobs: [-0.1],
                finish_reason: 'stop' as const,
                answer_tokens: 1,
                thinking_tokens: 0,
              })),
            },
          ],
        } as Awaited<ReturnType<PolicySampler['generate']>>;
      },
      tokenize: async () => ({ counts: [] }) as never,
      info: async () => ({}) as never,
    };
    const task = env.parseTask({ question: 'What is 3 + 4?', answer: '7' }, 0);
    const sampling = { max_tokens: 8, temperature: 1, top_p: 1 };
    const chat = env.configSchema.parse({ prompt: { template: 'chat', system: 'Be brief.' } });
    const out = await env.rollout(task, policy, { n: 2, sampling, blobDir: '/tmp' }, chat);
    expect(out.map((t) => t.extra)).toEqual([
      { answer: '7', answerRule: 'boxed' },
      { answer: '8', answerRule: 'last-number' },
    ]);
    expect(seen[0]).toMatchObject({ n: 2, messages: [[{ role: 'system' }, { role: 'user' }]] });
  });
});
