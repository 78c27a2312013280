import { describe, expect, it } from 'vitest';
import { extractAnswer, findLastBoxed, lastBoxed } from '../../rewards/builtin/math/extract.js';

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
    // Markdown emphasis around the answer or the label (issue 15)
    ['…\n\nFinal Answer: **56**', '56', 'answer-is'],
    ['**Final Answer:** 56', '56', 'answer-is'],
    ['**Final Answer**: __-3__', '-3', 'answer-is'],
    ['## Final Answer\n\n**56**', '56', 'answer-is'],
    ['### Final Answer\n$\\frac{3}{4}$', '\\frac{3}{4}', 'answer-is'],
    // A sentence after "Final answer": the value after its last copula, else its last expression
    ['Final answer: The smallest $k$ is 12.', '12', 'answer-is'],
    ['Final answer: There are 15 ways to do it.', '15', 'answer-is'],
    ['Answer: It is not 12, it is 13.', '13', 'answer-is'],
    ['Final answer: The two roots are $3$ and $-2$.', '3 and -2', 'answer-is'],
    ['Final answer: Jan has 12 apples left.', '12', 'answer-is'],
    ['Final answer: $x = 5$ is the only solution.', 'x = 5', 'answer-is'],
    ['Answer: 3 and 7', '3 and 7', 'answer-is'],
    ['Final answer: 3 and 7 are the roots.', '3 and 7', 'answer-is'],
    ['Final answer: $\\frac{1}{2}$ is the probability we want.', '\\frac{1}{2}', 'answer-is'],
    ['Answer: 2.5 million dollars', '2.5 million dollars', 'answer-is'],
    ['The answer is Monday.', 'Monday', 'answer-is'],
    // Mixed numbers are one number
    ['She needs 3 1/4 cups.', '3 1/4', 'last-number'],
    ['Answer: 3 1/4 cups', '3 1/4 cups', 'answer-is'],
    ['\\boxed{3\\ 1/4}', '3\\ 1/4', 'boxed'],
    ['on 3 1/4/2020 we met 2 people', '2', 'last-number'],
    // The last math segment, taken whole (its closed right side for a value)
    ['so $m = \\frac{2}{5}$', '\\frac{2}{5}', 'last-math'],
    ['so $m = \\frac{2}{5}$.', '\\frac{2}{5}', 'last-math'],
    ['adding, $3 + 4 = 7$', '7', 'last-math'],
    ['so $x = 2 + 3 = 5$ in the end', '5', 'last-math'],
    ['$y \\in (0, 4]$', 'y \\in (0, 4]', 'last-math'],
    ['$7 \\ge y$', '7 \\ge y', 'last-math'],
    ['the line is $y = 2x + 3$.', 'y = 2x + 3', 'last-math'],
    ['hence $a + b = 7$', 'a + b = 7', 'last-math'],
    ['hence \\(f(2) = 9\\)', '9', 'last-math'],
    ['\\[\\begin{aligned} s &= 3 + 4 \\\\ &= 7 \\end{aligned}\\]', '7', 'last-math'],
    ['$$\\frac{\\pi}{3}$$', '\\frac{\\pi}{3}', 'last-math'],
    ['We have $x = 3$. So the total is 7.', '7', 'last-number'],
    // Prices in prose are not math (pandoc's rule for `$`)
    ['He pays $5 and gets $3 back, so 2 left.', '2', 'last-number'],
    ['It cost $12.50 in total', '12.50', 'last-number'],
    ['$5+$3=$8', '8', 'last-number'],
  ] as const)('%s → %s (%s)', (text, answer, rule) => {
    expect(extractAnswer(text)).toEqual({ answer, rule });
  });

  it('stays linear on degenerate completions (many unclosed \\boxed{): a last box that never closes is no answer', () => {
    expect(extractAnswer(`${'x \\boxed{'.repeat(50_000)} 7`)).toEqual({ answer: null, rule: 'boxed' });
    expect(lastBoxed(`\\boxed{3} then ${'\\boxed{'.repeat(50_000)}`)).toBeNull();
    expect(lastBoxed(`${'\\boxed{'.repeat(50_000)} \\boxed{3}`)).toBe('3');
    expect(lastBoxed('\\boxed{\\boxed{1}+1}')).toBe('1');
  });

  it('stays linear on many unclosed math delimiters', () => {
    const text = `${'\\[ x $ y \\( '.repeat(30_000)} so $m = 4$`;
    const start = performance.now();
    expect(extractAnswer(text)).toEqual({ answer: '4', rule: 'last-math' });
    expect(performance.now() - start).toBeLessThan(5_000); // quadratic would take minutes
  });

  it('honours the rule list and the empty \\boxed{}', () => {
    expect(extractAnswer('The answer is 5', ['boxed'])).toEqual({ answer: null, rule: 'none' });
    expect(extractAnswer('\\boxed{} then 9')).toEqual({ answer: '9', rule: 'last-number' });
    expect(lastBoxed('\\boxed{unclosed {')).toBeNull();
  });

  it('a last \\boxed{ that never closes ends the search: no earlier box, no number inside it', () => {
    expect(extractAnswer('First \\boxed{54}. No wait, it is \\boxed{5')).toEqual({
      answer: null,
      rule: 'boxed',
    });
    expect(extractAnswer('\\boxed{\\frac{1}{2}')).toEqual({ answer: null, rule: 'boxed' });
    expect(extractAnswer('The answer is 7. \\boxed{7')).toEqual({ answer: null, rule: 'boxed' });
    expect(findLastBoxed('\\boxed{1} and \\boxed{2')).toEqual({ unclosed: true });
    // A box closed after an unclosed one is still the answer.
    expect(extractAnswer('\\boxed{5 oops. \\boxed{54}')).toEqual({ answer: '54', rule: 'boxed' });
  });
});
