/**
 * BFCL data (Berkeley Function-Calling Leaderboard v4): the `simple_python`, `multiple`, `parallel`
 * and `parallel_multiple` categories, read from `<dataDir>/bfcl/BFCL_v4_<category>.json` with their
 * possible answers from `possible_answer/` (JSON Lines, same ids in the same order). Single-turn.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { FunctionSpec, GroundTruthCall, type ToolTaskData } from '../../rewards/builtin/tool-task.js';

/** The BFCL categories this environment reads. */
export const BFCL_CATEGORIES = ['simple_python', 'multiple', 'parallel', 'parallel_multiple'] as const;
export type BfclCategory = (typeof BFCL_CATEGORIES)[number];

/** Thrown for BFCL files that are missing or malformed; `type` is stable. */
export class BfclDataError extends Error {
  readonly type = 'BfclDataError';
  /** Missing or malformed files: retrying cannot help. */
  readonly retryable = false;
}

const Message = z.object({ role: z.enum(['system', 'user', 'assistant', 'tool']), content: z.string() });

/**
 * A BFCL record with its possible answer: `question` is a list of turns, each a list of messages (a
 * flat list of messages is accepted too); `function` the offered functions; `ground_truth` the
 * expected calls. This is also the task format of `multigym score --env tool-use`.
 */
export const BfclRecord = z.object({
  id: z.string().optional().describe('BFCL id, e.g. `simple_python_97`; its prefix names the category.'),
  question: z
    .union([z.array(z.array(Message)), z.array(Message)])
    .describe('The user turn(s): a list of turns of messages, or a flat list of messages.'),
  function: z.array(FunctionSpec).min(1).describe('Offered functions (BFCL schema dialect or JSON Schema).'),
  ground_truth: z.array(GroundTruthCall).describe('Expected calls `{name: {param: [acceptable values]}}`.'),
  category: z.string().optional().describe('Category; derived from `id` when absent.'),
});
export type BfclRecord = z.output<typeof BfclRecord>;

/** Category of a BFCL id (`parallel_multiple_3` → `parallel_multiple`), or `bfcl` when unknown. */
export function categoryOf(id: string | undefined): string {
  const found = [...BFCL_CATEGORIES].sort((a, b) => b.length - a.length).find((c) => id?.startsWith(`${c}_`));
  return found ?? 'bfcl';
}

/** Task data of a BFCL record. Throws zod's error (naming the field) when the record is malformed. */
export function bfclTaskData(record: unknown): ToolTaskData {
  const r = BfclRecord.parse(record);
  const messages = r.question.flatMap((turn) => (Array.isArray(turn) ? turn : [turn]));
  return {
    category: r.category ?? categoryOf(r.id),
    messages,
    functions: r.function,
    ground_truth: r.ground_truth,
  };
}

async function readJsonl(path: string): Promise<Record<string, unknown>[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new BfclDataError(`cannot read ${path}: ${(err as Error).message}`);
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch (err) {
        throw new BfclDataError(`${path}:${i + 1}: ${(err as Error).message}`);
      }
    });
}

/** Reads one category's records joined with their possible answers (by id). */
export async function loadBfcl(dataDir: string, category: BfclCategory): Promise<BfclRecord[]> {
  const dir = join(dataDir, 'bfcl');
  const questions = await readJsonl(join(dir, `BFCL_v4_${category}.json`));
  const answers = await readJsonl(join(dir, 'possible_answer', `BFCL_v4_${category}.json`));
  const byId = new Map(answers.map((a) => [String(a.id), a.ground_truth]));
  return questions.map((q) => {
    const ground_truth = byId.get(String(q.id));
    if (ground_truth === undefined)
      throw new BfclDataError(`no possible answer for ${String(q.id)} in ${category}`);
    return BfclRecord.parse({ ...q, ground_truth, category });
  });
}
