import { describe, expect, it } from 'vitest';
import { isEquivalent, MAX_ANSWER_CHARS } from '../../rewards/builtin/math/equivalence.js';
import { normalizeAnswer } from '../../rewards/builtin/math/normalize.js';
import { tooCostly } from '../../rewards/builtin/math/symbolic.js';
import { EQUIVALENCE_PAIRS } from './equivalencePairs.js';

describe('math equivalence table', () => {
  it('has at least 50 pairs, both equal and unequal', () => {
    expect(EQUIVALENCE_PAIRS.length).toBeGreaterThanOrEqual(50);
    expect(EQUIVALENCE_PAIRS.filter((p) => !p[2]).length).toBeGreaterThanOrEqual(15);
  });

  it.each(EQUIVALENCE_PAIRS)('%s vs %s → %s (%s)', (candidate, reference, equal) => {
    expect(isEquivalent(candidate, reference).equal).toBe(equal);
    // Symmetric: the reference may be written either way.
    expect(isEquivalent(reference, candidate).equal).toBe(equal);
  });

  it('reports the deciding step', () => {
    expect(isEquivalent('1,000', '1000').method).toBe('string');
    expect(isEquivalent('\\frac{1}{2}', '0.5').method).toBe('numeric');
    expect(isEquivalent('x^2-1', '(x-1)(x+1)').method).toBe('symbolic');
    expect(isEquivalent('\\{1,2\\}', '\\{2,1\\}').method).toBe('set');
    expect(isEquivalent('[1,2)', '[1,2]').method).toBe('interval');
  });

  it('two unparseable answers are not equal just because both fail to parse', () => {
    expect(isEquivalent('\\foo{', '\\bar{').equal).toBe(false);
    expect(isEquivalent('', '5').equal).toBe(false);
  });

  it('refuses evaluations that could block and survives engine exceptions', () => {
    expect(tooCostly(['Factorial', 100000])).toBe(true);
    expect(tooCostly(['Add', 1, ['Factorial', ['Power', 10, 5]]])).toBe(true);
    expect(tooCostly(['Factorial', ['Add', 'n', 1]])).toBe(false);
    expect(isEquivalent('100000!', '5')).toMatchObject({ equal: false, method: 'unevaluated' });
    expect(isEquivalent('100000! + x', '5 + x')).toMatchObject({ equal: false, method: 'none' });
    expect(isEquivalent('\\frac{10!}{8!}x', '90x').equal).toBe(true);
    expect(() => isEquivalent('(n+1)!', '(n+1)n!')).not.toThrow();
  });

  it('compares answers longer than MAX_ANSWER_CHARS only exactly', () => {
    const long = `${'1+'.repeat(MAX_ANSWER_CHARS)}1`;
    expect(isEquivalent(long, String(MAX_ANSWER_CHARS + 1)).equal).toBe(false);
    expect(isEquivalent(long, long).equal).toBe(true);
  });

  it('stops at the time budget with method "timeout"', () => {
    expect(isEquivalent('x^2+2x+1', '(x+1)^2', { budgetMs: -1 })).toMatchObject({
      equal: false,
      method: 'timeout',
    });
  });

  it('normalisation is idempotent', () => {
    for (const [a, b] of EQUIVALENCE_PAIRS) {
      for (const s of [a, b]) expect(normalizeAnswer(normalizeAnswer(s))).toBe(normalizeAnswer(s));
    }
  });
});
