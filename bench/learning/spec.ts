/**
 * The learning proof's plan (`spec.json`, written by `prepare.ts`, read by `proof.ts`) and the small
 * statistics both sides share.
 */
import type { AlgorithmConfig, EnvSpec } from '../../workflows/config.js';

/** Everything a learning-proof run needs besides the model and the data directory. */
export interface ProofSpec {
  name: string;
  seed: number;
  /** GRPO steps of the joint run; the staged run spends exactly as many as the joint run completed. */
  steps: number;
  /** Wall-clock cap of one training run, s (the joint run stops early if it is reached). */
  maxTrainSeconds: number;
  /** Held-out tasks per environment, evaluated greedily. */
  evalTasks: number;
  /** Max new tokens of each environment's greedy evaluation. */
  evalMaxTokens: Record<string, number>;
  algorithm: Partial<AlgorithmConfig>;
  /** The joint mixture: every environment in every step. */
  envs: EnvSpec[];
  /** Order of the staged run's stages (one environment each). */
  stagedOrder: string[];
  /** The comparison with TRL's GRPOTrainer: one environment, evaluated every `evalEvery` steps. */
  peer?: {
    env: EnvSpec;
    algorithm: Partial<AlgorithmConfig>;
    maxTrainSeconds: number;
    evalEvery: number;
    /** Also evaluate each time training crosses another multiple of this many seconds (0/absent: never). */
    evalEverySeconds?: number;
    evalTasks: number;
  };
}

/** Held-out score of one environment: pass rate (reward ≥ 1) with its binomial standard error. */
export interface EnvScore {
  tasks: number;
  passed: number;
  passRate: number;
  /** √(p(1−p)/n). */
  se: number;
  meanReward: number;
  /** Tasks with reward ≥ `strict` (when asked for: the peer's "right number after Answer:" = 1.1). */
  strictPassed?: number;
}

/** Per-environment statistics of one training step (from `trainStep`). */
export interface StepRecord {
  step: number;
  seconds: number;
  loss: number;
  envs: Record<string, { meanReward: number; passRate: number; rollouts: number }>;
}

/** One phase's outcome. */
export interface PhaseResult {
  eval: Record<string, EnvScore>;
  evalSeconds: number;
  steps?: StepRecord[];
  /** Training wall time, evaluations excluded, s. */
  trainSeconds?: number;
  /** Held-out scores during training (peer phase): after `step` steps and `trainSeconds` of training. */
  curve?: {
    step: number;
    trainSeconds: number;
    score: EnvScore;
    evalSeconds?: number;
    /** A few held-out completions of this evaluation (`task id: text`), to see what was rewarded. */
    samples?: string[];
  }[];
}

/**
 * Pass rate and its standard error from rewards (pass = reward ≥ 1 − 1e-9); with `strict`, also the
 * count of rewards ≥ `strict` − 1e-9 (e.g. 1.1 = correct and in the required format).
 */
export function score(rewards: number[], strict?: number): EnvScore {
  const n = rewards.length;
  const passed = rewards.filter((r) => r >= 1 - 1e-9).length;
  const p = n ? passed / n : 0;
  return {
    tasks: n,
    passed,
    passRate: p,
    se: n ? Math.sqrt((p * (1 - p)) / n) : 0,
    meanReward: n ? rewards.reduce((a, b) => a + b, 0) / n : 0,
    ...(strict === undefined ? {} : { strictPassed: rewards.filter((r) => r >= strict - 1e-9).length }),
  };
}

/** Splits `total` steps into `parts` stages as evenly as possible (earlier stages get the extra). */
export function stageSteps(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));
}
