/**
 * `calculator`: evaluates an arithmetic expression with mathjs (operators, parentheses, powers,
 * scalar functions such as `sqrt`, `log`, `sin`, `max`, constants `pi` and `e`).
 *
 * Evaluation runs in the worker's own process and cannot be preempted, so the expression is parsed
 * first (mathjs `parse`, no evaluation) and its syntax tree must hold only scalar arithmetic: numbers,
 * operators, parentheses, conditionals, the allowed constants and the allowed scalar functions. Matrix
 * and range syntax (`zeros(1e5, 1e5)`, `1:1e9`), assignments, function definitions, units, property
 * access and every other function are refused before anything runs — one of them could otherwise
 * exhaust the process's memory or block it for minutes. With at most 500 characters, an accepted
 * expression does a bounded amount of work. The mathjs instance is a private copy with the functions
 * that could change it disabled, as mathjs' security notes recommend.
 */
import { all, create, type MathNode } from 'mathjs';
import { z } from 'zod';
import { defineTool, ToolError } from '../api.js';
import { formatNumber } from './numbers.js';

const math = create(all!, {});
const parse = math.parse.bind(math);
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

/** Longest expression accepted, characters. */
export const MAX_EXPRESSION_CHARS = 500;

/** Scalar functions the calculator offers; each does bounded work on numbers. */
export const CALCULATOR_FUNCTIONS: ReadonlySet<string> = new Set([
  'abs',
  'sqrt',
  'cbrt',
  'nthRoot',
  'square',
  'cube',
  'exp',
  'expm1',
  'log',
  'log10',
  'log2',
  'log1p',
  'pow',
  'mod',
  'round',
  'floor',
  'ceil',
  'fix',
  'sign',
  'min',
  'max',
  'mean',
  'median',
  'sum',
  'prod',
  'hypot',
  'gcd',
  'lcm',
  'factorial',
  'sin',
  'cos',
  'tan',
  'asin',
  'acos',
  'atan',
  'atan2',
  'sinh',
  'cosh',
  'tanh',
  'sec',
  'csc',
  'cot',
]);
/** Named constants the calculator knows. */
export const CALCULATOR_CONSTANTS: ReadonlySet<string> = new Set([
  'pi',
  'e',
  'tau',
  'phi',
  'PI',
  'E',
  'Infinity',
]);
const NODE_TYPES = new Set([
  'ConstantNode',
  'OperatorNode',
  'ParenthesisNode',
  'ConditionalNode',
  'RelationalNode',
  'FunctionNode',
  'SymbolNode',
]);

/** Why `node` is not plain scalar arithmetic, or undefined when every node is allowed. */
function refusal(root: MathNode): string | undefined {
  let reason: string | undefined;
  root.traverse((node, _path, parent) => {
    if (reason) return;
    if (!NODE_TYPES.has(node.type)) {
      reason = `${node.type.replace(/Node$/, '').toLowerCase()} syntax is not supported`;
    } else if (node.type === 'FunctionNode') {
      const fn = (node as unknown as { fn: MathNode }).fn;
      const name = fn.type === 'SymbolNode' ? (fn as unknown as { name: string }).name : '';
      if (!CALCULATOR_FUNCTIONS.has(name))
        reason = `function ${JSON.stringify(name || fn.toString())} is not available`;
    } else if (node.type === 'SymbolNode') {
      const name = (node as unknown as { name: string }).name;
      const isCallee = parent?.type === 'FunctionNode' && (parent as unknown as { fn: MathNode }).fn === node;
      if (!isCallee && !CALCULATOR_CONSTANTS.has(name)) reason = `unknown name ${JSON.stringify(name)}`;
    } else if (
      node.type === 'ConstantNode' &&
      typeof (node as unknown as { value: unknown }).value !== 'number'
    ) {
      reason = 'only numbers are supported';
    }
  });
  return reason;
}

/** Evaluates `expression` to a number, formatted with 12 significant digits. Throws `ToolError`. */
export function calculate(expression: string): string {
  if (expression.length > MAX_EXPRESSION_CHARS) {
    throw new ToolError(`expression longer than ${MAX_EXPRESSION_CHARS} characters`);
  }
  let value: unknown;
  try {
    const node = parse(expression);
    const reason = refusal(node);
    if (reason) throw new Error(reason);
    value = node.evaluate();
  } catch (err) {
    throw new ToolError(`cannot evaluate ${JSON.stringify(expression)}: ${(err as Error).message}`);
  }
  if (typeof value === 'number') return formatNumber(value, 12);
  if (typeof value === 'boolean') return String(value);
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
