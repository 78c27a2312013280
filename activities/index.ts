/**
 * All activities, built from their dependencies: `createActivities({ db, blobDir, ... })`.
 * The main worker registers every activity; an environment worker needs only `sampleTasks` and
 * `rolloutGroups` but registering all is harmless.
 */
import type { Activities } from '../workflows/contracts.js';
import type { ActivityDeps } from './deps.js';
import { rolloutActivities } from './rollouts.js';
import { runActivities } from './runs.js';
import { taskActivities } from './tasks.js';
import { trainActivities } from './train.js';

export type { ActivityDeps } from './deps.js';

/** Builds every activity of multigym over the given dependencies. */
export function createActivities(deps: ActivityDeps): Activities {
  return {
    ...runActivities(deps),
    ...taskActivities(deps),
    ...rolloutActivities(deps),
    ...trainActivities(deps),
  };
}
