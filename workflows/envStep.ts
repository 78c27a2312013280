/**
 * One environment's share of a step: sample tasks, run their groups in chunked activities on the
 * environment's own task queue, and (with dynamic sampling) replace zero-variance groups with fresh
 * tasks for a bounded number of rounds. Returns only group summaries.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { EnvSpec } from './config.js';
import type { Activities, GroupSummary, RolloutGroupsOutput } from './contracts.js';
import { settleAll } from './policyGuard.js';
import { envQueue } from './queues.js';

/** Rollouts per activity at most: keeps pending activities and history small (DESIGN: chunked fan-out). */
export const ROLLOUTS_PER_CHUNK = 64;

/** Activity proxies for one environment's task queue; `heartbeatSeconds` defaults to 120. */
export function envActivities(env: string, heartbeatSeconds = 120) {
  return proxyActivities<Activities>({
    taskQueue: envQueue(env),
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: heartbeatSeconds * 1000,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });
}

export interface EnvStepInput {
  runId: string;
  phase: string;
  step: number;
  seed: number;
  spec: EnvSpec;
  split: string;
  /** Seeded index of the first task. */
  cursor: number;
  count: number;
  groupSize: number;
  policyUrl: string;
  /** The run's policy version: the worker must hold this run at it for every generate. */
  policyVersion?: number;
  plugins: string[];
  dataDir?: string;
  /** Resampling rounds for zero-variance groups (0: none). */
  resampleRounds: number;
  greedy?: boolean;
  /** Heartbeat timeout of the rollout activities, seconds (default 120). */
  heartbeatSeconds?: number;
  /** How long an unanswering policy worker is waited for, seconds (`timeouts.policy_unreachable_s`). */
  policyWaitSeconds?: number;
  /** Attempts of a chunk whose checkers meet infrastructure errors (`scoring.infra_attempts`). */
  infraAttempts?: number;
}

export interface EnvStepResult {
  groups: GroupSummary[];
  rollouts: number;
  /** Next cursor after every task this step drew. */
  cursor: number;
  /** Zero-variance groups drawn this step (resampled or not). */
  zeroVarianceGroups: number;
}

/** Runs one environment's rollouts for a step. */
export async function runEnvStep(input: EnvStepInput): Promise<EnvStepResult> {
  const acts = envActivities(input.spec.name, input.heartbeatSeconds);
  let cursor = input.cursor;
  let wanted = input.count;
  const kept: GroupSummary[] = [];
  let rollouts = 0;
  let zeroVarianceGroups = 0;
  const drawn: string[] = [];
  for (let round = 0; round <= input.resampleRounds && wanted > 0; round++) {
    const { taskIds, consumed } = await acts.sampleTasks({
      runId: input.runId,
      env: input.spec.name,
      phase: input.phase,
      step: input.step,
      seed: input.seed,
      split: input.split,
      start: cursor,
      count: wanted,
      config: input.spec.config,
      plugins: input.plugins,
      dataDir: input.dataDir,
      policyWaitSeconds: input.policyWaitSeconds,
      ...(drawn.length > 0 ? { exclude: [...drawn] } : {}),
    });
    cursor += consumed ?? wanted;
    drawn.push(...taskIds);
    const reasoningCount =
      round === 0 && input.spec.reasoning ? Math.round(input.spec.reasoning.share * taskIds.length) : 0;
    const out = await runChunks(acts, input, taskIds, reasoningCount);
    rollouts += out.rollouts;
    const last = round === input.resampleRounds;
    for (const g of out.groups) {
      if (g.zeroVariance) zeroVarianceGroups++;
      if (!g.zeroVariance || input.resampleRounds === 0 || last) kept.push(g);
    }
    wanted = input.count - kept.length;
  }
  return { groups: kept, rollouts, cursor, zeroVarianceGroups };
}

async function runChunks(
  acts: ReturnType<typeof envActivities>,
  input: EnvStepInput,
  taskIds: string[],
  reasoningCount: number,
): Promise<RolloutGroupsOutput> {
  const groupsPerChunk = Math.max(1, Math.floor(ROLLOUTS_PER_CHUNK / input.groupSize));
  const chunks: Promise<RolloutGroupsOutput>[] = [];
  for (let i = 0; i < taskIds.length; i += groupsPerChunk) {
    const ids = taskIds.slice(i, i + groupsPerChunk);
    chunks.push(
      acts.rolloutGroups({
        runId: input.runId,
        env: input.spec.name,
        phase: input.phase,
        step: input.step,
        seed: input.seed,
        taskIds: ids,
        reasoningCount: Math.max(0, Math.min(ids.length, reasoningCount - i)),
        groupSize: input.groupSize,
        sampling: input.spec.sampling,
        reasoning: input.spec.reasoning,
        rewards: input.spec.rewards,
        config: input.spec.config,
        policyUrl: input.policyUrl,
        policyVersion: input.policyVersion,
        plugins: input.plugins,
        greedy: input.greedy,
        policyWaitSeconds: input.policyWaitSeconds,
        infraAttempts: input.infraAttempts,
      }),
    );
  }
  const outs = await settleAll(chunks);
  return {
    groups: outs.flatMap((o) => o.groups),
    rollouts: outs.reduce((a, o) => a + o.rollouts, 0),
  };
}
