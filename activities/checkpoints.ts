/**
 * Checkpoint retention. A run checkpointed every step would keep every step's weights and optimizer
 * state (12 × 21 MB for the quickstart's 1.3M-parameter model, gigabytes for a real one). After each
 * checkpoint a run keeps its newest `keep` checkpoints and the one of its best step — the highest mean
 * training reward over its environments (`step_metrics.envs`), the later step on a tie — and deletes
 * the others' directories, clearing their `checkpoint_path`. Only directories this run wrote
 * (`<dir>/<run>/step-<n>`) that exist on this host are deleted: a policy worker on another host keeps
 * its files, and the event says so.
 */
import { existsSync, rmSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { events, policyVersions, stepMetrics } from '../db/schema.js';

/** What one pruning pass did. */
export interface PruneResult {
  kept: string[];
  deleted: string[];
  /** Pruned by the rule but not on this host's disk (the worker's own host keeps them). */
  elsewhere: string[];
}

/**
 * Applies the retention rule to run `runId` after a checkpoint of `step` (see the module comment).
 * `keep` = 0 keeps everything. Records an event `checkpoint_pruned` when anything was pruned.
 */
export async function pruneCheckpoints(
  db: Database,
  runId: string,
  step: number,
  keep: number,
): Promise<PruneResult> {
  const rows = await db
    .select({
      version: policyVersions.version,
      step: policyVersions.step,
      path: policyVersions.checkpointPath,
    })
    .from(policyVersions)
    .where(and(eq(policyVersions.runId, runId), isNotNull(policyVersions.checkpointPath)));
  const result: PruneResult = { kept: [], deleted: [], elsewhere: [] };
  if (keep <= 0 || rows.length <= keep) return { ...result, kept: rows.map((r) => r.path!) };
  const rewards = new Map(
    (
      await db
        .select({ step: stepMetrics.step, envs: stepMetrics.envs })
        .from(stepMetrics)
        .where(eq(stepMetrics.runId, runId))
    ).map((m) => {
      const envs = Object.values(m.envs as Record<string, { meanReward: number }>);
      return [
        m.step,
        envs.length ? envs.reduce((a, e) => a + e.meanReward, 0) / envs.length : Number.NEGATIVE_INFINITY,
      ];
    }),
  );
  const byStep = [...rows].sort((a, b) => b.step - a.step || b.version - a.version);
  const keepSet = new Set(byStep.slice(0, keep));
  const best = [...rows].sort(
    (a, b) =>
      (rewards.get(b.step) ?? Number.NEGATIVE_INFINITY) - (rewards.get(a.step) ?? Number.NEGATIVE_INFINITY) ||
      b.step - a.step,
  )[0];
  if (best) keepSet.add(best);
  for (const row of rows) {
    const path = row.path!;
    if (keepSet.has(row)) {
      result.kept.push(path);
      continue;
    }
    const ours = basename(path) === `step-${row.step}` && basename(dirname(path)) === runId;
    if (!ours || !existsSync(path)) {
      result.elsewhere.push(path);
      continue;
    }
    rmSync(path, { recursive: true, force: true });
    await db
      .update(policyVersions)
      .set({ checkpointPath: null })
      .where(and(eq(policyVersions.runId, runId), eq(policyVersions.version, row.version)));
    result.deleted.push(path);
  }
  if (result.deleted.length || result.elsewhere.length) {
    await db
      .insert(events)
      .values({
        runId,
        step,
        kind: 'checkpoint_pruned',
        key: `checkpoint_pruned:${step}`,
        data: { ...result, keep, bestStep: best?.step },
      })
      .onConflictDoNothing();
  }
  return result;
}
