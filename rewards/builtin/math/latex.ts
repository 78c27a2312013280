/**
 * String-level LaTeX helpers shared by extraction and normalisation: balanced brace groups, top-level
 * splitting, command unwrapping and the math segments (`$…$`, `\(…\)`, `\[…\]`, `$$…$$`) of a text.
 */

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

/** Splits at top-level `sep` (outside (), [], {}); `\{`/`\}` count as braces. */
export function splitTopLevel(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && (s[i + 1] === '{' || s[i + 1] === '}')) {
      depth += s[i + 1] === '{' ? 1 : -1;
      i++;
    } else if ('([{'.includes(ch)) depth++;
    else if (')]}'.includes(ch)) depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(s.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/** Replaces `\cmd{…}` (nested braces) by what `wrap(content)` returns, for every occurrence. */
export function replaceCommand(s: string, cmd: string, wrap: (content: string) => string): string {
  let out = '';
  let i = 0;
  const needle = `\\${cmd}`;
  for (;;) {
    const at = s.indexOf(needle, i);
    if (at < 0) return out + s.slice(i);
    let open = at + needle.length;
    while (s[open] === ' ') open++;
    const next = s[at + needle.length];
    if (s[open] !== '{' || (next && /[a-zA-Z]/.test(next))) {
      out += s.slice(i, at + needle.length);
      i = at + needle.length;
      continue;
    }
    const group = braceGroup(s, open);
    if (!group) return out + s.slice(i);
    out += s.slice(i, at) + wrap(group.content);
    i = group.end;
  }
}

/** A math segment of a text: `content` without its delimiters, `start`/`end` offsets with them. */
export interface MathSegment {
  content: string;
  start: number;
  end: number;
}

const TOKENS = /\$\$|\\\[|\\\]|\\\(|\\\)|(?<!\\)\$/g;
const CLOSER: Record<string, string> = { $$: '$$', '\\[': '\\]', '\\(': '\\)', $: '$' };

/**
 * The math segments of a text, in order. `$…$` follows pandoc's rule, so prices in prose (`$5 and
 * $3`) are not math: the opening `$` has a non-space after it, the closing one a non-space before it
 * and no digit after it. Linear in the text: every delimiter is looked at once, and each opener
 * finds its closer through a table of the next delimiter of each kind.
 */
export function mathSegments(text: string): MathSegment[] {
  const tokens = [...text.matchAll(TOKENS)].map((m) => ({ kind: m[0], at: m.index }));
  // next[kind][k]: index of the first token of that kind at k or later (tokens.length if none).
  const next: Record<string, number[]> = {};
  for (const kind of Object.values(CLOSER)) {
    const row = new Array<number>(tokens.length + 1).fill(tokens.length);
    for (let k = tokens.length - 1; k >= 0; k--) row[k] = tokens[k]!.kind === kind ? k : row[k + 1]!;
    next[kind] = row;
  }
  const segments: MathSegment[] = [];
  for (let k = 0; k < tokens.length; ) {
    const { kind, at } = tokens[k]!;
    const closer = CLOSER[kind];
    const j = closer === undefined ? tokens.length : next[closer]![k + 1]!;
    if (j === tokens.length) {
      k++;
      continue;
    }
    const start = at + kind.length;
    const end = tokens[j]!.at;
    if (
      kind === '$' &&
      (/\s/.test(text[start] ?? ' ') || /[\s\\]/.test(text[end - 1]!) || /\d/.test(text[end + 1] ?? ''))
    ) {
      k++; // not a pair: the next `$` may still open one
      continue;
    }
    if (end > start) segments.push({ content: text.slice(start, end), start: at, end: end + closer!.length });
    k = j + 1;
  }
  return segments;
}
