/** Shared helpers of the long-context tests: a throwaway blob directory and independent depth checks. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../environments/api.js';
import { blobPath } from '../../environments/long-context/blobs.js';
import { LongContextConfig } from '../../environments/long-context/config.js';
import type { LongContextTaskData } from '../../environments/long-context/taskData.js';
import { dataPath } from '../helpers/data.js';

/** The public-domain haystack corpus (six books, or the excerpt of three chapters of one). */
export const gutenberg = dataPath('haystack_gutenberg');

/** A fresh blob directory and its cleanup. */
export function tempBlobDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'multigym-lc-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A parsed config with the given overrides. */
export const config = (over: Record<string, unknown> = {}) => LongContextConfig.parse(over);

/** The stored prompt of a task. */
export function promptOf(task: Task, blobDir: string): string {
  return readFileSync(blobPath(blobDir, (task.data as LongContextTaskData).blob as string), 'utf8');
}

/**
 * Depth of each needle measured on the prompt alone: find its text, count the haystack characters
 * before it (body characters minus the other needles before it) and divide by the haystack length.
 * Uses only the needle texts and the body span, not the recorded offsets.
 */
export function measuredDepths(prompt: string, data: LongContextTaskData): number[] {
  const { start, end } = data.body!;
  const body = prompt.slice(start, end);
  const found = data.needles.map((n) => {
    const at = body.indexOf(n.text);
    if (at < 0) throw new Error(`needle not in body: ${n.text}`);
    return { at, len: n.text.length };
  });
  // Each needle comes with one separating space.
  const needleChars = found.reduce((a, f) => a + f.len + 1, 0);
  const haystack = body.length - needleChars;
  return found.map((f) => {
    const before = found.filter((g) => g.at < f.at).reduce((a, g) => a + g.len + 1, 0);
    const ownSpace = f.at > 0 ? 1 : 0;
    return Math.max(0, f.at - before - ownSpace) / haystack;
  });
}
