/**
 * Final-answer extraction from a model's completion (or a reference solution).
 *
 * Rules, tried in this order (the first that matches wins, and its name is reported):
 * 1. `boxed`       — the content of the last `\boxed{…}` / `\fbox{…}` (nested braces balanced), or
 *                    `\boxed 5` without braces. When the last `\boxed{` never closes, the model was
 *                    cut (or stopped) while writing its final answer: there is no answer, and no
 *                    later rule is tried — an earlier box or a number inside the cut one would reward
 *                    text the model revised or never finished.
 * 2. `hashes`      — GSM8K's `#### N` marker (the text after the last `####`, up to the line end).
 * 3. `answer-is`   — the last "the (final) answer is X", "Answer: X" or a "Final Answer" heading
 *                    followed by X on the next line; X is the rest of the line up to the end of the
 *                    sentence, without markdown emphasis and `$…$`. When X is a sentence ("The smallest
 *                    $k$ is 12"), the value after its last "is/are/equals" is taken, else its last
 *                    expression (as rules 4 and 5 read it).
 * 4. `last-math`   — the last math segment (`$…$`, `\(…\)`, `\[…\]`, `$$…$$`), taken whole, if no
 *                    number follows it in the prose; of an equation with a closed right side it keeps
 *                    that side (`so $m = \frac{2}{5}$` → `\frac{2}{5}`, `$3 + 4 = 7$` → `7`) unless the
 *                    left side holds variables (`$y = 2x + 3$`, `$a + b = 7$` stay whole).
 * 5. `last-number` — the last number in the text (signs, thousands separators, decimals, `a/b`, mixed
 *                    numbers such as `3 1/4`).
 * Nothing found gives `{ answer: null, rule: 'none' }`.
 */
import { braceGroup, mathSegments, splitTopLevel } from './latex.js';
import { isUnitOrValueWord } from './normalize.js';

export { braceGroup } from './latex.js';

/** Name of the rule that produced an answer. */
export type ExtractRule = 'boxed' | 'hashes' | 'answer-is' | 'last-math' | 'last-number' | 'none';

/** Every rule, in the order they are tried. */
export const EXTRACT_RULES = ['boxed', 'hashes', 'answer-is', 'last-math', 'last-number'] as const;

/** An extracted answer and the rule that found it. */
export interface Extracted {
  answer: string | null;
  rule: ExtractRule;
}

/**
 * The last `\boxed{…}` or `\fbox{…}` in `text`: `{ content }`, `{ unclosed: true }` when the last one
 * never closes (never a fallback to an earlier box: the model was revising it), or null when there is
 * none. Linear in the text length.
 */
export function findLastBoxed(text: string): { content: string } | { unclosed: true } | null {
  const matches = [...text.matchAll(/\\(?:boxed|fbox)\s*(\{|\s+([^\s$]+))/g)];
  for (let k = matches.length - 1; k >= 0; k--) {
    const m = matches[k]!;
    if (m[1] !== '{') {
      if (m[2]) return { content: m[2] };
      continue;
    }
    const group = braceGroup(text, m.index + m[0].length - 1, text.length);
    return group ? { content: group.content } : { unclosed: true };
  }
  return null;
}

/** Content of the last `\boxed{…}` (see `findLastBoxed`), or null when there is none or it never closes. */
export function lastBoxed(text: string): string | null {
  const boxed = findLastBoxed(text);
  return boxed && 'content' in boxed ? boxed.content : null;
}

// A mixed number `3 1/4` (kept whole: the comparison reads it as 13/4), thousands groups only as
// `1,234,567` (so `1,2,3` is three numbers), then plain decimals and `a/b`.
const NUMBER =
  /-?\d+ \d+\/\d+(?![\d/])|-?\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|-?\d+(?:\.\d+)?(?:\/\d+)?|-?\.\d+/g;

/** The last number in `text` (commas kept; the comparison strips them), or null. */
export function lastNumber(text: string): string | null {
  const matches = text.match(NUMBER);
  if (!matches) return null;
  const last = matches[matches.length - 1]!;
  return last.replace(/,+$/, '');
}

function cleanTail(s: string): string {
  return s
    .trim()
    .replace(/(?<!\\)\$/g, '')
    .replace(/[.\s]+$/, '')
    .trim();
}

const NAME = /^[a-zA-Z](?:_\{?\w+\}?)?$|^[a-zA-Z]\([^()a-zA-Z]*\)$/;
/** No variables: no letters outside `\commands` (`\frac{2}{5}`, `2\pi`). */
const isClosed = (s: string) => !/[a-zA-Z]/.test(s.replace(/\\[a-zA-Z]+/g, ''));

/**
 * The answer a math segment states (the last line of an `align`): its closed right side when it is
 * an equation whose left side is closed, a name (`m`, `f(2)`) or a chain (`x = 3 + 4 = 7`); otherwise
 * the segment whole.
 */
function mathAnswer(content: string): string | null {
  let c = content.trim();
  // A multi-line derivation (`\begin{align} … \\ … &= 7 \end{align}`): its last line.
  if (/^\\begin\{(?:align|aligned|gather|gathered|eqnarray|split)\*?\}/.test(c)) {
    const rows = c.replace(/\\(?:begin|end)\{[a-z]+\*?\}/g, '').split('\\\\');
    c =
      rows
        .filter((r) => r.trim() !== '')
        .pop()
        ?.replace(/&/g, '') ?? '';
  }
  c = c.trim().replace(/[.,;:\s]+$/, '');
  const parts = splitTopLevel(c, '=').map((p) => p.trim());
  if (parts.length >= 2 && !/[<>!]=/.test(c)) {
    const [first, last] = [parts[0]!, parts[parts.length - 1]!];
    if (last !== '' && isClosed(last) && (parts.length > 2 || isClosed(first) || NAME.test(first)))
      return last;
  }
  return c || null;
}

/** The last math segment, unless a number is written after it. */
function lastMath(text: string): string | null {
  const segments = mathSegments(text);
  const last = segments[segments.length - 1];
  if (!last || /\d/.test(text.slice(last.end))) return null;
  return mathAnswer(last.content);
}

/** `text` with its math segments blanked (same length), to look at its prose only. */
function proseOf(text: string): string {
  let out = text;
  for (const m of mathSegments(text))
    out = out.slice(0, m.start) + ' '.repeat(m.end - m.start) + out.slice(m.end);
  return out;
}

/** Words of prose outside math, commands, connectors (and, or) and unit or value words. */
function proseWords(text: string): number {
  const words =
    proseOf(text)
      .replace(/\\[a-zA-Z]+/g, ' ')
      .match(/[a-zA-Z]{2,}/g) ?? [];
  return words.filter((w) => !/^(?:and|or)$/i.test(w) && !isUnitOrValueWord(w)).length;
}

const COPULA = /\b(?:is|are|was|were|equals?(?:\s+to)?|be)\b/gi;

/**
 * Of a sentence with a copula outside math, the side that is not prose: what follows the last one
 * (`The smallest $k$ is 12` → `12`), else what precedes the first if it holds a value (`3 and 7 are
 * the roots` → `3 and 7`).
 */
function aroundCopula(sentence: string): string | null {
  const copulas = [...proseOf(sentence).matchAll(COPULA)];
  if (copulas.length === 0) return null;
  const last = copulas[copulas.length - 1]!;
  const after = sentence.slice(last.index + last[0].length);
  if (proseWords(after) < 2) return cleanTail(after) || null;
  const before = sentence.slice(0, copulas[0]!.index);
  return proseWords(before) < 2 && /\d|\$/.test(before) ? cleanTail(before) || null : null;
}

/** The answer a "Final answer: …" line states (see rule 3 in the module comment). */
function answerOfLine(line: string): string | null {
  // Markdown emphasis; then the end of the sentence: a period followed by a space or the end.
  const sentence = line.replace(/\*\*|__/g, '').split(/\.(?:\s|$)/)[0]!;
  if (proseWords(sentence) >= 2) {
    const value = aroundCopula(sentence) ?? lastMath(sentence) ?? lastNumber(sentence);
    if (value !== null) return value;
  }
  return cleanTail(sentence) || null;
}

// "the (final) answer is X", "Answer: X" (also `**Answer:**`), or a "Final Answer" heading with X on
// a following line. `\s*(\S…)` cannot backtrack over a run of spaces.
const ANSWER_IS =
  /(?:the\s+(?:final\s+)?answer\s+is|answer(?:\*\*|__)?\s*:|final\s+answer(?:\*\*|__)?[ \t]*(?=\r?\n))\s*(?::\s*)?(\S[^\n]*)/gi;

type Rule = (typeof EXTRACT_RULES)[number];

// A rule's answer that ends the search with no answer (a last `\boxed{` that never closes).
const CUT = Symbol('cut');

const RULES: Record<Rule, (text: string) => string | typeof CUT | null> = {
  boxed: (text) => {
    const boxed = findLastBoxed(text);
    if (boxed && 'unclosed' in boxed) return CUT;
    return boxed && boxed.content.trim() !== '' ? boxed.content.trim() : null;
  },
  hashes: (text) => {
    const at = text.lastIndexOf('####');
    if (at < 0) return null;
    const line = cleanTail(text.slice(at + 4).split('\n')[0]!);
    return line || null;
  },
  'answer-is': (text) => {
    const all = [...text.matchAll(ANSWER_IS)];
    const last = all[all.length - 1];
    return last ? answerOfLine(last[1]!) : null;
  },
  'last-math': lastMath,
  'last-number': lastNumber,
};

/**
 * Applies `rules` (default: all, in the module comment's order); the first that finds an answer wins.
 * Never throws.
 */
export function extractAnswer(text: string, rules: readonly Rule[] = EXTRACT_RULES): Extracted {
  for (const rule of rules) {
    const answer = RULES[rule](text);
    if (answer === CUT) return { answer: null, rule };
    if (answer !== null) return { answer, rule };
  }
  return { answer: null, rule: 'none' };
}
