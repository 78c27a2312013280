/**
 * Rewrites of the ways models write one value, into the LaTeX the rest of normalisation and the
 * parser read (called by `normalizeAnswer`, on text whose LaTeX spacing macros are already spaces):
 * mixed numbers (`3 1/4`), plain-text math (`sqrt(2)/2`, `3*pi`, `exp(3)`), separators written as
 * words (`4 \text{ and } 7`) and scale words (`2.5 million`).
 */
import Fraction from 'fraction.js';

/**
 * `3 1/4` → `3\frac{1}{4}` (read as 3 + 1/4 by `readNumber`; never glued into 31/4), for a fraction
 * standing alone: not after `^`, `_`, a letter, a dot or a brace (`x^2 1/4`), not before a letter
 * (`2 1/2x`). An improper one (`2 5/4`) reads the same way, as a sum.
 */
export function mixedNumbers(s: string): string {
  return s.replace(
    /(?<![\w.^_{}\\/])(\d+) +(\d+) *\/ *(\d+)(?![\w.^/])/g,
    (_, whole: string, num: string, den: string) => `${whole}\\frac{${num}}{${den}}`,
  );
}

/** Plain-text function names (lower case, followed by `(`) and their LaTeX commands. */
const FUNCTIONS = [
  'arcsin',
  'arccos',
  'arctan',
  'sinh',
  'cosh',
  'tanh',
  'sin',
  'cos',
  'tan',
  'sec',
  'csc',
  'cot',
  'exp',
  'ln',
  'log',
];

/**
 * Plain-text math into LaTeX: `sqrt(x)` → `\sqrt{x}`, `abs(x)` → `|x|`, `sin(` → `\sin(`, a
 * standalone `pi` → `\pi`, `infinity`/`inf` → `\infty`, `**` → `^`, and exponents braced (`2^10`,
 * `x^-1`, `e^(i pi)`: LaTeX would read one character). The parser reads `*` itself.
 * `log` stays `\log` (base 10, as in LaTeX). Words inside other words (`pink`, `sinus`) are left.
 */
export function plainTextMath(s: string): string {
  let out = braceExponents(s.replace(/\*\*/g, '^'));
  if (!/[a-z]/.test(out)) return out;
  out = parenCommand(out, named('sqrt'), (c) => `\\sqrt{${c}}`);
  out = parenCommand(out, named('abs'), (c) => `|${c}|`);
  out = out.replace(new RegExp(`(?<![\\\\a-zA-Z])(${FUNCTIONS.join('|')})(?=\\s*\\()`, 'g'), '\\$1');
  out = out.replace(/(?<![\\a-zA-Z])pi(?![a-zA-Z])/g, '\\pi ');
  return out.replace(/(?<![\\a-zA-Z])inf(?:inity)?(?![a-zA-Z])/g, '\\infty ');
}

/** `^10` → `^{10}`, `^-1` → `^{-1}`, `^(a+b)` → `^{(a+b)}`; braced exponents are left. */
function braceExponents(s: string): string {
  if (!s.includes('^')) return s;
  const out = s.replace(/\^\s*(-?\d+(?:\.\d+)?|-[a-zA-Z])(?![\d.])/g, (m, e: string) =>
    e.length > 1 ? `^{${e}}` : m,
  );
  return parenCommand(out, /\^\s*\(/g, (c) => `^{(${c})}`);
}

/** `name(` as a whole word (not `\name(`, not inside `arcname(`). */
const named = (name: string) => new RegExp(`(?<![\\\\a-zA-Z])${name}\\s*\\(`, 'g');

/** `open` (a global regex ending in `(`) through its balanced `)` → `wrap(…)`; unclosed ones are left. */
function parenCommand(s: string, open: RegExp, wrap: (content: string) => string): string {
  open.lastIndex = 0;
  let out = '';
  let from = 0;
  for (let m = open.exec(s); m; m = open.exec(s)) {
    let depth = 0;
    let end = -1;
    for (let i = m.index + m[0].length - 1; i < s.length; i++) {
      if (s[i] === '(') depth++;
      else if (s[i] === ')' && --depth === 0) {
        end = i;
        break;
      }
    }
    if (end < 0) break;
    const inner = parenCommand(s.slice(m.index + m[0].length, end), new RegExp(open), wrap); // nested
    out += s.slice(from, m.index) + wrap(inner);
    from = end + 1;
    open.lastIndex = from;
  }
  return out + s.slice(from);
}

/** Relations that make `or` a union of inequalities (`x < 2 or x > 3`), which `inequality.ts` reads. */
const RELATION = /[<>]|\\[lg]eq?(?![a-zA-Z])|\\[lg]eqslant/;

/**
 * `4 \text{ and } 7`, `4, and 7`, `x = 4 or x = 7` → comma lists (`4,7`), which compare as lists of
 * solutions. `or` between inequalities stays (it is a union).
 */
export function wordSeparators(s: string): string {
  if (!/and|or/.test(s)) return s;
  const relation = RELATION.test(s);
  const words = relation ? 'and' : 'and|or';
  // Whitespace runs are one space first, so the optional spaces below cannot backtrack far.
  let out = s.replace(/\s+/g, ' ');
  out = out.replace(new RegExp(` ?,? ?\\\\(?:text|mbox|textrm|mathrm)\\{ ?(?:${words}) ?\\} ?`, 'g'), ',');
  out = out.replace(new RegExp(` ?,? (?:${words}) `, 'g'), ',');
  return out.replace(/ ?, ?, ?/g, ',');
}

/** Scale words and their powers of ten. */
const SCALES: Record<string, number> = { hundred: 2, thousand: 3, million: 6, billion: 9, trillion: 12 };

/** `2.5 million` → `2500000`, `1.25 billion` → `1250000000` (exactly: decimal shift, no float). */
export function scaleWords(s: string): string {
  // Trailing words are what the number counts (`2.5 million people`).
  const m = /^([-+]?)(\d+(?:\.\d+)?) *(hundred|thousand|million|billion|trillion)s?(?: +[a-zA-Z]+)*$/i.exec(
    s.trim(),
  );
  if (!m) return s;
  const value = new Fraction(m[2]!).mul(new Fraction(10n ** BigInt(SCALES[m[3]!.toLowerCase()]!)));
  const text = value.d === 1n ? value.n.toString() : value.toString(20);
  return `${m[1]}${text}`;
}
