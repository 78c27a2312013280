/**
 * BFCL's AST checker for function calls, ported from the Berkeley Function-Calling Leaderboard
 * (`bfcl_eval/eval_checker/ast_eval/ast_checker.py`, Python language rules):
 *
 * - the function name must match (a model may write `math_factorial` for `math.factorial`, as
 *   OpenAI-style APIs require, when `dotsAsUnderscores`);
 * - every required parameter is present, and no parameter outside the schema or the ground truth;
 * - each value has the declared type (`integer`, `float` — an integer is accepted, `string`,
 *   `boolean`, `array`/`tuple` with one level of item types, `dict`, `any`), or the type of the
 *   ground-truth values (BFCL's "variable" case);
 * - each value is among the acceptable ones: strings compared after BFCL's standardisation (case,
 *   spaces and `,./-_*^` ignored, `'` read as `"`), lists element-wise so, dicts key by key, lists of
 *   dicts dict by dict; other values by deep equality;
 * - a ground-truth parameter left out must accept `""` (optional).
 *
 * Several calls (parallel categories) are matched regardless of order. BFCL matches greedily; this
 * searches for a full one-to-one assignment, which differs only when greedy matching fails wrongly.
 * A number the model wrote as a float (`5.0`, listed in the call's `floatPaths` by the parser, since
 * JSON values cannot tell it from `5`) fails an `integer` check, as in BFCL, which reads Python
 * literals; a `float` parameter accepts an integer.
 */
import { pointer } from './tool-call-json.js';
import type { FunctionSpec, GroundTruthCall, ParamSchema } from './tool-task.js';

/** A call to check: function name and argument object. */
export interface CallLike {
  name: string;
  arguments: Record<string, unknown>;
  /** JSON Pointers into `arguments` of the numbers written as floats (`5.0`). */
  floatPaths?: string[];
}

/** Verdict of a check; `errorType` uses BFCL's names (`simple_function_checker:missing_required`, …). */
export interface CheckResult {
  valid: boolean;
  error?: string;
  errorType?: string;
}

/** Options of the checker. */
export interface AstOptions {
  /** Accept `a_b` for a function named `a.b`. Default true. */
  dotsAsUnderscores?: boolean;
}

const OK: CheckResult = { valid: true };
const fail = (errorType: string, error: string): CheckResult => ({ valid: false, errorType, error });

/** Standardises a string the way BFCL does before comparing it with acceptable values. */
export function standardizeString(s: string): string {
  return s
    .replace(/[ ,./\-_*^]/g, '')
    .toLowerCase()
    .replace(/'/g, '"');
}

/** BFCL type name of a schema type (standard JSON Schema types mapped back: object→dict, number→float). */
function bfclType(t: unknown): string {
  if (t === 'object') return 'dict';
  if (t === 'number') return 'float';
  return typeof t === 'string' ? t : 'any';
}

/** Coarse type of a JSON value, in BFCL's type names; integers and floats share `number`. */
function valueType(v: unknown): string {
  if (typeof v === 'string') return 'string';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'boolean';
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  return typeof v === 'object' ? 'dict' : typeof v;
}

function typeMatches(expected: string, v: unknown): boolean {
  switch (expected) {
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'array':
    case 'tuple':
      return Array.isArray(v);
    case 'dict':
      return valueType(v) === 'dict';
    case 'any':
      return true;
    default:
      return valueType(v) === expected;
  }
}

/** Type of the first acceptable value that is not `""`, coarse; undefined when all are optional marks. */
function answerType(answers: unknown[]): string | undefined {
  const first = answers.find((a) => a !== '');
  return first === undefined ? undefined : valueType(first);
}

/** BFCL's `type_checker`: declared type, one nested level, or the ground truth's type ("variable"). */
function typeCheck(
  param: string,
  value: unknown,
  answers: unknown[],
  expected: string,
  nested: string | undefined,
  at: { path: string; floats: ReadonlySet<string> },
): { valid: boolean; isVariable: boolean; error?: string; errorType?: string } {
  const aType = answerType(answers);
  const expectedCoarse = expected === 'integer' || expected === 'float' ? 'number' : expected;
  const isVariable =
    aType !== undefined && expected !== 'any' && aType !== expectedCoarse.replace('tuple', 'array');
  if (expected === 'integer' && typeof value === 'number' && at.floats.has(at.path)) {
    return {
      valid: false,
      isVariable,
      errorType: 'type_error:simple',
      error: `incorrect type for ${JSON.stringify(param)}: expected integer, got float (${value} written with a decimal point or exponent)`,
    };
  }
  if (typeMatches(expected, value)) {
    if (nested === undefined || !Array.isArray(value)) return { valid: true, isVariable };
    for (const alt of answers) {
      if (!Array.isArray(alt)) return { valid: true, isVariable };
      const itemAt = (i: number) => ({ path: pointer(at.path, i), floats: at.floats });
      if (value.every((item, i) => typeCheck(param, item, alt, nested, undefined, itemAt(i)).valid)) {
        return { valid: true, isVariable };
      }
    }
    return {
      valid: false,
      isVariable,
      errorType: 'type_error:nested',
      error: `nested type check failed for ${JSON.stringify(param)}: expected ${expected} of ${nested}`,
    };
  }
  if (aType !== undefined && valueType(value) === aType) return { valid: true, isVariable: true };
  return {
    valid: false,
    isVariable,
    errorType: 'type_error:simple',
    error: `incorrect type for ${JSON.stringify(param)}: expected ${expected}, got ${valueType(value)} (${JSON.stringify(value)})`,
  };
}

/** Deep equality of JSON values (key order ignored). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return (
      Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]))
    );
  }
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    const ra = a as Record<string, unknown>;
    const rb = b as Record<string, unknown>;
    return ka.length === kb.length && ka.every((k) => k in rb && jsonEqual(ra[k], rb[k]));
  }
  return false;
}

const std = (v: unknown): unknown => (typeof v === 'string' ? standardizeString(v) : v);
const includesJson = (list: unknown[], v: unknown): boolean => list.some((x) => jsonEqual(x, v));

function stringCheck(param: string, value: string, answers: unknown[]): CheckResult {
  const ok = answers.filter((a): a is string => typeof a === 'string').map(standardizeString);
  if (ok.includes(standardizeString(value))) return OK;
  return fail('value_error:string', `invalid value for ${JSON.stringify(param)}: ${JSON.stringify(value)}`);
}

function listCheck(param: string, value: unknown[], answers: unknown[]): CheckResult {
  const mine = value.map(std);
  // BFCL iterates over each acceptable value; a "" (optional mark) becomes the empty list.
  const ok = answers.map((alt) => (Array.isArray(alt) ? alt.map(std) : []));
  if (includesJson(ok, mine)) return OK;
  return fail(
    'value_error:list/tuple',
    `invalid value for ${JSON.stringify(param)}: ${JSON.stringify(value)}`,
  );
}

function dictCheck(param: string, value: Record<string, unknown>, answers: unknown[]): CheckResult {
  let result = fail('dict_checker:unclear', `no acceptable value for ${JSON.stringify(param)}`);
  for (const alt of answers) {
    if (alt === '' || typeof alt !== 'object' || alt === null || Array.isArray(alt)) continue;
    const expected = alt as Record<string, unknown>;
    result = OK;
    for (const [key, v] of Object.entries(value)) {
      const accepted = expected[key];
      if (!Array.isArray(accepted)) {
        result = fail(
          'value_error:dict_key',
          `unexpected dict key ${JSON.stringify(key)} in ${JSON.stringify(param)}`,
        );
        break;
      }
      if (!includesJson(accepted.map(std), std(v))) {
        result = fail(
          'value_error:dict_value',
          `invalid value for dict key ${JSON.stringify(key)}: ${JSON.stringify(v)}`,
        );
        break;
      }
    }
    if (result.valid) {
      for (const [key, accepted] of Object.entries(expected)) {
        if (!(key in value) && !(Array.isArray(accepted) && accepted.includes(''))) {
          result = fail(
            'value_error:dict_key',
            `missing dict key ${JSON.stringify(key)} in ${JSON.stringify(param)}`,
          );
          break;
        }
      }
    }
    if (result.valid) return OK;
  }
  return result;
}

function listDictCheck(param: string, value: unknown[], answers: unknown[]): CheckResult {
  let result = fail('list_dict_checker:unclear', `no acceptable value for ${JSON.stringify(param)}`);
  for (const alt of answers) {
    if (!Array.isArray(alt) || alt.length !== value.length) {
      result = fail('value_error:list_dict_count', `wrong number of dicts in ${JSON.stringify(param)}`);
      continue;
    }
    result = OK;
    for (let i = 0; i < value.length && result.valid; i++) {
      const item = value[i];
      result =
        valueType(item) === 'dict'
          ? dictCheck(param, item as Record<string, unknown>, [alt[i]])
          : fail('type_error:nested', `element ${i} of ${JSON.stringify(param)} is not a dict`);
    }
    if (result.valid) return OK;
  }
  return result;
}

/** Whether `called` names the function `expected` (exactly, or with dots written as underscores). */
export function nameMatches(called: string, expected: string, options: AstOptions = {}): boolean {
  if (called === expected) return true;
  return (
    (options.dotsAsUnderscores ?? true) && expected.includes('.') && called === expected.replace(/\./g, '_')
  );
}

/** BFCL's `simple_function_checker`: one call against one expected call of the function `fn`. */
export function checkCall(
  fn: FunctionSpec,
  call: CallLike,
  expected: GroundTruthCall,
  options: AstOptions = {},
): CheckResult {
  const [, answersByParam] = Object.entries(expected)[0] ?? ['', {}];
  if (!nameMatches(call.name, fn.name, options)) {
    return fail('simple_function_checker:wrong_func_name', `function ${JSON.stringify(fn.name)} not called`);
  }
  const schema = fn.parameters as ParamSchema;
  const properties = schema.properties ?? {};
  const floats = new Set(call.floatPaths ?? []);
  for (const param of schema.required ?? []) {
    if (!(param in call.arguments)) {
      return fail(
        'simple_function_checker:missing_required',
        `missing required parameter ${JSON.stringify(param)}`,
      );
    }
  }
  for (const [param, value] of Object.entries(call.arguments)) {
    const prop = properties[param];
    const answers = answersByParam[param];
    if (!prop || !answers) {
      return fail(
        'simple_function_checker:unexpected_param',
        `unexpected parameter ${JSON.stringify(param)}`,
      );
    }
    const expectedType = bfclType(prop.type);
    const nested =
      (expectedType === 'array' || expectedType === 'tuple') && prop.items
        ? bfclType(prop.items.type)
        : undefined;
    const typed = typeCheck(param, value, answers, expectedType, nested, {
      path: pointer('', param),
      floats,
    });
    if (!typed.valid) return fail(typed.errorType ?? 'type_error:simple', typed.error ?? 'type error');
    if (!typed.isVariable) {
      let r: CheckResult | undefined;
      if (expectedType === 'dict') r = dictCheck(param, value as Record<string, unknown>, answers);
      else if (nested === 'dict') r = listDictCheck(param, value as unknown[], answers);
      else if (typeof value === 'string') r = stringCheck(param, value, answers);
      else if (Array.isArray(value)) r = listCheck(param, value, answers);
      if (r) {
        if (!r.valid) return r;
        continue;
      }
    }
    if (!includesJson(answers, value)) {
      return fail(
        'value_error:others',
        `invalid value for ${JSON.stringify(param)}: ${JSON.stringify(value)}`,
      );
    }
  }
  for (const [param, answers] of Object.entries(answersByParam)) {
    if (!(param in call.arguments) && !answers.includes('')) {
      return fail(
        'simple_function_checker:missing_optional',
        `parameter ${JSON.stringify(param)} not provided`,
      );
    }
  }
  return OK;
}

/**
 * Checks a list of calls against the ground truth, regardless of order: the counts must be equal and
 * every expected call must be matched by a distinct call. Unknown expected functions fail. `matched`
 * is the size of the largest one-to-one matching (also when the counts differ).
 */
export function checkCalls(
  functions: FunctionSpec[],
  calls: CallLike[],
  groundTruth: GroundTruthCall[],
  options: AstOptions = {},
): CheckResult & { matched: number } {
  // ok[i][j]: call j satisfies expected call i.
  const ok: boolean[][] = [];
  const firstError: CheckResult[] = [];
  for (const expected of groundTruth) {
    const name = Object.keys(expected)[0] ?? '';
    const fn = functions.find((f) => f.name === name);
    const row = calls.map((call) =>
      fn ? checkCall(fn, call, expected, options) : fail('unknown_function', `no schema for ${name}`),
    );
    ok.push(row.map((r) => r.valid));
    // Report the failure of a call to the same function when there is one: it says the most.
    const sameName = row.find((r, j) => !r.valid && nameMatches(calls[j]!.name, name, options));
    firstError.push(sameName ?? row.find((r) => !r.valid) ?? OK);
  }
  const assignment = maxAssignment(ok);
  if (calls.length !== groundTruth.length) {
    return {
      ...fail('wrong_count', `expected ${groundTruth.length} call(s), got ${calls.length}`),
      matched: assignment,
    };
  }
  if (assignment === groundTruth.length) return { ...OK, matched: assignment };
  const missing = ok.findIndex((row) => !row.some(Boolean));
  const reason =
    missing >= 0 ? firstError[missing]! : fail('cannot_find_match', 'no one-to-one match of calls');
  return { valid: false, error: reason.error, errorType: reason.errorType, matched: assignment };
}

/** Size of a maximum bipartite matching (Kuhn's augmenting paths); rows = expected, columns = calls. */
function maxAssignment(ok: boolean[][]): number {
  const owner: number[] = new Array(ok[0]?.length ?? 0).fill(-1);
  const augment = (row: number, seen: boolean[]): boolean => {
    const cols = ok[row] ?? [];
    for (let col = 0; col < cols.length; col++) {
      if (!cols[col] || seen[col]) continue;
      seen[col] = true;
      if (owner[col] === -1 || augment(owner[col]!, seen)) {
        owner[col] = row;
        return true;
      }
    }
    return false;
  };
  let size = 0;
  for (let row = 0; row < ok.length; row++) if (augment(row, [])) size++;
  return size;
}
