/** Config fields and helpers the answer checkers share. */
import { z } from 'zod';
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
      'answer-is ("the answer is X"), last-number. Default: all four.',
  );

/** `afterThink`: look for the answer only after the last `</think>` when the completion has one. */
export const afterThink = z
  .boolean()
  .default(true)
  .describe(
    'Extract the answer only from the text after the last </think> (when there is one), so a value boxed ' +
      'while reasoning does not count as the final answer (default true).',
  );

/** The part of a completion that holds the final answer: after the last `</think>`, if asked and present. */
export function answerText(completion: string, onlyAfterThink: boolean): string {
  if (!onlyAfterThink) return completion;
  const at = completion.lastIndexOf('</think>');
  return at < 0 ? completion : completion.slice(at + '</think>'.length);
}

/** The reference answer of a task as a string, or null when the field is missing or empty. */
export function referenceAnswer(task: ScoredTask, field: string): string | null {
  const value = task.data[field];
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'string' && value.trim() !== '') return value;
  return null;
}
