/**
 * What the quickstart keeps between invocations in `<MULTIGYM_HOME>/quickstart/state.json`: the run's
 * workflow id, ports and sizes, so `--resume` can reattach to the same workflow with a policy worker
 * loaded from the latest checkpoint.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * The newest policy checkpoint of a run: `<checkpoints>/<runId>/step-N` with the largest N, else the
 * warm-start checkpoint, else undefined.
 */
export function latestCheckpoint(checkpointDir: string, state: QuickstartState): string | undefined {
  const runDir = resolve(checkpointDir, state.workflowId);
  if (existsSync(runDir)) {
    const steps = readdirSync(runDir)
      .map((d) => /^step-(\d+)$/.exec(d))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .sort((a, b) => b - a);
    if (steps.length) return resolve(runDir, `step-${steps[0]}`);
  }
  return state.warmCheckpoint && existsSync(state.warmCheckpoint) ? state.warmCheckpoint : undefined;
}
