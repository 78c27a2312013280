/** Task-queue names, shared by workflows, workers and the CLI. */

/** Main task queue: workflows, training and bookkeeping activities. */
export const MAIN_QUEUE = 'multigym';

/** Task queue of an environment's rollout activities: `multigym-env-<name>`. */
export const envQueue = (env: string): string => `multigym-env-${env}`;
