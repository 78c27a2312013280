/**
 * `needle-recall`: how well the answer returns the task's expected strings (the needles' values,
 * variable names, common words…) and only those. Output range [0, 1].
 *
 * recall = the fraction of expected answers that occur in the answer — RULER's `string_match_all`
 * metric (Hsieh et al. 2024, RULER, §4: a reference counts when it occurs in the prediction) — with
 * whole-word matching so `48213` is not found inside `482139`. An expected answer may list several
 * acceptable forms (`[["Denver", "Denver, Colorado"], "1858"]`: the first answer in either form, and
 * 1858); any one counts.
 *
 * precision = found answers / (found answers + distractors found), over the look-alike strings the
 * task lists (multi-key NIAH values, other variable chains, QA hard negatives); a distractor found only
 * inside an answer's own text does not count. value = recall × (1 − distractorPenalty × (1 −
 * precision)). With the default penalty 1 this is recall × precision: listing k candidates, one of
 * them right, earns 1/k — what picking one at random earns in expectation — so enumerating every value
 * in the context never pays more than choosing (an RL-safe default). Penalty 0 is plain RULER recall
 * (for evaluation). The answer is the final turn after its reasoning (`rewards/answerText.ts`): none,
 * value 0, for an unclosed `<think>` or a sample cut at the token limit. Not applicable (value 0) when
 * the task lists no answers.
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
      'Field of task.data holding the expected answers: an array (each item a string, or a list of ' +
        'acceptable forms of one answer), or one string. Default "answers".',
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
    .default(1)
    .describe(
      'Weight of precision: value = recall × (1 − distractorPenalty × (1 − precision)). Default 1 ' +
        '(recall × precision: enumerating candidates does not pay); 0 = plain recall.',
    ),
  caseSensitive: z.boolean().default(false).describe('Compare letter case. Default false.'),
  wholeWord: z
    .boolean()
    .default(true)
    .describe('Require no letter or digit right before and after a match. Default true.'),
});

/** Non-empty strings among strings and finite numbers. */
const strings = (items: unknown[]): string[] =>
  items
    .filter(
      (v): v is string | number => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)),
    )
    .map(String)
    .filter((s) => s.trim() !== '');

/** A task field as a list; one value is a list of one. */
const asList = (value: unknown): unknown[] =>
  Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];

/** Expected answers of a field, each as its acceptable forms (first = canonical); [] if none. */
function answerForms(value: unknown): string[][] {
  return asList(value)
    .map((item) => strings(Array.isArray(item) ? item : [item]))
    .filter((forms) => forms.length > 0);
}

const normalise = (s: string, caseSensitive: boolean) => {
  const t = s.normalize('NFKC').replace(/\s+/g, ' ').trim();
  return caseSensitive ? t : t.toLowerCase();
};

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Where `needle` occurs in `text` (both normalised), as [start, end) spans. A plain substring test
 * first, so a task listing thousands of distractors (every other word of a word-extraction list)
 * costs a scan each, not a regular expression each.
 */
function occurrences(text: string, needle: string, wholeWord: boolean): [number, number][] {
  if (!text.includes(needle)) return [];
  const body = escapeRegExp(needle);
  const source = wholeWord ? `(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])` : body;
  return [...text.matchAll(new RegExp(source, 'gu'))].map((m) => [m.index, m.index + m[0].length]);
}

/** The `needle-recall` checker. Output range [0, 1]. */
export const needleRecall = defineReward({
  name: 'needle-recall',
  description:
    'Fraction of the expected needles (answers) found in the completion, whole-word; range [0, 1].',
  configSchema: config,
  range: [0, 1],
  score(trajectory, task, cfg) {
    const answers = answerForms(task.data[cfg.field]);
    if (answers.length === 0) {
      return { value: 0, applicable: false, details: { reason: `task.data.${cfg.field} lists no answers` } };
    }
    const split = finalAnswerText(trajectory);
    if (split.text === null) {
      const missing = answers.map((forms) => forms[0]!);
      return { value: 0, details: { recall: 0, found: [], missing, answerMissing: split.missing } };
    }
    const norm = (s: string) => normalise(s, cfg.caseSensitive);
    const text = norm(split.text);
    const found: string[] = [];
    const missing: string[] = [];
    const answerSpans: [number, number][] = [];
    for (const forms of answers) {
      const spans = forms.map((f) => occurrences(text, norm(f), cfg.wholeWord));
      const form = spans.findIndex((s) => s.length > 0);
      if (form < 0) missing.push(forms[0]!);
      else found.push(forms[form]!);
      answerSpans.push(...spans.flat());
    }
    // A distractor counts when it occurs outside every answer occurrence ("Denver" inside "Denver,
    // Colorado" is part of the answer, not a second candidate); one equal to an answer form is none.
    const forms = new Set(answers.flat().map(norm));
    const inAnswer = ([a, b]: [number, number]) => answerSpans.some(([c, d]) => c <= a && b <= d);
    const returned = strings(asList(task.data[cfg.distractorField])).filter(
      (d) => !forms.has(norm(d)) && occurrences(text, norm(d), cfg.wholeWord).some((span) => !inAnswer(span)),
    );
    const recall = found.length / answers.length;
    const precision =
      found.length + returned.length > 0 ? found.length / (found.length + returned.length) : 1;
    const value = recall * (1 - cfg.distractorPenalty * (1 - precision));
    return {
      value: Math.min(1, Math.max(0, value)),
      details: { recall, precision, found, missing, distractors_returned: returned },
    };
  },
});

export default needleRecall;
