/**
 * Pythonic tool calls, as Llama 3.2/4 and BFCL's pythonic format write them:
 * `[get_weather(city="Oslo", unit="celsius"), get_time(zone="CET")]`, or one bare call
 * `get_weather(city="Oslo")`. The text is parsed as Python with Lezer's Python grammar
 * (`@lezer/python`); a call list is accepted only when the syntax tree has no error and every argument
 * is a keyword argument whose value is a literal — what `ast.literal_eval` would read: strings (all
 * prefixes but bytes and f-strings, implicit concatenation), integers, floats, `True`/`False`/`None`,
 * lists, tuples (as arrays), dicts with string keys, and a sign before a number. Anything else (a
 * variable, an expression, a positional argument, `**kwargs`, a repeated keyword) makes the whole text
 * an invalid call, with the reason.
 */
import { parser } from '@lezer/python';
import { isFloatLiteral, pointer } from './tool-call-json.js';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** One call read from pythonic text; `floatPaths` points at the numbers written as floats. */
export interface PythonicCall {
  name: string;
  arguments: Record<string, unknown>;
  floatPaths: string[];
}

/** The calls of a pythonic text, or why it is not a valid call list. */
export type PythonicResult = { calls: PythonicCall[] } | { error: string };

/** Text that starts like a pythonic call list: `[name(` (dotted names allowed). */
export const PYTHONIC_LIST_START = /^\[\s*[A-Za-z_][\w.]*\s*\(/;
/** Text that starts like one bare pythonic call: `name(`. */
export const PYTHONIC_CALL_START = /^[A-Za-z_][\w.]*\s*\(/;

/** Thrown inside the walk; becomes `{ error }`. */
class NotACall extends Error {}

const DOTTED_NAME = /^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$/;

/**
 * Parses `source` (a whole call list, or one call) into calls. Never throws: a text that is not a
 * list of calls with literal keyword arguments gives `{ error }`.
 */
export function parsePythonicCalls(source: string): PythonicResult {
  const tree = parser.parse(source);
  let error: string | undefined;
  tree.iterate({
    enter(n) {
      if (n.type.isError && error === undefined) error = `Python syntax error at character ${n.from}`;
    },
  });
  if (error !== undefined) return { error };
  const statements = childrenOf(tree.topNode).filter((c) => c.name !== 'Comment');
  if (statements.length !== 1 || statements[0]!.name !== 'ExpressionStatement') {
    return { error: 'expected one list of calls' };
  }
  const expr = childrenOf(statements[0]!)[0];
  try {
    if (expr?.name === 'CallExpression') return { calls: [readCall(expr, source)] };
    if (expr?.name !== 'ArrayExpression') throw new NotACall('expected a list of calls');
    const items = elements(expr);
    if (items.length === 0) throw new NotACall('the list holds no call');
    return {
      calls: items.map((item) => {
        if (item.name !== 'CallExpression') throw new NotACall(`not a call: ${text(item, source)}`);
        return readCall(item, source);
      }),
    };
  } catch (err) {
    // NotACall, or a RangeError from an escape past U+10FFFF.
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

function childrenOf(node: SyntaxNode): SyntaxNode[] {
  const out: SyntaxNode[] = [];
  for (let c = node.firstChild; c; c = c.nextSibling) out.push(c);
  return out;
}

const text = (node: SyntaxNode, source: string) => source.slice(node.from, node.to);

/** The value nodes of a bracketed node (list, tuple, set), without brackets and commas. */
function elements(node: SyntaxNode): SyntaxNode[] {
  return childrenOf(node).filter((c) => !['[', ']', '(', ')', '{', '}', ','].includes(c.name));
}

function readCall(node: SyntaxNode, source: string): PythonicCall {
  const [callee, args] = childrenOf(node);
  const name = callee ? text(callee, source).replace(/\s+/g, '') : '';
  if (!callee || !['VariableName', 'MemberExpression'].includes(callee.name) || !DOTTED_NAME.test(name)) {
    throw new NotACall(`not a function name: ${callee ? text(callee, source) : '(none)'}`);
  }
  const out: PythonicCall = { name, arguments: {}, floatPaths: [] };
  const parts = childrenOf(args!).filter((c) => !['(', ')', ','].includes(c.name));
  for (let i = 0; i < parts.length; i += 3) {
    const [key, op, value] = [parts[i], parts[i + 1], parts[i + 2]];
    if (key?.name !== 'VariableName' || op?.name !== 'AssignOp' || !value) {
      throw new NotACall(
        `${name}: every argument must be written name=value (found ${JSON.stringify(text(key ?? args!, source))})`,
      );
    }
    const param = text(key, source);
    if (param in out.arguments) throw new NotACall(`${name}: argument "${param}" given twice`);
    out.arguments[param] = literal(value, source, out.floatPaths, pointer('', param), `${name}(${param}=…)`);
  }
  return out;
}

/** The JSON value of a literal node; throws `NotACall` for anything that is not a literal. */
function literal(node: SyntaxNode, source: string, floats: string[], at: string, where: string): unknown {
  switch (node.name) {
    case 'String':
      return decodeString(text(node, source), where);
    case 'ContinuedString':
      return childrenOf(node)
        .map((part) => literal(part, source, floats, at, where))
        .join('');
    case 'Number':
      return readNumber(text(node, source), floats, at, where);
    case 'Boolean':
      return text(node, source) === 'True';
    case 'None':
      return null;
    case 'UnaryExpression': {
      const [op, operand] = childrenOf(node);
      const sign = op ? text(op, source) : '';
      if ((sign === '-' || sign === '+') && operand?.name === 'Number') {
        const v = readNumber(text(operand, source), floats, at, where);
        return sign === '-' ? -v : v;
      }
      break;
    }
    case 'ParenthesizedExpression': {
      const inner = elements(node);
      if (inner.length === 1) return literal(inner[0]!, source, floats, at, where);
      break;
    }
    case 'ArrayExpression':
    case 'TupleExpression':
      return elements(node).map((el, i) => literal(el, source, floats, pointer(at, i), where));
    case 'DictionaryExpression': {
      const out: Record<string, unknown> = {};
      const parts = childrenOf(node).filter((c) => !['{', '}', ','].includes(c.name));
      for (let i = 0; i < parts.length; i += 3) {
        const [k, colon, v] = [parts[i], parts[i + 1], parts[i + 2]];
        const key =
          k && (k.name === 'String' || k.name === 'ContinuedString')
            ? literal(k, source, [], at, where)
            : undefined;
        if (typeof key !== 'string' || colon?.name !== ':' || !v) {
          throw new NotACall(`${where}: dict keys must be strings`);
        }
        out[key] = literal(v, source, floats, pointer(at, key), where);
      }
      return out;
    }
  }
  throw new NotACall(`${where}: not a literal: ${text(node, source).slice(0, 80)}`);
}

/** A Python integer or float literal as a number; records a float's pointer. */
function readNumber(raw: string, floats: string[], at: string, where: string): number {
  const s = raw.replace(/_/g, '');
  if (/[jJ]$/.test(s)) throw new NotACall(`${where}: complex numbers are not JSON`);
  const radix = /^0[xX]/.test(s) ? 16 : /^0[oO]/.test(s) ? 8 : /^0[bB]/.test(s) ? 2 : 10;
  if (radix !== 10) return Number.parseInt(s.slice(2), radix);
  if (/^0\d*[1-9]/.test(s) && !isFloatLiteral(s)) throw new NotACall(`${where}: ${raw} has leading zeros`);
  if (isFloatLiteral(s)) floats.push(at);
  return Number(s);
}

const SIMPLE_ESCAPES: Record<string, string> = {
  '\\': '\\',
  "'": "'",
  '"': '"',
  a: '\x07',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/** The value of one Python string literal (prefix, quotes, escapes); bytes and f-strings refused. */
function decodeString(literalText: string, where: string): string {
  const prefix = /^[A-Za-z]*/.exec(literalText)![0].toLowerCase();
  if (prefix.includes('b')) throw new NotACall(`${where}: bytes are not JSON`);
  if (prefix.includes('f')) throw new NotACall(`${where}: f-strings are not literals`);
  const rest = literalText.slice(prefix.length);
  const quote = rest.startsWith('"""') || rest.startsWith("'''") ? 3 : 1;
  const body = rest.slice(quote, rest.length - quote);
  if (prefix.includes('r')) return body;
  return body.replace(
    /\\(\r\n|\n|[0-7]{1,3}|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[\s\S])/g,
    (whole, e: string) => {
      if (e === '\n' || e === '\r\n') return '';
      if (e in SIMPLE_ESCAPES) return SIMPLE_ESCAPES[e]!;
      if (/^[0-7]/.test(e)) return String.fromCodePoint(Number.parseInt(e, 8));
      if (/^[xuU]./.test(e)) return String.fromCodePoint(Number.parseInt(e.slice(1), 16));
      if (/^[xuU]$/.test(e)) throw new NotACall(`${where}: truncated \\${e} escape`);
      if (e.startsWith('N{')) throw new NotACall(`${where}: \\N{…} escapes are not supported`);
      return whole; // Python keeps an unknown escape as written.
    },
  );
}
