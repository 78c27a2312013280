/**
 * What the quickstart keeps between invocations in `<MULTIGYM_HOME>/quickstart/state.json`: the run's
 * workflow id, ports and sizes, so `--resume` can reattach to the same workflow (the new policy worker
 * gets the run's weights back through cli/resumePolicy.ts).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The saved state of the last quickstart run. */
export interface QuickstartState {
  workflowId: string;
  startedAt: string;
  steps: number;
  envs: string[];
  model: string;
  policyPort: number;
  dataDir?: string;
  sets: string[];
  /** Checkpoint written right after the supervised warm start. */
  warmCheckpoint?: string;
}

const stateFile = (dir: string) => resolve(dir, 'state.json');

/** Reads the state, or undefined when there is none (or it is unreadable). */
export function readState(dir: string): QuickstartState | undefined {
  try {
    return JSON.parse(readFileSync(stateFile(dir), 'utf8')) as QuickstartState;
  } catch {
    return undefined;
  }
}

/** Writes the state. */
export function writeState(dir: string, state: QuickstartState): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(stateFile(dir), `${JSON.stringify(state, null, 2)}\n`);
}
