/**
 * `parseTask` of the long-context environment: turns one JSONL record into a task for
 * `multigym score --env long-context`. Accepted records:
 *
 * 1. A task as `tasks()` produced it: `{ "id": "...", "data": { "kind", "blob" | "contextPath",
 *    "answers", "needles", ... } }` (e.g. dumped from the database).
 * 2. A flat record: `{ "id"?, "kind"?, "answers": ["4821907", ...] | "answer": "4821907",
 *    (an answer may be a list of its acceptable forms: `"answer": ["Denver", "Denver, Colorado"]`),
 *    "distractors"?: [...], "needles"?: [{ "value" | "text", "role"?: "answer" | "distractor",
 *    "depth"? }], "question"?, "contextPath"? | "context"? }`. When `answers`/`answer` are absent the
 *    answers are the values of the needles whose role is not `distractor`.
 *
 * The context is never kept inline: `contextPath` is kept as a reference (made absolute against the
 * working directory); an inline `context` string is accepted but only its length is kept, since
 * scoring needs only the answers (roll such a task out by writing it to a file and giving its path).
 * @throws LongContextError (`task_record`) naming what is missing.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import type { JsonObject } from '../../rewards/api.js';
import type { Task } from '../api.js';
import { LongContextError } from './errors.js';
import { joinedAnswer, LongContextTaskData } from './taskData.js';

const FlatNeedle = z.object({
  value: z.union([z.string(), z.number()]).optional(),
  text: z.string().optional(),
  role: z.enum(['answer', 'distractor']).default('answer'),
  depth: z.number().min(0).max(1).optional(),
});

const Scalar = z.union([z.string(), z.number()]);
/** One answer: a value, or a list of its acceptable forms. */
const AnswerForms = z.union([Scalar, z.array(Scalar).min(1)]);

const FlatRecord = z.object({
  id: z.union([z.string(), z.number()]).optional(),
  kind: z.string().default('custom'),
  answers: z.array(AnswerForms).optional(),
  answer: AnswerForms.optional(),
  distractors: z.array(z.union([z.string(), z.number()])).default([]),
  needles: z.array(FlatNeedle).default([]),
  question: z.string().optional(),
  contextPath: z.string().optional(),
  context: z.string().optional(),
});

/** Parses one record (see the module comment); `index` names tasks without an id. */
export function parseLongContextTask(record: unknown, index: number): Task {
  if (record && typeof record === 'object' && 'data' in record) {
    const r = record as { id?: unknown; data: unknown };
    const data = LongContextTaskData.safeParse(r.data);
    if (!data.success) throw bad(index, data.error);
    return {
      id: typeof r.id === 'string' ? r.id : `long-context/record/${index}`,
      data: r.data as JsonObject,
    };
  }
  const flat = FlatRecord.safeParse(record);
  if (!flat.success) throw bad(index, flat.error);
  const f = flat.data;
  const fromNeedles = f.needles
    .filter((n) => n.role === 'answer')
    .map((n) => (n.value !== undefined ? String(n.value) : n.text))
    .filter((s): s is string => !!s);
  const forms = (a: z.infer<typeof AnswerForms>): string | string[] =>
    Array.isArray(a) ? (a.length === 1 ? String(a[0]) : a.map(String)) : String(a);
  const answers: (string | string[])[] =
    f.answers?.map(forms) ?? (f.answer !== undefined ? [forms(f.answer)] : fromNeedles);
  if (answers.length === 0) {
    throw new LongContextError(
      'task_record',
      `record ${index}: needs "answers", "answer" or answer "needles"`,
    );
  }
  const distractors = [
    ...f.distractors.map(String),
    ...f.needles
      .filter((n) => n.role === 'distractor')
      .map((n) => (n.value !== undefined ? String(n.value) : (n.text ?? ''))),
  ].filter((s) => s !== '');
  const data: JsonObject = {
    kind: f.kind,
    answers,
    answer: joinedAnswer(answers),
    distractors,
    needles: f.needles.map((n) => ({
      text: n.text ?? String(n.value ?? ''),
      role: n.role,
      ...(n.value !== undefined ? { value: String(n.value) } : {}),
      depth: n.depth ?? 0,
    })),
  };
  if (f.question !== undefined) data.question = f.question;
  if (f.contextPath !== undefined) data.contextPath = resolve(f.contextPath);
  if (f.context !== undefined) data.chars = f.context.length;
  return { id: f.id !== undefined ? String(f.id) : `long-context/record/${index}`, data };
}

function bad(index: number, error: z.ZodError): LongContextError {
  const issues = error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; ');
  return new LongContextError('task_record', `record ${index} is not a long-context task: ${issues}`);
}
