/**
 * `needle-recall`: the fraction of the task's expected strings (the needles' values, variable names,
 * common words…) that appear in the answer — RULER's `string_match_all` metric (Hsieh et al. 2024,
 * RULER, §4: a reference counts when it occurs in the prediction), with whole-word matching so `48213`
 * is not found inside `482139`. The answer is the final turn after its reasoning
 * (`rewards/answerText.ts`): none, value 0, for an unclosed `<think>` or a sample cut at the token limit.
 *
 * value = |found answers| / |answers| − distractorPenalty × |found distractors| / |distractors|,
 * clamped to [0, 1]. With the default penalty 0 this is plain recall. A positive penalty stops a policy
 * from dumping every needle it saw (multi-key NIAH, other variable chains, QA hard negatives).
 * Not applicable (value 0) when the task lists no answers.
 */
import { z } from 'zod';
import { finalAnswerText } from '../answerText.js';
import { defineReward } from '../api.js';

const config = z.object({
  field: z
    .string()
    .min(1)
    .default('answers')
    .describe(
      'Field of task.data holding the expected strings (an array, or one string). Default "answers".',
    ),
  distractorField: z
    .string()
    .min(1)
    .default('distractors')
    .describe('Field of task.data holding look-alike strings that are not answers. Default "distractors".'),
  distractorPenalty: z
    .number()
    .min(0)
    .max(1)
    .default(0)
    .describe('Subtracted per unit fraction of distractors returned, in [0, 1]. Default 0 (plain recall).'),
  caseSensitive: z.boolean().default(false).describe('Compare letter case. Default false.'),
  wholeWord: z
    .boolean()
    .default(true)
    .describe('Require no letter or digit right before and after a match. Default true.'),
});

/** Strings of a task field: an array of strings/numbers, or one string/number; [] otherwise. */
function strings(value: unknown): string[] {
  const items = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
  return items
    .filter(
      (v): v is string | number => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)),
    )
    .map(String)
    .filter((s) => s.trim() !== '');
}

const normalise = (s: string, caseSensitive: boolean) => {
  const t = s.normalize('NFKC').replace(/\s+/g, ' ').trim();
  return caseSensitive ? t : t.toLowerCase();
};

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** True when `needle` occurs in `text` (both already normalised). */
function occurs(text: string, needle: string, wholeWord: boolean): boolean {
  if (!wholeWord) return text.includes(needle);
  return new RegExp(`(?<![\\p{L}\\p{N}])${escapeRegExp(needle)}(?![\\p{L}\\p{N}])`, 'u').test(text);
}

/** The `needle-recall` checker. Output range [0, 1]. */
export const needleRecall = defineReward({
  name: 'needle-recall',
  description:
    'Fraction of the expected needles (answers) found in the completion, whole-word; range [0, 1].',
  configSchema: config,
  score(trajectory, task, cfg) {
    const answers = strings(task.data[cfg.field]);
    if (answers.length === 0) {
      return { value: 0, applicable: false, details: { reason: `task.data.${cfg.field} lists no answers` } };
    }
    const split = finalAnswerText(trajectory);
    if (split.text === null) {
      return { value: 0, details: { recall: 0, found: [], missing: answers, answerMissing: split.missing } };
    }
    const text = normalise(split.text, cfg.caseSensitive);
    const found = (s: string) => occurs(text, normalise(s, cfg.caseSensitive), cfg.wholeWord);
    const hit = answers.filter(found);
    const missing = answers.filter((a) => !hit.includes(a));
    const distractors = strings(task.data[cfg.distractorField]);
    const returned = distractors.filter(found);
    const recall = hit.length / answers.length;
    const penalty =
      distractors.length > 0 ? (cfg.distractorPenalty * returned.length) / distractors.length : 0;
    return {
      value: Math.min(1, Math.max(0, recall - penalty)),
      details: { recall, found: hit, missing, distractors_returned: returned },
    };
  },
});

export default needleRecall;
