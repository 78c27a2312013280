/**
 * Code task data (what `Task.data` holds in this environment) and the parsers of the record formats it
 * reads: HumanEval (`prompt`, `test`, `entry_point`), MBPP (`text`/`prompt`, `test_list`, optional
 * `test_setup_code` / `test_imports`) and stdin/stdout cases (`inputs`, `outputs`).
 */
import { z } from 'zod';
import { SANDBOX_LANGUAGES } from '../../sandbox/index.js';

/** One stdin/stdout case. */
export const ioCaseSchema = z.object({
  input: z.string().describe('Bytes fed to standard input (UTF-8).'),
  output: z
    .string()
    .describe(
      'Expected standard output; compared after trimming trailing whitespace of each line and trailing blank lines.',
    ),
});

/** A code task as stored in `Task.data`. Exactly one of `tests` (unit tests) or `cases` (stdin/stdout) is set. */
export const codeTaskSchema = z.object({
  format: z
    .enum(['humaneval', 'mbpp', 'io', 'easy'])
    .describe('Where the task came from; decides the prompt shape.'),
  language: z.enum(SANDBOX_LANGUAGES).default('python').describe('Language of the solution and tests.'),
  source: z
    .string()
    .describe('Stable id of the original record, e.g. `HumanEval/3`, `mbpp/11`, `easy/add_3`.'),
  description: z
    .string()
    .describe('The problem statement (may be empty when `codePrefix` holds it, as in HumanEval).'),
  codePrefix: z
    .string()
    .optional()
    .describe(
      'Code the model continues (HumanEval prompt: imports, signature, docstring). A function-body completion is appended to it.',
    ),
  entryPoint: z.string().optional().describe('Name of the function under test.'),
  setup: z
    .string()
    .optional()
    .describe('Code run after the solution and before the tests (MBPP `test_setup_code`).'),
  tests: z
    .array(z.string())
    .optional()
    .describe('Unit tests: each a code snippet run in the solution namespace, failing if it raises.'),
  cases: z.array(ioCaseSchema).optional().describe('stdin/stdout cases: the solution is run once per case.'),
  solution: z
    .string()
    .optional()
    .describe(
      'Reference solution: a function body when `codePrefix` is set (HumanEval canonical), else a whole program.',
    ),
});
/** A code task's data. */
export type CodeTaskData = z.output<typeof codeTaskSchema>;

/** Thrown for a record that is none of the known formats (names the fields it lacked). */
export class CodeRecordError extends Error {
  readonly type = 'CodeRecordError';
}

const humanEvalRecord = z.object({
  task_id: z.string().optional(),
  prompt: z.string(),
  test: z.string(),
  entry_point: z.string(),
  canonical_solution: z.string().optional(),
});

const mbppRecord = z.object({
  task_id: z.union([z.number(), z.string()]).optional(),
  text: z.string().optional(),
  prompt: z.string().optional(),
  code: z.string().optional(),
  test_list: z.array(z.string()).min(1),
  test_setup_code: z.string().optional(),
  test_imports: z.array(z.string()).optional(),
  challenge_test_list: z.array(z.string()).optional(),
});

const ioRecord = z.object({
  id: z.union([z.number(), z.string()]).optional(),
  question: z.string().optional(),
  description: z.string().optional(),
  prompt: z.string().optional(),
  inputs: z.array(z.string()).min(1),
  outputs: z.array(z.string()).min(1),
  solution: z.string().optional(),
  solutions: z.array(z.string()).optional(),
});

/** MBPP code uses `\r\n` line endings and sometimes tabs; Python accepts both, the prompt should not show `\r`. */
const unixLines = (s: string): string => s.replace(/\r\n?/g, '\n');

/**
 * Converts one record (a JSONL line) into task data. Accepts task data itself, HumanEval, MBPP (full
 * or sanitized) and `{ inputs, outputs }` records; `index` names records without an id.
 * @throws CodeRecordError when the record matches no format.
 */
export function parseCodeRecord(record: unknown, index: number): CodeTaskData {
  const native = codeTaskSchema.safeParse(record);
  if (native.success) return native.data;
  const he = humanEvalRecord.safeParse(record);
  if (he.success) {
    const r = he.data;
    return {
      format: 'humaneval',
      language: 'python',
      source: r.task_id ?? `humaneval/record/${index}`,
      description: '',
      codePrefix: r.prompt,
      entryPoint: r.entry_point,
      tests: [`${r.test}\n\ncheck(${r.entry_point})\n`],
      solution: r.canonical_solution,
    };
  }
  const mbpp = mbppRecord.safeParse(record);
  if (mbpp.success) {
    const r = mbpp.data;
    const imports = r.test_imports?.join('\n') ?? '';
    const setup = [imports, unixLines(r.test_setup_code ?? '')].filter((s) => s.trim()).join('\n');
    const entry =
      (r.code !== undefined ? definedAndCalled(r.code, r.test_list) : undefined) ??
      calledFunction(r.test_list[0]!);
    return {
      format: 'mbpp',
      language: 'python',
      source: r.task_id !== undefined ? `mbpp/${r.task_id}` : `mbpp/record/${index}`,
      description: unixLines(r.text ?? r.prompt ?? ''),
      entryPoint: entry,
      setup: setup || undefined,
      tests: r.test_list.map(unixLines),
      solution: r.code !== undefined ? unixLines(r.code) : undefined,
    };
  }
  const io = ioRecord.safeParse(record);
  if (io.success) {
    const r = io.data;
    if (r.inputs.length !== r.outputs.length) {
      throw new CodeRecordError(`record ${index}: ${r.inputs.length} inputs but ${r.outputs.length} outputs`);
    }
    return {
      format: 'io',
      language: 'python',
      source: r.id !== undefined ? `io/${r.id}` : `io/record/${index}`,
      description: r.question ?? r.description ?? r.prompt ?? '',
      cases: r.inputs.map((input, i) => ({ input, output: r.outputs[i]! })),
      solution: r.solution ?? r.solutions?.[0],
    };
  }
  const keys = record && typeof record === 'object' ? Object.keys(record).join(', ') : typeof record;
  throw new CodeRecordError(
    `record ${index} is not a code task: expected HumanEval (prompt, test, entry_point), MBPP (test_list) ` +
      `or stdin/stdout ({inputs, outputs}) fields; got ${keys || '(none)'}`,
  );
}

const WRAPPERS = new Set([
  'assert',
  'set',
  'sorted',
  'list',
  'tuple',
  'dict',
  'abs',
  'round',
  'str',
  'int',
  'float',
  'len',
  'not',
  'isclose',
  'frozenset',
  'all',
  'any',
  'sum',
  'max',
  'min',
  'type',
  'isinstance',
  'bool',
]);

/**
 * The first function the reference code defines at top level that the tests call: MBPP task 126 is a
 * function named `sum`, which `calledFunction` skips as a wrapper.
 */
export function definedAndCalled(code: string, tests: string[]): string | undefined {
  for (const m of code.matchAll(/^def\s+([A-Za-z_]\w*)\s*\(/gm)) {
    const called = new RegExp(`(?<![\\w.])${m[1]}\\s*\\(`);
    if (tests.some((t) => called.test(t))) return m[1];
  }
  return undefined;
}

/** The first function an assert calls that is not a builtin wrapper: `assert set(f(x)) == …` → `f`. */
export function calledFunction(assertion: string): string | undefined {
  for (const m of assertion.matchAll(/([A-Za-z_][\w.]*)\s*\(/g)) {
    const name = m[1]!;
    if (!name.includes('.') && !WRAPPERS.has(name)) return name;
  }
  return undefined;
}

/** The MBPP task-id ranges of upstream's conventional splits (Austin et al. 2021, README). */
export const MBPP_SPLITS: Record<string, [number, number]> = {
  prompt: [1, 10],
  test: [11, 510],
  validation: [511, 600],
  train: [601, 974],
};
