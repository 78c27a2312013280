/**
 * `tool-call-match`: the calls a model made against the task's ground truth, checked the way the
 * Berkeley Function-Calling Leaderboard's AST checker does (see `tool-call-ast.ts`). Output 1 when
 * every expected call is matched by exactly one call (order free) and nothing else was called,
 * else 0 — or, with `partial`, matched / max(expected, made).
 *
 * String arguments holding JSON where the schema asks for an array or object are read as JSON first
 * (`coerceJsonStrings`); a number written as a float fails an `integer` (BFCL).
 *
 * Which calls count: in single-turn output every parsed call (a call the text path cannot read makes
 * the answer 0, as in BFCL); in an executed multi-turn rollout, the calls that ran (`status: ok`),
 * since malformed attempts are already priced by `invalid-call-penalty` and answered with a tool error.
 */
import { z } from 'zod';
import { defineReward } from '../api.js';
import { prepareArguments } from './tool-args-validate.js';
import { checkCalls, nameMatches } from './tool-call-ast.js';
import { CallStatus, callsOf } from './tool-calls-of.js';
import { type ParamSchema, readToolTask } from './tool-task.js';

/** Config of `tool-call-match`. */
export const ToolCallMatchConfig = z.object({
  dotsAsUnderscores: z
    .boolean()
    .default(true)
    .describe('Accept `a_b` for a function named `a.b` (OpenAI-style APIs forbid dots). Default true.'),
  partial: z
    .boolean()
    .default(false)
    .describe('Score matched / max(expected, made) instead of all-or-nothing. Default false (BFCL).'),
  countFailedCalls: z
    .boolean()
    .default(false)
    .describe(
      'In executed rollouts, also match calls that failed (bad arguments, tool errors). Default false.',
    ),
});

/** BFCL-style call matching; value in [0, 1]. Not applicable to tasks that are not tool-use tasks. */
export const toolCallMatch = defineReward({
  name: 'tool-call-match',
  description: 'BFCL AST match of the calls made against the ground truth (order free); 1 or 0 (or partial).',
  configSchema: ToolCallMatchConfig,
  range: [0, 1],
  score(trajectory, task, config) {
    const data = readToolTask(task.data);
    if (!data) return { value: 0, applicable: false, details: { reason: 'not a tool-use task' } };
    const { calls, executed } = callsOf(trajectory);
    const parseErrors = calls.filter((c) => c.status === CallStatus.parseError);
    if (!executed && parseErrors.length > 0) {
      return {
        value: 0,
        details: { errorType: 'parse_error', error: parseErrors[0]?.error, calls: calls.length },
      };
    }
    const counted = calls.filter(
      (c) =>
        c.name !== undefined &&
        (!executed ||
          c.status === CallStatus.ok ||
          (config.countFailedCalls && c.status !== CallStatus.parseError)),
    );
    const options = { dotsAsUnderscores: config.dotsAsUnderscores };
    const prepared = counted.map((c) => {
      const fn = data.functions.find((f) => nameMatches(c.name!, f.name, options));
      return { name: c.name!, ...prepareArguments(fn?.parameters as ParamSchema | undefined, c) };
    });
    const result = checkCalls(data.functions, prepared, data.ground_truth, options);
    const expected = data.ground_truth.length;
    const denominator = Math.max(expected, counted.length);
    const value = result.valid ? 1 : config.partial && denominator > 0 ? result.matched / denominator : 0;
    return {
      value,
      details: {
        valid: result.valid,
        matched: result.matched,
        expected,
        made: counted.length,
        ...(result.valid ? {} : { errorType: result.errorType, error: result.error }),
      },
    };
  },
});

export default toolCallMatch;
