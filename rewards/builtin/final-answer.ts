/**
 * `final-answer`: the answer the model gave after its tool calls, against the task's `answer`. Output
 * {0, 1}. The final turn's reasoning is never read (`rewards/answerText.ts`; no answer, 0, for an
 * unclosed `<think>` or a turn cut at the token limit). The answer is the text after the last
 * `Answer:` of the final turn's answer text; without one, in a turn
 * without calls, the math extraction rules (`\boxed{}`, "the answer is", last number) for numeric
 * answers, the last line for text answers. Numbers are compared with the math environment's
 * equivalence (`math/equivalence.ts`: 1,234 = 1234.0, fractions, tolerance `relTol`); text (dates,
 * weekdays, names) with the `exact-match` checker (normalised, case-insensitive), or equal after
 * lower-casing and dropping spaces, quotes and final punctuation. Not applicable
 * to tasks without an answer (BFCL).
 */
import { z } from 'zod';
import { type AnswerSplit, answerText, finalAnswerText } from '../answerText.js';
import { defineReward, type ScoredTrajectory } from '../api.js';
import { missingAnswerDetails } from './common.js';
import { exactMatch } from './exact-match.js';
import { isEquivalent } from './math/equivalence.js';
import { extractAnswer } from './math/extract.js';
import { parseToolCalls } from './tool-call-parse.js';
import { readToolTask } from './tool-task.js';

/** Config of `final-answer`. */
export const FinalAnswerConfig = z.object({
  relTol: z.number().min(0).default(1e-6).describe('Relative tolerance of numeric answers. Default 1e-6.'),
  absTol: z
    .number()
    .min(0)
    .default(1e-12)
    .describe('A value within absTol of 0 counts as exactly 0. Default 1e-12.'),
});

/** exact-match on a given string: no extraction, normalised, case-insensitive. */
const EXACT = exactMatch.configSchema.parse({ extract: false });

const ANSWER_LINE = /answer\s*[:：]\s*([^\n]+)/gi;

/** Normal form of a text answer: lower case, no spaces, quotes, trailing punctuation or markup. */
export function normalizeText(s: string): string {
  return s
    .toLowerCase()
    .replace(/[*_`"'“”‘’]/g, '')
    .replace(/\s+/g, '')
    .replace(/[.!?,;:]+$/, '');
}

/**
 * The answer text of the final turn (`rewards/answerText.ts`: after the reasoning; none for an unclosed
 * `<think>` or a turn cut at the token limit): `extra.finalText` of an executed rollout ("" when it did
 * not end with an answer), else the last assistant turn (or the whole completion for raw text).
 */
function answerSource(trajectory: ScoredTrajectory): AnswerSplit {
  const extra = trajectory.extra as { finalText?: unknown } | undefined;
  if (extra && typeof extra.finalText === 'string') {
    return answerText(extra.finalText, { finishReason: trajectory.finishReason });
  }
  return finalAnswerText(trajectory);
}

/**
 * Extracts the answer: the last `Answer:` line; without one, and only when the text makes no call,
 * the math rules (numbers) or the last line (text). Null when there is none.
 */
export function extractFinalAnswer(source: string, kind: 'number' | 'text'): string | null {
  const lines = [...source.matchAll(ANSWER_LINE)];
  const tagged = lines[lines.length - 1]?.[1]?.trim();
  if (tagged) return tagged.replace(/[.\s]+$/, '');
  const parsed = parseToolCalls(source);
  if (parsed.calls.length > 0 || parsed.errors.length > 0 || parsed.text === '') return null;
  if (kind === 'number') return extractAnswer(parsed.text).answer;
  return parsed.text.split('\n').pop()?.trim() || null;
}

/** The final-answer checker; value 0 or 1. */
export const finalAnswer = defineReward({
  name: 'final-answer',
  description:
    "Final answer after the tool calls equals the task's answer (numbers by math equivalence): 0 or 1.",
  configSchema: FinalAnswerConfig,
  range: [0, 1],
  async score(trajectory, task, config) {
    const data = readToolTask(task.data);
    if (!data?.answer) return { value: 0, applicable: false, details: { reason: 'task has no answer' } };
    const kind = data.answer_kind ?? 'text';
    const source = answerSource(trajectory);
    if (source.text === null) return { value: 0, details: missingAnswerDetails(source, data.answer) };
    const extracted = extractFinalAnswer(source.text, kind);
    if (extracted === null)
      return { value: 0, details: { reference: data.answer, reason: 'no final answer' } };
    if (kind === 'number') {
      const v = isEquivalent(extracted, data.answer, { relTol: config.relTol, absTol: config.absTol });
      return { value: v.equal ? 1 : 0, details: { extracted, reference: data.answer, method: v.method } };
    }
    // Text answers: the exact-match checker on the extracted answer (its LaTeX/space normalisation,
    // case-insensitive), falling back to a looser form without quotes and final punctuation.
    const exact = await exactMatch.score(
      { completion: extracted, completionTokens: 0 },
      { id: task.id, data: { answer: data.answer } },
      EXACT,
    );
    const equal = exact.value === 1 || normalizeText(extracted) === normalizeText(data.answer);
    return { value: equal ? 1 : 0, details: { extracted, reference: data.answer, method: 'text' } };
  },
});

export default finalAnswer;
