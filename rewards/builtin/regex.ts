/**
 * `regex`: `matchValue` when a regular expression matches the completion (or the extracted answer),
 * else `missValue`. Output range {missValue, matchValue} (default {0, 1}).
 *
 * The completion searched is the final turn after its reasoning (`rewards/answerText.ts`): reasoning
 * is never scored, and a completion without an answer (an unclosed `<think>`, a sample cut at the
 * token limit) gets `missValue`.
 *
 * The pattern runs on RE2 (`user-regex.ts`): linear-time matching, so a pattern given in a config
 * cannot hang scoring, whatever the model writes. Config: `pattern` (required, RE2 syntax — JavaScript's
 * without lookarounds and backreferences — checked when the run starts), `flags` (default ""),
 * `target` ("completion", default, or "answer" = the extracted final answer), `fullMatch` (default
 * false: search anywhere), `matchValue` (default 1), `missValue` (default 0), `maxChars` (default
 * 100,000: only the first maxChars characters are searched).
 */
import { z } from 'zod';
import { finalAnswerText } from '../answerText.js';
import { defineReward } from '../api.js';
import { extractAnswer } from './math/extract.js';
import { compileUserRegex, userRegex, userRegexFlags } from './user-regex.js';

const config = z
  .object({
    pattern: userRegex('Regular expression (RE2 syntax: no lookarounds or backreferences) to look for.'),
    flags: userRegexFlags,
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
    'matchValue (default 1) when an RE2 regular expression matches the completion or answer, else missValue (0).',
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
    const re = compileUserRegex(cfg.pattern, cfg.flags);
    const target = text.slice(0, cfg.maxChars);
    const matched = cfg.fullMatch ? re.testExact(target) : re.test(target);
    return { value: matched ? cfg.matchValue : cfg.missValue, details: { matched, target: cfg.target } };
  },
});

export default regex;
