import { describe, expect, it } from 'vitest';
import { extractAnswer, lastBoxed } from '../../rewards/builtin/math/extract.js';

describe('answer extraction', () => {
  it.each([
    [
      'so $\\boxed{\\frac{1}{2}}$ and later \\boxed{\\left(3, \\frac{\\pi}{2}\\right)}.',
      '\\left(3, \\frac{\\pi}{2}\\right)',
      'boxed',
    ],
    ['\\fbox{42}', '42', 'boxed'],
    ['\\boxed 7 is it', '7', 'boxed'],
    ['\\boxed{\\{1, 2\\}}', '\\{1, 2\\}', 'boxed'],
    ['16 - 3 = 13\n#### 1,300', '1,300', 'hashes'],
    ['So the answer is $\\frac{3}{4}$. Done.', '\\frac{3}{4}', 'answer-is'],
    ['The final answer is 3.5.', '3.5', 'answer-is'],
    ['Answer: -12', '-12', 'answer-is'],
    ['I bought 3 apples for $1,250.50 total', '1,250.50', 'last-number'],
    ['no digits at all', null, 'none'],
    ['counting 1,2,3', '3', 'last-number'],
    ['a total of 12,500 and 3/4', '3/4', 'last-number'],
  ] as const)('%s → %s (%s)', (text, answer, rule) => {
    expect(extractAnswer(text)).toEqual({ answer, rule });
  });

  it('stays linear on degenerate completions (many unclosed \\boxed{), picking the last closed group', () => {
    expect(extractAnswer(`${'x \\boxed{'.repeat(50_000)} 7`)).toEqual({ answer: '7', rule: 'last-number' });
    expect(lastBoxed(`\\boxed{3} then ${'\\boxed{'.repeat(50_000)}`)).toBe('3');
    expect(lastBoxed('\\boxed{\\boxed{1}+1}')).toBe('1');
  });

  it('honours the rule list and the empty \\boxed{}', () => {
    expect(extractAnswer('The answer is 5', ['boxed'])).toEqual({ answer: null, rule: 'none' });
    expect(extractAnswer('\\boxed{} then 9')).toEqual({ answer: '9', rule: 'last-number' });
    expect(lastBoxed('\\boxed{unclosed {')).toBeNull();
  });
});
