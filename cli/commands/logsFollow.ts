/**
 * `multigym logs RUN --follow`: prints each step when it has been trained (the table, one JSON object
 * per line with --json, CSV rows under one header with --csv), or with --samples each rollout as it
 * is written, until the run ends. Polls the log source (the database or the read API).
 */

import { parseRange } from '../../db/logs/filter.js';
import type { LogParams, RewardLogSource } from '../../db/logs/source.js';
import { filterParams, type LogsOptions, sampleCsv, sampleText, stepCsv, stepTable } from './logs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Follows a run until it is no longer `running` and everything it logged has been printed. */
export async function followLogs(source: RewardLogSource, runId: string, o: LogsOptions): Promise<void> {
  const interval = o.followMs ?? 2000;
  const params = filterParams(o);
  const samples = o.samples !== undefined && o.samples !== false;
  const wanted = params.step ? parseRange(params.step) : undefined;
  let printedStep = (wanted?.from ?? 1) - 1;
  let lastId = 0;
  let header = true;
  let checkers: string[] | undefined;
  for (;;) {
    const run = await source.run(runId);
    // CSV columns stay those of the first header, whatever later rollouts carry.
    checkers ??= [...new Set(run.checkers.map((c) => c.checker))].sort();
    const done = run.status !== 'running';
    if (samples) {
      // Rollouts in the order they were written, a page at a time.
      for (;;) {
        const page = await source.rollouts(runId, {
          ...params,
          order: 'id',
          after_id: String(lastId),
          limit: '200',
        });
        if (o.csv) {
          if (page.rows.length) console.log(sampleCsv(page.rows, header, checkers));
        } else for (const r of page.rows) console.log(o.json ? JSON.stringify(r) : sampleText(r));
        if (page.rows.length) header = false;
        lastId = page.rows.at(-1)?.id ?? lastId;
        if (page.rows.length < 200) break;
      }
    } else {
      // A step is printed once it is trained (its step metrics are in): its rows no longer change.
      const last = Math.min(run.finishedSteps, wanted?.to ?? Number.POSITIVE_INFINITY);
      if (last > printedStep) {
        const range: LogParams = { ...params, step: `${printedStep + 1}..${last}` };
        const [steps, train] = await Promise.all([
          source.steps(runId, range),
          source.train(runId, { step: range.step }),
        ]);
        if (o.json) {
          const byStep = new Map(train.map((t) => [t.step, t.train]));
          for (const r of steps) console.log(JSON.stringify({ ...r, train: byStep.get(r.step!) ?? null }));
        } else if (o.csv) console.log(stepCsv(steps, train, header));
        else if (steps.length) console.log(stepTable(steps, train));
        header = false;
        printedStep = last;
      }
      if (wanted?.to !== undefined && printedStep >= wanted.to) return;
    }
    if (done) return;
    await sleep(interval);
  }
}
