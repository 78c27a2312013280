/**
 * `math-equivalence`: 1 when the answer extracted from the completion is mathematically equivalent
 * to the task's reference answer, else 0. Output range {0, 1}.
 *
 * The answer is extracted from the final turn after its reasoning (`rewards/answerText.ts`): an
 * unclosed `<think>` or a sample cut at the token limit scores 0.
 *
 * Config: `answerField` (default "answer"), `rules` (extraction rules, default all), `relTol`
 * (default 1e-6; applies when either side is a decimal or an evaluated irrational value, integers and
 * fractions compare exactly), `absTol` (default 1e-12: how far from an exact 0 a value may be and
 * still count as 0; never between two non-zero values), `budgetMs` (default 500, below the 1 s budget
 * of `runChecker`: a comparison past it throws `RewardTimeoutError`, a checker error of kind timeout,
 * never a reward of 0). Details: `extracted`, `rule` (which extraction rule
 * matched), `reference`, `method` (which equivalence step decided, see `math/equivalence.ts`) and the
 * normalised forms. No reference answer in the task: not applicable (value 0).
 */
import { z } from 'zod';
import { finalAnswerText } from '../answerText.js';
import { defineReward, RewardTimeoutError } from '../api.js';
import { answerField, extractRules, missingAnswerDetails, referenceAnswer } from './common.js';
import { DEFAULT_EQUIVALENCE_BUDGET_MS, isEquivalent } from './math/equivalence.js';
import { extractAnswer } from './math/extract.js';
import { DEFAULT_ABS_TOL, DEFAULT_REL_TOL } from './math/numbers.js';

const config = z
  .object({
    answerField,
    rules: extractRules,
    relTol: z
      .number()
      .min(0)
      .default(DEFAULT_REL_TOL)
      .describe(
        'Relative tolerance when either side is a decimal or an irrational value (default 1e-6); integers and fractions compare exactly.',
      ),
    absTol: z
      .number()
      .min(0)
      .default(DEFAULT_ABS_TOL)
      .describe(
        'How far from an exact 0 a value may be and still count as 0 (default 1e-12); never applied between two non-zero values.',
      ),
    budgetMs: z
      .number()
      .min(0)
      .default(DEFAULT_EQUIVALENCE_BUDGET_MS)
      .describe(
        'Time budget of the comparison in ms; past it the call is a checker error (timeout), never a reward (default 500).',
      ),
  })
  .describe('math-equivalence checker config.');

/** The `math-equivalence` checker. */
export const mathEquivalence = defineReward({
  name: 'math-equivalence',
  description:
    'Final answer mathematically equivalent to the reference (numbers, LaTeX, sets, intervals): 0 or 1.',
  configSchema: config,
  range: [0, 1],
  score(trajectory, task, cfg) {
    const reference = referenceAnswer(task, cfg.answerField);
    if (reference === null) {
      return { value: 0, applicable: false, details: { reason: `task.data.${cfg.answerField} is missing` } };
    }
    const split = finalAnswerText(trajectory);
    if (split.text === null) return { value: 0, details: missingAnswerDetails(split, reference) };
    const { answer, rule } = extractAnswer(split.text, cfg.rules);
    if (answer === null)
      return { value: 0, details: { rule, extracted: null, reference, reason: 'no answer found' } };
    const verdict = isEquivalent(answer, reference, {
      relTol: cfg.relTol,
      absTol: cfg.absTol,
      budgetMs: cfg.budgetMs,
    });
    if (verdict.method === 'timeout') {
      // Undecided is not "not equivalent": a checker error, never a reward of 0.
      throw new RewardTimeoutError(
        `comparing "${answer.slice(0, 200)}" with the reference exceeded the ${cfg.budgetMs} ms budget (budgetMs)`,
      );
    }
    return {
      value: verdict.equal ? 1 : 0,
      details: {
        rule,
        extracted: answer,
        reference,
        method: verdict.method,
        normalized: { extracted: verdict.candidate, reference: verdict.reference },
      },
    };
  },
});

export default mathEquivalence;
