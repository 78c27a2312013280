/**
 * `evalRun`: held-out evaluation after a training step. For each environment, a fixed set of tasks
 * from its eval split (the same tasks at every step: cursor 0) is rolled out with n samples — greedy
 * when n = 1 — and scored. pass@k uses the unbiased estimator of Chen et al. 2021 (Codex, eq. 1):
 * pass@k = 1 − C(n−c, k) / C(n, k) over tasks, with c correct samples out of n.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import { formatIssues, RunConfig, type RunConfigInput } from './config.js';
import type { Activities } from './contracts.js';
import { runEnvStep } from './envStep.js';
import { settleAll } from './policyGuard.js';
import { MAIN_QUEUE } from './queues.js';

export interface EvalRunInput {
  runId: string;
  /** Training step this evaluation follows. */
  step: number;
  config: RunConfigInput;
  /** The run's policy version after that step: every generate expects the worker to hold it. */
  policyVersion?: number;
}

export interface EnvEval {
  meanReward: number;
  /** pass@k for k = 1 and k = n (when n > 1). */
  passAtK: Record<string, number>;
  tasks: number;
}

export interface EvalRunResult {
  step: number;
  envs: Record<string, EnvEval>;
}

const main = proxyActivities<Activities>({ taskQueue: MAIN_QUEUE, startToCloseTimeout: '5 minutes' });

/** Unbiased pass@k for one task with c correct of n samples (Chen et al. 2021, eq. 1). */
export function passAtK(n: number, c: number, k: number): number {
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}

/** The evaluation workflow; records its result as a run event `eval:<step>`. */
export async function evalRun(input: EvalRunInput): Promise<EvalRunResult> {
  const parsed = RunConfig.safeParse(input.config);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `invalid run config: ${formatIssues(parsed.error)}`,
      'InvalidRunConfig',
    );
  }
  const config = parsed.data;
  const n = config.eval.n;
  const results = await settleAll(
    config.environments.map((spec) =>
      runEnvStep({
        runId: input.runId,
        phase: `eval:${input.step}`,
        step: input.step,
        seed: config.seed,
        spec: {
          ...spec,
          sampling: { ...spec.sampling, temperature: n === 1 ? 0 : spec.sampling.temperature },
        },
        split: spec.eval_split,
        cursor: 0,
        count: config.eval.prompts,
        groupSize: n,
        policyUrl: config.policy.url,
        policyVersion: input.policyVersion,
        plugins: config.plugins,
        dataDir: config.data_dir,
        resampleRounds: 0,
        greedy: n === 1,
        heartbeatSeconds: config.timeouts.rollout_heartbeat_s,
        policyWaitSeconds: config.timeouts.policy_unreachable_s,
        infraAttempts: config.scoring.infra_attempts,
      }),
    ),
  );
  const envs: Record<string, EnvEval> = {};
  config.environments.forEach((spec, i) => {
    const groups = results[i]!.groups;
    const all = groups.flatMap((g) => g.rewards);
    const ks = n > 1 ? [1, n] : [1];
    const pass: Record<string, number> = {};
    for (const k of ks) {
      const per = groups.map((g) =>
        passAtK(g.rewards.length, g.rewards.filter((r) => r >= 1 - 1e-9).length, k),
      );
      pass[`pass@${k}`] = per.length ? per.reduce((a, b) => a + b, 0) / per.length : 0;
    }
    envs[spec.name] = {
      meanReward: all.length ? all.reduce((a, b) => a + b, 0) / all.length : 0,
      passAtK: pass,
      tasks: groups.length,
    };
  });
  const result = { step: input.step, envs };
  await main.recordEvent({
    runId: input.runId,
    step: input.step,
    kind: 'eval',
    key: `eval:${input.step}`,
    data: result as unknown as Record<string, unknown>,
  });
  return result;
}
