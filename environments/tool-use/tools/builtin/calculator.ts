/**
 * `calculator`: evaluates an arithmetic expression with mathjs (operators, parentheses, powers,
 * functions such as `sqrt`, `log`, `sin`, constants `pi` and `e`). The mathjs instance is a private
 * copy with the functions that could change it or parse nested code disabled, as mathjs' security
 * notes recommend.
 */
import { all, create } from 'mathjs';
import { z } from 'zod';
import { defineTool, ToolError } from '../api.js';
import { formatNumber } from './numbers.js';

const math = create(all!, {});
const evaluate = math.evaluate.bind(math);
const disabled = () => {
  throw new Error('this function is disabled in the calculator');
};
math.import(
  {
    import: disabled,
    createUnit: disabled,
    evaluate: disabled,
    parse: disabled,
    simplify: disabled,
    derivative: disabled,
    resolve: disabled,
    reviver: disabled,
  },
  { override: true },
);

/** Longest expression accepted, characters (bounds the work one call can ask for). */
export const MAX_EXPRESSION_CHARS = 500;

/** Evaluates `expression` to a number, formatted with 12 significant digits. Throws `ToolError`. */
export function calculate(expression: string): string {
  if (expression.length > MAX_EXPRESSION_CHARS) {
    throw new ToolError(`expression longer than ${MAX_EXPRESSION_CHARS} characters`);
  }
  let value: unknown;
  try {
    value = evaluate(expression);
  } catch (err) {
    throw new ToolError(`cannot evaluate ${JSON.stringify(expression)}: ${(err as Error).message}`);
  }
  if (typeof value === 'number') return formatNumber(value, 12);
  if (typeof value === 'boolean') return String(value);
  if (math.isBigNumber(value) || math.isFraction(value)) return formatNumber(Number(value), 12);
  throw new ToolError(`${JSON.stringify(expression)} does not evaluate to a number`);
}

/** The calculator tool. */
export const calculatorTool = defineTool({
  name: 'calculator',
  description:
    'Evaluate an arithmetic expression, e.g. "12.5 * (3 + 4) / 2" or "sqrt(2) ^ 3". Returns the number.',
  schema: z.object({
    expression: z.string().min(1).describe('The arithmetic expression to evaluate.'),
  }),
  run: ({ expression }) => calculate(expression),
});
