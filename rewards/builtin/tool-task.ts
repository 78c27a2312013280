/**
 * The task data of the tool-use environment, as the tool checkers read it, and the conversion of
 * BFCL's JSON-Schema dialect to standard JSON Schema.
 *
 * Lives under `rewards/` (not `environments/tool-use/`) because checkers may import nothing above
 * `rewards/`; the environment imports it from here.
 *
 * BFCL (Berkeley Function-Calling Leaderboard, Patil et al. 2024) writes parameter schemas with
 * `"type": "dict"` for objects, `float` for numbers, `tuple` for arrays and `any` for untyped values.
 * Ground truth is a list of calls `{function_name: {param: [acceptable values…]}}`; `""` among the
 * values marks a parameter that may be omitted.
 */
import { z } from 'zod';

/** A JSON-Schema-like object (BFCL dialect or standard); only the keys the checkers read are typed. */
export interface ParamSchema {
  type?: string;
  properties?: Record<string, ParamSchema>;
  items?: ParamSchema;
  required?: string[];
  enum?: unknown[];
  [key: string]: unknown;
}

/** One offered function, OpenAI function format (`parameters` in BFCL dialect or JSON Schema). */
export const FunctionSpec = z
  .object({
    name: z.string().min(1).describe('Function name; may contain dots (BFCL), e.g. `math.factorial`.'),
    description: z.string().default('').describe('What the function does, shown to the model.'),
    parameters: z
      .record(z.string(), z.unknown())
      .default({ type: 'object', properties: {} })
      .describe('Argument schema: an object schema with `properties` and `required`.'),
  })
  .describe('A function the model may call.');
export type FunctionSpec = z.output<typeof FunctionSpec>;

/** One expected call, BFCL style: `{name: {param: [acceptable values…]}}` with exactly one key. */
export const GroundTruthCall = z
  .record(z.string(), z.record(z.string(), z.array(z.unknown())))
  .refine((r) => Object.keys(r).length === 1, 'a ground-truth call has exactly one function name')
  .describe('Expected call: function name → parameter → acceptable values ("" = may be omitted).');
export type GroundTruthCall = z.output<typeof GroundTruthCall>;

/** A chat message of the task's prompt. */
const PromptMessage = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string(),
  name: z.string().optional(),
});

/** The `data` of a tool-use task. */
export const ToolTaskData = z
  .object({
    category: z
      .string()
      .describe(
        'BFCL category (`simple_python`, `multiple`, `parallel`, `parallel_multiple`) or generator kind.',
      ),
    messages: z.array(PromptMessage).min(1).describe('The conversation before the first model turn.'),
    functions: z.array(FunctionSpec).describe('Functions offered to the model.'),
    ground_truth: z.array(GroundTruthCall).describe('Expected calls, matched regardless of order.'),
    answer: z.string().optional().describe('Expected final answer (multi-turn tasks); absent for BFCL.'),
    answer_kind: z
      .enum(['number', 'text'])
      .optional()
      .describe('How `final-answer` compares: numerically (math equivalence) or as normalised text.'),
    tool_set: z
      .string()
      .optional()
      .describe('Registered tool set that executes the calls; absent = single turn, calls are not run.'),
    turn_budget: z.number().int().positive().optional().describe('Assistant turns a good solution needs.'),
    reference: z
      .array(z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()), result: z.string() }))
      .optional()
      .describe(
        'Reference calls in order, with what each tool returns (generated tasks); for demonstrations.',
      ),
  })
  .describe('Task data of the tool-use environment.');
export type ToolTaskData = z.output<typeof ToolTaskData>;

/** Parses task data; undefined when it is not a tool-use task (checkers then answer "not applicable"). */
export function readToolTask(data: unknown): ToolTaskData | undefined {
  const parsed = ToolTaskData.safeParse(data);
  return parsed.success ? parsed.data : undefined;
}

const TYPE_TO_JSON_SCHEMA: Record<string, string | undefined> = {
  dict: 'object',
  float: 'number',
  tuple: 'array',
  any: undefined,
  string: 'string',
  integer: 'integer',
  number: 'number',
  boolean: 'boolean',
  array: 'array',
  object: 'object',
  null: 'null',
};

/**
 * Converts a BFCL-dialect schema to standard JSON Schema (draft 2020-12 subset): `dict`→`object`,
 * `float`→`number`, `tuple`→`array`, `any`→ no type. Recurses into `properties` and `items`; other
 * keys (description, enum, default…) are kept. A standard schema passes through unchanged.
 */
export function toJsonSchema(schema: ParamSchema): ParamSchema {
  const out: ParamSchema = { ...schema };
  if (typeof schema.type === 'string') {
    const mapped = TYPE_TO_JSON_SCHEMA[schema.type];
    if (mapped === undefined) delete out.type;
    else out.type = mapped;
  }
  if (schema.properties) {
    out.properties = Object.fromEntries(
      Object.entries(schema.properties).map(([k, v]) => [k, toJsonSchema(v as ParamSchema)]),
    );
  }
  if (schema.items && typeof schema.items === 'object') out.items = toJsonSchema(schema.items);
  // BFCL's non-standard per-property `optional` flag means nothing to a validator.
  delete out.optional;
  return out;
}

/** A function spec in OpenAI tool format (`{type: 'function', function: {...}}`) with standard JSON Schema. */
export function toOpenAiTool(fn: FunctionSpec): { type: 'function'; function: FunctionSpec } {
  return {
    type: 'function',
    function: {
      name: fn.name,
      description: fn.description,
      parameters: toJsonSchema(fn.parameters as ParamSchema),
    },
  };
}
