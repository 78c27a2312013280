/** Config block of the `tool-use` environment. */
import { z } from 'zod';
import { BFCL_CATEGORIES } from './bfcl.js';
import { GENERATOR_KINDS } from './generator.js';
import { TURN_FORMATS } from './turnFormat.js';

/** Config block of the `tool-use` environment in a run config (every field documented by `.describe`). */
export const ToolUseConfig = z
  .object({
    source: z
      .enum(['generated', 'bfcl', 'jsonl'])
      .default('generated')
      .describe(
        'Task source: `generated` (multi-turn tasks over the built-in tools; the CPU default), `bfcl` (BFCL single-turn categories from the data directory) or `jsonl` (the `dataset` file).',
      ),
    dataset: z
      .string()
      .optional()
      .describe(
        'JSONL file of task records for `source: jsonl` (BFCL records or tool-use task data, see parseTask); relative paths are read from the data directory, else the working directory. Every split gets all records.',
      ),
    toolSetModules: z
      .array(z.string())
      .default([])
      .describe(
        'Tool-set plugins to load (paths or packages whose default export is defineToolSet(...)); tasks name their set in `tool_set`.',
      ),
    bfclCategories: z
      .array(z.enum(BFCL_CATEGORIES))
      .min(1)
      .default([...BFCL_CATEGORIES])
      .describe('BFCL categories to read when `source` is `bfcl`. Default: all four.'),
    bfclTestFraction: z
      .number()
      .min(0)
      .max(1)
      .default(0.2)
      .describe(
        'Share of BFCL records (by a hash of the id) in split `test`; the rest is `train`. Other split names get all records. Default 0.2.',
      ),
    generatorKinds: z
      .array(z.enum(GENERATOR_KINDS))
      .min(1)
      .default([...GENERATOR_KINDS])
      .describe('Kinds of generated tasks, drawn uniformly. Default: all (see generator.ts).'),
    maxTurns: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(6)
      .describe('Most assistant turns per rollout. Default 6.'),
    maxCallsPerTurn: z
      .number()
      .int()
      .min(1)
      .default(8)
      .describe('Most calls executed per assistant turn; later ones get an error result. Default 8.'),
    toolTimeoutMs: z
      .number()
      .int()
      .min(100)
      .max(600_000)
      .default(10_000)
      .describe(
        'Time limit of one tool call, ms (Python runs get the same limit in the sandbox). Default 10000.',
      ),
    maxResultChars: z
      .number()
      .int()
      .min(100)
      .default(2000)
      .describe('Longest tool result shown to the model, characters; longer ones are cut. Default 2000.'),
    turnFormat: z
      .enum(Object.keys(TURN_FORMATS) as [keyof typeof TURN_FORMATS, ...(keyof typeof TURN_FORMATS)[]])
      .default('chatml')
      .describe(
        "How tool results are templated between turns: `chatml` (the worker's built-in models) or `qwen` (Qwen2.5/3). Default chatml.",
      ),
    toolListing: z
      .enum(['json', 'compact'])
      .default('json')
      .describe(
        'How the system prompt lists functions: `json` (OpenAI function JSON, Hermes style) or `compact` (one signature line each; saves context for small models). Default json.',
      ),
    demonstrationStyle: z
      .enum(['hermes', 'openai', 'json'])
      .default('hermes')
      .describe('Call format of demonstrations (SFT warm start). Default hermes.'),
  })
  .describe('tool-use environment config.');
export type ToolUseConfig = z.output<typeof ToolUseConfig>;
