/**
 * `invalid-call-penalty`: a penalty for malformed calls — text that cannot be read as a call, a call to
 * a function that is not offered, arguments that break the function's schema. Output in [−1, 0]:
 * −min(1, perInvalid × invalid calls). Executed rollouts report each call's status in `extra.calls`;
 * raw text (e.g. `multigym score`) is parsed and validated here with the same rules (JSON strings read
 * where the schema asks for arrays or objects; a number written as a float is not an `integer`). Text
 * that looks like a call but cannot be read, and a call cut at the token limit, are invalid calls.
 */
import { z } from 'zod';
import { defineReward } from '../api.js';
import { argumentErrors, prepareArguments } from './tool-args-validate.js';
import { nameMatches } from './tool-call-ast.js';
import { CallStatus, callsOf, isInvalidStatus, type RecordedCall } from './tool-calls-of.js';
import { type FunctionSpec, type ParamSchema, readToolTask, toJsonSchema } from './tool-task.js';

/** Config of `invalid-call-penalty`. */
export const InvalidCallPenaltyConfig = z.object({
  perInvalid: z
    .number()
    .min(0)
    .max(1)
    .default(0.5)
    .describe('Penalty per malformed call; the total is capped at 1. Default 0.5.'),
  countToolErrors: z
    .boolean()
    .default(false)
    .describe(
      'Also count calls that were well-formed but failed in the tool (errors, timeouts). Default false.',
    ),
});

/** Status of a parsed-but-not-executed call: unknown function or schema violation, else `not_executed`. */
function classify(call: RecordedCall, functions: FunctionSpec[]): RecordedCall {
  if (call.status !== CallStatus.notExecuted || call.name === undefined) return call;
  const fn = functions.find((f) => nameMatches(call.name!, f.name));
  if (!fn) return { ...call, status: CallStatus.unknownTool, error: `unknown function "${call.name}"` };
  const schema = toJsonSchema(fn.parameters as ParamSchema);
  if (schema.type === 'object' && schema.additionalProperties === undefined)
    schema.additionalProperties = false;
  const prepared = prepareArguments(schema, call);
  const error = argumentErrors(schema, prepared.arguments, prepared.floatPaths);
  return error ? { ...call, status: CallStatus.invalidArguments, error } : call;
}

/** The invalid-call penalty; value in [−1, 0]. Not applicable to tasks that are not tool-use tasks. */
export const invalidCallPenalty = defineReward({
  name: 'invalid-call-penalty',
  description:
    'Penalty for unreadable calls, unknown functions and schema-breaking arguments: −min(1, k·count).',
  configSchema: InvalidCallPenaltyConfig,
  range: [-1, 0],
  score(trajectory, task, config) {
    const data = readToolTask(task.data);
    if (!data) return { value: 0, applicable: false, details: { reason: 'not a tool-use task' } };
    const { calls, executed } = callsOf(trajectory);
    const checked = executed ? calls : calls.map((c) => classify(c, data.functions));
    const bad = checked.filter(
      (c) =>
        isInvalidStatus(c.status) ||
        (config.countToolErrors && (c.status === CallStatus.toolError || c.status === CallStatus.timeout)),
    );
    const value = bad.length === 0 ? 0 : -Math.min(1, config.perInvalid * bad.length);
    return {
      value,
      details: {
        invalid: bad.length,
        calls: checked.length,
        ...(bad.length > 0 ? { errors: bad.slice(0, 5).map((c) => `${c.status}: ${c.error ?? ''}`) } : {}),
      },
    };
  },
});

export default invalidCallPenalty;
