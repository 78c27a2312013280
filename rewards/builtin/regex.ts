/**
 * `regex`: `matchValue` when a regular expression matches the completion (or the extracted answer),
 * else `missValue`. Output range {missValue, matchValue} (default {0, 1}).
 *
 * The completion searched is the final turn after its reasoning (`rewards/answerText.ts`): reasoning
 * is never scored, and a completion without an answer (an unclosed `<think>`, a sample cut at the
 * token limit) gets `missValue`.
 *
 * Config: `pattern` (required, JavaScript syntax, checked at config time), `flags` (default ""),
 * `target` ("completion", default, or "answer" = the extracted final answer), `fullMatch` (default
 * false: search anywhere), `matchValue` (default 1), `missValue` (default 0), `maxChars` (default
 * 100,000: longer text is cut first, which bounds the work of a pathological pattern, since a
 * synchronous regex cannot be interrupted by the checker time budget).
 */
import { z } from 'zod';
import { finalAnswerText } from '../answerText.js';
import { defineReward } from '../api.js';
import { extractAnswer } from './math/extract.js';

const validRegex = (p: string, flags = '') => {
  try {
    new RegExp(p, flags);
    return true;
  } catch {
    return false;
  }
};

const config = z
  .object({
    pattern: z
      .string()
      .min(1)
      .refine((p) => validRegex(p), 'not a valid regular expression')
      .describe('Regular expression (JavaScript syntax) to look for.'),
    flags: z
      .string()
      .regex(/^[imsu]*$/)
      .default('')
      .describe('RegExp flags among i, m, s, u (default none).'),
    target: z
      .enum(['completion', 'answer'])
      .default('completion')
      .describe('Match the answer text after the reasoning (default) or the extracted final answer.'),
    fullMatch: z
      .boolean()
      .default(false)
      .describe('Require the pattern to match the whole target (default false).'),
    matchValue: z.number().default(1).describe('Reward when the pattern matches (default 1).'),
    missValue: z.number().default(0).describe('Reward when it does not (default 0).'),
    maxChars: z
      .number()
      .int()
      .positive()
      .default(100_000)
      .describe('Only the first maxChars characters are searched.'),
  })
  .describe('regex checker config.');

/** The `regex` checker. */
export const regex = defineReward({
  name: 'regex',
  description:
    'matchValue (default 1) when a regular expression matches the completion or answer, else missValue (0).',
  configSchema: config,
  score(trajectory, _task, cfg) {
    const split = finalAnswerText(trajectory);
    if (split.text === null) {
      return {
        value: cfg.missValue,
        details: { matched: false, target: cfg.target, missing: split.missing },
      };
    }
    const text = cfg.target === 'answer' ? (extractAnswer(split.text).answer ?? '') : split.text;
    const source = cfg.fullMatch ? `^(?:${cfg.pattern})$` : cfg.pattern;
    const matched = new RegExp(source, cfg.flags).test(text.slice(0, cfg.maxChars));
    return { value: matched ? cfg.matchValue : cfg.missValue, details: { matched, target: cfg.target } };
  },
});

export default regex;
