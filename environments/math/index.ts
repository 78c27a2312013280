/**
 * The `math` environment: single-turn math problems scored on their final answer.
 *
 * Problems come from a JSONL data set (GSM8K, MATH-style, or plain records with configurable fields)
 * or, with no data set, from the built-in generator of graded arithmetic/algebra problems (the CPU
 * default; level 1 is single-digit addition). Tasks follow a seeded shuffle per epoch of the data set
 * (a different order each epoch), so (seed, split, start) fixes the stream. The model is asked to put
 * its final answer in `\boxed{}`; the default reward is `math-equivalence` with weight 1.
 */

import { answerText } from '../../rewards/answerText.js';
import { extractAnswer } from '../../rewards/builtin/math/extract.js';
import { defineEnvironment, type Task } from '../api.js';
import { epochOrder } from '../epochOrder.js';
import { singleTurnRollout } from '../singleTurn.js';
import { MathConfig } from './config.js';
import { loadDataset } from './dataset.js';
import { generateProblem } from './generator.js';
import { plainPrompt, renderPrompt } from './prompt.js';
import { fromAnyRecord, type MathTaskData } from './records.js';

export { MathConfig } from './config.js';
export type { MathTaskData } from './records.js';

/** Task data of a task produced by this environment (its `data` is always a `MathTaskData`). */
const dataOf = (task: Task): MathTaskData => task.data as MathTaskData;

/** The math environment plugin. */
export const mathEnvironment = defineEnvironment({
  name: 'math',
  description: 'Math word problems and LaTeX problems (GSM8K, MATH, JSONL, generated), answer in \\boxed{}.',
  configSchema: MathConfig,

  async *tasks(config, ctx) {
    if (!config.dataset) {
      for (let i = ctx.start; ; i++) {
        const p = generateProblem(ctx.seed, ctx.split, i, config.generator.levels);
        const data: MathTaskData = { ...p, solution: null, source: 'generator' };
        yield { id: `gen/L${p.level}/${ctx.split}/${i}`, data };
      }
    }
    const ds = await loadDataset(config.dataset, ctx.split, ctx.dataDir);
    for (const index of epochOrder(
      ds.records.length,
      ctx.start,
      (e) => `${ctx.seed}:${ctx.split}:${ds.name}:${e}`,
    )) {
      yield { id: `${ds.name}/${ds.split}/${index}`, data: ds.records[index]! };
    }
  },

  async rollout(task, policy, ctx, config) {
    const trajectories = await singleTurnRollout(
      renderPrompt(dataOf(task).question, config.prompt),
      policy,
      ctx,
    );
    return trajectories.map((t) => {
      if (t.status !== 'ok') return t;
      const text = answerText(t.completion, { finishReason: t.finishReason }).text;
      const { answer, rule } = text === null ? { answer: null, rule: 'none' } : extractAnswer(text);
      return { ...t, extra: { ...t.extra, answer, answerRule: rule } };
    });
  },

  rewards: [{ checker: 'math-equivalence', weight: 1 }],

  parseTask(record, index) {
    const data = fromAnyRecord(record);
    return { id: `${data.source}/record/${index}`, data };
  },

  async demonstration(task, config) {
    const { question, answer, solution } = dataOf(task);
    const boxed = `\\boxed{${answer}}`;
    let completion = ` ${boxed}`;
    if (config.demonstration === 'solution' && solution) {
      completion = solution.includes('\\boxed') ? ` ${solution}` : ` ${solution}\nThe answer is ${boxed}.`;
    }
    return { prompt: plainPrompt(question, config.prompt), completion };
  },
});

export default mathEnvironment;
