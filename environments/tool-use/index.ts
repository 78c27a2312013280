/**
 * The `tool-use` environment: function calling with real tools, multi-turn.
 *
 * Tasks come from the built-in generator (multi-turn tasks over the `builtin` tool set — calculator,
 * unit conversion, dates, knowledge-base search, sandboxed Python — with ground-truth calls and a
 * final answer; the CPU default) or from BFCL's simple, multiple, parallel and parallel-multiple
 * categories (single turn: the calls are validated and scored, not executed). The policy calls tools
 * in Hermes `<tool_call>` blocks, OpenAI `tool_calls` JSON or bare JSON; see `rollout.ts` for the loop
 * and the token stream it returns. Default rewards: `tool-call-match` (BFCL AST), `final-answer`,
 * `invalid-call-penalty` and `turn-budget`.
 */

import { type ToolTaskData, ToolTaskData as ToolTaskDataSchema } from '../../rewards/builtin/tool-task.js';
import { defineEnvironment, type Task } from '../api.js';
import { hashString, keyedRng, permutation } from '../math/random.js';
import { BfclRecord, bfclTaskData, loadBfcl } from './bfcl.js';
import { formatCalls, referenceCalls } from './calls.js';
import { ToolUseConfig } from './config.js';
import { generateToolTask } from './generator.js';
import { answerLine } from './prompt.js';
import { openingMessages, toolUseRollout } from './rollout.js';
import { TURN_FORMATS } from './turnFormat.js';

export { ToolUseConfig } from './config.js';

/** Thrown when the environment cannot produce tasks (no data directory for BFCL, bad records). */
export class ToolUseTaskError extends Error {
  readonly type = 'ToolUseTaskError';
}

const dataOf = (task: Task): ToolTaskData => ToolTaskDataSchema.parse(task.data);

/** The tool-use environment plugin. */
export const toolUseEnvironment = defineEnvironment({
  name: 'tool-use',
  description:
    'Function calling with real tools (calculator, units, dates, knowledge base, sandboxed Python), multi-turn; BFCL single-turn categories.',
  configSchema: ToolUseConfig,

  async *tasks(config, ctx) {
    if (config.source === 'generated') {
      for (let i = ctx.start; ; i++) {
        const g = generateToolTask(ctx.seed, ctx.split, i, config.generatorKinds);
        yield { id: `generated/${g.kind}/${ctx.split}/${i}`, data: g.data as unknown as Task['data'] };
      }
    }
    if (!ctx.dataDir) {
      throw new ToolUseTaskError(
        'source "bfcl" needs a data directory (--data or MULTIGYM_DATA) holding bfcl/',
      );
    }
    const records: BfclRecord[] = [];
    for (const category of config.bfclCategories) records.push(...(await loadBfcl(ctx.dataDir, category)));
    const inTest = (id: string) => hashString(`bfcl-split:${id}`) / 2 ** 32 < config.bfclTestFraction;
    const chosen =
      ctx.split === 'test' || ctx.split === 'train'
        ? records.filter((r) => inTest(r.id ?? '') === (ctx.split === 'test'))
        : records;
    if (chosen.length === 0) throw new ToolUseTaskError(`no BFCL records in split "${ctx.split}"`);
    let epoch = -1;
    let order: number[] = [];
    for (let i = ctx.start; ; i++) {
      const e = Math.floor(i / chosen.length);
      if (e !== epoch) {
        epoch = e;
        order = permutation(chosen.length, keyedRng(`${ctx.seed}:${ctx.split}:bfcl:${epoch}`));
      }
      const record = chosen[order[i % chosen.length]!]!;
      yield { id: `bfcl/${record.id}`, data: bfclTaskData(record) as unknown as Task['data'] };
    }
  },

  rollout(task, policy, ctx, config) {
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
  parseTask(record, index) {
    const r = record as { id?: unknown; messages?: unknown };
    const id = typeof r.id === 'string' ? r.id : `record/${index}`;
    const data =
      r.messages !== undefined ? ToolTaskDataSchema.parse(record) : bfclTaskData(BfclRecord.parse(record));
    return { id, data: data as unknown as Task['data'] };
  },

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
