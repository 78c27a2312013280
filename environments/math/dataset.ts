/** Loading a JSONL data set of math problems into task data, once per file and process. */
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { DatasetConfig } from './config.js';
import {
  fromGsm8k,
  fromMath,
  fromPlain,
  MathRecordError,
  type MathTaskData,
  type RecordFields,
} from './records.js';

/** Thrown when a data set cannot be read or one of its lines is not a valid record (names file:line). */
export class MathDatasetError extends Error {
  readonly type = 'MathDatasetError';
  override readonly name = 'MathDatasetError';
}

/** A loaded data set: its id prefix, split label and records in file order. */
export interface LoadedDataset {
  /** Task-id prefix, e.g. `gsm8k`. */
  name: string;
  /** Split label of the ids: the `{split}` value, or the file name without extension (`test`). */
  split: string;
  records: MathTaskData[];
}

const cache = new Map<string, Promise<MathTaskData[]>>();

/** Field names of a data set's format, with the config's overrides. */
export function datasetFields(cfg: DatasetConfig): RecordFields {
  const math = cfg.format === 'math';
  return {
    question: cfg.questionField ?? (math ? 'problem' : 'question'),
    answer: cfg.answerField ?? 'answer',
    solution: cfg.solutionField ?? (math ? 'solution' : undefined),
  };
}

/** Parses one record in the data set's format. Throws `MathRecordError`. */
export function parseRecord(cfg: DatasetConfig, record: unknown): MathTaskData {
  const fields = datasetFields(cfg);
  if (cfg.format === 'gsm8k') return fromGsm8k(record, fields);
  if (cfg.format === 'math') return fromMath(record, fields);
  return fromPlain(record, fields);
}

async function readRecords(file: string, cfg: DatasetConfig): Promise<MathTaskData[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MathDatasetError(`cannot read math data set ${file}: ${(err as Error).message}`);
  }
  const records: MathTaskData[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    try {
      records.push(parseRecord(cfg, JSON.parse(line)));
    } catch (err) {
      const what =
        err instanceof MathRecordError ? `field "${err.field}": ${err.message}` : (err as Error).message;
      throw new MathDatasetError(`${file}:${i + 1}: not a ${cfg.format} record (${what})`);
    }
  }
  if (records.length === 0) throw new MathDatasetError(`math data set ${file} has no records`);
  return records;
}

/**
 * Loads (and caches) a data set for a split. Relative paths resolve against `dataDir` (or the working
 * directory without one). Throws `MathDatasetError`.
 */
export async function loadDataset(
  cfg: DatasetConfig,
  split: string,
  dataDir?: string,
): Promise<LoadedDataset> {
  const templated = cfg.path.includes('{split}');
  const path = cfg.path.replaceAll('{split}', split);
  const file = isAbsolute(path) ? path : resolve(dataDir ?? process.cwd(), path);
  const key = JSON.stringify([file, cfg.format, cfg.questionField, cfg.answerField, cfg.solutionField]);
  let pending = cache.get(key);
  if (!pending) {
    pending = readRecords(file, cfg);
    cache.set(key, pending);
    pending.catch(() => cache.delete(key));
  }
  const all = await pending;
  const name = cfg.name ?? (cfg.format === 'jsonl' ? basename(dirname(file)).toLowerCase() : cfg.format);
  return {
    name,
    split: templated ? split : basename(file).replace(/\.jsonl?$/i, ''),
    records: cfg.limit ? all.slice(0, cfg.limit) : all,
  };
}
