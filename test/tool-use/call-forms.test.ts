/**
 * Issue 15, "Tool calls": the call forms real models write. Each example of the issue with the value
 * it must get, then more of each kind; controls that must stay "no call" are marked so.
 */
import { describe, expect, it } from 'vitest';
import { executeCall } from '../../environments/tool-use/execute.js';
import { invalidCallPenalty } from '../../rewards/builtin/invalid-call-penalty.js';
import { toolCallMatch } from '../../rewards/builtin/tool-call-match.js';
import { CUT_CALL_MESSAGE, parseToolCalls } from '../../rewards/builtin/tool-call-parse.js';
import type { FunctionSpec, GroundTruthCall } from '../../rewards/builtin/tool-task.js';
import { toJsonSchema } from '../../rewards/builtin/tool-task.js';
import { runChecker } from '../../rewards/score.js';

const fn = (name: string, properties: Record<string, unknown>, required: string[]): FunctionSpec => ({
  name,
  description: '',
  parameters: { type: 'dict', properties, required },
});
const functions = [
  fn('get_weather', { city: { type: 'string' }, unit: { type: 'string' } }, ['city']),
  fn('get_time', { zone: { type: 'string' } }, ['zone']),
  fn('note', { text: { type: 'string' } }, ['text']),
  fn('tag_item', { tags: { type: 'array', items: { type: 'string' } } }, ['tags']),
  fn('search', { filters: { type: 'dict', properties: { max: { type: 'integer' } } } }, ['filters']),
  fn('repeat', { times: { type: 'integer' } }, ['times']),
  fn('scale', { factor: { type: 'float' } }, ['factor']),
  fn('sum_list', { numbers: { type: 'array', items: { type: 'integer' } } }, ['numbers']),
];
const task = (ground_truth: GroundTruthCall[]) => ({
  id: 't',
  data: { category: 'test', messages: [{ role: 'user', content: '?' }], functions, ground_truth },
});
const oslo: GroundTruthCall[] = [{ get_weather: { city: ['Oslo'], unit: ['celsius', ''] } }];
const osloAndTime: GroundTruthCall[] = [
  { get_weather: { city: ['Oslo'], unit: ['celsius'] } },
  { get_time: { zone: ['CET'] } },
];

/** tool-call-match and invalid-call-penalty of a raw completion. */
async function scores(completion: string, gt: GroundTruthCall[], finishReason?: string) {
  const t = { completion, completionTokens: 0, ...(finishReason ? { finishReason } : {}) };
  const match = await runChecker(toolCallMatch, t, task(gt), {});
  const penalty = await runChecker(invalidCallPenalty, t, task(gt), {});
  return {
    match: match.value,
    penalty: penalty.value,
    matchDetails: match.details,
    details: penalty.details,
  };
}

describe('pythonic calls', () => {
  const example = '[get_weather(city="Oslo", unit="celsius"), get_time(zone="CET")]';

  it('the issue example: two calls with those arguments, full match', async () => {
    const parsed = parseToolCalls(example);
    expect(parsed.errors).toEqual([]);
    expect(parsed.calls.map((c) => [c.name, c.arguments, c.format])).toEqual([
      ['get_weather', { city: 'Oslo', unit: 'celsius' }, 'pythonic'],
      ['get_time', { zone: 'CET' }, 'pythonic'],
    ]);
    expect(await scores(example, osloAndTime)).toMatchObject({ match: 1, penalty: 0 });
  });

  it('reads them after a python tag, in a tool_code fence, inside <tool_call>, after prose, or alone', () => {
    for (const text of [
      `<|python_tag|>${example}`,
      `\`\`\`tool_code\n${example}\n\`\`\``,
      `<tool_call>${example}</tool_call>`,
      `I will look both up.\n${example}`,
      `Calling ${example} now.`,
    ]) {
      expect(
        parseToolCalls(text).calls.map((c) => c.name),
        text,
      ).toEqual(['get_weather', 'get_time']);
    }
    expect(parseToolCalls('get_weather(city="Oslo")').calls).toMatchObject([
      { name: 'get_weather', arguments: { city: 'Oslo' } },
    ]);
    expect(parseToolCalls('```python\nget_weather(city="Oslo")\n```').calls).toHaveLength(1);
    expect(parseToolCalls('Checking.\n[get_time()]').calls).toMatchObject([
      { name: 'get_time', arguments: {} },
    ]);
  });

  it('reads Python literals: quotes, escapes, None/True, nested lists, tuples and dicts, dotted names', () => {
    const [c] = parseToolCalls(
      `[api.v2.find(q='it\\'s', n=-3, ok=True, none=None, xs=[1, (2, 3)], d={"k": [1.5]}, s="a" "b", r=r"\\d")]`,
    ).calls;
    expect(c).toMatchObject({
      name: 'api.v2.find',
      arguments: {
        q: "it's",
        n: -3,
        ok: true,
        none: null,
        xs: [1, [2, 3]],
        d: { k: [1.5] },
        s: 'ab',
        r: '\\d',
      },
      floatPaths: ['/d/k/0'],
    });
  });

  it('an attempted pythonic call that is not literal calls is an invalid call, with the reason', async () => {
    for (const [text, reason] of [
      ['[get_weather(city=home_city)]', /not a literal/],
      ['[get_weather("Oslo")]', /name=value/],
      ['[get_weather(city="Oslo", city="Bergen")]', /given twice/],
      ['[get_weather(city="Oslo"', /syntax error/],
      ['<|python_tag|>get_weather(city=', /syntax error/],
      ['[get_weather(city="Oslo"), 42]', /not a call/],
    ] as const) {
      const r = await scores(text, oslo);
      expect(r.match, text).toBe(0);
      expect(r.penalty, text).toBe(-0.5);
      expect(JSON.stringify(r.details), text).toMatch(reason);
    }
  });

  it('controls: answers that merely look like calls stay answers', async () => {
    for (const text of [
      'max(3, 5)',
      'f(x) = 2x + 1',
      'The numbers are [1, 2, 3].',
      'See [the docs](https://example.com).',
      'I would use the [get_weather] tool.',
      '[Source(s): the weather service]',
    ]) {
      const parsed = parseToolCalls(text);
      expect(parsed.calls, text).toEqual([]);
      expect(parsed.errors, text).toEqual([]);
      expect((await scores(text, oslo)).penalty, text).toBe(0);
    }
  });
});

describe('a literal </tool_call> inside a string argument', () => {
  it('the issue example: one call with the whole text', () => {
    const parsed = parseToolCalls(
      '<tool_call>{"name": "note", "arguments": {"text": "end with </tool_call> please"}}</tool_call>',
    );
    expect(parsed.errors).toEqual([]);
    expect(parsed.calls).toMatchObject([
      { name: 'note', arguments: { text: 'end with </tool_call> please' } },
    ]);
  });

  it('two blocks holding the tag, escaped quotes and single quotes around it', () => {
    const parsed = parseToolCalls(
      [
        '<tool_call>{"name": "note", "arguments": {"text": "say \\"</tool_call>\\" twice"}}</tool_call>',
        "<tool_call>{'name': 'note', 'arguments': {'text': 'a </tool_call> b'}}</tool_call>",
        'Done.',
      ].join('\n'),
    );
    expect(parsed.calls.map((c) => c.arguments.text)).toEqual([
      'say "</tool_call>" twice',
      'a </tool_call> b',
    ]);
    expect(parsed.text).toBe('Done.');
  });

  it('a block left open before the next one ends there', () => {
    const parsed = parseToolCalls(
      '<tool_call>{"name": "get_time", "arguments": {"zone": "CET"}}\n<tool_call>{"name": "get_time", "arguments": {"zone": "UTC"}}</tool_call>',
    );
    expect(parsed.calls.map((c) => c.arguments.zone)).toEqual(['CET', 'UTC']);
  });
});

describe('arguments encoded as a JSON string more than once', () => {
  const openai = (args: string) =>
    JSON.stringify({
      tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: args } }],
    });

  it('the issue example: twice-encoded arguments read as {city: "Oslo"}', async () => {
    const completion = openai('"{\\"city\\": \\"Oslo\\"}"');
    expect(completion).toContain('"arguments":"\\"{\\\\\\"city\\\\\\": \\\\\\"Oslo\\\\\\"}\\""');
    expect(parseToolCalls(completion).calls).toMatchObject([
      { name: 'get_weather', arguments: { city: 'Oslo' } },
    ]);
    expect(await scores(completion, oslo)).toMatchObject({ match: 1, penalty: 0 });
  });

  it('once, three times, and in a Hermes block; not JSON or not an object is an invalid call', async () => {
    const once = JSON.stringify({ city: 'Oslo' });
    const thrice = JSON.stringify(JSON.stringify(once));
    for (const args of [once, thrice]) {
      expect(parseToolCalls(openai(args)).calls[0]?.arguments).toEqual({ city: 'Oslo' });
    }
    const hermes = `<tool_call>${JSON.stringify({ name: 'get_weather', arguments: JSON.stringify(once) })}</tool_call>`;
    expect(parseToolCalls(hermes).calls[0]?.arguments).toEqual({ city: 'Oslo' });
    for (const args of ['city=Oslo', '"[1, 2]"']) {
      const r = await scores(openai(args), oslo);
      expect(r, args).toMatchObject({ match: 0, penalty: -0.5 });
    }
  });
});

describe('a string holding JSON where the schema asks for an array or object', () => {
  const call = (name: string, args: Record<string, unknown>) =>
    `<tool_call>${JSON.stringify({ name, arguments: args })}</tool_call>`;

  it('the issue example: "tags": "[\\"red\\", \\"blue\\"]" for an array is ["red", "blue"]', async () => {
    const completion = call('tag_item', { tags: '["red", "blue"]' });
    const gt = [{ tag_item: { tags: [['red', 'blue']] } }];
    expect(await scores(completion, gt)).toMatchObject({ match: 1, penalty: 0 });
  });

  it('an object too; a string parameter keeps its JSON-looking text; wrong or broken JSON stays wrong', async () => {
    const search = [{ search: { filters: [{ max: [5] }] } }];
    expect(await scores(call('search', { filters: '{"max": 5}' }), search)).toMatchObject({
      match: 1,
      penalty: 0,
    });
    const noteGt = [{ note: { text: ['[1, 2]'] } }];
    expect(await scores(call('note', { text: '[1, 2]' }), noteGt)).toMatchObject({ match: 1, penalty: 0 });
    const tags = [{ tag_item: { tags: [['red']] } }];
    expect(await scores(call('tag_item', { tags: '{"a": 1}' }), tags)).toMatchObject({
      match: 0,
      penalty: -0.5,
    });
    expect(await scores(call('tag_item', { tags: "['red']" }), tags)).toMatchObject({
      match: 0,
      penalty: -0.5,
    });
    // Inside a dict BFCL compares values, not types (5.0 == 5 in Python): the match holds, while the
    // schema validation behind the penalty still refuses a float for the nested integer.
    expect(await scores(call('search', { filters: '{"max": 5.0}' }), search)).toMatchObject({
      match: 1,
      penalty: -0.5,
    });
  });

  it('the tool-use environment validates and runs the decoded value', async () => {
    const seen: unknown[] = [];
    const callable = {
      name: 'tag_item',
      parameters: toJsonSchema(functions[3]!.parameters),
      run: (args: Record<string, unknown>) => {
        seen.push(args.tags);
        return 'ok';
      },
    };
    const parsed = parseToolCalls(call('tag_item', { tags: '["red", "blue"]' })).calls[0]!;
    const outcome = await executeCall(parsed, [callable], { timeoutMs: 1000, maxResultChars: 100 });
    expect(outcome).toMatchObject({ status: 'ok', arguments: { tags: ['red', 'blue'] } });
    expect(seen).toEqual([['red', 'blue']]);
  });
});

describe('"args" in place of "arguments"', () => {
  it('reads bare JSON, OpenAI function objects and Hermes blocks', async () => {
    for (const completion of [
      '{"name": "get_weather", "args": {"city": "Oslo"}}',
      '{"tool_calls": [{"type": "function", "function": {"name": "get_weather", "args": {"city": "Oslo"}}}]}',
      '<tool_call>{"name": "get_weather", "args": {"city": "Oslo"}}</tool_call>',
    ]) {
      expect(await scores(completion, oslo), completion).toMatchObject({ match: 1, penalty: 0 });
    }
  });
});

describe("BFCL's integer rule", () => {
  const repeat = [{ repeat: { times: [5] } }];
  const scale = [{ scale: { factor: [2.0] } }];
  const call = (name: string, json: string) =>
    `<tool_call>{"name": "${name}", "arguments": ${json}}</tool_call>`;

  it('5.0 for an integer parameter is a type error; 5 is not', async () => {
    const r = await scores(call('repeat', '{"times": 5.0}'), repeat);
    expect(r).toMatchObject({ match: 0, penalty: -0.5 });
    expect(r.matchDetails).toMatchObject({ errorType: 'type_error:simple' });
    expect(await scores(call('repeat', '{"times": 5}'), repeat)).toMatchObject({ match: 1, penalty: 0 });
  });

  it('an exponent, a pythonic float and a float inside an integer array are type errors too', async () => {
    expect(await scores(call('repeat', '{"times": 5e0}'), repeat)).toMatchObject({ match: 0, penalty: -0.5 });
    expect(await scores('[repeat(times=5.0)]', repeat)).toMatchObject({ match: 0, penalty: -0.5 });
    expect(await scores('[repeat(times=5)]', repeat)).toMatchObject({ match: 1, penalty: 0 });
    const sums = [{ sum_list: { numbers: [[1, 2]] } }];
    expect(await scores(call('sum_list', '{"numbers": [1, 2.0]}'), sums)).toMatchObject({
      match: 0,
      penalty: -0.5,
    });
    expect(await scores(call('sum_list', '{"numbers": [1, 2]}'), sums)).toMatchObject({
      match: 1,
      penalty: 0,
    });
  });

  it('a float parameter accepts an integer and a float', async () => {
    expect(await scores(call('scale', '{"factor": 2}'), scale)).toMatchObject({ match: 1, penalty: 0 });
    expect(await scores(call('scale', '{"factor": 2.0}'), scale)).toMatchObject({ match: 1, penalty: 0 });
    expect(await scores('[scale(factor=2.0)]', scale)).toMatchObject({ match: 1, penalty: 0 });
  });

  it('the tool-use environment refuses 5.0 for an integer before running the tool', async () => {
    const callable = { name: 'repeat', parameters: toJsonSchema(functions[5]!.parameters), run: () => 'ran' };
    const parsed = parseToolCalls(call('repeat', '{"times": 5.0}')).calls[0]!;
    const outcome = await executeCall(parsed, [callable], { timeoutMs: 1000, maxResultChars: 100 });
    expect(outcome.status).toBe('invalid_arguments');
    expect(outcome.error).toMatch(/times must be integer, not a float/);
  });
});

describe('text that looks like an attempted call is an invalid call, never "no call"', () => {
  it('unreadable calls are penalised and their reason is logged', async () => {
    for (const completion of [
      '[TOOL_CALLS] get the weather for Oslo',
      '<|python_tag|>',
      '```json\n{"name": "get_weather", "arguments": {{"city": "Oslo"}}}\n```',
      '{"name": "get_weather", "arguments": {"city" = "Oslo"}}',
      '{"name": "get_weather", "arguments": "city=Oslo"}',
      '{"tool_calls": [{"function": {"name": "get_weather", "arguments": {{"city"}}}]}',
      '<tool_call>get_weather for Oslo</tool_call>',
      '<function=get_weather>{"city": Oslo, unit}</function>',
    ]) {
      const r = await scores(completion, oslo);
      expect(r.match, completion).toBe(0);
      expect(r.matchDetails, completion).toMatchObject({ errorType: 'parse_error' });
      expect(r.penalty, completion).toBe(-0.5);
      expect((r.details as { errors: string[] }).errors[0], completion).toMatch(/^parse_error: \S/);
    }
  });

  it('Llama 3.1 <function=…> tags are read', async () => {
    expect(await scores('<function=get_weather>{"city": "Oslo"}</function>', oslo)).toMatchObject({
      match: 1,
      penalty: 0,
    });
  });

  it('controls: prose with braces and JSON answers are not calls', () => {
    for (const text of ['The set {1, 2} has two elements.', '{"answer": 42}', 'Use \\frac{1}{2} here.']) {
      expect(parseToolCalls(text), text).toMatchObject({ calls: [], errors: [] });
    }
  });
});

describe('calls cut at the token limit are never repaired', () => {
  const cut = '{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "cel';

  it('an open block, bare JSON, a pythonic list or a function tag cut by the limit is an invalid call', async () => {
    for (const completion of [
      `<tool_call>${cut}`,
      cut,
      '[get_weather(city="Oslo", unit="cel',
      'get_weather(city="Oslo", unit="cel',
      '<function=get_weather>{"city": "Os',
      '<tool_call>{"name": "note", "arguments": {"text": "end with </tool_call> and',
    ]) {
      const parsed = parseToolCalls(completion, { finishReason: 'length' });
      expect(parsed.calls, completion).toEqual([]);
      expect(
        parsed.errors.map((e) => e.message),
        completion,
      ).toEqual([CUT_CALL_MESSAGE]);
      const r = await scores(completion, oslo, 'length');
      expect(r, completion).toMatchObject({ match: 0, penalty: -0.5 });
    }
  });

  it('complete calls before the cut still count; without the cut the same texts are read', async () => {
    const done = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>';
    const parsed = parseToolCalls(`${done}\n<tool_call>${cut}`, { finishReason: 'length' });
    expect(parsed.calls.map((c) => c.arguments)).toEqual([{ city: 'Oslo' }]);
    expect(parsed.errors).toHaveLength(1);
    expect(parseToolCalls(`<tool_call>${cut}`, { finishReason: 'eos' }).calls).toHaveLength(1);
    expect(parseToolCalls(done, { finishReason: 'length' }).calls).toHaveLength(1);
  });

  it('prose cut at the limit is not an attempted call', () => {
    for (const text of ['The weather in Oslo is {mild', 'f(x) = 3x + 2, so the root is', 'max(3, 5']) {
      expect(parseToolCalls(text, { finishReason: 'length' }), text).toMatchObject({ calls: [], errors: [] });
    }
  });
});

describe('a task whose parameter schema is invalid', () => {
  it('is a checker error (a data problem), never an invalid-call penalty on the model', async () => {
    const broken = {
      id: 'broken',
      data: {
        category: 'test',
        messages: [{ role: 'user', content: '?' }],
        functions: [
          {
            name: 'get_weather',
            description: 'Weather.',
            parameters: {
              type: 'dict',
              properties: { city: { type: 'string', minLength: 'three' } },
              required: ['city'],
            },
          },
        ],
        ground_truth: oslo,
      },
    };
    const t = {
      completion: '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>',
      completionTokens: 0,
    };
    const r = await runChecker(invalidCallPenalty, t, broken, {});
    expect(r).toMatchObject({ status: 'checker_error' });
    expect(JSON.stringify(r)).toMatch(/parameter schema is invalid/);
  });
});
