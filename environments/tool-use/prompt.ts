/**
 * The system prompt that offers functions to the model, Hermes style (the format of NousResearch's
 * Hermes function-calling models and Qwen's templates): the tools as OpenAI function JSON inside
 * `<tools></tools>`, calls as `<tool_call>{"name": …, "arguments": …}</tool_call>` blocks, and, for
 * multi-turn tasks, a final line `Answer: …`.
 */
import { type FunctionSpec, type ParamSchema, toOpenAiTool } from '../../rewards/builtin/tool-task.js';

/** How the offered functions are listed: full OpenAI JSON, or one short signature line each. */
export type ToolListing = 'json' | 'compact';

/** Options of the tool prompt. */
export interface ToolPromptOptions {
  /** Calls are executed and results come back (multi-turn); otherwise only the calls are wanted. */
  multiTurn: boolean;
  /** Default `json`; `compact` (e.g. `convert_units(value: number, from_unit: string, to_unit: string) - …`) saves context for small models. */
  listing?: ToolListing;
}

/** `name(arg: type, opt?: type) - description` for one function (types as in its JSON Schema). */
export function compactSignature(fn: FunctionSpec): string {
  const schema = toOpenAiTool(fn).function.parameters as ParamSchema;
  const required = new Set(schema.required ?? []);
  const args = Object.entries(schema.properties ?? {}).map(([name, p]) => {
    const type = p.type === 'array' && p.items?.type ? `${p.items.type}[]` : (p.type ?? 'any');
    const choices = Array.isArray(p.enum) ? ` in ${JSON.stringify(p.enum)}` : '';
    return `${name}${required.has(name) ? '' : '?'}: ${type}${choices}`;
  });
  return `${fn.name}(${args.join(', ')}) - ${fn.description}`;
}

/** The system message text offering `functions`. */
export function toolSystemPrompt(functions: FunctionSpec[], options: ToolPromptOptions): string {
  const tools =
    options.listing === 'compact'
      ? functions.map(compactSignature).join('\n')
      : functions.map((f) => JSON.stringify(toOpenAiTool(f))).join('\n');
  const lines = [
    options.listing === 'compact'
      ? 'You can call functions. Their signatures are listed inside <tools></tools>:'
      : 'You can call functions. They are listed as JSON inside <tools></tools>:',
    `<tools>\n${tools}\n</tools>`,
    'To call a function, write <tool_call>{"name": "<function name>", "arguments": {<arguments>}}</tool_call>. Write one block per call; several blocks make several calls.',
  ];
  if (options.multiTurn) {
    lines.push(
      'Each result comes back in a tool message. When you know the answer, reply without a call, ending with a line "Answer: <answer>".',
    );
  } else {
    lines.push('Reply only with the calls that answer the request.');
  }
  return lines.join('\n');
}

/** The line that ends a final answer in demonstrations; `final-answer` reads it. */
export const answerLine = (answer: string): string => `Answer: ${answer}`;
