/**
 * `exact-match`: 1 when the extracted answer (or the whole completion) equals the reference string,
 * else 0. Output range {0, 1}.
 *
 * The answer text is the final turn after its reasoning (`rewards/answerText.ts`): an unclosed
 * `<think>` or a sample cut at the token limit scores 0.
 *
 * Config: `answerField` (default "answer"; the field may list several acceptable forms, any one of
 * which matches), `extract` (default true: compare the answer found by the extraction `rules`; false:
 * the whole answer text, trimmed), `normalize` (default true: LaTeX normalisation of
 * `math/normalize.ts` on both sides — `\dfrac`, spaces, `\text{}`, units), and `caseSensitive`
 * (default false). No reference in the task: not applicable.
 */
import { z } from 'zod';
import { finalAnswerText } from '../answerText.js';
import { defineReward } from '../api.js';
import { answerField, extractRules, missingAnswerDetails, referenceAnswers } from './common.js';
import { extractAnswer } from './math/extract.js';
import { normalizeAnswer } from './math/normalize.js';

const config = z
  .object({
    answerField,
    rules: extractRules,
    extract: z
      .boolean()
      .default(true)
      .describe(
        'Compare the extracted final answer (true, default) or the whole answer text, trimmed (false).',
      ),
    normalize: z
      .boolean()
      .default(true)
      .describe('Apply LaTeX answer normalisation to both sides before comparing (default true).'),
    caseSensitive: z.boolean().default(false).describe('Compare letters case-sensitively (default false).'),
  })
  .describe('exact-match checker config.');

/** The `exact-match` checker. */
export const exactMatch = defineReward({
  name: 'exact-match',
  description: 'Extracted answer (or completion) string-equal to the reference after normalisation: 0 or 1.',
  configSchema: config,
  range: [0, 1],
  score(trajectory, task, cfg) {
    const references = referenceAnswers(task, cfg.answerField);
    if (references === null) {
      return { value: 0, applicable: false, details: { reason: `task.data.${cfg.answerField} is missing` } };
    }
    const reference = references.length === 1 ? references[0] : references;
    const split = finalAnswerText(trajectory);
    if (split.text === null) return { value: 0, details: missingAnswerDetails(split, reference) };
    const found = cfg.extract
      ? extractAnswer(split.text, cfg.rules)
      : { answer: split.text.trim(), rule: 'completion' };
    if (found.answer === null) return { value: 0, details: { rule: found.rule, extracted: null, reference } };
    const prep = (s: string) => {
      const n = cfg.normalize ? normalizeAnswer(s) : s.trim();
      return cfg.caseSensitive ? n : n.toLowerCase();
    };
    const mine = prep(found.answer);
    const equal = references.some((r) => prep(r) === mine);
    return { value: equal ? 1 : 0, details: { rule: found.rule, extracted: found.answer, reference } };
  },
});

export default exactMatch;
