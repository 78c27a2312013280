/**
 * `exact-match`: 1 when the extracted answer (or the whole completion) equals the reference string,
 * else 0. Output range {0, 1}.
 *
 * Config: `answerField` (default "answer"), `extract` (default true: compare the answer found by the
 * extraction `rules`, after the last `</think>` unless `afterThink` is false; false: the whole
 * completion, trimmed), `normalize` (default true: LaTeX
 * normalisation of `math/normalize.ts` on both sides — `\dfrac`, spaces, `\text{}`, units), and
 * `caseSensitive` (default false). No reference in the task: not applicable.
 */
import { z } from 'zod';
import { defineReward } from '../api.js';
import { afterThink, answerField, answerText, extractRules, referenceAnswer } from './common.js';
import { extractAnswer } from './math/extract.js';
import { normalizeAnswer } from './math/normalize.js';

const config = z
  .object({
    answerField,
    rules: extractRules,
    afterThink,
    extract: z
      .boolean()
      .default(true)
      .describe(
        'Compare the extracted final answer (true, default) or the whole trimmed completion (false).',
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
  score(trajectory, task, cfg) {
    const reference = referenceAnswer(task, cfg.answerField);
    if (reference === null) {
      return { value: 0, applicable: false, details: { reason: `task.data.${cfg.answerField} is missing` } };
    }
    const found = cfg.extract
      ? extractAnswer(answerText(trajectory.completion, cfg.afterThink), cfg.rules)
      : { answer: trajectory.completion.trim(), rule: 'completion' };
    if (found.answer === null) return { value: 0, details: { rule: found.rule, extracted: null, reference } };
    const prep = (s: string) => {
      const n = cfg.normalize ? normalizeAnswer(s) : s.trim();
      return cfg.caseSensitive ? n : n.toLowerCase();
    };
    const equal = prep(found.answer) === prep(reference);
    return { value: equal ? 1 : 0, details: { rule: found.rule, extracted: found.answer, reference } };
  },
});

export default exactMatch;
