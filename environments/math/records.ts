/**
 * Math problem records → task data. Three shapes are read:
 * - GSM8K: `question`, `answer` = worked solution ending in `#### N` (calculator notes `<<…>>`).
 * - MATH: `problem`, `answer` (or, without it, the last `\boxed{}` of `solution`), `solution`,
 *   optional `subject` and `level`.
 * - plain: `question` and `answer` = the reference final answer (text or LaTeX).
 */
import type { JsonObject } from '../../rewards/api.js';
import { lastBoxed } from '../../rewards/builtin/math/extract.js';

/** Thrown for a record that is not a math problem; `field` names what is missing or wrong. */
export class MathRecordError extends Error {
  readonly type = 'MathRecordError';
  override readonly name = 'MathRecordError';
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** The task data of a math problem (the JSON the checkers see as `task.data`). */
export interface MathTaskData extends JsonObject {
  /** Problem text (may contain LaTeX). */
  question: string;
  /** Reference final answer (plain text or LaTeX). */
  answer: string;
  /** Worked solution, when the source has one (GSM8K calculator notes removed). */
  solution: string | null;
  /** Where it came from: `gsm8k`, `math`, `jsonl` or `generator`. */
  source: string;
  /** Difficulty (MATH levels 1–5, generator levels), when known. */
  level: number | null;
}

/** Field names for reading a record. */
export interface RecordFields {
  question: string;
  answer: string;
  solution?: string;
}

const str = (record: Record<string, unknown>, field: string): string | undefined => {
  const v = record[field];
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
};

function need(record: Record<string, unknown>, field: string): string {
  const v = str(record, field);
  if (v === undefined)
    throw new MathRecordError(`field "${field}" is missing or not a non-empty string`, field);
  return v;
}

function asObject(record: unknown): Record<string, unknown> {
  if (!record || typeof record !== 'object' || Array.isArray(record)) {
    throw new MathRecordError('a math record must be a JSON object', '(record)');
  }
  return record as Record<string, unknown>;
}

/** A GSM8K record: the final answer follows the last `####`; thousands commas are dropped. */
export function fromGsm8k(
  record: unknown,
  fields: RecordFields = { question: 'question', answer: 'answer' },
): MathTaskData {
  const r = asObject(record);
  const question = need(r, fields.question);
  const full = need(r, fields.answer);
  const at = full.lastIndexOf('####');
  if (at < 0)
    throw new MathRecordError(`field "${fields.answer}" has no "#### <answer>" line`, fields.answer);
  const answer = full
    .slice(at + 4)
    .trim()
    .replace(/,/g, '');
  if (!answer)
    throw new MathRecordError(`field "${fields.answer}" has an empty "####" answer`, fields.answer);
  const solution = full
    .slice(0, at)
    .replace(/<<[^>]*>>/g, '')
    .trim();
  return { question, answer, solution: solution || null, source: 'gsm8k', level: null };
}

/** A MATH record: `answer`, or the last `\boxed{}` of the solution. */
export function fromMath(
  record: unknown,
  fields: RecordFields = { question: 'problem', answer: 'answer', solution: 'solution' },
): MathTaskData {
  const r = asObject(record);
  const question = need(r, fields.question);
  const solution = fields.solution ? (str(r, fields.solution) ?? null) : null;
  const answer = str(r, fields.answer) ?? (solution !== null ? lastBoxed(solution) : null);
  if (!answer) {
    throw new MathRecordError(
      `field "${fields.answer}" is missing and ${fields.solution ? `"${fields.solution}" has no \\boxed{}` : 'no solution field is set'}`,
      fields.answer,
    );
  }
  const level =
    typeof r.level === 'number' ? r.level : Number.parseInt(String(r.level ?? '').replace(/\D/g, ''), 10);
  return { question, answer, solution, source: 'math', level: Number.isFinite(level) ? level : null };
}

/** A plain record: question and reference final answer under configurable names. */
export function fromPlain(
  record: unknown,
  fields: RecordFields = { question: 'question', answer: 'answer' },
): MathTaskData {
  const r = asObject(record);
  const solution = fields.solution ? (str(r, fields.solution) ?? null) : null;
  return {
    question: need(r, fields.question),
    answer: need(r, fields.answer),
    solution,
    source: 'jsonl',
    level: null,
  };
}

/**
 * Any of the three shapes, recognised by its fields: `problem` → MATH; `question` + an answer with
 * `####` → GSM8K; `question` + `answer` → plain (or, with a `source` field, this environment's own
 * task data, kept as it is: `parseTask(task.data)` round-trips). Throws `MathRecordError` naming the missing field.
 */
export function fromAnyRecord(record: unknown): MathTaskData {
  const r = asObject(record);
  if ('problem' in r) return fromMath(r);
  if (!('question' in r))
    throw new MathRecordError('needs "question" (GSM8K, plain) or "problem" (MATH)', 'question');
  if (typeof r.answer === 'string' && r.answer.includes('####')) return fromGsm8k(r);
  if (typeof r.source === 'string') {
    // The environment's own task data (as `tasks()` yields it and the tasks table stores it).
    const plain = fromPlain(r, { question: 'question', answer: 'answer', solution: 'solution' });
    return { ...plain, source: r.source, level: typeof r.level === 'number' ? r.level : null };
  }
  return fromPlain(r);
}
