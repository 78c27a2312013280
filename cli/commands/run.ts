/**
 * `multigym run CONFIG`: validates a run config, starts `rlRun` and shows its progress (steps, and
 * per-environment mean reward) until the run ends; a failed run prints its cause chain.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Client } from '@temporalio/client';
import { searchAttributesProblem } from '../../activities/searchAttributes.js';
import { isPathSpecifier } from '../../environments/registry.js';
import { dashboardMemo } from '../../server/discovery.js';
import { formatIssues, RunConfig } from '../../workflows/config.js';
import { MAIN_QUEUE } from '../../workflows/queues.js';
import type { RlRunResult } from '../../workflows/rlRun.js';
import { workflowUiLink } from '../context.js';
import { watchRun } from '../watch.js';

/**
 * Reads and validates a JSON run config; throws an Error listing every bad field. Relative paths in
 * `plugins` are made absolute against the config file's directory (the workers may run elsewhere).
 */
export function readRunConfig(path: string): RunConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read run config ${path}: ${(err as Error).message}`);
  }
  const parsed = RunConfig.safeParse(raw);
  if (!parsed.success) throw new Error(`invalid run config ${path}: ${formatIssues(parsed.error)}`);
  const dir = dirname(resolve(path));
  return {
    ...parsed.data,
    plugins: parsed.data.plugins.map((p) => (isPathSpecifier(p) ? resolve(dir, p) : p)),
  };
}

/**
 * Starts a run and watches it until it ends (`watchRun`: bars on a terminal, plain lines otherwise).
 * Returns the workflow result; throws `RunFailedError` (cause chain and web UI link) when it failed.
 * Throws first when the namespace lacks multigym's search attributes (the message has the commands
 * that register them).
 */
export async function startAndWatch(
  client: Client,
  config: RunConfig,
  options: {
    workflowId?: string;
    wait?: boolean;
    quiet?: boolean;
    tty?: boolean;
    uiUrl?: string;
    /** The Temporal address, for the commands of a search-attribute error. */
    address?: string;
  } = {},
): Promise<{ workflowId: string; result?: RlRunResult }> {
  const workflowId = options.workflowId ?? `${config.name}-${Date.now().toString(36)}`;
  // Checked here too (rlRun checks again): the user sees the commands before a workflow exists.
  const problem = await searchAttributesProblem(client.connection, client.options.namespace, options.address);
  if (problem) throw new Error(problem);
  const memo = dashboardMemo(workflowId);
  const handle = await client.workflow.start('rlRun', {
    taskQueue: MAIN_QUEUE,
    workflowId,
    args: [{ config }],
    memo,
  });
  const uiLink = workflowUiLink(workflowId, options.uiUrl);
  if (!options.quiet)
    console.log(
      `started run ${workflowId}; Temporal web UI: ${uiLink}${memo.dashboard ? `; dashboard: ${memo.dashboard}` : ''}`,
    );
  if (options.wait === false) return { workflowId };
  const result = await watchRun(handle, {
    steps: config.steps,
    envs: config.environments.map((e) => e.name),
    tty: options.quiet ? false : options.tty,
    log: options.quiet ? () => {} : console.log,
    uiLink,
  });
  return { workflowId, result };
}
