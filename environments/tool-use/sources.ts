/**
 * Where tool-use tasks come from: the built-in generator, BFCL files, or a JSONL file of task records;
 * and the reading of one record (`parseToolTask`, the environment's `parseTask`). Finite sources are
 * served in a seeded shuffle per epoch, so (seed, split, start) fixes the stream.
 */
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ToolTaskData } from '../../rewards/builtin/tool-task.js';
import type { Task, TaskContext } from '../api.js';
import { keyedRng, permutation } from '../random.js';
import { BfclRecord, bfclTaskData, loadBfcl } from './bfcl.js';
import type { ToolUseConfig } from './config.js';
import { generateToolTask } from './generator.js';

/** Thrown when the environment cannot produce tasks (no data directory, missing file, bad records). */
export class ToolUseTaskError extends Error {
  readonly type = 'ToolUseTaskError';
  /** A configuration or data error: retrying cannot help. */
  readonly retryable = false;
}

/**
 * A record as a task: a BFCL record `{id?, question, function, ground_truth}` (the possible answer as
 * `ground_truth`), or tool-use task data (`{messages, functions, ground_truth, …}`). Throws zod's error
 * naming the field.
 */
export function parseToolTask(record: unknown, index: number): Task {
  const r = (record ?? {}) as { id?: unknown; messages?: unknown };
  const id = typeof r.id === 'string' ? r.id : `record/${index}`;
  const data = r.messages !== undefined ? ToolTaskData.parse(record) : bfclTaskData(BfclRecord.parse(record));
  return { id, data: data as unknown as Task['data'] };
}

/** An endless seeded shuffle of `tasks`, a new order each epoch, from `ctx.start`. */
function* cycle(tasks: Task[], key: string, ctx: TaskContext): Generator<Task> {
  if (tasks.length === 0) throw new ToolUseTaskError(`no ${key} tasks in split "${ctx.split}"`);
  let epoch = -1;
  let order: number[] = [];
  for (let i = ctx.start; ; i++) {
    const e = Math.floor(i / tasks.length);
    if (e !== epoch) {
      epoch = e;
      order = permutation(tasks.length, keyedRng(`${ctx.seed}:${ctx.split}:${key}:${epoch}`));
    }
    yield tasks[order[i % tasks.length]!]!;
  }
}

async function bfclTasks(config: ToolUseConfig, ctx: TaskContext): Promise<Task[]> {
  if (!ctx.dataDir) {
    throw new ToolUseTaskError(
      'source "bfcl" needs a data directory (--data or MULTIGYM_DATA) holding bfcl/',
    );
  }
  const records: BfclRecord[] = [];
  for (const category of config.bfclCategories) records.push(...(await loadBfcl(ctx.dataDir, category)));
  // The first draw of a generator keyed by the id: FNV-1a's raw bits barely move with an id's last
  // characters, which left 1% of one category in test and 35% of another.
  const inTest = (id: string) => keyedRng(`bfcl-split:${id}`)() < config.bfclTestFraction;
  const chosen =
    ctx.split === 'test' || ctx.split === 'train'
      ? records.filter((r) => inTest(r.id ?? '') === (ctx.split === 'test'))
      : records;
  return chosen.map((r) => ({ id: `bfcl/${r.id}`, data: bfclTaskData(r) as unknown as Task['data'] }));
}

async function jsonlTasks(config: ToolUseConfig, ctx: TaskContext): Promise<Task[]> {
  if (!config.dataset)
    throw new ToolUseTaskError('source "jsonl" needs `dataset` (a JSONL file of task records)');
  const path = isAbsolute(config.dataset)
    ? config.dataset
    : resolve(ctx.dataDir ?? process.cwd(), config.dataset);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ToolUseTaskError(`cannot read tool-use dataset ${path}: ${(err as Error).message}`);
  }
  const tasks: Task[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    try {
      tasks.push(parseToolTask(JSON.parse(line), i));
    } catch (err) {
      throw new ToolUseTaskError(`${path}:${i + 1}: ${(err as Error).message}`);
    }
  }
  return tasks;
}

/** The task stream of a config: see the module comment. */
export async function* toolUseTasks(config: ToolUseConfig, ctx: TaskContext): AsyncGenerator<Task> {
  if (config.source === 'generated') {
    for (let i = ctx.start; ; i++) {
      const g = generateToolTask(ctx.seed, ctx.split, i, config.generatorKinds);
      yield { id: `generated/${g.kind}/${ctx.split}/${i}`, data: g.data as unknown as Task['data'] };
    }
  }
  const tasks = config.source === 'bfcl' ? await bfclTasks(config, ctx) : await jsonlTasks(config, ctx);
  yield* cycle(tasks, config.source, ctx);
}
