/**
 * The built-in set of easy code tasks: tiny Python functions (add a constant, test parity, take the
 * last element…) given as a signature and a one-line docstring, to be completed with a one-line body.
 * It is the CPU default and the first rung of a curriculum: a ~1M-parameter model warm-started with
 * supervised steps on the canonical bodies can learn to write them. Expected values are computed here
 * by a JavaScript twin of each function and written as Python literals; a test checks that every
 * canonical body passes its own asserts in the sandbox, so the twins cannot drift from Python.
 *
 * Split: every fifth task (by position) is `test`, the rest `train`; any other split name gets `test`.
 */
import type { CodeTaskData } from './task.js';

type Value = number | string | boolean | Value[];

interface EasySpec {
  name: string;
  params: string;
  doc: string;
  body: string;
  fn: (...args: never[]) => Value;
  cases: Value[][];
}

/** A Python literal for a JS value (ints, floats, strings, booleans, lists). */
function py(v: Value): string {
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(py).join(', ')}]`;
  return String(v);
}

const INTS = [[0], [1], [7], [-3], [12]];
const PAIRS = [
  [1, 2],
  [5, 3],
  [-4, 4],
  [10, 0],
];
const LISTS = [[[3, 1, 2]], [[5]], [[-1, 8, 0, 4]], [[2, 2, 9]]];
const WORDS = [['abc'], ['level'], ['Hello'], ['a']];

const fixed: EasySpec[] = [
  {
    name: 'add',
    params: 'a, b',
    doc: 'Return a plus b.',
    body: 'return a + b',
    fn: (a: number, b: number) => a + b,
    cases: PAIRS,
  },
  {
    name: 'subtract',
    params: 'a, b',
    doc: 'Return a minus b.',
    body: 'return a - b',
    fn: (a: number, b: number) => a - b,
    cases: PAIRS,
  },
  {
    name: 'multiply',
    params: 'a, b',
    doc: 'Return a times b.',
    body: 'return a * b',
    fn: (a: number, b: number) => a * b,
    cases: PAIRS,
  },
  {
    name: 'maximum',
    params: 'a, b',
    doc: 'Return the larger of a and b.',
    body: 'return max(a, b)',
    fn: (a: number, b: number) => Math.max(a, b),
    cases: PAIRS,
  },
  {
    name: 'minimum',
    params: 'a, b',
    doc: 'Return the smaller of a and b.',
    body: 'return min(a, b)',
    fn: (a: number, b: number) => Math.min(a, b),
    cases: PAIRS,
  },
  {
    name: 'negate',
    params: 'x',
    doc: 'Return minus x.',
    body: 'return -x',
    fn: (x: number) => (x === 0 ? 0 : -x),
    cases: INTS,
  },
  {
    name: 'absolute',
    params: 'x',
    doc: 'Return the absolute value of x.',
    body: 'return abs(x)',
    fn: (x: number) => Math.abs(x),
    cases: INTS,
  },
  {
    name: 'square',
    params: 'x',
    doc: 'Return x squared.',
    body: 'return x * x',
    fn: (x: number) => x * x,
    cases: INTS,
  },
  {
    name: 'cube',
    params: 'x',
    doc: 'Return x cubed.',
    body: 'return x ** 3',
    fn: (x: number) => x ** 3,
    cases: INTS,
  },
  {
    name: 'double',
    params: 'x',
    doc: 'Return two times x.',
    body: 'return 2 * x',
    fn: (x: number) => 2 * x,
    cases: INTS,
  },
  {
    name: 'is_even',
    params: 'x',
    doc: 'Return True if x is even.',
    body: 'return x % 2 == 0',
    fn: (x: number) => x % 2 === 0,
    cases: INTS,
  },
  {
    name: 'is_odd',
    params: 'x',
    doc: 'Return True if x is odd.',
    body: 'return x % 2 == 1',
    fn: (x: number) => Math.abs(x % 2) === 1,
    cases: INTS,
  },
  {
    name: 'is_positive',
    params: 'x',
    doc: 'Return True if x is greater than 0.',
    body: 'return x > 0',
    fn: (x: number) => x > 0,
    cases: INTS,
  },
  {
    name: 'is_zero',
    params: 'x',
    doc: 'Return True if x is 0.',
    body: 'return x == 0',
    fn: (x: number) => x === 0,
    cases: INTS,
  },
  {
    name: 'first',
    params: 'xs',
    doc: 'Return the first element of xs.',
    body: 'return xs[0]',
    fn: (xs: number[]) => xs[0]!,
    cases: LISTS,
  },
  {
    name: 'last',
    params: 'xs',
    doc: 'Return the last element of xs.',
    body: 'return xs[-1]',
    fn: (xs: number[]) => xs[xs.length - 1]!,
    cases: LISTS,
  },
  {
    name: 'length',
    params: 'xs',
    doc: 'Return the number of elements in xs.',
    body: 'return len(xs)',
    fn: (xs: number[]) => xs.length,
    cases: LISTS,
  },
  {
    name: 'total',
    params: 'xs',
    doc: 'Return the sum of xs.',
    body: 'return sum(xs)',
    fn: (xs: number[]) => xs.reduce((a, b) => a + b, 0),
    cases: LISTS,
  },
  {
    name: 'largest',
    params: 'xs',
    doc: 'Return the largest element of xs.',
    body: 'return max(xs)',
    fn: (xs: number[]) => Math.max(...xs),
    cases: LISTS,
  },
  {
    name: 'smallest',
    params: 'xs',
    doc: 'Return the smallest element of xs.',
    body: 'return min(xs)',
    fn: (xs: number[]) => Math.min(...xs),
    cases: LISTS,
  },
  {
    name: 'sort_list',
    params: 'xs',
    doc: 'Return xs sorted in increasing order.',
    body: 'return sorted(xs)',
    fn: (xs: number[]) => [...xs].sort((a, b) => a - b),
    cases: LISTS,
  },
  {
    name: 'reverse_list',
    params: 'xs',
    doc: 'Return xs in reverse order.',
    body: 'return xs[::-1]',
    fn: (xs: number[]) => [...xs].reverse(),
    cases: LISTS,
  },
  {
    name: 'square_all',
    params: 'xs',
    doc: 'Return the squares of xs.',
    body: 'return [x * x for x in xs]',
    fn: (xs: number[]) => xs.map((x) => x * x),
    cases: LISTS,
  },
  {
    name: 'evens',
    params: 'xs',
    doc: 'Return the even elements of xs.',
    body: 'return [x for x in xs if x % 2 == 0]',
    fn: (xs: number[]) => xs.filter((x) => x % 2 === 0),
    cases: LISTS,
  },
  {
    name: 'count_of',
    params: 'xs, v',
    doc: 'Return how many times v occurs in xs.',
    body: 'return xs.count(v)',
    fn: (xs: number[], v: number) => xs.filter((x) => x === v).length,
    cases: [
      [[1, 2, 2], 2],
      [[5], 1],
      [[0, 0, 0], 0],
      [[3, 4], 4],
    ],
  },
  {
    name: 'contains',
    params: 'xs, v',
    doc: 'Return True if v is in xs.',
    body: 'return v in xs',
    fn: (xs: number[], v: number) => xs.includes(v),
    cases: [
      [[1, 2, 3], 2],
      [[5], 1],
      [[], 0],
      [[3, 4], 4],
    ],
  },
  {
    name: 'reverse',
    params: 's',
    doc: 'Return the string s reversed.',
    body: 'return s[::-1]',
    fn: (s: string) => [...s].reverse().join(''),
    cases: WORDS,
  },
  {
    name: 'upper',
    params: 's',
    doc: 'Return s in upper case.',
    body: 'return s.upper()',
    fn: (s: string) => s.toUpperCase(),
    cases: WORDS,
  },
  {
    name: 'lower',
    params: 's',
    doc: 'Return s in lower case.',
    body: 'return s.lower()',
    fn: (s: string) => s.toLowerCase(),
    cases: WORDS,
  },
  {
    name: 'str_length',
    params: 's',
    doc: 'Return the number of characters in s.',
    body: 'return len(s)',
    fn: (s: string) => s.length,
    cases: WORDS,
  },
  {
    name: 'first_char',
    params: 's',
    doc: 'Return the first character of s.',
    body: 'return s[0]',
    fn: (s: string) => s[0]!,
    cases: WORDS,
  },
  {
    name: 'is_palindrome',
    params: 's',
    doc: 'Return True if s reads the same backwards.',
    body: 'return s == s[::-1]',
    fn: (s: string) => s === [...s].reverse().join(''),
    cases: WORDS,
  },
  {
    name: 'concat',
    params: 'a, b',
    doc: 'Return a followed by b.',
    body: 'return a + b',
    fn: (a: string, b: string) => a + b,
    cases: [
      ['ab', 'cd'],
      ['', 'x'],
      ['hi', ' there'],
      ['1', '2'],
    ],
  },
  {
    name: 'repeat',
    params: 's, n',
    doc: 'Return s repeated n times.',
    body: 'return s * n',
    fn: (s: string, n: number) => s.repeat(n),
    cases: [
      ['ab', 2],
      ['x', 3],
      ['hi', 0],
      ['z', 1],
    ],
  },
  {
    name: 'count_vowels',
    params: 's',
    doc: 'Return the number of vowels (aeiou) in s.',
    body: "return sum(c in 'aeiou' for c in s)",
    fn: (s: string) => [...s].filter((c) => 'aeiou'.includes(c)).length,
    cases: [['banana'], ['sky'], ['queue'], ['a']],
  },
];

/** Families with a constant k: add_3(x), times_4(x)… (the constant is in the name and the docstring). */
const families = (k: number): EasySpec[] => [
  {
    name: `add_${k}`,
    params: 'x',
    doc: `Return x plus ${k}.`,
    body: `return x + ${k}`,
    fn: (x: number) => x + k,
    cases: INTS,
  },
  {
    name: `subtract_${k}`,
    params: 'x',
    doc: `Return x minus ${k}.`,
    body: `return x - ${k}`,
    fn: (x: number) => x - k,
    cases: INTS,
  },
  {
    name: `times_${k}`,
    params: 'x',
    doc: `Return x times ${k}.`,
    body: `return x * ${k}`,
    fn: (x: number) => x * k,
    cases: INTS,
  },
  {
    name: `is_multiple_of_${k}`,
    params: 'x',
    doc: `Return True if x is a multiple of ${k}.`,
    body: `return x % ${k} == 0`,
    fn: (x: number) => ((x % k) + k) % k === 0,
    cases: [[0], [k], [k + 1], [3 * k], [7]],
  },
];

const SPECS: EasySpec[] = [...fixed, ...[2, 3, 4, 5, 6, 7, 8, 9].flatMap(families)];

function toTask(spec: EasySpec): CodeTaskData {
  const codePrefix = `def ${spec.name}(${spec.params}):\n    """${spec.doc}"""\n`;
  const tests = spec.cases.map((args) => {
    const call = `${spec.name}(${args.map(py).join(', ')})`;
    return `assert ${call} == ${py((spec.fn as (...a: Value[]) => Value)(...args))}`;
  });
  return {
    format: 'easy',
    language: 'python',
    source: `easy/${spec.name}`,
    description: spec.doc,
    codePrefix,
    entryPoint: spec.name,
    tests,
    solution: `    ${spec.body}\n`,
  };
}

const ALL = SPECS.map(toTask);

/** The built-in easy tasks of a split (`train`: 4 of 5; any other split: the remaining fifth). */
export function easyTasks(split: string): CodeTaskData[] {
  return ALL.filter((_, i) => (i % 5 === 4) === (split !== 'train'));
}

/** Every built-in easy task, both splits. */
export const allEasyTasks = (): CodeTaskData[] => [...ALL];
