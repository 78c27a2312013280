/** Config fields and helpers the answer checkers share. */
import { z } from 'zod';
import { type AnswerSplit, NoAnswer } from '../answerText.js';
import type { ScoredTask } from '../api.js';
import { EXTRACT_RULES } from './math/extract.js';

/** `answerField`: where the reference answer lives in `task.data`. */
export const answerField = z
  .string()
  .min(1)
  .default('answer')
  .describe('Field of task.data holding the reference final answer (default "answer").');

/** `rules`: which extraction rules to try, in order (see `math/extract.ts`). */
export const extractRules = z
  .array(z.enum(EXTRACT_RULES))
  .min(1)
  .default([...EXTRACT_RULES])
  .describe(
    'Answer-extraction rules tried in order: boxed (last \\boxed{}/\\fbox{}), hashes (GSM8K "#### N"), ' +
      'answer-is ("the answer is X", "Final answer: X"), last-math (the last $…$ segment), last-number. ' +
      'Default: all five.',
  );

/** The reference answer of a task as a string, or null when the field is missing or empty. */
export function referenceAnswer(task: ScoredTask, field: string): string | null {
  const value = task.data[field];
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value;
  return null;
}

/**
 * The acceptable reference answers of a task: the field may hold one answer (a string or number) or a
 * list of acceptable forms (`["Denver", "Denver, Colorado"]`), any one of which counts. Null when the
 * field is missing, empty, or holds anything else.
 */
export function referenceAnswers(task: ScoredTask, field: string): string[] | null {
  const value = task.data[field];
  if (!Array.isArray(value)) {
    const one = referenceAnswer(task, field);
    return one === null ? null : [one];
  }
  const forms = value.map((v) => referenceAnswer({ id: task.id, data: { v } }, 'v'));
  return forms.length > 0 && forms.every((f) => f !== null) ? (forms as string[]) : null;
}

/** Details of a checker result for a completion without an answer (see `answerText.ts`). */
export function missingAnswerDetails(split: AnswerSplit, reference: unknown): Record<string, unknown> {
  const why =
    split.missing === NoAnswer.truncated
      ? 'no answer: the sample was cut at the token limit'
      : 'no answer: <think> was never closed';
  return { extracted: null, reference, missing: split.missing, reason: why };
}
