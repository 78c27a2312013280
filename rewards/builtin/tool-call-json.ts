/**
 * Reading JSON that a model wrote for a tool call: tolerant of the usual slips (jsonrepair: single
 * quotes, trailing commas, Python `True`/`None`, unquoted keys), and lossless about numbers, because
 * BFCL's type rules tell `5.0` (a float) from `5` (an integer) and `JSON.parse` cannot. Numbers stay
 * `LosslessNumber`s (lossless-json) until a call's arguments are finished into plain JSON, which also
 * lists where the model wrote floats (`floatPaths`, JSON Pointers, RFC 6901).
 */
import { jsonrepair } from 'jsonrepair';
import { isLosslessNumber, type LosslessNumber, parse as parseLossless } from 'lossless-json';

/**
 * Parses JSON, repairing common model mistakes; numbers come back as `LosslessNumber`. Throws a
 * `SyntaxError` (or jsonrepair's error) when the text is not JSON even after repair, and for duplicate
 * keys (an ambiguous call).
 */
export function readJsonLossless(source: string): unknown {
  try {
    return parseLossless(source);
  } catch {
    return parseLossless(jsonrepair(source));
  }
}

/** Strict JSON (no repair), numbers lossless; undefined when `source` is not valid JSON. */
export function readJsonStrict(source: string): unknown {
  try {
    return parseLossless(source);
  } catch {
    return undefined;
  }
}

/** A plain object that is not a `LosslessNumber`. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !isLosslessNumber(v);
}

/** Appends one key to a JSON Pointer (RFC 6901 escaping of `~` and `/`). */
export function pointer(base: string, key: string | number): string {
  return `${base}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** True for a number literal written as a float: with a fraction or an exponent (`5.0`, `1e3`). */
export const isFloatLiteral = (text: string): boolean => /[.eE]/.test(text);

/**
 * Turns a lossless value into plain JSON: each `LosslessNumber` becomes a number, and the pointer of
 * every one written as a float is pushed to `floats` (relative to `base`).
 */
export function toPlain(value: unknown, floats: string[], base = ''): unknown {
  if (isLosslessNumber(value)) {
    const text = (value as LosslessNumber).value;
    if (isFloatLiteral(text)) floats.push(base);
    return Number(text);
  }
  if (Array.isArray(value)) return value.map((v, i) => toPlain(v, floats, pointer(base, i)));
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toPlain(v, floats, pointer(base, k));
    return out;
  }
  return value;
}

/** A top-level bracketed span of a text; `closed` is false when the text ends inside it. */
export interface Span {
  start: number;
  end: number;
  closed: boolean;
}

/**
 * Spans of top-level `{…}` / `[…]` in prose, string-aware (double and single quotes, escapes); an
 * unclosed span runs to the end of the text (a cut call). Brackets inside strings do not count.
 */
export function jsonSpans(text: string): Span[] {
  const spans: Span[] = [];
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
      if (depth === 0) spans.push({ start, end: i + 1, closed: true });
    }
  }
  if (depth > 0 && start >= 0) spans.push({ start, end: text.length, closed: false });
  return spans;
}
