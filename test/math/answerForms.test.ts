/**
 * Issue 15's examples, each scored as written through the `math-equivalence` checker (extraction and
 * equivalence together, what `npx multigym score` runs). "not equal" rows are controls. The kinds'
 * own extra cases live in test/rewards/extract.test.ts and test/rewards/equivalencePairs.ts.
 */
import { describe, expect, it } from 'vitest';
import { mathEquivalence } from '../../rewards/builtin/math-equivalence.js';

const cfg = mathEquivalence.configSchema.parse({});

async function reward(completion: string, answer: string): Promise<number> {
  const out = await mathEquivalence.score(
    { completion, completionTokens: 0 },
    { id: 't', data: { answer } },
    cfg,
  );
  return out.value;
}

describe('issue 15: math answer forms, scored end to end', () => {
  it.each([
    // extraction
    ['…\n\nFinal Answer: **56**', '56', 1],
    ['Final answer: The smallest $k$ is 12.', '12', 1],
    ['She needs 3 1/4 cups.', '13/4', 1],
    ['She needs 3 1/4 cups.', '1/4', 0],
    ['\\boxed{3\\ 1/4}', '13/4', 1],
    ['\\boxed{3\\ 1/4}', '31/4', 0],
    ['Answer: 3 1/4 cups', '13/4', 1],
    ['so $m = \\frac{2}{5}$', '2/5', 1],
    ['so $m = \\frac{2}{5}$', '5', 0],
    // equivalence
    ['\\boxed{|x|}', 'x', 0],
    ['\\boxed{\\sqrt{x^2}}', 'x', 0],
    ['\\boxed{\\sqrt{x^2}}', '|x|', 1],
    ['\\boxed{\\frac{1}{3^{40}}}', '\\frac{1}{3^{41}}', 0],
    ['\\boxed{4 \\text{ and } 7}', '4, 7', 1],
    ['\\boxed{7 \\text{ and } 4}', '4, 7', 1],
    ['\\boxed{12,\\!500}', '12500', 1],
    ['\\boxed{\\cfrac{2}{5}}', '2/5', 1],
    ['\\boxed{exp(3) - 2}', 'e^{3}-2', 1],
    ['\\boxed{pi/3}', '\\frac{\\pi}{3}', 1],
    ['\\boxed{3*pi}', '3\\pi', 1],
    ['\\boxed{sqrt(2)/2}', '\\frac{\\sqrt{2}}{2}', 1],
    ['\\boxed{(a,b)=(4,1)}', '(4,1)', 1],
    ['\\boxed{y = 2x + 3}', '2x - y = -3', 1],
    ['\\boxed{y = 2x + 3}', 'y = 2x - 3', 0],
    ['$y \\in (0, 4]$', '0 < y \\le 4', 1],
    ['$-y \\le 3$', 'y \\ge -3', 1],
    ['$7 \\ge y$', 'y \\le 7', 1],
    ['$y > -3$', 'y < 3', 0],
    ['\\boxed{2.5 \\text{ million}}', '2500000', 1],
  ] as const)('%j vs %j → %i', async (completion, answer, expected) => {
    expect(await reward(completion, answer)).toBe(expected);
  });

  it('the reverse direction of the symmetric examples (reference written the other way)', async () => {
    expect(await reward('\\boxed{4, 7}', '4 \\text{ and } 7')).toBe(1);
    expect(await reward('\\boxed{2x - y = -3}', 'y = 2x + 3')).toBe(1);
    expect(await reward('\\boxed{0 < y \\le 4}', 'y \\in (0, 4]')).toBe(1);
    expect(await reward('\\boxed{x}', '|x|')).toBe(0);
    expect(await reward('\\boxed{\\frac{1}{3^{41}}}', '\\frac{1}{3^{40}}')).toBe(0);
  });
});
