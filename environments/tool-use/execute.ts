/**
 * Validating and running one parsed call: the name must be offered, the arguments must satisfy the
 * tool's JSON Schema (checked with Ajv, after reading JSON strings where it asks for arrays or
 * objects; a number written as a float is not an `integer`), and the tool runs under a time limit. Every failure becomes a
 * `CallOutcome` with an error status and a message for the model; nothing here throws on model input.
 * Only a `ToolInfraError` (the tool's infrastructure failed) propagates, so the rollout is retried.
 */
import {
  describeErrors,
  floatErrors,
  prepareArguments,
  validatorFor,
} from '../../rewards/builtin/tool-args-validate.js';
import { nameMatches } from '../../rewards/builtin/tool-call-ast.js';
import type { ParsedCall } from '../../rewards/builtin/tool-call-parse.js';
import { CallStatus } from '../../rewards/builtin/tool-calls-of.js';
import type { ParamSchema } from '../../rewards/builtin/tool-task.js';
import { type Tool, ToolInfraError } from './tools/api.js';

/** A function the model may call: its schema, and an implementation when calls are executed. */
export interface Callable {
  name: string;
  parameters: ParamSchema;
  run?: Tool['run'];
}

/** What came of one call. `content` is what the model reads in the `tool` message. */
export interface CallOutcome {
  status: CallStatus;
  /** Resolved function name (the offered one, e.g. `a.b` for a call to `a_b`). */
  name?: string;
  /** The arguments as validated and run: JSON strings read where the schema asks for arrays/objects. */
  arguments?: Record<string, unknown>;
  /** JSON Pointers into `arguments` of the numbers written as floats. */
  floatPaths?: string[];
  content: string;
  error?: string;
}

/** Limits of tool execution. */
export interface ExecuteOptions {
  /** Time limit of one call, ms. */
  timeoutMs: number;
  /** Results longer than this are cut (with a note), characters. */
  maxResultChars: number;
}

/** The `tool` message of a failed call: plain text, easy for a small model to read. */
const errorContent = (message: string): string => `Error: ${message}`;

/** Validates (and, when `callable.run` exists, executes) one call. */
export async function executeCall(
  call: ParsedCall,
  callables: Callable[],
  options: ExecuteOptions,
): Promise<CallOutcome> {
  const target =
    callables.find((c) => c.name === call.name) ?? callables.find((c) => nameMatches(call.name, c.name));
  if (!target) {
    const known = callables.map((c) => c.name).join(', ');
    const error = `unknown tool "${call.name}"; available: ${known}`;
    return { status: CallStatus.unknownTool, content: errorContent(error), error };
  }
  let validate: ReturnType<typeof validatorFor>;
  try {
    validate = validatorFor(target.parameters);
  } catch (err) {
    // A broken schema is the environment's fault, not the model's: report it, do not run the tool.
    const error = `schema of "${target.name}" is invalid: ${(err as Error).message}`;
    return { status: CallStatus.toolError, name: target.name, content: errorContent(error), error };
  }
  const { arguments: args, floatPaths } = prepareArguments(target.parameters, call);
  const invalid = validate(args)
    ? floatErrors(target.parameters, floatPaths)
    : describeErrors(validate.errors ?? []);
  const prepared = { name: target.name, arguments: args, ...(floatPaths.length > 0 ? { floatPaths } : {}) };
  if (invalid !== undefined) {
    const error = `invalid arguments for "${target.name}": ${invalid}`;
    return { status: CallStatus.invalidArguments, ...prepared, content: errorContent(error), error };
  }
  if (!target.run) return { status: CallStatus.notExecuted, ...prepared, content: '' };
  const outcome = await runWithLimit(target as Callable & { run: Tool['run'] }, args, options);
  return { ...outcome, ...prepared };
}

async function runWithLimit(
  target: Callable & { run: Tool['run'] },
  args: Record<string, unknown>,
  options: ExecuteOptions,
): Promise<CallOutcome> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve('timeout');
    }, options.timeoutMs);
  });
  try {
    const result = await Promise.race([
      Promise.resolve().then(() =>
        target.run(args, { signal: controller.signal, timeoutMs: options.timeoutMs }),
      ),
      timeout,
    ]);
    if (result === 'timeout' && controller.signal.aborted) {
      const error = `${target.name} timed out after ${options.timeoutMs} ms`;
      return { status: CallStatus.timeout, name: target.name, content: errorContent(error), error };
    }
    const text = typeof result === 'string' ? result : JSON.stringify(result);
    return { status: CallStatus.ok, name: target.name, content: truncate(text, options.maxResultChars) };
  } catch (err) {
    if (err instanceof ToolInfraError) throw err;
    const error = `${target.name} failed: ${err instanceof Error ? err.message : String(err)}`;
    return { status: CallStatus.toolError, name: target.name, content: errorContent(error), error };
  } finally {
    clearTimeout(timer);
  }
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters cut]`;
}
