/**
 * `countdown-expression`: 1 when the completion's final `Answer: <expression>` uses only the task's
 * numbers (each at most once) and `+ - * /` and equals the target exactly; else 0, with the reason in
 * the details. Parsed by `expression.ts` (no eval). Never throws on model output.
 */
import { defineReward } from 'multigym';
import { z } from 'zod';
import { ExpressionError, firstUnavailable, parseExpression } from './expression.js';

export default defineReward({
  name: 'countdown-expression',
  description:
    'Countdown: 1 when the final "Answer: <expression>" reaches the target with the given numbers, else 0 (range [0, 1]).',
  configSchema: z.object({}).strict(),
  range: [0, 1],
  score(trajectory, task) {
    const numbers = task.data.numbers as number[];
    const target = task.data.target as number;
    const answers = [...trajectory.completion.matchAll(/Answer:\s*([^\n]+)/gi)];
    const text = answers
      .at(-1)?.[1]
      ?.trim()
      .replace(/[.=]+$/, '');
    if (!text) return { value: 0, details: { reason: 'no "Answer: <expression>" line' } };
    let parsed: ReturnType<typeof parseExpression>;
    try {
      parsed = parseExpression(text);
    } catch (err) {
      if (!(err instanceof ExpressionError)) throw err;
      return { value: 0, details: { reason: `not an arithmetic expression: ${err.message}`, answer: text } };
    }
    const extra = firstUnavailable(parsed.numbers, numbers);
    if (extra !== undefined)
      return {
        value: 0,
        details: { reason: `uses ${extra}, which is not among the numbers left`, answer: text },
      };
    const ok = parsed.value.equals(target);
    return {
      value: ok ? 1 : 0,
      details: ok
        ? { answer: text }
        : { reason: `evaluates to ${parsed.value.toFraction()}, not ${target}`, answer: text },
    };
  },
});
