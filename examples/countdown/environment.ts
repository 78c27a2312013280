/**
 * The `countdown` environment: reach a target number from a few given numbers with `+ - * /`, each
 * number used at most once. Tasks come from a seeded generator; one prompt, one turn; scored by
 * `countdown-expression`.
 */
import { defineEnvironment, singleTurnRollout } from 'multigym';
import { z } from 'zod';
import { type CountdownTask, countdownTask } from './generator.js';

/** The environment's block in a run config. */
export const CountdownConfig = z
  .object({
    numbers: z.number().int().min(2).max(6).default(4).describe('How many numbers a task gives.'),
    max_number: z.number().int().min(2).max(100).default(25).describe('Largest number given.'),
  })
  .strict();

const prompt = (t: CountdownTask) =>
  `Using the numbers ${t.numbers.join(', ')} (each at most once) and + - * / with parentheses, ` +
  `make ${t.target}. End with one line "Answer: <expression>".`;

export default defineEnvironment<typeof CountdownConfig, CountdownTask>({
  name: 'countdown',
  description: 'Countdown numbers game: an expression of the given numbers that makes the target.',
  configSchema: CountdownConfig,
  async *tasks(config, ctx) {
    for (let i = ctx.start; ; i++) {
      yield {
        id: `countdown/${ctx.split}/${i}`,
        data: countdownTask(ctx.seed, ctx.split, i, config.numbers, config.max_number),
      };
    }
  },
  rollout: (task, policy, ctx) => singleTurnRollout({ text: prompt(task.data) }, policy, ctx),
  rewards: [{ checker: 'countdown-expression', weight: 1 }],
  parseTask(record, index) {
    const r = record as Partial<CountdownTask> | null;
    if (!Array.isArray(r?.numbers) || !Number.isInteger(r?.target)) {
      throw new Error(`countdown task ${index}: expected {"numbers": [integers], "target": integer}`);
    }
    return {
      id: `countdown/${index}`,
      data: { numbers: r.numbers, target: r.target!, solution: r.solution ?? '' },
    };
  },
  demonstration: async (task) => ({ prompt: prompt(task.data), completion: `Answer: ${task.data.solution}` }),
});
