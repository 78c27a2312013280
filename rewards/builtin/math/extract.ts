/**
 * Final-answer extraction from a model's completion (or a reference solution).
 *
 * Rules, tried in this order (the first that matches wins, and its name is reported):
 * 1. `boxed`      — the content of the last `\boxed{…}` / `\fbox{…}` (nested braces balanced), or
 *                   `\boxed 5` without braces.
 * 2. `hashes`     — GSM8K's `#### N` marker (the text after the last `####`, up to the line end).
 * 3. `answer-is`  — the last "the (final) answer is X" / "Answer: X" (up to the end of the line or
 *                   sentence; `$…$` stripped).
 * 4. `last-number`— the last number in the text (signs, thousands separators, decimals, `a/b`).
 * Nothing found gives `{ answer: null, rule: 'none' }`.
 */

/** Name of the rule that produced an answer. */
export type ExtractRule = 'boxed' | 'hashes' | 'answer-is' | 'last-number' | 'none';

/** Every rule, in the order they are tried. */
export const EXTRACT_RULES = ['boxed', 'hashes', 'answer-is', 'last-number'] as const;

/** An extracted answer and the rule that found it. */
export interface Extracted {
  answer: string | null;
  rule: ExtractRule;
}

/**
 * Returns the balanced-brace group starting at `open` (index of `{`) without its braces, or null if
 * the braces do not close before `limit` (default: the end of the text).
 */
export function braceGroup(
  text: string,
  open: number,
  limit = text.length,
): { content: string; end: number } | null {
  let depth = 0;
  for (let i = open; i < limit; i++) {
    const ch = text[i];
    if (ch === '\\') {
      i++; // an escaped char (`\{`, `\}`) never opens or closes a group
      continue;
    }
    if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) return { content: text.slice(open + 1, i), end: i + 1 };
    }
  }
  return null;
}

/**
 * Content of the last `\boxed{…}` or `\fbox{…}` in `text` that closes, or null. Linear in the text
 * length even for a degenerate completion of many unclosed `\boxed{`: candidates are tried from the
 * last one back, and a group opened before an unclosed brace can only close before that brace.
 */
export function lastBoxed(text: string): string | null {
  const matches = [...text.matchAll(/\\(?:boxed|fbox)\s*(\{|\s+([^\s$]+))/g)];
  let limit = text.length;
  for (let k = matches.length - 1; k >= 0; k--) {
    const m = matches[k]!;
    if (m[1] !== '{') {
      if (m[2]) return m[2];
      continue;
    }
    const open = m.index + m[0].length - 1;
    const group = braceGroup(text, open, limit);
    if (group) return group.content;
    limit = open;
  }
  return null;
}

// Thousands groups only as `1,234,567` (so `1,2,3` is three numbers), then plain decimals and `a/b`.
const NUMBER = /-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|-?\d+(?:\.\d+)?(?:\/\d+)?|-?\.\d+/g;

/** The last number in `text` (commas kept; the comparison strips them), or null. */
export function lastNumber(text: string): string | null {
  const matches = text.match(NUMBER);
  if (!matches) return null;
  const last = matches[matches.length - 1]!;
  return last.replace(/,+$/, '');
}

function cleanTail(s: string): string {
  let out = s.trim();
  const dollars = /^\$+([^$]+)\$+/.exec(out);
  if (dollars) out = dollars[1]!;
  return out
    .replace(/\$/g, '')
    .replace(/[.\s]+$/, '')
    .trim();
}

type Rule = (typeof EXTRACT_RULES)[number];

const RULES: Record<Rule, (text: string) => string | null> = {
  boxed: (text) => {
    const boxed = lastBoxed(text);
    return boxed !== null && boxed.trim() !== '' ? boxed.trim() : null;
  },
  hashes: (text) => {
    const at = text.lastIndexOf('####');
    if (at < 0) return null;
    const line = cleanTail(text.slice(at + 4).split('\n')[0]!);
    return line || null;
  },
  'answer-is': (text) => {
    const all = [...text.matchAll(/(?:the\s+(?:final\s+)?answer\s+is|answer\s*:)\s*:?\s*([^\n]+)/gi)];
    const last = all[all.length - 1];
    if (!last) return null;
    // Stop at the end of the sentence: a period followed by a space or the end (not a decimal point).
    return cleanTail(last[1]!.split(/\.(?:\s|$)/)[0]!) || null;
  },
  'last-number': lastNumber,
};

/**
 * Applies `rules` (default: all, in the module comment's order); the first that finds an answer wins.
 * Never throws.
 */
export function extractAnswer(text: string, rules: readonly Rule[] = EXTRACT_RULES): Extracted {
  for (const rule of rules) {
    const answer = RULES[rule](text);
    if (answer !== null) return { answer, rule };
  }
  return { answer: null, rule: 'none' };
}
