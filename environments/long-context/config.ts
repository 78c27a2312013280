/** The long-context environment's config block (zod; every field documented). */
import { z } from 'zod';
import { TASK_KINDS } from './kinds/types.js';

const kindWeights = Object.fromEntries(
  TASK_KINDS.map((k) => [
    k,
    z.number().min(0).optional().describe(`Relative weight of ${k} tasks (≥ 0; omitted = 0).`),
  ]),
) as Record<(typeof TASK_KINDS)[number], z.ZodOptional<z.ZodNumber>>;

/** Config of `long-context`. Defaults are CPU-sized (1–4K-token contexts). */
export const LongContextConfig = z
  .object({
    mixture: z
      .object(kindWeights)
      .strict()
      .default({
        'niah-single': 1,
        'niah-multikey': 1,
        'niah-multivalue': 1,
        'niah-multiquery': 1,
        'variable-tracking': 1,
        'common-words': 1,
        'frequent-words': 1,
        qa: 1,
      })
      .refine(
        (m) => Object.values(m).some((w) => (w ?? 0) > 0),
        'at least one task kind needs a positive weight',
      )
      .describe(
        `Relative weight of each task kind (${TASK_KINDS.join(', ')}); omitted kinds get 0. Default: all 1.`,
      ),
    lengths: z
      .array(z.number().int().min(128).max(4_194_304))
      .min(1)
      .default([1024, 2048, 3072])
      .describe(
        'Target prompt lengths in tokens of the policy tokenizer; each task draws one uniformly. Default [1024, 2048, 3072] (fits the 4096-token window of the tiny CPU model even when lengths are estimates).',
      ),
    depths: z
      .union([z.array(z.number().min(0).max(1)).min(1), z.literal('uniform')])
      .default([0, 0.25, 0.5, 0.75, 1])
      .describe(
        "Depth of the first answer needle (fraction of the haystack before it): a list to draw from (a sweep), or 'uniform' for any depth in [0, 1]. Default [0, 0.25, 0.5, 0.75, 1].",
      ),
    corpus: z
      .string()
      .min(1)
      .default('builtin')
      .describe(
        "Haystack text: a .txt file or a directory of them, absolute or relative to the data directory (e.g. 'haystack_gutenberg'), or 'builtin' for RULER's repeated filler sentences. Default 'builtin'.",
      ),
    tokenizer: z
      .object({
        url: z
          .string()
          .url()
          .optional()
          .describe(
            'Policy worker URL whose /v1/tokenize gives exact counts and calibrates the estimate; without it lengths are estimates.',
          ),
        charsPerToken: z
          .number()
          .positive()
          .default(4)
          .describe('Characters per token assumed when there is no worker to calibrate on. Default 4.'),
        exactUpTo: z
          .number()
          .int()
          .min(0)
          .default(131_072)
          .describe(
            'Contexts up to this many tokens are counted exactly and corrected to within `tolerance`; longer ones keep the calibrated estimate. Default 131072.',
          ),
        tolerance: z
          .number()
          .min(0.001)
          .max(0.2)
          .default(0.005)
          .describe('Accepted relative error of an exactly counted length. Default 0.005.'),
      })
      .default({ charsPerToken: 4, exactUpTo: 131_072, tolerance: 0.005 })
      .describe('How context lengths are measured.'),
    needles: z
      .object({
        valueType: z
          .enum(['number', 'word', 'uuid'])
          .default('number')
          .describe("Needle values: 7-digit numbers, made-up words or UUIDs. Default 'number'."),
        keys: z
          .number()
          .int()
          .min(2)
          .max(64)
          .default(4)
          .describe('Needles in niah-multikey (one asked, the rest distractors). Default 4.'),
        values: z
          .number()
          .int()
          .min(2)
          .max(64)
          .default(4)
          .describe('Values of the asked key in niah-multivalue. Default 4.'),
        queries: z
          .number()
          .int()
          .min(2)
          .max(64)
          .default(4)
          .describe('Keys asked at once in niah-multiquery. Default 4.'),
      })
      .default({ valueType: 'number', keys: 4, values: 4, queries: 4 })
      .describe('Needle-in-a-haystack parameters.'),
    variableTracking: z
      .object({
        chains: z
          .number()
          .int()
          .min(1)
          .max(16)
          .default(1)
          .describe('Assignment chains; the first is asked. Default 1.'),
        hops: z
          .number()
          .int()
          .min(1)
          .max(32)
          .default(4)
          .describe('Assignments after the first in each chain. Default 4.'),
      })
      .default({ chains: 1, hops: 4 })
      .describe('Variable-tracking parameters.'),
    commonWords: z
      .object({
        words: z.number().int().min(1).max(50).default(10).describe('Common words to list. Default 10.'),
        commonFreq: z
          .number()
          .int()
          .min(3)
          .default(30)
          .describe('Occurrences of each common word (fewer in short lists). Default 30.'),
        rareFreq: z.number().int().min(1).default(3).describe('Occurrences of each other word. Default 3.'),
      })
      .default({ words: 10, commonFreq: 30, rareFreq: 3 })
      .describe('Common-words extraction parameters.'),
    frequentWords: z
      .object({
        words: z.number().int().min(1).max(20).default(3).describe('Most frequent words to list. Default 3.'),
        alpha: z.number().gt(1).default(2).describe('Zipf exponent of the word distribution. Default 2.'),
        vocab: z
          .number()
          .int()
          .min(10)
          .default(500)
          .describe('Distinct words in the coded text. Default 500.'),
      })
      .default({ words: 3, alpha: 2, vocab: 500 })
      .describe('Frequent-words extraction parameters.'),
    qa: z
      .object({
        distractors: z
          .number()
          .int()
          .min(0)
          .max(32)
          .default(4)
          .describe('Distractor facts beside the golden one. Default 4.'),
        documentSentences: z
          .number()
          .int()
          .min(1)
          .default(8)
          .describe('Corpus sentences per document. Default 8.'),
      })
      .default({ distractors: 4, documentSentences: 8 })
      .describe('Question-answering parameters.'),
    answerPrefix: z
      .boolean()
      .default(true)
      .describe("End the prompt with RULER's answer prefix (e.g. 'Answer:'). Default true."),
    maxDemonstrationTokens: z
      .number()
      .int()
      .positive()
      .default(8192)
      .describe('demonstration() returns nothing for contexts longer than this (SFT on CPU). Default 8192.'),
  })
  .describe('Long-context environment (RULER-style retrieval, tracing, aggregation and QA).');

/** Parsed config. */
export type LongContextConfig = z.output<typeof LongContextConfig>;
