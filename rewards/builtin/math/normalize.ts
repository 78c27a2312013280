/**
 * LaTeX answer normalisation: turns the many ways of writing one final answer into one string that
 * the comparison and the LaTeX parser (`@cortex-js/compute-engine`, which cannot read `\dfrac`,
 * `{,}`, `\text{…}` units or `\left.`) both accept. In the spirit of Hendrycks et al. 2021's
 * `strip_string` (MATH), extended with units, degrees, thousands separators and `x =` prefixes.
 */
import { mixedNumbers, plainTextMath, scaleWords, wordSeparators } from './forms.js';
import { replaceCommand, splitTopLevel } from './latex.js';

/** Unit words stripped after a number (`5 cm`, `12 dollars`, `3 square feet`). Lower case. */
const UNIT_WORDS = new Set(
  (
    'dollar dollars cent cents euro euros pound pounds yen mm cm m km meter meters metre metres centimeter ' +
    'centimeters millimeter millimeters kilometer kilometers inch inches in ft foot feet yard yards yd mile ' +
    'miles mi sq square cubic unit units degree degrees deg radian radians rad second seconds sec s minute ' +
    'minutes min hour hours hr hrs h day days week weeks month months year years g kg gram grams kilogram ' +
    'kilograms lb lbs ounce ounces oz liter liters litre litres l ml gallon gallons mph kph ' +
    'point points people person persons students apples marbles cookies times ways cup cups'
  ).split(' '),
);

/** C(n, k) as a decimal string for n ≤ 1000 (compute-engine 0.27 cannot read `\\binom`), else null. */
function binomial(n: number, k: number): string | null {
  if (n > 1000 || k > n) return k > n ? '0' : null;
  let c = 1n;
  for (let i = 1; i <= Math.min(k, n - k); i++) c = (c * BigInt(n - i + 1)) / BigInt(i);
  return c.toString();
}

/** Strips unit words (and `\text{…}` units) that follow a number at the end of an answer. */
function stripUnits(s: string): string {
  let out = s;
  // `5\text{ cm}`, `5 \mbox{inches}^2`: text after something that ends in a digit or a brace.
  // A value word (`2.5\text{ million}`) is not a unit.
  out = out.replace(
    /([\d}])\s*\\(?:text|mbox|textrm|mathrm)\{\s*([a-zA-Z][a-zA-Z .]*)\}(\^\{?\d\}?)?\s*$/,
    (m, end: string, words: string) => (hasValueWord(words) ? m : end),
  );
  for (let k = 0; k < 3; k++) {
    const m = /^(.*?[\d}%])(\s*)([a-zA-Z]+)\.?(\^\{?\d\}?)?\s*$/.exec(out);
    // A unit needs a space before it unless it is a long word (`5cm` might be `5c·m`; `12dollars` is not).
    if (!m || !UNIT_WORDS.has(m[3]!.toLowerCase()) || !/\d/.test(m[1]!)) break;
    if (m[2] === '' && m[3]!.length < 3) break;
    out = m[1]!;
  }
  // A plain number followed only by words ("18 eggs per day", "25 more dollars"): the words go,
  // unless one is a math word that changes the value ("2 pi", "3 sqrt 2").
  const words =
    /^([-+]?\d[\d,]*(?:\.\d+)?(?:\\frac\{\d+\}\{\d+\}|\/\d+)?%?)\s+([a-zA-Z]{2,}(?:[\s'-]+[a-zA-Z]{2,})*)\.?$/.exec(
      out,
    );
  if (words && !hasValueWord(words[2]!)) out = words[1]!;
  return out;
}

/** A unit word (`cm`, `dollars`) or a word that carries value (`million`, `pi`), any case. */
export const isUnitOrValueWord = (w: string) =>
  UNIT_WORDS.has(w.toLowerCase()) || MATH_WORDS.has(w.toLowerCase());

const hasValueWord = (words: string) => words.split(/[\s'-]+/).some((w) => MATH_WORDS.has(w.toLowerCase()));

/** Words that carry value after a number; never stripped as units. */
const MATH_WORDS = new Set([
  'pi',
  'sqrt',
  'ln',
  'log',
  'sin',
  'cos',
  'tan',
  'inf',
  'infinity',
  'root',
  'squared',
  'cubed',
  'thousand',
  'million',
  'billion',
  'trillion',
  'hundred',
  'dozen',
  'half',
  'halves',
  'thirds',
  'quarters',
  'percent',
  'times',
]);

const NAME = String.raw`[a-zA-Z](?:_\{?\w+\}?)?`;
const ASSIGNMENT = new RegExp(`^${NAME}\\s*=\\s*([^=]+)$`);
const NAMED_TUPLE = new RegExp(`^\\((\\s*${NAME}(?:\\s*,\\s*${NAME})+\\s*)\\)\\s*=\\s*(\\(.*\\))$`);

/**
 * The value of an answer written as an assignment: `x = 5` → `5`, `x \in [2, 5]` → `[2, 5]`,
 * `(a, b) = (4, 1)` → `(4, 1)` (as many names as values). Others unchanged.
 */
function stripAssignment(s: string): string {
  const assign = ASSIGNMENT.exec(s);
  if (assign && !/^[a-zA-Z]\s*=.*[<>]/.test(s)) return assign[1]!.trim();
  const tuple = NAMED_TUPLE.exec(s);
  if (tuple && splitTopLevel(tuple[2]!.slice(1, -1), ',').length === tuple[1]!.split(',').length) {
    return tuple[2]!;
  }
  return s.replace(/^[a-zA-Z]\s*\\in\s*/, '');
}

/**
 * Normalises one answer. Idempotent. Never throws. Keeps `%` (the comparison decides what a percent
 * means) and letters (text answers compare case-insensitively later). An assignment (`x = 5`,
 * `(a, b) = (4, 1)`) becomes its value unless `keepAssignment` (equations compare whole).
 */
export function normalizeAnswer(raw: string, opts: { keepAssignment?: boolean } = {}): string {
  let s = raw.trim();
  // Markdown emphasis around the whole answer (`**56**`, `*56*`).
  s = s.replace(/^(\*\*?|__)([^*_].*?)\1$/, '$2').trim();
  // Math delimiters around the whole answer.
  s = s
    .replace(/^\$+|\$+$/g, '')
    .replace(/^\\\(|\\\)$/g, '')
    .replace(/^\\\[|\\\]$/g, '');
  s = s.replace(/\\displaystyle/g, '');
  s = s.replace(/\\[dtc]frac/g, '\\frac');
  s = s.replace(
    /\\[dt]?binom\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}/g,
    (m, n: string, k: string) => binomial(Number(n), Number(k)) ?? m,
  );
  s = s
    .replace(/\\left\.|\\right\./g, '')
    .replace(/\\(?:left|right|[bB]igg?[lrm]?)(?![a-zA-Z])/g, '')
    .replace(/\\lbrack(?![a-zA-Z])/g, '[')
    .replace(/\\rbrack(?![a-zA-Z])/g, ']')
    .replace(/\\lbrace(?![a-zA-Z])/g, '\\{')
    .replace(/\\rbrace(?![a-zA-Z])/g, '\\}')
    .replace(/\\[lr]vert(?![a-zA-Z])/g, '|');
  // `12,\!500` / `12{,}\!500`: a thousands comma typeset with a negative thin space.
  s = s.replace(/(\d)(?:,|\{,\})\\!\s*(?=\d{3}(?!\d))/g, '$1,');
  s = s.replace(/\\[!,;:>]|\\q?quad(?![a-zA-Z])|~/g, ' ').replace(/(?<!\\)\\ /g, ' ');
  s = mixedNumbers(s);
  s = plainTextMath(s);
  s = s.replace(/[−–]/g, '-').replace(/π/g, '\\pi ').replace(/∞/g, '\\infty ').replace(/×/g, '\\times ');
  s = s.replace(/÷/g, '\\div ').replace(/·/g, '\\cdot ');
  s = s.replace(/\\\$|\$/g, '');
  s = s.replace(/\^\s*\{?\s*\\circ\s*\}?|°|\\degree(?![a-zA-Z])/g, '');
  s = s.replace(/\\%/g, '%').replace(/(\d)\s*(?:\\text\{\s*)?percent\b\}?/gi, '$1%');
  s = s.replace(/(\d)\{,\}(?=\d)/g, '$1');
  s = wordSeparators(s);
  s = stripUnits(s);
  for (const cmd of [
    'text',
    'textbf',
    'textit',
    'mbox',
    'mathrm',
    'textrm',
    'textnormal',
    'mathbf',
    'operatorname',
  ]) {
    s = replaceCommand(s, cmd, (c) => (cmd === 'operatorname' ? c : c.trim()));
  }
  s = stripUnits(s);
  s = wordSeparators(s);
  s = scaleWords(s);
  s = s.replace(/\\emptyset|\\varnothing|\\\{\s*\\\}/g, '\\emptyset');
  // Shorthand arguments: `\sqrt2` → `\sqrt{2}`, `\frac12` → `\frac{1}{2}`, `\frac1{x}`.
  s = s.replace(/\\sqrt\s*(\d|[a-zA-Z](?![a-zA-Z]))/g, '\\sqrt{$1}');
  s = s.replace(/\\frac\s*(\d)\s*(\d)/g, '\\frac{$1}{$2}');
  s = s.replace(/\\frac\s*(\d)\s*\{/g, '\\frac{$1}{');
  s = s.replace(/\\frac\s*\{([^{}]*)\}\s*(\d)/g, '\\frac{$1}{$2}');
  s = s.replace(/\s+/g, ' ').trim();
  // A trailing full stop; a leading `x =` / `y=` when the answer is a single assignment.
  s = s.replace(/[.\s]+$/, '');
  if (!opts.keepAssignment) s = stripAssignment(s);
  // Thousands separators when the whole answer is one number: `1,234,567.5` (not a tuple `1,2`).
  if (/^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?%?$/.test(s)) s = s.replace(/,/g, '');
  s = s.replace(/(^|[^\d])\.(\d)/g, '$10.$2');
  s = s.replace(/^\+/, '');
  // Drop spaces, except the one that ends a command before a letter (`\pi r` must not become `\pir`).
  return s.replace(/\s+(?![a-zA-Z])|(?<!\\[a-zA-Z]+)\s+/g, '');
}
