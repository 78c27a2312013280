/**
 * `rlRun`: the multi-environment GRPO loop.
 *
 * Each step fans rollouts out to every environment at once (per-environment task queues), then one
 * `trainStep` trains on the samples of all environments together. The state carried across
 * continue-as-new is a few hundred bytes: step, policy version, task cursors and the mixture; it is
 * also stored with every step, so the run started again under the same id and config resumes there.
 *
 * The policy worker must hold the run's own weights: `startRun` claims it (the config's initial
 * weights) or restores them (resume), and every generate, train step and checkpoint expects the run's
 * policy version; a refusal restores the weights (`syncPolicy`) and redoes the work (policyGuard.ts).
 */
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  sleep,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { z } from 'zod';
import { EnvSpec, formatIssues, RunConfig, type RunConfigInput } from './config.js';
import type { Activities, EnvStepStats, RunState } from './contracts.js';
import { runEnvStep } from './envStep.js';
import type { EvalRunInput } from './evalRun.js';
import {
  type Progress,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  setMixtureUpdate,
  stopUpdate,
} from './messages.js';
import { settleAll, withRunWeights } from './policyGuard.js';
import { MAIN_QUEUE } from './queues.js';
import { MEAN_REWARD, RUN_NAME, STEP } from './searchAttributes.js';

export type { RunState } from './contracts.js';

/** Input of `rlRun`: one JSON object. `state` is set only by continue-as-new. */
export interface RlRunInput {
  config: RunConfigInput;
  state?: RunState;
}

export interface RlRunResult {
  runId: string;
  status: 'completed' | 'stopped';
  steps: number;
  policyVersion: number;
  envs: Record<string, EnvStepStats>;
}

/** Main-queue activity proxies; the heartbeat timeout comes from the run config (`timeouts`). */
const mainActivities = (heartbeatSeconds: number) =>
  proxyActivities<Activities>({
    taskQueue: MAIN_QUEUE,
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: heartbeatSeconds * 1000,
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' },
  });

/** Validates input; a zod error becomes a non-retryable failure listing the issues (never a stuck task). */
function parseConfig(raw: unknown) {
  const parsed = RunConfig.safeParse(raw);
  if (!parsed.success) {
    throw ApplicationFailure.nonRetryable(
      `invalid run config: ${formatIssues(parsed.error)}`,
      'InvalidRunConfig',
    );
  }
  return parsed.data;
}

/** An activity's invalid-config (or no-worker-serves-it) failure becomes the workflow's own non-retryable failure, message intact. */
function rethrowInvalidConfig(err: unknown): never {
  const cause = err instanceof ActivityFailure ? err.cause : undefined;
  if (
    cause instanceof ApplicationFailure &&
    (cause.type === 'InvalidRunConfig' || cause.type === 'EnvironmentNotServed')
  ) {
    throw ApplicationFailure.nonRetryable(cause.message, cause.type);
  }
  throw err;
}

/** The RL run workflow. See the module comment. */
export async function rlRun(input: RlRunInput): Promise<RlRunResult> {
  if (!input || typeof input !== 'object' || !('config' in input)) {
    throw ApplicationFailure.nonRetryable('rlRun input must be { "config": { ... } }', 'InvalidRunConfig');
  }
  const config = parseConfig(input.config);
  const main = mainActivities(config.timeouts.main_heartbeat_s);
  const runId = workflowInfo().workflowId;
  // Handlers are registered before the run starts (an update sent right after the start, from the
  // UI say, must not be rejected): until `startRun` answers, `state` is a placeholder, a pause or stop
  // is remembered, and a new mixture waits for the start.
  let started = input.state !== undefined;
  let state: RunState = input.state ?? {
    step: 0,
    policyVersion: 0,
    cursors: {},
    mixture: config.environments,
    paused: false,
    rollouts: 0,
    startedAtMs: Date.now(),
    zeroVarianceGroups: {},
    lastEnvs: {},
  };
  const sync = (reason: string) =>
    main.syncPolicy({
      runId,
      policyUrl: config.policy.url,
      step: state.step,
      policyVersion: state.policyVersion,
      reason,
      policyWaitSeconds: config.timeouts.policy_unreachable_s,
    });
  /** Checkpoints the run's weights after the current step (never another run's: `expect`). */
  const checkpoint = (dir: string) =>
    withRunWeights(`the checkpoint of step ${state.step}`, sync, () =>
      main.checkpoint({
        runId,
        step: state.step,
        policyUrl: config.policy.url,
        dir,
        policyVersion: state.policyVersion,
        policyWaitSeconds: config.timeouts.policy_unreachable_s,
        keep: config.checkpoint_keep,
      }),
    );
  let stopping = false;
  let finished: 'completed' | 'stopped' | undefined;

  const progress = (): Progress => {
    const scored = Object.values(state.lastEnvs).filter((e) => e.rollouts > 0);
    const elapsed = Math.max(1, Date.now() - state.startedAtMs) / 1000;
    return {
      runId,
      name: config.name,
      status:
        finished ?? (stopping ? 'stopping' : state.paused ? 'paused' : started ? 'running' : 'starting'),
      step: state.step,
      steps: config.steps,
      policyVersion: state.policyVersion,
      envs: state.lastEnvs,
      zeroVarianceGroups: state.zeroVarianceGroups,
      rollouts: state.rollouts,
      rolloutsPerSecond: state.rollouts / elapsed,
      // Over the environments that scored something: one whose checker always fails has no mean.
      meanReward: scored.length ? scored.reduce((a, e) => a + e.meanReward, 0) / scored.length : 0,
    };
  };
  setHandler(progressQuery, progress);
  setHandler(pauseUpdate, () => {
    state.paused = true;
    return { paused: true };
  });
  setHandler(resumeUpdate, () => {
    state.paused = false;
    return { paused: false };
  });
  setHandler(stopUpdate, () => {
    stopping = true;
    return { stopping: true };
  });
  setHandler(
    setMixtureUpdate,
    async (arg) => {
      const environments = z.array(EnvSpec).min(1).parse(arg.environments);
      await condition(() => started);
      // Environment names, configs and checkers are checked by the same activity as at start-up.
      await main.validateRun({ config: { ...config, environments } }).catch(rethrowInvalidConfig);
      state.mixture = environments;
      return { environments: environments.map((e) => e.name), fromStep: state.step + 1 };
    },
    {
      validator: (arg) => {
        const parsed = z.object({ environments: z.array(EnvSpec).min(1) }).safeParse(arg);
        if (!parsed.success) throw new Error(`invalid mixture: ${formatIssues(parsed.error)}`);
      },
    },
  );

  if (!started) {
    // Before anything is written: the config, and the cluster's search attributes (upserted below).
    await main.validateRun({ config, namespace: workflowInfo().namespace }).catch(rethrowInvalidConfig);
    const begun = await main.startRun({ runId, config });
    const pausedEarly = state.paused;
    state = begun.state ?? { ...state, policyVersion: begun.policyVersion ?? 0 };
    state.paused ||= pausedEarly;
    started = true;
  }
  upsertSearchAttributes([{ key: RUN_NAME, value: config.name }]);
  /**
   * Runs a step's rollouts so that a `stop` they cannot honour within `stop_grace_s` (their activities
   * retrying against an unreachable policy worker, say) cancels them: undefined when abandoned.
   * Training is never cancelled (a cancelled train_step could land in the worker unrecorded).
   */
  async function unlessStopped<T>(work: () => Promise<T>): Promise<T | undefined> {
    const stepScope = new CancellationScope();
    const watcher = new CancellationScope();
    // Its rejection (the watcher cancelled, or the whole run) is handled at once: never unhandled.
    const watching = watcher
      .run(async () => {
        await condition(() => stopping);
        // Histories from before the grace timer existed replay without it.
        if (!patched('stop-grace')) return;
        await sleep(config.timeouts.stop_grace_s * 1000);
        stepScope.cancel();
      })
      .catch(() => undefined);
    try {
      return await stepScope.run(work);
    } catch (err) {
      if (stopping && stepScope.consideredCancelled && isCancellation(err)) return undefined;
      throw err;
    } finally {
      watcher.cancel();
      await watching;
    }
  }

  let stepsThisExecution = 0;
  let abandoned: number | undefined;
  while (state.step < config.steps && !stopping) {
    await condition(() => !state.paused || stopping);
    if (stopping) break;
    const step = state.step + 1;
    const mixture = state.mixture;
    const results = await unlessStopped(() =>
      withRunWeights(`the rollouts of step ${step}`, sync, () =>
        settleAll(
          mixture.map((spec) =>
            runEnvStep({
              runId,
              phase: 'train',
              step,
              seed: config.seed,
              spec,
              split: spec.split,
              cursor: state.cursors[spec.name] ?? 0,
              count: spec.prompts_per_step,
              groupSize: spec.group_size,
              policyUrl: config.policy.url,
              policyVersion: state.policyVersion,
              plugins: config.plugins,
              dataDir: config.data_dir,
              resampleRounds: config.algorithm.dynamic_sampling.enabled
                ? config.algorithm.dynamic_sampling.max_rounds
                : 0,
              heartbeatSeconds: config.timeouts.rollout_heartbeat_s,
              policyWaitSeconds: config.timeouts.policy_unreachable_s,
              infraAttempts: config.scoring.infra_attempts,
            }),
          ),
        ),
      ),
    );
    if (!results) {
      abandoned = step;
      break;
    }
    // The state after this step, stored with its metrics by trainStep (a resume starts from it).
    const carry = {
      cursors: { ...state.cursors },
      mixture: state.mixture,
      rollouts: state.rollouts,
      startedAtMs: state.startedAtMs,
      zeroVarianceGroups: { ...state.zeroVarianceGroups },
    };
    mixture.forEach((spec, i) => {
      const r = results[i]!;
      carry.cursors[spec.name] = r.cursor;
      carry.zeroVarianceGroups[spec.name] = (carry.zeroVarianceGroups[spec.name] ?? 0) + r.zeroVarianceGroups;
      carry.rollouts += r.rollouts;
    });
    const train = await withRunWeights(`the train step of step ${step}`, sync, () =>
      main.trainStep({
        runId,
        step,
        policyUrl: config.policy.url,
        algorithm: config.algorithm,
        envWeights: Object.fromEntries(mixture.map((s) => [s.name, s.weight])),
        envMaxTokens: Object.fromEntries(mixture.map((s) => [s.name, s.sampling.max_tokens])),
        dropZeroVariance: config.algorithm.dynamic_sampling.enabled,
        policyWaitSeconds: config.timeouts.policy_unreachable_s,
        policyVersion: state.policyVersion,
        carry,
      }),
    );
    state.cursors = carry.cursors;
    state.zeroVarianceGroups = carry.zeroVarianceGroups;
    state.rollouts = carry.rollouts;
    state.step = step;
    state.policyVersion = train.policyVersion;
    state.lastEnvs = train.envs;
    stepsThisExecution++;
    const p = progress();
    upsertSearchAttributes([
      { key: STEP, value: step },
      { key: MEAN_REWARD, value: p.meanReward },
    ]);
    upsertMemo({ step, policyVersion: state.policyVersion, meanReward: p.meanReward });

    if (config.checkpoint_every > 0 && step % config.checkpoint_every === 0) {
      await checkpoint(config.checkpoint_dir);
    }
    if (config.eval_every > 0 && step % config.eval_every === 0) {
      // Evaluate the current mixture (setMixture may have changed it since the run started).
      const evalInput: EvalRunInput = {
        runId,
        step,
        config: { ...input.config, environments: state.mixture },
        policyVersion: state.policyVersion,
      };
      await withRunWeights(`the evaluation after step ${step}`, sync, () =>
        executeChild('evalRun', { args: [evalInput], workflowId: `${runId}-eval-${step}` }),
      );
    }
    if (stepsThisExecution >= config.continue_as_new_every && state.step < config.steps && !stopping) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof rlRun>({ config: input.config, state });
    }
  }
  const status = stopping ? 'stopped' : 'completed';
  if (abandoned !== undefined) {
    // The policy worker may be what held the step up: no final checkpoint, but say what happened.
    await main.recordEvent({
      runId,
      step: abandoned,
      kind: 'stop',
      key: `stop:${abandoned}`,
      data: { abandonedStep: abandoned, graceSeconds: config.timeouts.stop_grace_s },
    });
  } else if (stopping && state.step > 0 && config.checkpoint_every > 0) {
    await checkpoint(config.checkpoint_dir);
  }
  await main.finishRun({ runId, status });
  finished = status;
  await condition(allHandlersFinished);
  return { runId, status, steps: state.step, policyVersion: state.policyVersion, envs: state.lastEnvs };
}
