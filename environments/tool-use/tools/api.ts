/**
 * The tool plugin API: a tool is a name, a description, a JSON Schema of its arguments (OpenAI
 * function format) and an implementation; a tool set is a named list of tools, registered like an
 * environment and chosen by name in a task (`data.tool_set`).
 *
 * Arguments are validated against the JSON Schema before `run` is called (see `execute.ts`), so an
 * implementation sees well-typed input; `defineTool` derives the schema from a zod object with
 * `z.toJSONSchema` and parses the arguments with it once more to fill defaults.
 */
import { z } from 'zod';
import type { Json } from '../../../rewards/api.js';
import type { ParamSchema } from '../../../rewards/builtin/tool-task.js';

/** What a running tool may use: a signal aborted at its time limit. */
export interface ToolContext {
  /** Aborted when the call's time limit passes; long-running tools should stop then. */
  signal: AbortSignal;
  /** The call's time limit, ms. */
  timeoutMs: number;
}

/** A tool: OpenAI function schema plus an implementation. */
export interface Tool {
  /** Function name the model calls; `^[a-zA-Z0-9_.-]{1,64}$`. */
  name: string;
  /** What it does, when to use it; shown to the model. */
  description: string;
  /** JSON Schema (draft 2020-12) of the argument object. */
  parameters: ParamSchema;
  /**
   * Runs the tool on validated arguments. Returns the result shown to the model (a string as is,
   * other JSON serialised). Throws `ToolError` for a failure the model should read (bad input the
   * schema cannot express, nothing found…); any other exception is reported the same way.
   */
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<Json> | Json;
}

/** A named set of tools. */
export interface ToolSet {
  /** kebab-case, unique in the registry. */
  name: string;
  description: string;
  tools: Tool[];
}

/** A failure a tool reports to the model (its message is what the model reads). */
export class ToolError extends Error {
  readonly type = 'ToolError';
}

/**
 * Defines a tool from a zod object schema: `parameters` is its JSON Schema (input side, so fields with
 * defaults are optional; other arguments rejected unless the schema says otherwise), and `run` receives the zod-parsed (defaults filled) arguments.
 */
export function defineTool<S extends z.ZodObject>(tool: {
  name: string;
  description: string;
  schema: S;
  run(args: z.output<S>, ctx: ToolContext): Promise<Json> | Json;
}): Tool {
  const { $schema: _ignored, ...parameters } = z.toJSONSchema(tool.schema, { io: 'input' }) as ParamSchema;
  // Arguments the schema does not name are a mistake the model should hear about.
  parameters.additionalProperties ??= false;
  return {
    name: tool.name,
    description: tool.description,
    parameters,
    run(args, ctx) {
      const parsed = tool.schema.safeParse(args);
      if (!parsed.success) throw new ToolError(z.prettifyError(parsed.error));
      return tool.run(parsed.data, ctx);
    },
  };
}

/**
 * The tool could not run for a reason that is not the model's (a sandbox that failed to start, a
 * host out of resources). Never shown to the model as a tool error: the rollout fails and is retried
 * (DESIGN.md: "an infrastructure failure is never a reward").
 */
export class ToolInfraError extends Error {
  readonly type = 'ToolInfraError';
  constructor(
    message: string,
    /** False when no retry on this host can help (e.g. the sandbox cannot run here at all). */
    readonly retryable = true,
  ) {
    super(message);
  }
}

/** Identity helper that types a tool set; a plugin module may default-export its result. */
export const defineToolSet = (set: ToolSet): ToolSet => set;

/** A tool's OpenAI function spec (`{name, description, parameters}`), as offered to the model. */
export const functionSpecOf = (
  tool: Tool,
): { name: string; description: string; parameters: ParamSchema } => ({
  name: tool.name,
  description: tool.description,
  parameters: tool.parameters,
});
