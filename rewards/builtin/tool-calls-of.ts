/**
 * The calls a trajectory made, as the tool checkers see them: from `extra.calls` when the tool-use
 * environment recorded them (multi-turn rollouts), otherwise parsed from each assistant turn's answer
 * text (`rewards/answerText.ts`), or from the completion when there are no turns (e.g. `multigym score`
 * on raw model output). A turn cut at the token limit makes the call it was cut inside a parse error.
 */

import { assistantTurns } from '../answerText.js';
import type { ScoredTrajectory } from '../api.js';
import { parseToolCalls } from './tool-call-parse.js';

/** Outcome of one call, as the tool-use environment records it. */
export const CallStatus = {
  /** Executed; the result went back to the model. */
  ok: 'ok',
  /** Parsed and valid against its schema, but not executed (single-turn tasks, e.g. BFCL). */
  notExecuted: 'not_executed',
  parseError: 'parse_error',
  unknownTool: 'unknown_tool',
  invalidArguments: 'invalid_arguments',
  toolError: 'tool_error',
  timeout: 'timeout',
} as const;
export type CallStatus = (typeof CallStatus)[keyof typeof CallStatus];

/** One call of a trajectory. `name`/`arguments` are absent for parse errors. */
export interface RecordedCall {
  turn: number;
  name?: string;
  arguments?: Record<string, unknown>;
  /** JSON Pointers into `arguments` of the numbers written as floats (`5.0`); absent if none. */
  floatPaths?: string[];
  status: CallStatus;
  error?: string;
}

/** Calls of a trajectory and whether they were executed (multi-turn). */
export interface TrajectoryCalls {
  calls: RecordedCall[];
  executed: boolean;
}

/** True for statuses caused by a malformed call (not by the tool itself misbehaving on good input). */
export const isInvalidStatus = (s: CallStatus): boolean =>
  s === CallStatus.parseError || s === CallStatus.unknownTool || s === CallStatus.invalidArguments;

/**
 * Reads the calls of a trajectory. `knownNames`, when given, marks parsed calls to other names as
 * `unknown_tool` in the text path.
 */
export function callsOf(
  trajectory: ScoredTrajectory,
  knownNames?: (name: string) => boolean,
): TrajectoryCalls {
  const extra = trajectory.extra as { calls?: unknown; executed?: unknown } | undefined;
  if (extra && Array.isArray(extra.calls)) {
    return { calls: extra.calls as RecordedCall[], executed: extra.executed === true };
  }
  const calls: RecordedCall[] = [];
  assistantTurns(trajectory).forEach(({ content, finishReason }, turn) => {
    const parsed = parseToolCalls(content, { finishReason });
    for (const e of parsed.errors) calls.push({ turn, status: CallStatus.parseError, error: e.message });
    for (const c of parsed.calls) {
      const known = knownNames ? knownNames(c.name) : true;
      calls.push({
        turn,
        name: c.name,
        arguments: c.arguments,
        ...(c.floatPaths ? { floatPaths: c.floatPaths } : {}),
        status: known ? CallStatus.notExecuted : CallStatus.unknownTool,
      });
    }
  });
  return { calls, executed: false };
}
