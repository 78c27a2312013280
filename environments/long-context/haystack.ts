/**
 * Haystack text: an endless, deterministic stream of sentences from a plain-text corpus (a `.txt` file
 * or a directory of them) or from the built-in filler, in which needles are hidden.
 *
 * A corpus is read once per process, split into paragraphs on blank lines, cleaned (illustration
 * captions, footnote markers like `{3}` and all-capitals headings dropped, whitespace collapsed) and
 * split into sentences with `Intl.Segmenter`. Each sentence is a *unit* that carries its own leading
 * separator (`' '` inside a paragraph, `'\n\n'` before a new paragraph), so concatenating units gives
 * readable text and cutting between units never leaves a dangling space. Streams start at a seeded
 * sentence and wrap around the corpus as often as needed (a 1M-token haystack reads the six books of
 * `haystack_gutenberg` about 1.4 times).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LongContextError } from './errors.js';
import type { Rng } from './rng.js';

/**
 * RULER's "noise" haystack (Hsieh et al. 2024, RULER: What's the Real Context Size of Your
 * Long-Context Language Models?, §3): the same five sentences repeated.
 */
export const BUILTIN_FILLER = [
  'The grass is green.',
  'The sky is blue.',
  'The sun is yellow.',
  'Here we go.',
  'There and back again.',
] as const;

/** A loaded corpus: sentence units, each with its leading separator. */
export interface Corpus {
  /** `builtin` or the resolved corpus path. */
  id: string;
  units: readonly string[];
  /** Total characters of one pass over `units`. */
  chars: number;
}

const cache = new Map<string, Corpus>();

/** The built-in filler as a corpus (one paragraph of five sentences, repeated). */
export function builtinCorpus(): Corpus {
  const units = BUILTIN_FILLER.map((s) => ` ${s}`);
  return { id: 'builtin', units, chars: units.reduce((a, u) => a + u.length, 0) };
}

/**
 * Resolves `corpus` against `dataDir` (when relative) and loads it, once per process.
 * `undefined` or `'builtin'` gives the built-in filler.
 * @throws LongContextError (`corpus`) when the path is missing or yields no sentences.
 */
export function loadCorpus(corpus: string | undefined, dataDir?: string): Corpus {
  if (corpus === undefined || corpus === 'builtin') return builtinCorpus();
  const path = resolve(dataDir ?? process.cwd(), corpus);
  const hit = cache.get(path);
  if (hit) return hit;
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => f.endsWith('.txt'))
          .sort()
          .map((f) => join(path, f))
      : [path];
  } catch (err) {
    throw new LongContextError('corpus', `haystack corpus ${path} cannot be read: ${(err as Error).message}`);
  }
  const units: string[] = [];
  const segmenter = new Intl.Segmenter('en', { granularity: 'sentence' });
  for (const file of files) {
    for (const raw of readFileSync(file, 'utf8').split(/\n\s*\n/)) {
      const paragraph = cleanParagraph(raw);
      if (!paragraph) continue;
      let first = true;
      for (const { segment } of segmenter.segment(paragraph)) {
        const sentence = segment.trim();
        if (!sentence) continue;
        units.push((first ? '\n\n' : ' ') + sentence);
        first = false;
      }
    }
  }
  if (units.length === 0) throw new LongContextError('corpus', `haystack corpus ${path} has no sentences`);
  const loaded: Corpus = { id: path, units, chars: units.reduce((a, u) => a + u.length, 0) };
  cache.set(path, loaded);
  return loaded;
}

/** Collapses whitespace and drops captions, footnote markers and headings; '' when nothing is left. */
function cleanParagraph(raw: string): string {
  const text = raw
    .replace(/\[Illustration[^\]]*\]/g, ' ')
    .replace(/\{\d+\}/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  if (!/[a-z]/.test(text)) return ''; // headings in capitals, page numbers, separators
  return text;
}

/**
 * Endless stream of the corpus' units starting at a seeded sentence. The first unit yielded has its
 * leading separator removed so a haystack never starts with whitespace.
 */
export function* haystackUnits(corpus: Corpus, rng: Rng): Generator<string> {
  let i = corpus.id === 'builtin' ? 0 : rng.int(0, corpus.units.length - 1);
  let first = true;
  for (;;) {
    const unit = corpus.units[i] as string;
    yield first ? unit.trimStart() : unit;
    first = false;
    i = (i + 1) % corpus.units.length;
  }
}
