/** The code-sandbox environment's config block (zod: the source of truth; every field documented). */
import { z } from 'zod';
import { sandboxLimitsSchema } from '../../sandbox/index.js';

/** A data set of code tasks. */
export const CodeDatasetConfig = z
  .object({
    path: z
      .string()
      .min(1)
      .describe(
        'JSONL file (or a .json array, like sanitized MBPP) of HumanEval, MBPP or {inputs, outputs} records: ' +
          'absolute, or relative to the data directory (--data / MULTIGYM_DATA). May contain "{split}".',
      ),
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]*$/)
      .optional()
      .describe(
        'Task-id prefix (ids are name/split/index). Default: the file name without extension, lower-cased.',
      ),
    mbppSplits: z
      .boolean()
      .default(true)
      .describe(
        "For MBPP records with numeric task ids, keep only the ids of the run split under upstream's convention " +
          '(train 601-974, test 11-510, validation 511-600, prompt 1-10). Default true.',
      ),
    limit: z
      .number()
      .int()
      .positive()
      .optional()
      .describe('Use only the first N records (after the split filter). Default: all.'),
  })
  .describe('A data set of code tasks.');
export type CodeDatasetConfig = z.output<typeof CodeDatasetConfig>;

/** The code-sandbox environment's config. */
export const CodeSandboxConfig = z
  .object({
    dataset: CodeDatasetConfig.optional().describe(
      'Tasks from a file. Omitted: the built-in easy tasks (one-line Python functions; the CPU default).',
    ),
    prompt: z
      .enum(['completion', 'chat'])
      .default('completion')
      .describe(
        'completion: raw text the model continues (HumanEval style: the signature and docstring; the model writes ' +
          'the body). chat: a user message asking for the code in a ```python block. Default completion.',
      ),
    extraction: z
      .enum(['auto', 'fenced', 'whole', 'body'])
      .default('auto')
      .describe(
        'How code is taken from the completion: auto (a ```python block if any, else a full function, else a body ' +
          'or the whole text), fenced (blocks only), whole (the text as is), body (continues the prompt). Default auto.',
      ),
    testTimeoutMs: z
      .number()
      .int()
      .positive()
      .default(3000)
      .describe('Time limit of one unit test or one stdin/stdout case, ms. Default 3000.'),
    maxCases: z
      .number()
      .int()
      .positive()
      .default(10)
      .describe('stdin/stdout cases run per task (the first N). Default 10.'),
    limits: sandboxLimitsSchema
      .partial()
      .default({})
      .describe(
        'Sandbox limits (memory, processes, output…), defaults as in the sandbox; here timeoutMs (default 10000) caps the wall clock of one whole test run, whatever the per-test budgets add up to.',
      ),
    unsafe: z
      .boolean()
      .default(false)
      .describe(
        'Trusted development only: run code WITHOUT isolation (no bubblewrap). Logs a warning on every run. Default false.',
      ),
  })
  .describe(
    'Code tasks (HumanEval, MBPP, stdin/stdout) scored by running unit tests in a bubblewrap sandbox.',
  );
export type CodeSandboxConfig = z.output<typeof CodeSandboxConfig>;
