/**
 * A table of malformed and tricky calls with the scores `tool-call-match` and `invalid-call-penalty`
 * must give them: JSON repairs (trailing commas, single quotes, Python literals, unquoted keys,
 * truncation), wrong types, strings for numbers, missing and extra arguments, optional arguments,
 * nested objects, arrays, several calls in one turn, text and think blocks around the calls.
 */
import { describe, expect, it } from 'vitest';
import { invalidCallPenalty } from '../../rewards/builtin/invalid-call-penalty.js';
import { toolCallMatch } from '../../rewards/builtin/tool-call-match.js';
import type { FunctionSpec, GroundTruthCall } from '../../rewards/builtin/tool-task.js';
import { runChecker } from '../../rewards/score.js';

const weather: FunctionSpec = {
  name: 'get_weather',
  description: 'Current weather in a city.',
  parameters: {
    type: 'dict',
    properties: {
      city: { type: 'string', description: 'City name.' },
      unit: { type: 'string', enum: ['celsius', 'fahrenheit'], description: 'Temperature unit.' },
    },
    required: ['city'],
  },
};
const factorial: FunctionSpec = {
  name: 'math.factorial',
  description: 'Factorial of a number.',
  parameters: { type: 'dict', properties: { number: { type: 'integer' } }, required: ['number'] },
};
const area: FunctionSpec = {
  name: 'calc_area',
  description: 'Area of a rectangle.',
  parameters: {
    type: 'dict',
    properties: { length: { type: 'float' }, width: { type: 'float' } },
    required: ['length', 'width'],
  },
};
const hotel: FunctionSpec = {
  name: 'book_hotel',
  description: 'Books a hotel room.',
  parameters: {
    type: 'dict',
    properties: {
      guest: {
        type: 'dict',
        properties: { name: { type: 'string' }, age: { type: 'integer' } },
        required: ['name', 'age'],
      },
      nights: { type: 'integer' },
    },
    required: ['guest', 'nights'],
  },
};
const sum: FunctionSpec = {
  name: 'sum_list',
  description: 'Sum of numbers.',
  parameters: {
    type: 'dict',
    properties: { numbers: { type: 'array', items: { type: 'integer' } } },
    required: ['numbers'],
  },
};
const alarm: FunctionSpec = {
  name: 'set_alarm',
  description: 'Sets an alarm.',
  parameters: {
    type: 'dict',
    properties: { time: { type: 'string' }, repeat: { type: 'boolean' } },
    required: ['time', 'repeat'],
  },
};

const functions = [weather, factorial, area, hotel, sum, alarm];
const gt = {
  weather: [{ get_weather: { city: ['Paris', 'Paris, France'], unit: ['celsius', ''] } }],
  weather2: [
    { get_weather: { city: ['Paris'], unit: ['celsius', ''] } },
    { get_weather: { city: ['Tokyo'], unit: ['celsius', ''] } },
  ],
  factorial: [{ 'math.factorial': { number: [5] } }],
  area: [{ calc_area: { length: [3.5], width: [2.0] } }],
  hotel: [{ book_hotel: { guest: [{ name: ['Ann'], age: [30] }], nights: [2] } }],
  sum: [{ sum_list: { numbers: [[1, 2, 3]] } }],
  alarm: [{ set_alarm: { time: ['07:00', '7:00'], repeat: [true] } }],
} satisfies Record<string, GroundTruthCall[]>;

interface Case {
  name: string;
  expected: keyof typeof gt;
  completion: string;
  /** tool-call-match value. */
  match: number;
  /** invalid-call-penalty value (default 0 when match is 1). */
  penalty?: number;
}

const tc = (body: string) => `<tool_call>\n${body}\n</tool_call>`;

const cases: Case[] = [
  {
    name: 'hermes, canonical',
    expected: 'factorial',
    completion: tc('{"name": "math.factorial", "arguments": {"number": 5}}'),
    match: 1,
  },
  {
    name: 'openai tool_calls, arguments as a JSON string',
    expected: 'factorial',
    completion:
      '{"tool_calls": [{"id": "c1", "type": "function", "function": {"name": "math.factorial", "arguments": "{\\"number\\": 5}"}}]}',
    match: 1,
  },
  {
    name: 'bare JSON object',
    expected: 'factorial',
    completion: '{"name": "math.factorial", "arguments": {"number": 5}}',
    match: 1,
  },
  {
    name: 'trailing commas',
    expected: 'factorial',
    completion: tc('{"name": "math.factorial", "arguments": {"number": 5,},}'),
    match: 1,
  },
  {
    name: 'single quotes',
    expected: 'weather',
    completion: tc("{'name': 'get_weather', 'arguments': {'city': 'Paris'}}"),
    match: 1,
  },
  {
    name: 'Python True literal',
    expected: 'alarm',
    completion: tc("{'name': 'set_alarm', 'arguments': {'time': '07:00', 'repeat': True}}"),
    match: 1,
  },
  {
    name: 'unquoted keys',
    expected: 'factorial',
    completion: tc('{name: "math.factorial", arguments: {number: 5}}'),
    match: 1,
  },
  {
    name: 'text before and after a hermes block',
    expected: 'weather',
    completion: `I will check the weather.\n${tc('{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}')}\nOne moment.`,
    match: 1,
  },
  {
    name: 'text around bare JSON',
    expected: 'factorial',
    completion: 'Sure! {"name": "math.factorial", "arguments": {"number": 5}} is the call you need.',
    match: 1,
  },
  {
    name: 'JSON in a code fence',
    expected: 'factorial',
    completion: 'Here:\n```json\n{"name": "math.factorial", "arguments": {"number": 5}}\n```',
    match: 1,
  },
  {
    name: 'string for an integer',
    expected: 'factorial',
    completion: tc('{"name": "math.factorial", "arguments": {"number": "5"}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'integer for a float (allowed)',
    expected: 'area',
    completion: tc('{"name": "calc_area", "arguments": {"length": 3.5, "width": 2}}'),
    match: 1,
  },
  {
    name: 'float for an integer',
    expected: 'factorial',
    completion: tc('{"name": "math.factorial", "arguments": {"number": 5.5}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'missing required argument',
    expected: 'area',
    completion: tc('{"name": "calc_area", "arguments": {"length": 3.5}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'extra argument',
    expected: 'factorial',
    completion: tc('{"name": "math.factorial", "arguments": {"number": 5, "precise": true}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'optional argument omitted',
    expected: 'weather',
    completion: tc('{"name": "get_weather", "arguments": {"city": "Paris"}}'),
    match: 1,
  },
  {
    name: 'optional argument with an allowed value',
    expected: 'weather',
    completion: tc('{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}'),
    match: 1,
  },
  {
    name: 'optional argument outside its enum',
    expected: 'weather',
    completion: tc('{"name": "get_weather", "arguments": {"city": "Paris", "unit": "kelvin"}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'optional argument with a valid but wrong value',
    expected: 'weather',
    completion: tc('{"name": "get_weather", "arguments": {"city": "Paris", "unit": "fahrenheit"}}'),
    match: 0,
    penalty: 0,
  },
  {
    name: 'unknown function',
    expected: 'factorial',
    completion: tc('{"name": "factorial", "arguments": {"number": 5}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'dots written as underscores',
    expected: 'factorial',
    completion: tc('{"name": "math_factorial", "arguments": {"number": 5}}'),
    match: 1,
  },
  {
    name: 'string compared without case, spaces or punctuation',
    expected: 'weather',
    completion: tc('{"name": "get_weather", "arguments": {"city": "paris,france"}}'),
    match: 1,
  },
  {
    name: 'string not among the answers',
    expected: 'weather',
    completion: tc('{"name": "get_weather", "arguments": {"city": "London"}}'),
    match: 0,
    penalty: 0,
  },
  {
    name: 'nested object',
    expected: 'hotel',
    completion: tc('{"name": "book_hotel", "arguments": {"guest": {"name": "Ann", "age": 30}, "nights": 2}}'),
    match: 1,
  },
  {
    name: 'nested object missing a key',
    expected: 'hotel',
    completion: tc('{"name": "book_hotel", "arguments": {"guest": {"name": "Ann"}, "nights": 2}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'nested object with an extra key',
    expected: 'hotel',
    completion: tc(
      '{"name": "book_hotel", "arguments": {"guest": {"name": "Ann", "age": 30, "vip": true}, "nights": 2}}',
    ),
    match: 0,
    penalty: 0,
  },
  {
    name: 'array',
    expected: 'sum',
    completion: tc('{"name": "sum_list", "arguments": {"numbers": [1, 2, 3]}}'),
    match: 1,
  },
  {
    name: 'array in another order',
    expected: 'sum',
    completion: tc('{"name": "sum_list", "arguments": {"numbers": [3, 2, 1]}}'),
    match: 0,
    penalty: 0,
  },
  {
    name: 'array with a string element',
    expected: 'sum',
    completion: tc('{"name": "sum_list", "arguments": {"numbers": [1, "2", 3]}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'two calls in one turn, reverse order',
    expected: 'weather2',
    completion: `${tc('{"name": "get_weather", "arguments": {"city": "Tokyo"}}')}\n${tc('{"name": "get_weather", "arguments": {"city": "Paris"}}')}`,
    match: 1,
  },
  {
    name: 'two calls as a JSON array',
    expected: 'weather2',
    completion:
      '[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Tokyo"}}]',
    match: 1,
  },
  {
    name: 'two calls in one hermes block (array)',
    expected: 'weather2',
    completion: tc(
      '[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "get_weather", "arguments": {"city": "Tokyo"}}]',
    ),
    match: 1,
  },
  {
    name: 'one call where two are expected',
    expected: 'weather2',
    completion: tc('{"name": "get_weather", "arguments": {"city": "Paris"}}'),
    match: 0,
    penalty: 0,
  },
  {
    name: 'a duplicate third call',
    expected: 'weather2',
    completion: [
      tc('{"name": "get_weather", "arguments": {"city": "Paris"}}'),
      tc('{"name": "get_weather", "arguments": {"city": "Tokyo"}}'),
      tc('{"name": "get_weather", "arguments": {"city": "Tokyo"}}'),
    ].join('\n'),
    match: 0,
    penalty: 0,
  },
  {
    name: 'openai arguments string with single quotes',
    expected: 'factorial',
    completion: `{"tool_calls": [{"type": "function", "function": {"name": "math.factorial", "arguments": "{'number': 5}"}}]}`,
    match: 1,
  },
  {
    name: 'hermes block left open (the stop string was </tool_call>)',
    expected: 'factorial',
    completion: '<tool_call>{"name": "math.factorial", "arguments": {"number": 5}}',
    match: 1,
  },
  {
    name: 'JSON missing its closing braces, finish reason unknown',
    expected: 'factorial',
    completion: '<tool_call>{"name": "math.factorial", "arguments": {"number": 5',
    match: 1,
  },
  {
    name: 'garbage inside a hermes block',
    expected: 'factorial',
    completion: tc('call factorial of five please'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'no call, prose only',
    expected: 'factorial',
    completion: 'The factorial of 5 is 120.',
    match: 0,
    penalty: 0,
  },
  {
    name: 'Llama-style "parameters" key',
    expected: 'factorial',
    completion: '{"name": "math.factorial", "parameters": {"number": 5}}',
    match: 1,
  },
  {
    name: 'arguments as a list',
    expected: 'factorial',
    completion: tc('{"name": "math.factorial", "arguments": [5]}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'a draft call inside <think> is ignored',
    expected: 'factorial',
    completion: `<think>maybe ${tc('{"name": "math.factorial", "arguments": {"number": 4}}')}</think>\n${tc('{"name": "math.factorial", "arguments": {"number": 5}}')}`,
    match: 1,
  },
  {
    name: 'a call only inside <think>',
    expected: 'factorial',
    completion: `<think>${tc('{"name": "math.factorial", "arguments": {"number": 5}}')}</think>The answer is 120.`,
    match: 0,
    penalty: 0,
  },
  {
    name: 'boolean as a string',
    expected: 'alarm',
    completion: tc('{"name": "set_alarm", "arguments": {"time": "07:00", "repeat": "true"}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'null for an optional argument',
    expected: 'weather',
    completion: tc('{"name": "get_weather", "arguments": {"city": "Paris", "unit": null}}'),
    match: 0,
    penalty: -0.5,
  },
  {
    name: 'one good and one unreadable block',
    expected: 'factorial',
    completion: `${tc('{"name": "math.factorial", "arguments": {"number": 5}}')}\n${tc('{{{')}`,
    match: 0,
    penalty: -0.5,
  },
];

describe('tricky and malformed calls', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });
  for (const c of cases) {
    it(`${c.name}: match ${c.match}, penalty ${c.penalty ?? 0}`, async () => {
      const task = {
        id: c.name,
        data: {
          category: 'tricky',
          messages: [{ role: 'user', content: '?' }],
          functions,
          ground_truth: gt[c.expected],
        },
      };
      const trajectory = { completion: c.completion, completionTokens: 0 };
      const match = await runChecker(toolCallMatch, trajectory, task, {});
      expect(match.value, JSON.stringify(match.details)).toBe(c.match);
      const penalty = await runChecker(invalidCallPenalty, trajectory, task, {});
      expect(penalty.value, JSON.stringify(penalty.details)).toBe(c.penalty ?? 0);
    });
  }
});
