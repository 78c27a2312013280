/** `final-answer` and `turn-budget` on hand-written trajectories: extraction, comparison, ranges. */
import { describe, expect, it } from 'vitest';
import type { ScoredTrajectory } from '../../rewards/api.js';
import { finalAnswer } from '../../rewards/builtin/final-answer.js';
import { turnBudget } from '../../rewards/builtin/turn-budget.js';
import { runChecker } from '../../rewards/score.js';

const task = (answer: string | undefined, kind: 'number' | 'text', budget?: number) => ({
  id: 't',
  data: {
    category: 'test',
    messages: [{ role: 'user', content: '?' }],
    functions: [],
    ground_truth: [],
    ...(answer !== undefined ? { answer, answer_kind: kind } : {}),
    ...(budget !== undefined ? { turn_budget: budget, tool_set: 'builtin' } : {}),
  },
});
const text = (completion: string): ScoredTrajectory => ({ completion, completionTokens: 0 });

describe('final-answer', () => {
  const cases: [string, string, 'number' | 'text', number][] = [
    ['Answer: 42.', '42', 'number', 1],
    ['answer:42', '42', 'number', 1],
    ['The tool says 42, so the answer is 42', '42', 'number', 1],
    ['Answer: 1,234', '1234', 'number', 1],
    ['Answer: 3.21869', '3.21869', 'number', 1],
    ['Answer: 3.2187', '3.21869', 'number', 0],
    ['<tool_call>{"name": "calculator", "arguments": {"expression": "6*7"}}</tool_call>', '42', 'number', 0],
    [
      '<tool_call>{"name": "calculator", "arguments": {"expression": "6*7"}}</tool_call>\nAnswer: 42',
      '42',
      'number',
      1,
    ],
    ['Answer: monday', 'Monday', 'text', 1],
    ['Answer: **Monday**', 'Monday', 'text', 1],
    ['Answer: 2024-03-01', '2024-03-02', 'text', 0],
    ['Answer: 2024-03-01', '2024-03-01', 'text', 1],
    ['It is Monday', 'Monday', 'text', 0],
    ['Monday', 'Monday', 'text', 1],
  ];
  for (const [completion, answer, kind, want] of cases) {
    it(`${JSON.stringify(completion)} vs ${answer} (${kind}) → ${want}`, async () => {
      const r = await runChecker(finalAnswer, text(completion), task(answer, kind), {});
      expect(r.value, JSON.stringify(r.details)).toBe(want);
    });
  }
  it('reads the final turn of an executed rollout, and is not applicable without an answer', async () => {
    const stopped = { ...text('Answer: 42'), extra: { finalText: '' } };
    expect((await runChecker(finalAnswer, stopped, task('42', 'number'), {})).value).toBe(0);
    const answered = { ...text('…'), extra: { finalText: 'Answer: 42' } };
    expect((await runChecker(finalAnswer, answered, task('42', 'number'), {})).value).toBe(1);
    const r = await runChecker(finalAnswer, text('Answer: 1'), task(undefined, 'number'), {});
    expect(r.applicable).toBe(false);
  });
});

describe('turn-budget', () => {
  const rollout = (turns: number, stoppedBy: string, maxTurns = 6): ScoredTrajectory => ({
    ...text(''),
    extra: { assistantTurns: turns, stoppedBy, maxTurns },
  });
  it('is 0 within the budget, linear past it, −1 without an answer, n/a without a budget', async () => {
    const score = async (t: ScoredTrajectory, budget?: number) =>
      runChecker(turnBudget, t, task('1', 'number', budget), {});
    expect((await score(rollout(3, 'answer'), 3)).value).toBe(0);
    expect((await score(rollout(1, 'answer'), 3)).value).toBe(0);
    expect((await score(rollout(4, 'answer'), 3)).value).toBeCloseTo(-1 / 3);
    expect((await score(rollout(6, 'answer'), 3)).value).toBe(-1);
    expect((await score(rollout(6, 'max_turns'), 3)).value).toBe(-1);
    expect((await score(rollout(2, 'max_context'), 3)).value).toBe(-1);
    expect((await score(rollout(1, 'single_turn'))).applicable).toBe(false);
  });
});
