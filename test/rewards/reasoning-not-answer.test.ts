/**
 * Issue 13 §2–3: reasoning is never scored as the answer, and output cut at the token limit is never
 * read as one — for every built-in checker that reads an answer. The examples first, then
 * more of each kind.
 */
import { describe, expect, it } from 'vitest';
import '../../rewards/builtin/index.js';
import type { ScoredTask, ScoredTrajectory } from '../../rewards/api.js';
import { getReward } from '../../rewards/registry.js';
import { runChecker } from '../../rewards/score.js';

const traj = (completion: string, finishReason?: string): ScoredTrajectory => ({
  completion,
  completionTokens: 0,
  ...(finishReason ? { finishReason } : {}),
});
const score = (name: string, t: ScoredTrajectory, data: Record<string, unknown>, config = {}) =>
  runChecker(getReward(name), t, { id: 't', data } as ScoredTask, config);

const flights = {
  category: 'test',
  messages: [{ role: 'user', content: 'Flights from Oslo to Berlin on 14 March 2025?' }],
  functions: [
    {
      name: 'search_flights',
      description: 'Searches flights.',
      parameters: {
        type: 'dict',
        properties: {
          origin: { type: 'string' },
          destination: { type: 'string' },
          date: { type: 'string' },
        },
        required: ['origin', 'destination', 'date'],
      },
    },
  ],
  ground_truth: [{ search_flights: { origin: ['OSL'], destination: ['BER'], date: ['2025-03-14'] } }],
};
const flightCall = (date: string) =>
  `<tool_call>{"name": "search_flights", "arguments": {"origin": "OSL", "destination": "BER", "date": "${date}"}}</tool_call>`;
const numberTask = (answer: string) => ({
  category: 'test',
  messages: [{ role: 'user', content: '?' }],
  functions: [],
  ground_truth: [],
  answer,
  answer_kind: 'number',
});
const needles = { answers: ['4821907'], distractors: ['9981234'] };

describe('issue examples', () => {
  it('a draft call in the reasoning, a lone </think>, then the right call: one call, full match', async () => {
    const completion = `Let me search. ${flightCall('2025-03-13')} No wait, the user said the 14th.</think>\n${flightCall('2025-03-14')}`;
    const match = await score('tool-call-match', traj(completion), flights);
    expect(match.value, JSON.stringify(match.details)).toBe(1);
    expect(match.details).toMatchObject({ made: 1, expected: 1 });
    expect((await score('invalid-call-penalty', traj(completion), flights)).value).toBe(0);
  });

  it('"answer: 30" in the reasoning, "So the area is 54." after it: final-answer 1 for 54', async () => {
    const completion = '<think>Quick guess, answer: 30. Check: 6 * 9 = 54.</think>So the area is 54.';
    const r = await score('final-answer', traj(completion), numberTask('54'));
    expect(r.value, JSON.stringify(r.details)).toBe(1);
    expect(r.details).toMatchObject({ extracted: '54' });
    expect((await score('final-answer', traj(completion), numberTask('30'))).value).toBe(0);
  });

  it("the needle's value only in the reasoning, the distractor's as the answer: needle-recall 0", async () => {
    const completion = '<think>apple is 4821907, pear is 9981234. They asked for pear?</think>9981234';
    expect((await score('needle-recall', traj(completion), needles)).value).toBe(0);
  });
});

describe('reasoning is not the answer: more of each kind', () => {
  it('a lone </think> hides what came before it from every answer checker', async () => {
    const t = traj('the answer is 54, \\boxed{54}</think>So it is \\boxed{30}.');
    expect((await score('math-equivalence', t, { answer: '54' })).value).toBe(0);
    expect((await score('numeric', t, { answer: '54' })).value).toBe(0);
    expect((await score('exact-match', t, { answer: '54' })).value).toBe(0);
    expect((await score('math-equivalence', t, { answer: '30' })).value).toBe(1);
    expect((await score('needle-recall', traj('4821907</think>no idea'), needles)).value).toBe(0);
  });

  it('an unclosed <think> is a missing answer, even with a closed block before it', async () => {
    for (const completion of [
      '<think>so \\boxed{54}',
      '<think>a</think>The answer is \\boxed{54}. <think>hm, or 55',
    ]) {
      const r = await score('math-equivalence', traj(completion), { answer: '54' });
      expect(r.value).toBe(0);
      expect(r.details).toMatchObject({ missing: 'unclosed_think' });
      expect((await score('numeric', traj(completion), { answer: '54' })).value).toBe(0);
      expect((await score('exact-match', traj(completion), { answer: '54' })).value).toBe(0);
    }
    expect((await score('final-answer', traj('<think>Answer: 54'), numberTask('54'))).value).toBe(0);
    expect((await score('needle-recall', traj('<think>4821907'), needles)).value).toBe(0);
  });

  it('final-answer: an "Answer:" line inside the reasoning is not the answer', async () => {
    const t = traj('<think>Answer: 54</think>I could not compute it.');
    expect((await score('final-answer', t, numberTask('54'))).value).toBe(0);
    const rollout = { ...traj('…'), extra: { finalText: 'Answer: 54 maybe</think>Answer: 30' } };
    expect((await score('final-answer', rollout, numberTask('30'))).value).toBe(1);
  });

  it('regex searches the answer text, not the reasoning', async () => {
    const cfg = { pattern: 'Paris' };
    expect((await score('regex', traj('<think>Paris?</think>London'), {}, cfg)).value).toBe(0);
    expect((await score('regex', traj('Paris?</think>London'), {}, cfg)).value).toBe(0);
    expect((await score('regex', traj('<think>x</think>Paris'), {}, cfg)).value).toBe(1);
    const unclosed = await score('regex', traj('<think>Paris'), {}, { ...cfg, missValue: -1 });
    expect(unclosed.value).toBe(-1);
  });

  it('format: a lone </think> closes the reasoning; boxes in the reasoning do not count', async () => {
    const think = { require: ['think'] };
    expect((await score('format', traj('reasoning</think> \\boxed{4}'), {}, think)).value).toBe(1);
    expect((await score('format', traj('<think>r</think> \\boxed{4}'), {}, think)).value).toBe(1);
    expect((await score('format', traj('hello <think>r</think> \\boxed{4}'), {}, think)).value).toBe(0);
    expect((await score('format', traj('<think>r \\boxed{4}'), {}, think)).value).toBe(0);
    const boxed = { require: ['boxed'] };
    expect((await score('format', traj('<think>\\boxed{4}</think> four'), {}, boxed)).value).toBe(0);
    const single = { require: ['single-boxed'] };
    expect((await score('format', traj('<think>\\boxed{3}</think> \\boxed{4}'), {}, single)).value).toBe(1);
  });

  it('tool calls: a call only in an unclosed <think> is no call; each turn is read on its own', async () => {
    const unclosed = await score('tool-call-match', traj(`<think>${flightCall('2025-03-14')}`), flights);
    expect(unclosed.value).toBe(0);
    expect(unclosed.details).toMatchObject({ made: 0 });
    const turns = [
      { role: 'user', content: '?' },
      { role: 'assistant', content: `<think>${flightCall('2025-03-13')}</think>${flightCall('2025-03-14')}` },
      { role: 'tool', content: '[]' },
      { role: 'assistant', content: `${flightCall('2025-03-12')}</think>No flights.` },
    ];
    const multi = await score('tool-call-match', { ...traj(''), turns }, flights);
    expect(multi.value, JSON.stringify(multi.details)).toBe(1);
  });
});

describe('a sample cut at the token limit has no answer', () => {
  it('a \\boxed{ cut off at the limit: no answer, never the earlier box', async () => {
    const completion = 'First try \\boxed{54}. Hmm, that is wrong: the area is \\boxed{5';
    for (const name of ['math-equivalence', 'numeric', 'exact-match']) {
      const r = await score(name, traj(completion, 'length'), { answer: '54' });
      expect(r.value, name).toBe(0);
      expect(r.details, name).toMatchObject({ missing: 'truncated' });
    }
    expect((await score('format', traj(completion, 'length'), {}, { require: ['boxed'] })).value).toBe(0);
  });

  it('a last \\boxed{ that never closes is no answer even when the sample stopped by itself', async () => {
    const completion = 'First try \\boxed{54}. Hmm, that is wrong: the area is \\boxed{5';
    for (const finish of ['stop', 'eos', undefined]) {
      for (const name of ['math-equivalence', 'numeric']) {
        const r = await score(name, traj(completion, finish), { answer: '54' });
        expect(r.value, `${name} ${finish}`).toBe(0);
      }
    }
  });

  it('a number cut at the limit is not read as the answer; the same text finished is', async () => {
    expect((await score('numeric', traj('The answer is 54', 'length'), { answer: '54' })).value).toBe(0);
    expect((await score('numeric', traj('The answer is 54', 'stop'), { answer: '54' })).value).toBe(1);
    expect((await score('numeric', traj('The answer is 54', 'eos'), { answer: '54' })).value).toBe(1);
    expect((await score('final-answer', traj('Answer: 54', 'length'), numberTask('54'))).value).toBe(0);
    expect((await score('needle-recall', traj('4821907', 'length'), needles)).value).toBe(0);
    expect((await score('needle-recall', traj('4821907', 'eos'), needles)).value).toBe(1);
  });

  it("an executed rollout's final turn cut at the limit gives final-answer 0", async () => {
    const rollout = { ...traj('…', 'length'), extra: { finalText: 'Answer: 54' } };
    expect((await score('final-answer', rollout, numberTask('54'))).value).toBe(0);
  });
});
