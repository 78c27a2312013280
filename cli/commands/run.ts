/**
 * `multigym run CONFIG`: validates a run config, starts `rlRun` and shows a progress bar (steps, and
 * per-environment mean reward) until the run ends.
 */
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { Presets, SingleBar } from 'cli-progress';
import { formatIssues, RunConfig } from '../../workflows/config.js';
import { type Progress, progressQuery } from '../../workflows/messages.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import type { RlRunResult } from '../../workflows/rlRun.js';

/** Reads and validates a JSON run config; throws an Error listing every bad field. */
export function readRunConfig(path: string): RunConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read run config ${path}: ${(err as Error).message}`);
  }
  const parsed = RunConfig.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid run config ${path}: ${formatIssues(parsed.error)}`);
  return parsed.data;
}

const fmtEnvs = (p: Progress) =>
  Object.entries(p.envs)
    .map(([env, s]) => `${env} ${s.meanReward.toFixed(2)}`)
    .join(' · ');

/**
 * Starts a run and waits for it with a progress bar. Returns the workflow result.
 * Throws the workflow's failure (e.g. an invalid config names the field).
 */
export async function startAndWatch(
  client: Client,
  config: RunConfig,
  options: { workflowId?: string; wait?: boolean; quiet?: boolean } = {},
): Promise<{ workflowId: string; result?: RlRunResult }> {
  const workflowId = options.workflowId ?? `${config.name}-${Date.now().toString(36)}`;
  const handle = await client.workflow.start('rlRun', {
    taskQueue: MAIN_QUEUE,
    workflowId,
    args: [{ config }],
  });
  if (!options.quiet) console.log(`started run ${workflowId}`);
  if (options.wait === false) return { workflowId };
  const bar = options.quiet
    ? undefined
    : new SingleBar(
        {
          format: 'step {value}/{total} |{bar}| policy v{version} · {rps} rollouts/s · reward {envs}',
          hideCursor: true,
        },
        Presets.shades_classic,
      );
  bar?.start(config.steps, 0, { version: 0, rps: '0', envs: '' });
  const timer = setInterval(async () => {
    try {
      const p = await handle.query(progressQuery);
      bar?.update(p.step, {
        version: p.policyVersion,
        rps: p.rolloutsPerSecond.toFixed(1),
        envs: fmtEnvs(p),
      });
    } catch {
      // the workflow may be between executions (continue-as-new) or finished; the next tick retries
    }
  }, 1000);
  try {
    const result = (await handle.result()) as RlRunResult;
    bar?.update(result.steps, { version: result.policyVersion });
    return { workflowId, result };
  } finally {
    clearInterval(timer);
    bar?.stop();
  }
}
