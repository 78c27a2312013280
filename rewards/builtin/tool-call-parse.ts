/**
 * Parses the tool calls a model wrote, in the three formats models use:
 *
 * - Hermes: `<tool_call>{"name": …, "arguments": {…}}</tool_call>` blocks (one call, or an array, per
 *   block; a last block left open by a truncated sample is read too);
 * - OpenAI: `{"tool_calls": [{"type": "function", "function": {"name": …, "arguments": "<json>"}}]}`
 *   (arguments as a JSON string or an object), or a single `{"function": {…}}`;
 * - bare JSON: `{"name": …, "arguments"|"parameters": {…}}` or an array of them, anywhere in the text
 *   (in a code fence, after a `[TOOL_CALLS]` tag, with prose around it).
 *
 * JSON is read tolerantly with `jsonrepair` (single quotes, trailing commas, Python `True`/`None`,
 * unquoted keys, a missing closing brace). Reasoning is skipped (`rewards/answerText.ts`). A text with
 * no call is a final answer. Nothing here throws on model output: what cannot be read becomes a `CallParseError`.
 */
import { jsonrepair } from 'jsonrepair';
import { answerText } from '../answerText.js';

/** Where a call was found. */
export const CallFormat = { hermes: 'hermes', openai: 'openai', json: 'json' } as const;
export type CallFormat = (typeof CallFormat)[keyof typeof CallFormat];

/** One call read from the text. `arguments` is a plain object (possibly empty). */
export interface ParsedCall {
  name: string;
  arguments: Record<string, unknown>;
  format: CallFormat;
  /** The source text of the call (block body or JSON span). */
  raw: string;
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
  /** The text outside calls and think blocks, trimmed: the final answer when there are no calls. */
  text: string;
}

/** Reads JSON, repairing common model mistakes. Throws `SyntaxError` (or jsonrepair's error) when hopeless. */
export function parseJsonTolerant(source: string): unknown {
  try {
    return JSON.parse(source);
  } catch {
    return JSON.parse(jsonrepair(source));
  }
}

const HERMES_BLOCK = /<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/g;

/**
 * Parses every call in one model message (one assistant turn). Only the answer text is read
 * (`rewards/answerText.ts`): a call drafted in the reasoning is not a call, and a message whose
 * `<think>` never closes makes none. See the module comment for the formats.
 */
export function parseToolCalls(message: string): ParseOutcome {
  const text = answerText(message).text;
  const out: ParseOutcome = { calls: [], errors: [], text: '' };
  if (text === null) return out;
  if (text.includes('<tool_call>')) {
    for (const m of text.matchAll(HERMES_BLOCK)) {
      const body = (m[1] ?? '').trim();
      readCandidate(body, CallFormat.hermes, true, out);
    }
    out.text = text.replace(HERMES_BLOCK, '').trim();
    return out;
  }
  let rest = '';
  let last = 0;
  for (const span of jsonSpans(text)) {
    const source = text.slice(span.start, span.end);
    const before = out.calls.length + out.errors.length;
    readCandidate(source, CallFormat.json, false, out);
    if (out.calls.length + out.errors.length > before) {
      rest += text.slice(last, span.start);
      last = span.end;
    }
  }
  rest += text.slice(last);
  out.text = rest
    .replace(/\[TOOL_CALLS\]|<\|python_tag\|>/g, '')
    .replace(/```(?:json)?\s*```/g, '')
    .trim();
  return out;
}

/**
 * Reads one JSON candidate into calls. `explicit` (inside `<tool_call>`): anything unreadable is an
 * error. Otherwise a candidate that is valid JSON but not call-shaped is prose, and unreadable JSON is
 * an error only when it mentions a `name` key (so `{1, 2}` in an answer is left alone).
 */
function readCandidate(source: string, format: CallFormat, explicit: boolean, out: ParseOutcome): void {
  let value: unknown;
  try {
    value = parseJsonTolerant(source);
  } catch (err) {
    if (explicit || /["']?name["']?\s*:/.test(source)) {
      out.errors.push({ message: `cannot parse tool call JSON: ${errorMessage(err)}`, raw: source, format });
    }
    return;
  }
  const items = Array.isArray(value) ? value : [value];
  const found: ParsedCall[] = [];
  const errors: CallParseError[] = [];
  for (const item of items) readCallObject(item, source, format, explicit, found, errors);
  if (!explicit && found.length === 0 && errors.length === 0) return;
  out.calls.push(...found);
  out.errors.push(...errors);
  if (explicit && found.length === 0 && errors.length === 0) {
    out.errors.push({ message: 'tool call block holds no call object', raw: source, format });
  }
}

function readCallObject(
  item: unknown,
  raw: string,
  format: CallFormat,
  explicit: boolean,
  found: ParsedCall[],
  errors: CallParseError[],
): void {
  if (!isObject(item)) {
    if (explicit) errors.push({ message: 'a tool call must be a JSON object', raw, format });
    return;
  }
  if (Array.isArray(item.tool_calls)) {
    for (const c of item.tool_calls) readCallObject(c, raw, CallFormat.openai, true, found, errors);
    return;
  }
  if (isObject(item.function) && 'name' in item.function) {
    const call = { name: item.function.name, arguments: item.function.arguments ?? item.function.parameters };
    readCallObject(call, raw, format === CallFormat.hermes ? format : CallFormat.openai, true, found, errors);
    return;
  }
  const args = 'arguments' in item ? item.arguments : item.parameters;
  const callShaped = 'name' in item && (explicit || 'arguments' in item || 'parameters' in item);
  if (!callShaped) {
    if (explicit) errors.push({ message: 'a tool call needs "name" and "arguments"', raw, format });
    return;
  }
  if (typeof item.name !== 'string' || item.name.trim() === '') {
    errors.push({ message: 'tool call "name" must be a non-empty string', raw, format });
    return;
  }
  let parsedArgs: unknown = args ?? {};
  if (typeof parsedArgs === 'string') {
    try {
      parsedArgs = parsedArgs.trim() === '' ? {} : parseJsonTolerant(parsedArgs);
    } catch (err) {
      errors.push({ message: `cannot parse arguments of "${item.name}": ${errorMessage(err)}`, raw, format });
      return;
    }
  }
  if (!isObject(parsedArgs)) {
    errors.push({ message: `arguments of "${item.name}" must be a JSON object`, raw, format });
    return;
  }
  found.push({ name: item.name.trim(), arguments: parsedArgs, format, raw });
}

/**
 * Spans of top-level `{…}` / `[…]` in prose, string-aware (double and single quotes, escapes); an
 * unclosed span runs to the end of the text (a truncated call). Brackets inside strings do not count.
 */
export function jsonSpans(text: string): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  let depth = 0;
  let start = -1;
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (depth > 0 && quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
      continue;
    }
    if (depth > 0 && (ch === '"' || ch === "'")) {
      quote = ch;
    } else if (ch === '{' || ch === '[') {
      if (depth === 0) start = i;
      depth++;
    } else if ((ch === '}' || ch === ']') && depth > 0) {
      depth--;
      if (depth === 0) spans.push({ start, end: i + 1 });
    }
  }
  if (depth > 0 && start >= 0) spans.push({ start, end: text.length });
  return spans;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
