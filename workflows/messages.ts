/**
 * Signals, updates and queries of `rlRun`: each takes one JSON object (the Temporal UI sends exactly
 * one JSON value) and returns plain JSON.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { z } from 'zod';
import type { EnvSpec } from './config.js';
import type { EnvStepStats } from './contracts.js';

/** What `progress` answers. */
export interface Progress {
  runId: string;
  name: string;
  /** `starting` (validating, claiming the policy worker) | `running` | `paused` | `stopping` | `completed` | `stopped`. */
  status: string;
  /** Last completed step (0 before the first). */
  step: number;
  steps: number;
  policyVersion: number;
  /** Stats of the last completed step, per environment. */
  envs: Record<string, EnvStepStats>;
  /** Zero-variance groups so far, per environment. */
  zeroVarianceGroups: Record<string, number>;
  rollouts: number;
  rolloutsPerSecond: number;
  /** Mean of the environments' mean rewards in the last step, over those with scored (ok) rollouts. */
  meanReward: number;
}

export const progressQuery = defineQuery<Progress>('progress');
/** Pause before the next step (the current one finishes). Input `{}`. */
export const pauseUpdate = defineUpdate<{ paused: boolean }, [Record<string, never>]>('pause');
/** Resume a paused run. Input `{}`. */
export const resumeUpdate = defineUpdate<{ paused: boolean }, [Record<string, never>]>('resume');
/** Finish the current step, checkpoint, end cleanly. Input `{}`. */
export const stopUpdate = defineUpdate<{ stopping: boolean }, [Record<string, never>]>('stop');
/** Replace the environment mixture from the next step on. Input `{ environments: [...] }`. */
export const setMixtureUpdate = defineUpdate<
  { environments: string[]; fromStep: number },
  [{ environments: z.input<typeof EnvSpec>[] }]
>('setMixture');
