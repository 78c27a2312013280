/**
 * Parses the tool calls a model wrote in one assistant turn, in the formats models use:
 *
 * - Hermes: `<tool_call>{"name": …, "arguments": {…}}</tool_call>` blocks (one call, or an array, per
 *   block; or a pythonic list). A block ends at the first `</tool_call>` outside a JSON string, so a
 *   string argument may hold the tag. A last block left open is read too (the closing tag may be the
 *   stop string), except in a sample cut at the token limit;
 * - OpenAI: `{"tool_calls": [{"type": "function", "function": {"name": …, "arguments": "<json>"}}]}`
 *   (arguments as a JSON string or an object), or a single `{"function": {…}}`;
 * - bare JSON: `{"name": …, "arguments"|"parameters"|"args": {…}}` or an array of them, anywhere in the
 *   text (in a code fence, after a `[TOOL_CALLS]` or `<|python_tag|>` tag, with prose around it);
 * - pythonic (Llama 3.2/4, BFCL): `[get_weather(city="Oslo"), get_time(zone="CET")]` — a list that
 *   starts a line and ends in `)]`, or any list that opens with `[name(arg=` — or a message that is
 *   one call `get_weather(city="Oslo")`; read by `tool-call-pythonic.ts`, literals only;
 * - Llama 3.1: `<function=get_weather>{"city": "Oslo"}</function>`.
 *
 * Arguments may be a JSON object or a string holding one, encoded up to three times. JSON is read
 * tolerantly (jsonrepair: single quotes, trailing commas, Python `True`/`None`, unquoted keys, a missing
 * closing brace) and losslessly: `floatPaths` lists the numbers written as floats (`5.0`), which BFCL
 * refuses for an `integer` parameter.
 *
 * Never repaired: in a sample cut at the token limit (`finishReason: "length"`), a call the text ends
 * inside (an open `<tool_call>` block, JSON or pythonic list) is a `CallParseError`, not a call.
 * Never silent: text that looks like an attempted call (a call tag or marker, unreadable JSON with a
 * `name`/`arguments` key, a pythonic list that is not literal calls) and cannot be read is a
 * `CallParseError` with the reason. Reasoning is skipped (`rewards/answerText.ts`). A text with no call
 * is a final answer. Nothing here throws on model output.
 */
import { answerText } from '../answerText.js';
import { isPlainObject, jsonSpans, readJsonLossless, type Span, toPlain } from './tool-call-json.js';
import { PYTHONIC_CALL_START, PYTHONIC_LIST_START, parsePythonicCalls } from './tool-call-pythonic.js';

/** Where a call was found. */
export const CallFormat = {
  hermes: 'hermes',
  openai: 'openai',
  json: 'json',
  pythonic: 'pythonic',
  functionTag: 'function_tag',
} as const;
export type CallFormat = (typeof CallFormat)[keyof typeof CallFormat];

/** One call read from the text. `arguments` is a plain object (possibly empty). */
export interface ParsedCall {
  name: string;
  arguments: Record<string, unknown>;
  format: CallFormat;
  /** The source text of the call (block body or JSON span). */
  raw: string;
  /** JSON Pointers into `arguments` of the numbers written as floats (`5.0`, `1e3`); absent if none. */
  floatPaths?: string[];
}

/** Something that looked like a call but could not be read. */
export interface CallParseError {
  message: string;
  raw: string;
  format: CallFormat;
}

/** Everything read from one model message. */
export interface ParseOutcome {
  calls: ParsedCall[];
  errors: CallParseError[];
  /** The text outside calls and reasoning, trimmed: the final answer when there are no calls. */
  text: string;
}

/** Options of `parseToolCalls`. */
export interface ParseOptions {
  /** The turn's finish reason; `length` (cut at the token limit) makes a cut-off call an error. */
  finishReason?: string;
}

/** Reason recorded for a call the sample was cut inside. */
export const CUT_CALL_MESSAGE =
  'the sample was cut at the token limit (finish_reason "length") inside this tool call; it was not run';

const OPEN = '<tool_call>';
const CLOSE = '</tool_call>';
const MARKERS = /\[TOOL_CALLS\]|<\|python_tag\|>/g;
const FUNCTION_TAG = /<function=([^>\s]+)>([\s\S]*?)(<\/function>|$)/g;
/** JSON that mentions a call's keys: unreadable, it is an attempted call, not prose. */
const CALL_KEYS = /["']?\b(name|arguments|parameters|tool_calls|function)\b["']?\s*:/;
/** A pythonic list with a keyword argument: a call attempt wherever it stands. */
const PYTHONIC_KEYWORD_LIST = /^\[\s*[A-Za-z_][\w.]*\s*\(\s*[A-Za-z_]\w*\s*=/;
const ARG_KEYS = ['arguments', 'parameters', 'args'] as const;

/**
 * Parses every call in one model message (one assistant turn). Only the answer text is read
 * (`rewards/answerText.ts`): a call drafted in the reasoning is not a call, and a message whose
 * `<think>` never closes makes none. See the module comment for the formats.
 */
export function parseToolCalls(message: string, options: ParseOptions = {}): ParseOutcome {
  const text = answerText(message).text;
  const out: ParseOutcome = { calls: [], errors: [], text: '' };
  if (text === null) return out;
  const cut = options.finishReason === 'length';
  if (text.includes(OPEN)) readHermes(text, cut, out);
  else if (/<function=[^>\s]+>/.test(text)) readFunctionTags(text, cut, out);
  else readLoose(text, cut, out);
  return out;
}

/** Hermes blocks; `out.text` is the text around them. */
function readHermes(text: string, cut: boolean, out: ParseOutcome): void {
  let rest = '';
  let at = 0;
  for (let open = text.indexOf(OPEN); open >= 0; open = text.indexOf(OPEN, at)) {
    rest += text.slice(at, open);
    const from = open + OPEN.length;
    const end = blockEnd(text, from, cut);
    const body = text.slice(from, end.index).trim();
    if (!end.closed && cut)
      out.errors.push({ message: CUT_CALL_MESSAGE, raw: body, format: CallFormat.hermes });
    else readExplicit(body, CallFormat.hermes, out);
    at = end.closed ? end.index + CLOSE.length : end.index;
  }
  out.text = (rest + text.slice(at)).trim();
}

/**
 * Where the block opened before `from` ends: the first `</tool_call>` outside a string (strings are
 * tracked inside brackets, as in `jsonSpans`), or a next `<tool_call>` (the model forgot to close).
 * When the scan ends inside a string (malformed quotes), the first literal `</tool_call>` — unless the
 * sample was cut, where the open block is left open.
 */
function blockEnd(text: string, from: number, cut: boolean): { index: number; closed: boolean } {
  let depth = 0;
  let quote: string | null = null;
  for (let i = from; i < text.length; i++) {
    const ch = text[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (text.startsWith(CLOSE, i)) return { index: i, closed: true };
    if (text.startsWith(OPEN, i)) return { index: i, closed: false };
    if (depth > 0 && (ch === '"' || ch === "'")) quote = ch;
    else if (ch === '{' || ch === '[') depth++;
    else if ((ch === '}' || ch === ']') && depth > 0) depth--;
  }
  const literal = quote && !cut ? text.indexOf(CLOSE, from) : -1;
  return literal >= 0 ? { index: literal, closed: true } : { index: text.length, closed: false };
}

/** The body of a call tag: a pythonic call list or JSON; anything unreadable is an error. */
function readExplicit(body: string, format: CallFormat, out: ParseOutcome): void {
  if (PYTHONIC_LIST_START.test(body) || PYTHONIC_CALL_START.test(body)) readPythonic(body, format, out);
  else readJsonCandidate(body, format, true, out);
}

/** Llama 3.1 `<function=NAME>{json arguments}</function>` tags. */
function readFunctionTags(text: string, cut: boolean, out: ParseOutcome): void {
  const format = CallFormat.functionTag;
  for (const m of text.matchAll(FUNCTION_TAG)) {
    const [raw, name = '', body = '', close] = m;
    if (!close && cut) {
      out.errors.push({ message: CUT_CALL_MESSAGE, raw, format });
      continue;
    }
    readCallObject({ name, arguments: body.trim() === '' ? {} : body }, raw, format, true, out);
  }
  out.text = text.replace(FUNCTION_TAG, '').trim();
}

/** Calls among prose: pythonic lists, JSON spans, or a message that is one pythonic call. */
function readLoose(text: string, cut: boolean, out: ParseOutcome): void {
  const marked = text.search(MARKERS) >= 0;
  const clean = text.replace(MARKERS, (m) => ' '.repeat(m.length));
  let rest = '';
  let last = 0;
  for (const span of jsonSpans(clean)) {
    const before = out.calls.length + out.errors.length;
    readSpan(clean, span, cut, out);
    if (out.calls.length + out.errors.length > before) {
      rest += clean.slice(last, span.start);
      last = span.end;
    }
  }
  rest += clean.slice(last);
  out.text = rest.replace(/```(?:json|python|py|tool_code)?\s*```/g, '').trim();
  if (out.calls.length + out.errors.length > 0) return;
  const whole = withoutFence(out.text);
  if (PYTHONIC_CALL_START.test(whole)) {
    // Cut at the limit: a call only when it had begun a keyword argument (`f(x) = …` is prose).
    if (cut && !whole.endsWith(')')) {
      if (!marked && !/^[A-Za-z_][\w.]*\s*\(\s*[A-Za-z_]\w*\s*=/.test(whole)) return;
      out.errors.push({ message: CUT_CALL_MESSAGE, raw: whole, format: CallFormat.pythonic });
      out.text = '';
      return;
    }
    const read = parsePythonicCalls(whole);
    // A lone `f(x)` may be an answer ("max(3, 5)"), so it is a call only when it reads as one —
    // unless a call marker says the model meant a call.
    if ('calls' in read || marked) {
      pushPythonic(read, whole, CallFormat.pythonic, out);
      out.text = '';
      return;
    }
  }
  if (marked) {
    out.errors.push({
      message: 'a tool-call marker ([TOOL_CALLS] or <|python_tag|>) is followed by no readable call',
      raw: text.trim(),
      format: CallFormat.json,
    });
  }
}

/** One bracketed span of prose: a pythonic call list, or JSON that may hold calls. */
function readSpan(text: string, span: Span, cut: boolean, out: ParseOutcome): void {
  const source = text.slice(span.start, span.end);
  const lineStart = /(^|\n)[ \t>*-]*$/.test(text.slice(0, span.start));
  // `[get_time()]` on its own line is a call list; `[Source(s): Wikipedia]` is not.
  const listOfCalls = lineStart && PYTHONIC_LIST_START.test(source) && /\)\s*,?\s*\]$/.test(source);
  const pythonic = listOfCalls || PYTHONIC_KEYWORD_LIST.test(source);
  const format = pythonic ? CallFormat.pythonic : CallFormat.json;
  if (!span.closed && cut) {
    if (pythonic || CALL_KEYS.test(source))
      out.errors.push({ message: CUT_CALL_MESSAGE, raw: source, format });
    return;
  }
  if (pythonic) readPythonic(source, format, out);
  else readJsonCandidate(source, format, false, out);
}

/** The content of a code fence that wraps the whole text, else the text. */
function withoutFence(text: string): string {
  const m = /^```[\w-]*\s*\n?([\s\S]*?)\n?```$/.exec(text.trim());
  return (m ? m[1]! : text).trim();
}

function readPythonic(source: string, format: CallFormat, out: ParseOutcome): void {
  pushPythonic(parsePythonicCalls(source), source, format, out);
}

function pushPythonic(
  read: ReturnType<typeof parsePythonicCalls>,
  source: string,
  format: CallFormat,
  out: ParseOutcome,
): void {
  if ('error' in read) {
    out.errors.push({ message: `cannot parse pythonic tool call: ${read.error}`, raw: source, format });
    return;
  }
  for (const c of read.calls) {
    out.calls.push({
      name: c.name,
      arguments: c.arguments,
      format,
      raw: source,
      ...(c.floatPaths.length > 0 ? { floatPaths: c.floatPaths } : {}),
    });
  }
}

/**
 * Reads one JSON candidate into calls. `explicit` (inside a call tag): anything unreadable is an
 * error. Otherwise a candidate that is valid JSON but not call-shaped is prose, and unreadable JSON is
 * an error only when it mentions a call's keys (so `{1, 2}` in an answer is left alone).
 */
function readJsonCandidate(source: string, format: CallFormat, explicit: boolean, out: ParseOutcome): void {
  let value: unknown;
  try {
    value = readJsonLossless(source);
  } catch (err) {
    if (explicit || CALL_KEYS.test(source)) {
      out.errors.push({ message: `cannot parse tool call JSON: ${errorMessage(err)}`, raw: source, format });
    }
    return;
  }
  const found: ParseOutcome = { calls: [], errors: [], text: '' };
  for (const item of Array.isArray(value) ? value : [value])
    readCallObject(item, source, format, explicit, found);
  if (!explicit && found.calls.length === 0 && found.errors.length === 0) return;
  out.calls.push(...found.calls);
  out.errors.push(...found.errors);
  if (explicit && found.calls.length === 0 && found.errors.length === 0) {
    out.errors.push({ message: 'tool call block holds no call object', raw: source, format });
  }
}

function readCallObject(
  item: unknown,
  raw: string,
  format: CallFormat,
  explicit: boolean,
  out: ParseOutcome,
): void {
  const error = (message: string) => out.errors.push({ message, raw, format });
  if (!isPlainObject(item)) {
    if (explicit) error('a tool call must be a JSON object');
    return;
  }
  if (Array.isArray(item.tool_calls)) {
    for (const c of item.tool_calls) readCallObject(c, raw, CallFormat.openai, true, out);
    return;
  }
  if (isPlainObject(item.function) && 'name' in item.function) {
    const fn = item.function;
    const key = ARG_KEYS.find((k) => k in fn);
    const call = { name: fn.name, ...(key ? { arguments: fn[key] } : {}) };
    readCallObject(call, raw, format === CallFormat.hermes ? format : CallFormat.openai, true, out);
    return;
  }
  const key = ARG_KEYS.find((k) => k in item);
  if (!('name' in item) || (!explicit && key === undefined)) {
    if (explicit) error('a tool call needs "name" and "arguments"');
    return;
  }
  if (typeof item.name !== 'string' || item.name.trim() === '') {
    error('tool call "name" must be a non-empty string');
    return;
  }
  const name = item.name.trim();
  const args = decodeArguments(key === undefined ? undefined : item[key], name);
  if ('error' in args) {
    error(args.error);
    return;
  }
  const floatPaths = args.floats.length > 0 ? { floatPaths: args.floats } : {};
  out.calls.push({ name, arguments: args.value, format, raw, ...floatPaths });
}

/** How many times a model may have JSON-encoded its arguments as a string. */
const MAX_ENCODINGS = 3;

/** Arguments as a plain object: an object, or a string holding one (encoded up to three times). */
function decodeArguments(
  raw: unknown,
  name: string,
): { value: Record<string, unknown>; floats: string[] } | { error: string } {
  let value: unknown = raw ?? {};
  for (let i = 0; i < MAX_ENCODINGS && typeof value === 'string'; i++) {
    if (value.trim() === '') {
      value = {};
      break;
    }
    try {
      value = readJsonLossless(value);
    } catch (err) {
      return { error: `cannot parse arguments of "${name}": ${errorMessage(err)}` };
    }
  }
  if (!isPlainObject(value)) return { error: `arguments of "${name}" must be a JSON object` };
  const floats: string[] = [];
  return { value: toPlain(value, floats) as Record<string, unknown>, floats };
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
