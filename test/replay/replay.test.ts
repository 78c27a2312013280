/**
 * Replays recorded histories of released workflow versions against the current workflow code: a
 * change that breaks determinism for runs in flight fails here. Re-record with
 * `npx tsx test/replay/record.ts` only when a new version is released on purpose.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, it } from 'vitest';
import { workflowBundle } from '../../cli/workers.js';

const load = (name: string) =>
  JSON.parse(readFileSync(resolve(import.meta.dirname, 'histories', name), 'utf8'));

describe('workflow replay', () => {
  for (const [file, workflowId] of [
    ['rlRun-v1.json', 'replay-rlrun'],
    ['evalRun-v1.json', 'replay-rlrun-eval-2'],
  ] as const) {
    it(`replays ${file} deterministically`, async () => {
      await Worker.runReplayHistory({ workflowBundle: await workflowBundle() }, load(file), workflowId);
    });
  }
});
