/**
 * `numeric`: 1 when the extracted answer is a number within tolerance of the numeric reference,
 * else 0. Output range {0, 1}. Reads thousands separators, signs, decimals, scientific notation,
 * `a/b`, `\frac{a}{b}`, mixed numbers and percentages (`50%` also matches `0.5`); symbolic answers
 * (`\sqrt{2}`) are not numbers here: use `math-equivalence` for those.
 *
 * The answer is extracted from the final turn after its reasoning (`rewards/answerText.ts`): an
 * unclosed `<think>` or a sample cut at the token limit scores 0.
 *
 * Config: `answerField` (default "answer"), `rules` (extraction rules), `relTol` (default 1e-6) and
 * `absTol` (default 1e-12): integers and fractions compare exactly; with a decimal on either side,
 * equal when |a − b| ≤ relTol·max(|a|, |b|), or |a − b| ≤ absTol when one side is exactly 0. A reference that
 * is not a number: not applicable.
 */
import { z } from 'zod';
import { finalAnswerText } from '../answerText.js';
import { defineReward } from '../api.js';
import { answerField, extractRules, missingAnswerDetails, referenceAnswer } from './common.js';
import { extractAnswer } from './math/extract.js';
import { normalizeAnswer } from './math/normalize.js';
import { DEFAULT_ABS_TOL, DEFAULT_REL_TOL, numbersEqual, readNumber } from './math/numbers.js';

const config = z
  .object({
    answerField,
    rules: extractRules,
    relTol: z
      .number()
      .min(0)
      .default(DEFAULT_REL_TOL)
      .describe(
        'Relative tolerance when either side is a decimal (default 1e-6); integers and fractions compare exactly.',
      ),
    absTol: z
      .number()
      .min(0)
      .default(DEFAULT_ABS_TOL)
      .describe('How far from an exact 0 a value may be and still count as 0 (default 1e-12).'),
  })
  .describe('numeric checker config.');

const asNumber = (s: string) => readNumber(normalizeAnswer(s));

/** The `numeric` checker. */
export const numeric = defineReward({
  name: 'numeric',
  description: 'Extracted answer numerically equal to the reference within a tolerance: 0 or 1.',
  configSchema: config,
  range: [0, 1],
  score(trajectory, task, cfg) {
    const reference = referenceAnswer(task, cfg.answerField);
    const ref = reference === null ? null : asNumber(reference);
    if (reference === null || ref === null) {
      return {
        value: 0,
        applicable: false,
        details: { reason: 'the reference answer is not a number', reference },
      };
    }
    const split = finalAnswerText(trajectory);
    if (split.text === null) return { value: 0, details: missingAnswerDetails(split, reference) };
    const { answer, rule } = extractAnswer(split.text, cfg.rules);
    const got = answer === null ? null : asNumber(answer);
    if (got === null)
      return { value: 0, details: { rule, extracted: answer, reference, reason: 'no number found' } };
    const equal = numbersEqual(got, ref, cfg.relTol, cfg.absTol);
    return {
      value: equal ? 1 : 0,
      details: { rule, extracted: answer, value: got.exact.valueOf(), reference: ref.exact.valueOf() },
    };
  },
});

export default numeric;
