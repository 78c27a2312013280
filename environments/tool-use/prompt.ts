/**
 * The system prompt that offers functions to the model, Hermes style (the format of NousResearch's
 * Hermes function-calling models and Qwen's templates): the tools as OpenAI function JSON inside
 * `<tools></tools>`, calls as `<tool_call>{"name": …, "arguments": …}</tool_call>` blocks, and, for
 * multi-turn tasks, a final line `Answer: …`.
 */
import { type FunctionSpec, toOpenAiTool } from '../../rewards/builtin/tool-task.js';

/** Options of the tool prompt. */
export interface ToolPromptOptions {
  /** Calls are executed and results come back (multi-turn); otherwise only the calls are wanted. */
  multiTurn: boolean;
}

/** The system message text offering `functions`. */
export function toolSystemPrompt(functions: FunctionSpec[], options: ToolPromptOptions): string {
  const tools = functions.map((f) => JSON.stringify(toOpenAiTool(f))).join('\n');
  const lines = [
    'You can call functions. They are listed as JSON inside <tools></tools>:',
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
