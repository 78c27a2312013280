/**
 * The `tool-use` environment: function calling with real tools, multi-turn.
 *
 * Tasks come from the built-in generator (multi-turn tasks over the `builtin` tool set — calculator,
 * unit conversion, dates, knowledge-base search, sandboxed Python — with ground-truth calls and a
 * final answer; the CPU default), from BFCL's simple, multiple, parallel and parallel-multiple
 * categories (single turn: the calls are validated and scored, not executed), or from a JSONL file of
 * task records. Tool sets are plugins (`tools/api.ts`): the built-in one is registered on import,
 * others are loaded from `toolSetModules`. The policy calls tools
 * in Hermes `<tool_call>` blocks, OpenAI `tool_calls` JSON or bare JSON; see `rollout.ts` for the loop
 * and the token stream it returns. Default rewards: `tool-call-match` (BFCL AST), `final-answer`,
 * `invalid-call-penalty` and `turn-budget`.
 */

import { type ToolTaskData, ToolTaskData as ToolTaskDataSchema } from '../../rewards/builtin/tool-task.js';
import { defineEnvironment, type Task } from '../api.js';
import { formatCalls, referenceCalls } from './calls.js';
import { ToolUseConfig } from './config.js';
import { answerLine } from './prompt.js';
import { openingMessages, toolUseRollout } from './rollout.js';
import { parseToolTask, toolUseTasks } from './sources.js';
import { loadToolSetModules } from './tools/plugins.js';
import { TURN_FORMATS } from './turnFormat.js';

export { ToolUseConfig } from './config.js';
export { ToolUseTaskError } from './sources.js';

const dataOf = (task: Task): ToolTaskData => ToolTaskDataSchema.parse(task.data);

/** The tool-use environment plugin. */
export const toolUseEnvironment = defineEnvironment({
  name: 'tool-use',
  description:
    'Function calling with real tools (calculator, units, dates, knowledge base, sandboxed Python), multi-turn; BFCL single-turn categories.',
  configSchema: ToolUseConfig,

  async *tasks(config, ctx) {
    await loadToolSetModules(config.toolSetModules);
    yield* toolUseTasks(config, ctx);
  },

  async rollout(task, policy, ctx, config) {
    await loadToolSetModules(config.toolSetModules);
    return toolUseRollout(dataOf(task), policy, ctx, {
      maxTurns: config.maxTurns,
      maxCallsPerTurn: config.maxCallsPerTurn,
      toolTimeoutMs: config.toolTimeoutMs,
      maxResultChars: config.maxResultChars,
      turnFormat: TURN_FORMATS[config.turnFormat],
      toolListing: config.toolListing,
    });
  },

  rewards: [
    { checker: 'tool-call-match', weight: 1 },
    { checker: 'final-answer', weight: 1 },
    { checker: 'invalid-call-penalty', weight: 0.5 },
    { checker: 'turn-budget', weight: 0.2 },
  ],

  /**
   * A BFCL record `{id?, question, function, ground_truth}` (the possible answer as `ground_truth`),
   * or tool-use task data as this environment writes it. Throws zod's error naming the field.
   */
  parseTask: parseToolTask,

  /**
   * The reference solution as one completion: the prompt is the templated opening conversation (raw
   * text for `/v1/sft_step`'s `prompt`, which adds BOS), the completion the reference calls — for
   * generated tasks each followed by its tool result and the next assistant header, then
   * `Answer: …` (the tool results are part of the target text, which a warm start tolerates).
   */
  async demonstration(task, config) {
    const data = dataOf(task);
    const format = TURN_FORMATS[config.turnFormat];
    const prompt = format.render(openingMessages(data, config.toolListing));
    if (!data.reference || !data.tool_set) {
      return {
        prompt,
        completion: formatCalls(referenceCalls(data.ground_truth, data.functions), config.demonstrationStyle),
      };
    }
    let completion = '';
    for (const step of data.reference) {
      completion += formatCalls([{ name: step.name, arguments: step.arguments }], config.demonstrationStyle);
      completion +=
        format.endOfTurn + format.afterEnd + format.toolTurns([{ name: step.name, content: step.result }]);
    }
    completion += answerLine(data.answer ?? '');
    return { prompt, completion };
  },
});

export default toolUseEnvironment;
