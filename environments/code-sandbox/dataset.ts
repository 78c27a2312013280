/** Loading a data set of code tasks (JSONL, or a JSON array) once per file and process. */
import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, resolve } from 'node:path';
import type { CodeDatasetConfig } from './config.js';
import { CodeRecordError, type CodeTaskData, MBPP_SPLITS, parseCodeRecord } from './task.js';

/** Thrown when a data set cannot be read or a record is not a code task (names file and line/index). */
export class CodeDatasetError extends Error {
  readonly type = 'CodeDatasetError';
}

/** A loaded data set: its id prefix, split label and tasks in file order. */
export interface LoadedCodeDataset {
  name: string;
  split: string;
  tasks: CodeTaskData[];
}

const cache = new Map<string, Promise<CodeTaskData[]>>();

async function readTasks(file: string): Promise<CodeTaskData[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new CodeDatasetError(`cannot read code data set ${file}: ${(err as Error).message}`);
  }
  const trimmed = text.trimStart();
  const records: [unknown, string][] = [];
  if (trimmed.startsWith('[')) {
    let all: unknown[];
    try {
      all = JSON.parse(trimmed) as unknown[];
    } catch (err) {
      throw new CodeDatasetError(`${file}: not valid JSON (${(err as Error).message})`);
    }
    for (const [i, r] of all.entries()) records.push([r, `${file}[${i}]`]);
  } else {
    text.split('\n').forEach((line, i) => {
      if (!line.trim()) return;
      try {
        records.push([JSON.parse(line), `${file}:${i + 1}`]);
      } catch (err) {
        throw new CodeDatasetError(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
      }
    });
  }
  const tasks = records.map(([r, where], i) => {
    try {
      return parseCodeRecord(r, i);
    } catch (err) {
      if (err instanceof CodeRecordError) throw new CodeDatasetError(`${where}: ${err.message}`);
      throw err;
    }
  });
  if (tasks.length === 0) throw new CodeDatasetError(`code data set ${file} has no records`);
  return tasks;
}

/** Numeric MBPP task id of a task, if it has one. */
const mbppId = (t: CodeTaskData): number | undefined => {
  const m = /^mbpp\/(\d+)$/.exec(t.source);
  return t.format === 'mbpp' && m ? Number(m[1]) : undefined;
};

/**
 * Loads (and caches) a data set for a split. Relative paths resolve against `dataDir` (or the working
 * directory). MBPP ids are filtered to the split's range when `mbppSplits` is set and the split is
 * one of upstream's four.
 * @throws CodeDatasetError
 */
export async function loadCodeDataset(
  cfg: CodeDatasetConfig,
  split: string,
  dataDir?: string,
): Promise<LoadedCodeDataset> {
  const path = cfg.path.replaceAll('{split}', split);
  const file = isAbsolute(path) ? path : resolve(dataDir ?? process.cwd(), path);
  let pending = cache.get(file);
  if (!pending) {
    pending = readTasks(file);
    cache.set(file, pending);
    pending.catch(() => cache.delete(file));
  }
  let tasks = await pending;
  const range = MBPP_SPLITS[split];
  if (cfg.mbppSplits && range && tasks.every((t) => mbppId(t) !== undefined)) {
    tasks = tasks.filter((t) => {
      const id = mbppId(t)!;
      return id >= range[0] && id <= range[1];
    });
    if (tasks.length === 0)
      throw new CodeDatasetError(`${file} has no MBPP tasks in the ${split} range ${range.join('-')}`);
  }
  const stem = basename(file).replace(/\.jsonl?$/i, '');
  return {
    name:
      cfg.name ??
      (stem
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '') ||
        'code'),
    split,
    tasks: cfg.limit ? tasks.slice(0, cfg.limit) : tasks,
  };
}
