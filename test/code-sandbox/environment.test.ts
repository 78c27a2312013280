/**
 * The code-sandbox environment: registration, seeded task streams from the built-in set and from
 * files, record parsing, code extraction, MBPP and stdin/stdout scoring, demonstrations and rollouts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import type { PolicySampler, Task } from '../../environments/api.js';
import { allEasyTasks, easyTasks } from '../../environments/code-sandbox/easy.js';
import { cutBody, extractProgram, fencedBlocks } from '../../environments/code-sandbox/extract.js';
import { CodeRecordError, type CodeTaskData } from '../../environments/code-sandbox/task.js';
import { environmentNames, getEnvironment } from '../../environments/registry.js';
import { rewardNames } from '../../rewards/registry.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { dataDir, dataPath, fullDataOnly } from '../helpers/data.js';

const env = getEnvironment('code-sandbox');
const BUDGET_MS = 600_000;
const take = async <T>(it: AsyncIterable<T>, n: number): Promise<T[]> => {
  const out: T[] = [];
  for await (const x of it) {
    out.push(x);
    if (out.length === n) break;
  }
  return out;
};
const ctx = (o: Partial<{ seed: number; split: string; start: number; dataDir: string }> = {}) => ({
  seed: 7,
  split: 'train',
  start: 0,
  blobDir: '/tmp',
  ...o,
});
const specs = [
  { checker: 'unit-tests', weight: 1 },
  { checker: 'unit-tests-fraction', weight: 0 },
];
const scoreBoth = async (task: Task, completion: string, extra?: Record<string, unknown>) => {
  const o = await scoreTrajectory(specs, { completion, completionTokens: 0, extra }, task, BUDGET_MS);
  return { all: o.components[0]!, fraction: o.components[1]! };
};
const asTask = (data: CodeTaskData, id = data.source): Task => ({ id, data: data as never });

describe('code-sandbox environment', () => {
  it('is registered with its two checkers, and its config has defaults', () => {
    expect(environmentNames()).toContain('code-sandbox');
    expect(rewardNames()).toEqual(expect.arrayContaining(['unit-tests', 'unit-tests-fraction']));
    expect(env.configSchema.parse({})).toMatchObject({
      prompt: 'completion',
      extraction: 'auto',
      unsafe: false,
    });
    expect(env.rewards).toEqual([{ checker: 'unit-tests', weight: 1 }]);
  });

  it('streams the built-in easy tasks in a seeded order that starts at ctx.start', async () => {
    const config = env.configSchema.parse({});
    const first = await take(env.tasks(config, ctx()), 30);
    const again = await take(env.tasks(config, ctx()), 30);
    const skipped = await take(env.tasks(config, ctx({ start: 10 })), 20);
    const other = await take(env.tasks(config, ctx({ seed: 8 })), 30);
    expect(again).toEqual(first);
    expect(skipped).toEqual(first.slice(10));
    expect(other.map((t) => t.id)).not.toEqual(first.map((t) => t.id));
    const n = easyTasks('train').length;
    const epoch = await take(env.tasks(config, ctx()), n);
    expect(new Set(epoch.map((t) => t.id)).size).toBe(n); // one epoch is a permutation
  });

  it('keeps the easy train and test splits apart', () => {
    const train = new Set(easyTasks('train').map((t) => t.source));
    const test = easyTasks('test').map((t) => t.source);
    expect(train.size + test.length).toBe(allEasyTasks().length);
    expect(test.filter((s) => train.has(s))).toEqual([]);
  });

  it('demonstrates every easy task with a body that passes its tests in the sandbox', async () => {
    const config = env.configSchema.parse({});
    const tasks = allEasyTasks().map((d) => asTask(d));
    const results = await Promise.all(
      tasks.map(async (task) => {
        const demo = await env.demonstration!(task, config);
        expect(demo!.prompt).toBe((task.data as CodeTaskData).codePrefix);
        return scoreBoth(task, demo!.completion);
      }),
    );
    const failed = results.flatMap((r, i) =>
      r.all.value === 1 ? [] : [`${tasks[i]!.id} ${JSON.stringify(r.all.details)}`],
    );
    expect(failed).toEqual([]);
  });

  it('parses HumanEval, MBPP and stdin/stdout records and rejects others', () => {
    const he = env.parseTask(
      {
        task_id: 'HumanEval/9',
        prompt: 'def f(x):\n',
        test: 'def check(c):\n    assert c(1) == 2\n',
        entry_point: 'f',
        canonical_solution: '    return x + 1\n',
      },
      0,
    );
    expect(he.id).toBe('HumanEval/9');
    expect(he.data).toMatchObject({ format: 'humaneval', codePrefix: 'def f(x):\n', entryPoint: 'f' });
    const mbpp = env.parseTask(
      {
        task_id: 2,
        text: 'Add.',
        code: 'def add(a,b):\r\n  return a+b',
        test_list: ['assert set(add(1, 2)) == 3'],
        test_setup_code: '',
      },
      1,
    );
    expect(mbpp.data).toMatchObject({
      format: 'mbpp',
      entryPoint: 'add',
      solution: 'def add(a,b):\n  return a+b',
      source: 'mbpp/2',
    });
    const io = env.parseTask({ inputs: ['1\n'], outputs: ['2\n'] }, 5);
    expect(io).toMatchObject({
      id: 'io/record/5',
      data: { format: 'io', cases: [{ input: '1\n', output: '2\n' }] },
    });
    expect(() => env.parseTask({ question: 'What?' }, 3)).toThrow(CodeRecordError);
    expect(() => env.parseTask({ inputs: ['1'], outputs: [] }, 3)).toThrow(/outputs|inputs/);
  });

  it('scores stdin/stdout cases one by one (trailing whitespace ignored), with timeouts per case', async () => {
    const task = env.parseTask({ inputs: ['1 2\n', '5 5\n', '0 0\n'], outputs: ['3\n', '10', '0  \n\n'] }, 0);
    const right = await scoreBoth(task, '```python\na, b = map(int, input().split())\nprint(a + b)\n```');
    expect(right.all.value).toBe(1);
    expect(right.all.details.extraction).toBe('fenced');
    const partial = await scoreBoth(
      task,
      'a, b = map(int, input().split())\nprint(a + b if a != 5 else 0)\n',
    );
    expect(partial.all.value).toBe(0);
    expect(partial.fraction.value).toBeCloseTo(2 / 3);
    expect(partial.all.details.tests).toContainEqual({
      name: 'case_1',
      status: 'fail',
      error: 'expected "10", got "0"',
    });
    const slow = await scoreTrajectory(
      [{ checker: 'unit-tests-fraction', weight: 1, config: { testTimeoutMs: 1000 } }],
      {
        completion: 'a, b = map(int, input().split())\nwhile a == 5: pass\nprint(a + b)\n',
        completionTokens: 0,
      },
      task,
      BUDGET_MS,
    );
    expect(slow.total).toBeCloseTo(2 / 3);
    expect(slow.components[0]!.details.timeouts).toBe(1);
  });

  it('scores a completion with no code as failing every test, not as an error', async () => {
    const task = asTask(allEasyTasks()[0]!);
    const r = await scoreBoth(task, '```python\n```');
    expect(r.all.value).toBe(0);
    expect(r.all.details.run_status).toBe('not_run');
  });

  it('rolls out through the policy, runs the tests once and stores the report the checkers read', async () => {
    const data = allEasyTasks().find((t) => t.source === 'easy/add')!;
    const task = asTask(data);
    const completions = ['    return a + b\n', '    return a - b\n', 'nonsense(\n'];
    let request: unknown;
    const policy: PolicySampler = {
      generate: async (req) => {
        request = req;
        return {
          results: [
            {
              prompt_token_ids: [1, 2],
              samples: completions.map((text) => ({
                text,
                token_ids: [3],
                logprobs: [-0.5],
                finish_reason: 'stop',
                thinking_tokens: 0,
              })),
            },
          ],
          policy_version: 1,
        } as never;
      },
      tokenize: async () => ({}) as never,
      info: async () => ({}) as never,
    };
    const config = env.configSchema.parse({});
    const trajectories = await env.rollout(
      task,
      policy,
      { n: 3, sampling: { max_tokens: 64, temperature: 1, top_p: 1 }, blobDir: '/tmp' },
      config,
    );
    expect(request).toMatchObject({ prompts: [data.codePrefix], n: 3 });
    expect(trajectories.map((t) => t.status)).toEqual(['ok', 'ok', 'ok']);
    const scores = await Promise.all(
      trajectories.map((t) => scoreBoth(task, t.completion, t.extra as Record<string, unknown>)),
    );
    expect(scores.map((s) => s.all.value)).toEqual([1, 0, 0]);
    expect(scores[1]!.fraction.value).toBeCloseTo(1 / 4); // add vs subtract agree when b == 0
    expect(JSON.stringify(scores[2]!.all.details)).toContain('SyntaxError');
  });
});

const jsonl = (rel: string) =>
  readFileSync(dataPath(rel), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
/** MBPP task ids of the data file (whole set or excerpt) within an upstream split's range. */
const mbppIdsIn = (lo: number, hi: number) =>
  jsonl('mbpp/mbpp.jsonl')
    .map((r) => Number(r.task_id))
    .filter((id) => id >= lo && id <= hi);

describe('code-sandbox data sets', () => {
  it('reads HumanEval from a path relative to the data dir; one epoch covers every task once', async () => {
    const n = jsonl('humaneval/HumanEval.jsonl').length;
    const config = env.configSchema.parse({ dataset: { path: 'humaneval/HumanEval.jsonl' } });
    const tasks = await take(env.tasks(config, ctx({ split: 'test', dataDir: dataDir('humaneval') })), n);
    expect(new Set(tasks.map((t) => (t.data as CodeTaskData).source)).size).toBe(n);
    expect(tasks[0]!.id).toMatch(/^humaneval\/test\/\d+$/);
  });

  it('splits MBPP by upstream task ids and reads the sanitized JSON array', async () => {
    const config = env.configSchema.parse({ dataset: { path: dataPath('mbpp/mbpp.jsonl') } });
    const ids = async (split: string, n: number) =>
      (await take(env.tasks(config, ctx({ split })), n)).map((t) =>
        Number((t.data as CodeTaskData).source.split('/')[1]),
      );
    const trainIds = mbppIdsIn(601, 974);
    const train = await ids('train', trainIds.length);
    expect(new Set(train)).toEqual(new Set(trainIds));
    const testIds = mbppIdsIn(11, 510);
    const test = await ids('test', testIds.length);
    expect(new Set(test)).toEqual(new Set(testIds));
    const sanitized = env.configSchema.parse({
      dataset: { path: 'mbpp/sanitized-mbpp.json', mbppSplits: false },
    });
    const n = (JSON.parse(readFileSync(dataPath('mbpp/sanitized-mbpp.json'), 'utf8')) as unknown[]).length;
    const s = await take(env.tasks(sanitized, ctx({ dataDir: dataDir('mbpp') })), n);
    expect(new Set(s.map((t) => t.id)).size).toBe(n);
  });

  it("passes MBPP reference solutions (a sample of 40 and the judge's special cases) and fails broken ones, per assert", async () => {
    const lines = readFileSync(dataPath('mbpp/mbpp.jsonl'), 'utf8').trim().split('\n');
    // The whole set: every 24th record; the excerpt (43 records): all of them up to 40.
    const base = lines.filter((_, i) => lines.length < 100 || i % 24 === 0).slice(0, 40);
    // Special cases of the judge, when the set has them: 126 names its function `sum`; 367 and 927
    // build trees of the solution's class in setup code; 533 passes a type; 596 uses `sys` in its
    // asserts; 601 constructs the solution's class in its asserts.
    const special = new Set([126, 367, 533, 596, 601, 927]);
    const extra = lines.filter((l) => special.has((JSON.parse(l) as { task_id: number }).task_id));
    const sample = [...new Set([...base, ...extra])];
    const tasks = sample.map((l, i) => env.parseTask(JSON.parse(l), i));
    const results = await Promise.all(
      tasks.map((t) => scoreBoth(t, `\`\`\`python\n${(t.data as CodeTaskData).solution}\n\`\`\``)),
    );
    const failed = results.flatMap((r, i) =>
      r.all.value === 1 ? [] : [`${tasks[i]!.id} ${JSON.stringify(r.all.details)}`],
    );
    expect(failed).toEqual([]);
    // A program that defines the function but returns the wrong thing: each assert fails on its own.
    const t0 = tasks[0]!;
    const entry = (t0.data as CodeTaskData).entryPoint!;
    const wrong = await scoreBoth(t0, `def ${entry}(*args):\n    return None\n`);
    expect(wrong.fraction.value).toBe(0);
    expect((wrong.all.details.tests as { status: string }[]).map((t) => t.status)).toEqual([
      'fail',
      'fail',
      'fail',
    ]);
  });
});

describe('the whole HumanEval and MBPP', fullDataOnly('humaneval', 'mbpp'), () => {
  it('HumanEval has 164 tasks; MBPP 974 (374 train ids 601–974, 500 test ids 11–510); sanitized MBPP 427', () => {
    expect(jsonl('humaneval/HumanEval.jsonl')).toHaveLength(164);
    expect(jsonl('mbpp/mbpp.jsonl')).toHaveLength(974);
    const train = mbppIdsIn(601, 974);
    expect([train.length, Math.min(...train), Math.max(...train)]).toEqual([374, 601, 974]);
    const test = mbppIdsIn(11, 510);
    expect([test.length, Math.min(...test), Math.max(...test)]).toEqual([500, 11, 510]);
    expect(JSON.parse(readFileSync(dataPath('mbpp/sanitized-mbpp.json'), 'utf8'))).toHaveLength(427);
  });
});

describe('code extraction', () => {
  const he: CodeTaskData = {
    format: 'humaneval',
    language: 'python',
    source: 'x',
    description: '',
    codePrefix: 'import math\n\ndef f(x):\n    """doc"""\n',
    entryPoint: 'f',
    tests: [],
  };
  it('takes the fenced block that defines the entry point, after the prompt prefix', () => {
    const text =
      'Plan:\n```\nnot code\n```\n<think>```python\ndef f(x): return 0\n```</think>\n```python\ndef f(x):\n    return math.sqrt(x)\n```';
    const ex = extractProgram(text, he);
    expect(ex.method).toBe('full_function');
    expect(ex.program).toBe(`${he.codePrefix}\ndef f(x):\n    return math.sqrt(x)`);
  });
  it('takes the LAST Python block (self-correction); other languages and shell commands are not Python', () => {
    const draft =
      '```python\ndef f(x):\n    return 0\n```\nWait, that is wrong:\n```python\ndef f(x):\n    return x\n```';
    expect(extractProgram(draft, he).program).toBe(`${he.codePrefix}\ndef f(x):\n    return x`);
    const usage = '```python\ndef f(x):\n    return x\n```\nUse it:\n```python\nprint(f(2))\n```';
    expect(extractProgram(usage, he).program).toBe(`${he.codePrefix}\ndef f(x):\n    return x`);
    const mbpp: CodeTaskData = { ...he, format: 'mbpp', codePrefix: undefined };
    for (const lang of ['bash', 'sh', 'shell', 'console', 'text', 'output', 'json']) {
      const text = `\`\`\`python\ndef f(x):\n    return x\n\`\`\`\n\`\`\`${lang}\npip install numpy\n\`\`\``;
      expect(extractProgram(text, mbpp).program, lang).toBe('def f(x):\n    return x');
    }
    // Untagged: a `pip install` block is an instruction, the code block the answer.
    const untagged =
      '```\npip install numpy\n```\n```\ndef f(x):\n    return x\n```\n```\n$ python main.py\n```';
    expect(extractProgram(untagged, mbpp).program).toBe('def f(x):\n    return x');
    // With a tagged Python block, an untagged block after it (sample output) is not the answer.
    const output = '```python\nprint(sum(map(int, input().split())))\n```\nOutput:\n```\n3\n```';
    expect(extractProgram(output, mbpp).program).toBe('print(sum(map(int, input().split())))');
    const shellOnly = '```bash\npip install numpy\n```';
    expect(extractProgram(shellOnly, mbpp, 'fenced')).toMatchObject({ program: '', codeChars: 0 });
  });
  it('grades the corrected block, not the draft, through the sandbox', async () => {
    const task = allEasyTasks().find((t) => t.source === 'easy/add')!;
    const block = (body: string) => `\`\`\`python\ndef add(a, b):\n    ${body}\n\`\`\``;
    const fixed = await scoreBoth(asTask(task), `${block('return 0')}\nOops:\n${block('return a + b')}`);
    expect(fixed.all.value).toBe(1);
    const broken = await scoreBoth(asTask(task), `${block('return a + b')}\nActually:\n${block('return 0')}`);
    expect(broken.all.value).toBe(0);
  });
  it('runs only the answer text: reasoning before a lone </think>, an unclosed <think> or a cut sample is never run', () => {
    const mbpp: CodeTaskData = { ...he, format: 'mbpp', codePrefix: undefined };
    const good = '```python\ndef f(x):\n    return x\n```';
    // The chat template opened <think> in the prompt: the code before the lone </think> is reasoning.
    expect(extractProgram(`${good}\n</think>\nNo code here.`, mbpp, 'fenced')).toMatchObject({ program: '' });
    expect(extractProgram(`${good}\n</think>\nNo code here.`, mbpp)).toMatchObject({
      method: 'whole',
      program: '\nNo code here.',
    });
    expect(extractProgram(`draft\n</think>\n${good}`, mbpp).program).toBe('def f(x):\n    return x');
    // Two reasoning blocks: only what follows the last one counts.
    const two = `<think>${good}</think>\nmiddle\n<think>more</think>\nfinal words`;
    expect(extractProgram(two, mbpp, 'fenced').program).toBe('');
    for (const [text, reason] of [
      [`<think>plan\n${good}`, 'unclosed_think'],
      [`${good}\n<think>let me check`, 'unclosed_think'],
    ] as const) {
      expect(extractProgram(text, mbpp), text).toMatchObject({
        program: '',
        method: 'none',
        missing: reason,
      });
    }
    expect(extractProgram(good, mbpp, 'auto', 'length')).toMatchObject({ program: '', missing: 'truncated' });
    expect(extractProgram(good, mbpp, 'auto', 'stop').program).toBe('def f(x):\n    return x');
  });
  it('scores 0 when the right code sits in the reasoning and the answer is wrong, or when the sample was cut', async () => {
    const task = asTask(allEasyTasks().find((t) => t.source === 'easy/add')!);
    const block = (body: string) => `\`\`\`python\ndef add(a, b):\n    ${body}\n\`\`\``;
    const lone = await scoreBoth(task, `${block('return a + b')}\n</think>\n${block('return 0')}`);
    expect(lone.all.value).toBe(0);
    const onlyReasoning = await scoreBoth(task, `${block('return a + b')}\n</think>\nThe answer is above.`);
    expect(onlyReasoning.all.value).toBe(0);
    const unclosed = await scoreBoth(task, `<think>\n${block('return a + b')}`);
    expect(unclosed.all.value).toBe(0);
    expect(JSON.stringify(unclosed.all.details)).toContain('<think> was never closed');
    const cut = await scoreTrajectory(
      specs,
      { completion: block('return a + b'), completionTokens: 0, finishReason: 'length' },
      task,
      BUDGET_MS,
    );
    expect(cut.components[0]!.value).toBe(0);
    expect(JSON.stringify(cut.components[0]!.details)).toContain('cut at the token limit');
    const answered = await scoreBoth(task, `<think>${block('return 0')}</think>\n${block('return a + b')}`);
    expect(answered.all.value).toBe(1);
  });
  it('continues the prefix with a body and cuts what runs at import time', () => {
    const ex = extractProgram('    return x\n\nprint(f(2))\n', he);
    expect(ex).toMatchObject({ method: 'body', program: `${he.codePrefix}    return x\n` });
    expect(cutBody('    return 1\nif __name__ == "__main__":\n    main()')).toBe('    return 1');
  });
  it('reads an unclosed fence to the end, and the whole text when there is no fence', () => {
    expect(fencedBlocks('```python\nprint(1)\nprint(2)')).toEqual([
      { lang: 'python', code: 'print(1)\nprint(2)' },
    ]);
    const mbpp: CodeTaskData = { ...he, format: 'mbpp', codePrefix: undefined };
    expect(extractProgram('def f(x):\n    return 1\n', mbpp)).toMatchObject({
      method: 'whole',
      program: 'def f(x):\n    return 1\n',
    });
    expect(extractProgram('text', mbpp, 'fenced')).toMatchObject({ program: '', codeChars: 0 });
  });
});
