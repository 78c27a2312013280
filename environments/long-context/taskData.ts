/**
 * The JSON a long-context task carries in `Task.data`. The context itself is never in it: `blob` names
 * it in the blob directory (tasks from `tasks()`), or `contextPath` points at a text file (records given
 * to `parseTask`). Everything else is small: the answers, the needles and where they sit, the measured
 * length.
 */
import { z } from 'zod';

/** A needle as recorded in a task (see `PlacedNeedle` in `build.ts`). */
export const NeedleRecord = z.object({
  text: z.string().describe('The inserted sentence.'),
  role: z.enum(['answer', 'distractor']).describe('Asked for, or a look-alike.'),
  key: z.string().optional().describe('Key, variable or person the needle is about.'),
  value: z.string().optional().describe('Value the needle states.'),
  depth: z.number().min(0).max(1).describe('Requested depth: fraction of the haystack before the needle.'),
  actualDepth: z.number().min(0).max(1).optional().describe('Measured depth after placement.'),
  charOffset: z.number().int().min(0).optional().describe('Offset in the prompt, UTF-16 code units.'),
  byteOffset: z.number().int().min(0).optional().describe('Offset in the UTF-8 blob, bytes.'),
});
export type NeedleRecord = z.infer<typeof NeedleRecord>;

/** `Task.data` of a long-context task. */
export const LongContextTaskData = z
  .object({
    kind: z.string().describe('Task kind (niah-single, …, qa) or whatever a scored record says.'),
    blob: z.string().optional().describe('Key of the prompt in `<blobDir>/long-context/`.'),
    blobFile: z
      .string()
      .optional()
      .describe('Absolute path of the blob where it was built (for demonstrations).'),
    contextPath: z.string().optional().describe('Absolute path of a prompt text file (parsed records).'),
    answers: z
      .array(z.union([z.string(), z.array(z.string()).min(1)]))
      .min(1)
      .describe(
        'Strings the answer must contain; an item may list several acceptable forms of one answer ' +
          '(`["Denver", "Denver, Colorado"]`), any one of which counts.',
      ),
    answer: z
      .union([z.string(), z.array(z.string()).min(1)])
      .optional()
      .describe(
        'The answers joined with ", " (for exact-match style checkers); for one answer with several ' +
          'forms, the list of forms (exact-match accepts any).',
      ),
    distractors: z.array(z.string()).default([]).describe('Look-alike strings that are not answers.'),
    needles: z.array(NeedleRecord).default([]).describe('Inserted needles with their positions.'),
    question: z.string().optional().describe('The query at the end of the prompt.'),
    targetTokens: z.number().int().optional().describe('Requested prompt length, tokens.'),
    tokens: z.number().int().optional().describe('Prompt length, tokens (exact when `exactTokens`).'),
    exactTokens: z.boolean().optional().describe('Whether `tokens` was counted by the tokenizer.'),
    tokenizer: z.string().optional().describe('Tokenizer `tokens` refers to.'),
    chars: z.number().int().optional().describe('Prompt length, UTF-16 code units.'),
    bytes: z.number().int().optional().describe('Prompt length, UTF-8 bytes.'),
    sha256: z.string().optional().describe('SHA-256 of the prompt bytes.'),
    body: z
      .object({ start: z.number().int(), end: z.number().int(), haystackChars: z.number().int() })
      .optional()
      .describe('Span of the body in the prompt and its haystack characters without needles.'),
    facts: z.record(z.string(), z.number()).optional().describe('Word counts of aggregation tasks.'),
  })
  .loose();
export type LongContextTaskData = z.output<typeof LongContextTaskData>;

/** One expected answer's acceptable forms; the first is the canonical one. */
export const answerFormsOf = (answer: string | string[]): string[] =>
  Array.isArray(answer) ? answer : [answer];

/**
 * The `answer` field of task data with these answers: the canonical forms joined with ", ", or, for
 * one answer with several forms, the list of forms.
 */
export function joinedAnswer(answers: (string | string[])[]): string | string[] {
  if (answers.length === 1 && Array.isArray(answers[0]) && answers[0].length > 1) return answers[0];
  return answers.map((a) => answerFormsOf(a)[0]!).join(', ');
}
