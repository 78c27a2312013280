/**
 * The activity interfaces the workflows call: one JSON object in, one JSON object out, kilobytes
 * at most (claim check: rollouts, batches and contexts stay in the database; ids travel).
 * `activities/` implements them; workflow code imports only these types.
 */
import type { AlgorithmConfig, EnvSpec, RunConfig } from './config.js';

/** `train` for training rollouts, `eval:<step>` for an evalRun after a step. */
export type Phase = string;

export interface SampleTasksInput {
  runId: string;
  env: string;
  phase: Phase;
  step: number;
  seed: number;
  split: string;
  /** Index of the first task in the seeded order. */
  start: number;
  count: number;
  /** Task ids already drawn in this step (earlier dynamic-sampling rounds); passed over. */
  exclude?: string[];
  config: Record<string, unknown>;
  plugins: string[];
  dataDir?: string;
  /** How long a policy worker that does not answer is waited for before the run fails, seconds. */
  policyWaitSeconds?: number;
}
export interface SampleTasksOutput {
  taskIds: string[];
  /** Positions of the seeded order used, drawn or passed over (absent in histories before it existed: = count). */
  consumed?: number;
}

export interface RolloutGroupsInput {
  runId: string;
  env: string;
  phase: Phase;
  step: number;
  seed: number;
  taskIds: string[];
  /** Of `taskIds`, the first `reasoningCount` are sampled under the env's reasoning budget. */
  reasoningCount: number;
  groupSize: number;
  sampling: EnvSpec['sampling'];
  reasoning?: EnvSpec['reasoning'];
  rewards?: EnvSpec['rewards'];
  config: Record<string, unknown>;
  policyUrl: string;
  /** The run's policy version: every generate expects the worker to hold this run at it. */
  policyVersion?: number;
  plugins: string[];
  /** Greedy decoding (evaluation). */
  greedy?: boolean;
  /** How long a policy worker that does not answer is waited for before the run fails, seconds. */
  policyWaitSeconds?: number;
  /**
   * Attempts of this activity while rollouts' checkers meet infrastructure errors (default 3): each
   * retry re-scores them without sampling again; after the last they stay `infra_error`.
   */
  infraAttempts?: number;
}

/** Summary of one group, enough for progress, dynamic sampling and pass@k. */
export interface GroupSummary {
  taskId: string;
  /** Rewards of the `ok` samples, in sample order. */
  rewards: number[];
  /** Samples without a reward (checker_error, infra_error, rejected). */
  skipped: number;
  zeroVariance: boolean;
}
export interface RolloutGroupsOutput {
  groups: GroupSummary[];
  rollouts: number;
}

/** How a step's batch is built from its rollouts; stored with the step (`step_metrics.recipe`). */
export interface TrainRecipe {
  algorithm: AlgorithmConfig;
  /** Advantage weight per environment name. */
  envWeights: Record<string, number>;
  /**
   * Each environment's `sampling.max_tokens`: the limit of DAPO's overlong penalty and the default
   * of Dr. GRPO's constant `loss_agg_norm`.
   */
  envMaxTokens?: Record<string, number>;
  /** Exclude zero-variance groups from the batch (dynamic sampling). */
  dropZeroVariance: boolean;
  /** How long a policy worker that does not answer is waited for before the run fails, seconds. */
  policyWaitSeconds?: number;
}

/** State carried across continue-as-new, and stored after every step (`runs.state`) for a resume. */
export interface RunState {
  step: number;
  policyVersion: number;
  /** Next seeded task index per environment. */
  cursors: Record<string, number>;
  mixture: EnvSpec[];
  paused: boolean;
  rollouts: number;
  /** Workflow-clock ms when the run started, for rollouts/s. */
  startedAtMs: number;
  zeroVarianceGroups: Record<string, number>;
  lastEnvs: Record<string, EnvStepStats>;
}

export interface TrainStepInput extends TrainRecipe {
  runId: string;
  step: number;
  policyUrl: string;
  /**
   * The run's policy version before this step: the worker must hold this run at this version (or
   * have recorded this step already). Absent in activities scheduled by older workflow code.
   */
  policyVersion?: number;
  /** The run state after this step, less what training decides (step, policy version, stats). */
  carry?: Omit<RunState, 'step' | 'policyVersion' | 'lastEnvs' | 'paused'>;
}

/** Per-environment statistics of one step. */
export interface EnvStepStats {
  /** Mean total reward of the ok rollouts (0 when there are none: read it with `rollouts`). */
  meanReward: number;
  /** Share of ok rollouts whose total reward is at least 1 (the pass rate for 0/1 rewards). */
  passRate: number;
  /** Rollouts scored `ok` (the only ones with a reward). */
  rollouts: number;
  /** Groups with at least one ok rollout. */
  groups: number;
  zeroVarianceGroups: number;
  /** Groups left with fewer than 2 ok rollouts: no group baseline, so out of the batch. */
  droppedGroups?: number;
  /** Rollouts whose reward checker failed (threw, timed out, rejected its config): no reward, out of the batch. */
  checkerErrors?: number;
  /** Rollouts lost to infrastructure failures (sampling, or scoring after its retries): out of the batch. */
  infraErrors?: number;
  /** Rollouts the environment refused (e.g. a context over the model's window). */
  rejected?: number;
}

export interface TrainStepOutput {
  policyVersion: number;
  samples: number;
  loss: number;
  kl: number;
  seconds: number;
  replayed: boolean;
  /** True when the step had nothing to train on and the policy did not change. */
  skipped: boolean;
  envs: Record<string, EnvStepStats>;
}

export interface StartRunInput {
  runId: string;
  config: RunConfig;
}

export interface StartRunOutput {
  /** True when this call inserted the run row (a new run); false when the run is resumed. */
  created: boolean;
  /** The stored state after the run's last trained step, when it is resumed past step 0. */
  state?: RunState;
  /** The policy version the worker holds for the run now (its initial one for a new run). */
  policyVersion?: number;
}

export interface SyncPolicyInput {
  runId: string;
  policyUrl: string;
  /** The run's last trained step and its policy version: what the worker must hold. */
  step: number;
  policyVersion: number;
  /** Why the check runs (recorded with a restore), e.g. `policy_mismatch during step 4`. */
  reason: string;
  /** How long a policy worker that does not answer is waited for before the run fails, seconds. */
  policyWaitSeconds?: number;
}

export interface SyncPolicyOutput {
  /** True when the worker held other weights and the run's were put back. */
  restored: boolean;
  policyVersion: number;
}

export interface Activities {
  /**
   * Checks env names, env configs, reward checkers and plugins (non-retryable `InvalidRunConfig`
   * listing the issues) and, given a namespace, that it has multigym's search attributes
   * (non-retryable `MissingSearchAttributes` with the commands that register them).
   */
  validateRun(input: { config: RunConfig; namespace?: string }): Promise<{ envs: string[] }>;
  /**
   * Starts or resumes a run: refuses a stored run of another config under the same id
   * (`RunConfigMismatch`), claims the policy worker for the run (its initial weights, or the run's
   * own when resuming; `PolicyWorkerBusy` while another run uses it) and inserts the run row.
   */
  startRun(input: StartRunInput): Promise<StartRunOutput>;
  /** Makes the worker hold the run's weights at its policy version (restore + replay when lost). */
  syncPolicy(input: SyncPolicyInput): Promise<SyncPolicyOutput>;
  finishRun(input: { runId: string; status: 'completed' | 'stopped' | 'failed' }): Promise<void>;
  sampleTasks(input: SampleTasksInput): Promise<SampleTasksOutput>;
  rolloutGroups(input: RolloutGroupsInput): Promise<RolloutGroupsOutput>;
  trainStep(input: TrainStepInput): Promise<TrainStepOutput>;
  checkpoint(input: {
    runId: string;
    step: number;
    policyUrl: string;
    dir: string;
    policyWaitSeconds?: number;
    /** Retention: newest checkpoints kept besides the best (`checkpoint_keep`; 0 or absent keeps all). */
    keep?: number;
    /** The run's policy version: a checkpoint is only written of the run's own weights. */
    policyVersion?: number;
  }): Promise<{ path: string }>;
  recordEvent(input: {
    runId: string;
    step: number;
    kind: string;
    key: string;
    data: Record<string, unknown>;
  }): Promise<void>;
}
