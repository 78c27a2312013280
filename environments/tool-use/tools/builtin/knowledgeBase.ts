/**
 * A searchable local knowledge base loaded from a JSON file (`{entries: [{id, title, text, facts?}]}`),
 * and the `search_kb` tool over it. Ranking is Okapi BM25 (Robertson & Zaragoza 2009, eq. 3.1:
 * score(D, Q) = Σ_q IDF(q)·f(q,D)·(k1+1) / (f(q,D) + k1·(1 − b + b·|D|/avgdl)), IDF(q) =
 * ln(1 + (N − n(q) + 0.5)/(n(q) + 0.5))), with k1 = 1.2, b = 0.75, over lower-cased word tokens of
 * title (counted twice) and text.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { defineTool, type Tool, ToolError } from '../api.js';

/** One fact of an entry: a value and its unit, if any. */
export const KbFact = z.object({
  value: z.union([z.number(), z.string()]).describe('The fact: a number or a text such as an ISO date.'),
  unit: z.string().optional().describe('Unit of a numeric value, mathjs spelling (e.g. "lb", "ft").'),
});

/** A knowledge-base file. */
export const KnowledgeBaseFile = z.object({
  description: z.string().optional(),
  entries: z
    .array(
      z.object({
        id: z.string().min(1).describe('Stable id, e.g. "town-03".'),
        title: z.string().min(1).describe('Name of the thing the entry is about.'),
        kind: z.string().optional().describe('Category, e.g. "product" or "town".'),
        text: z.string().min(1).describe('The text returned by a search.'),
        facts: z.record(z.string(), KbFact).optional().describe('Structured facts, for task generators.'),
      }),
    )
    .min(1),
});
export type KnowledgeBaseFile = z.output<typeof KnowledgeBaseFile>;
export type KbEntry = KnowledgeBaseFile['entries'][number];

/** The knowledge base shipped with multigym (`environments/tool-use/data/kb.json`). */
export const DEFAULT_KB_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../data/kb.json');

const K1 = 1.2;
const B = 0.75;
const tokenize = (s: string): string[] => s.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

/** A loaded knowledge base with a BM25 index. */
export class KnowledgeBase {
  private readonly docs: Map<string, number>[];
  private readonly lengths: number[];
  private readonly avgLength: number;
  private readonly docFreq = new Map<string, number>();

  constructor(readonly entries: KbEntry[]) {
    this.docs = entries.map((e) => {
      const tf = new Map<string, number>();
      for (const t of [...tokenize(e.title), ...tokenize(e.title), ...tokenize(e.text)])
        tf.set(t, (tf.get(t) ?? 0) + 1);
      return tf;
    });
    this.lengths = this.docs.map((tf) => [...tf.values()].reduce((a, b) => a + b, 0));
    this.avgLength = this.lengths.reduce((a, b) => a + b, 0) / Math.max(1, this.lengths.length);
    for (const tf of this.docs)
      for (const t of tf.keys()) this.docFreq.set(t, (this.docFreq.get(t) ?? 0) + 1);
  }

  /** Reads and validates a knowledge-base file. Throws zod's error (naming the field) or the read error. */
  static load(path: string = DEFAULT_KB_PATH): KnowledgeBase {
    return new KnowledgeBase(KnowledgeBaseFile.parse(JSON.parse(readFileSync(path, 'utf8'))).entries);
  }

  /** The `limit` best entries for `query` by BM25, best first; entries scoring 0 are left out. */
  search(query: string, limit = 3): { entry: KbEntry; score: number }[] {
    const terms = [...new Set(tokenize(query))];
    const n = this.docs.length;
    const scored = this.docs.map((tf, i) => {
      let score = 0;
      for (const t of terms) {
        const f = tf.get(t) ?? 0;
        if (f === 0) continue;
        const df = this.docFreq.get(t) ?? 0;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        score += (idf * f * (K1 + 1)) / (f + K1 * (1 - B + (B * this.lengths[i]!) / this.avgLength));
      }
      return { entry: this.entries[i]!, score };
    });
    return scored
      .filter((s) => s.score > 0)
      .sort((a, b) => b.score - a.score || a.entry.id.localeCompare(b.entry.id))
      .slice(0, limit);
  }
}

/** The `search_kb` tool over `kb`. Results: `[{id, title, text}]`, best first. */
export function searchKbTool(kb: KnowledgeBase): Tool {
  return defineTool({
    name: 'search_kb',
    description:
      'Search the local knowledge base (products of Northlight Goods, towns of the Vell Valley). Returns the best matching entries with their text.',
    schema: z.object({
      query: z.string().min(1).max(500).describe('Words to search for, e.g. a product or town name.'),
      limit: z.int().min(1).max(10).default(1).describe('How many entries to return (default 1).'),
    }),
    run: ({ query, limit }) => {
      const hits = kb.search(query, limit);
      if (hits.length === 0)
        throw new ToolError(`nothing in the knowledge base matches ${JSON.stringify(query)}`);
      return hits.map((h) => ({ id: h.entry.id, title: h.entry.title, text: h.entry.text }));
    },
  });
}
