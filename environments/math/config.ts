/** The math environment's config block (zod: the source of truth; every field documented). */
import { z } from 'zod';
import { MAX_LEVEL } from './generator.js';

/** Task data-set formats the math environment reads. */
export const DATASET_FORMATS = ['gsm8k', 'math', 'jsonl'] as const;

/** A JSONL data set of problems. */
export const DatasetConfig = z
  .object({
    path: z
      .string()
      .min(1)
      .describe(
        'JSONL file: absolute, or relative to the data directory (--data / MULTIGYM_DATA). May contain ' +
          '"{split}", replaced by the run split (e.g. "gsm8k/{split}.jsonl").',
      ),
    format: z
      .enum(DATASET_FORMATS)
      .default('jsonl')
      .describe(
        'gsm8k: question + answer ending in "#### N"; math: problem + answer (or the last \\boxed{} of ' +
          'solution); jsonl: plain records with the field names below. Default jsonl.',
      ),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .optional()
      .describe(
        'Task-id prefix (ids are name/split/line). Default: the format, or the folder name for jsonl.',
      ),
    questionField: z
      .string()
      .optional()
      .describe('Field holding the problem text. Default: question (gsm8k, jsonl) or problem (math).'),
    answerField: z
      .string()
      .optional()
      .describe('Field holding the reference final answer (or GSM8K solution). Default: answer.'),
    solutionField: z
      .string()
      .optional()
      .describe(
        'Field holding a worked solution, used for demonstrations. Default: solution (math), none (jsonl).',
      ),
    limit: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Use only the first N records of the file (before shuffling). Default: all.'),
  })
  .describe('A data set of math problems.');
export type DatasetConfig = z.output<typeof DatasetConfig>;

/** The math environment's config. */
export const MathConfig = z
  .object({
    dataset: DatasetConfig.optional().describe(
      'Problems from a file. Omitted: problems from the built-in generator (see generator).',
    ),
    generator: z
      .object({
        levels: z
          .array(z.number().int().min(1).max(MAX_LEVEL))
          .min(1)
          .default([1])
          .describe(
            `Difficulty levels to draw from uniformly, 1..${MAX_LEVEL}: 1 single-digit addition, 2 +/-, ` +
              '3 two-digit +/- and times tables, 4 multiplication/division/order of operations, 5 linear ' +
              'equations, 6 fractions, 7 quadratics. Default [1].',
          ),
      })
      .prefault({})
      .describe('The built-in problem generator, used when no dataset is given.'),
    prompt: z
      .object({
        template: z
          .enum(['plain', 'chat'])
          .default('plain')
          .describe(
            'plain: one text prompt "Question: … Answer:"; chat: messages for the worker chat template.',
          ),
        instruction: z
          .string()
          .default('Put your final answer in \\boxed{}.')
          .describe('Appended to every question.'),
        system: z.string().optional().describe('System message of the chat template. Default: none.'),
      })
      .prefault({})
      .describe('How a problem becomes a prompt.'),
    demonstration: z
      .enum(['solution', 'answer'])
      .default('solution')
      .describe(
        'Warm-start completions: solution = the worked solution ending in \\boxed{answer} (when the task ' +
          'has one), answer = just \\boxed{answer}. Default solution.',
      ),
  })
  .describe('Math environment: GSM8K, MATH-style and plain JSONL problems, or generated arithmetic.');
export type MathConfig = z.output<typeof MathConfig>;
