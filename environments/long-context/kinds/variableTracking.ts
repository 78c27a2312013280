/**
 * Variable tracking (RULER §3.1 "Multi-hop tracing"): chains of assignments
 * `VAR QAB = 48213.`, `VAR ZUT = VAR QAB.`, … hidden in the haystack in order; the model must list
 * every variable that ends up holding the asked value. Other chains (with other values) are
 * distractors. The statements are spread at evenly spaced depths, chains interleaved hop by hop, so
 * each assignment precedes its use.
 */
import { distinctWords, type Rng } from '../rng.js';
import type { Insert, KindPlan } from './types.js';

/** Variable-tracking parameters. */
export interface VariableTrackingOptions {
  /** Chains; the first is asked, the others are distractors. */
  chains: number;
  /** Assignments per chain after the first (so a chain names `hops + 1` variables). */
  hops: number;
}

/** Plans a variable-tracking task. */
export function planVariableTracking(opts: VariableTrackingOptions, rng: Rng): KindPlan {
  const names = distinctWords(rng, opts.chains * (opts.hops + 1), 2).map((w) => w.toUpperCase());
  const values = new Set<string>();
  while (values.size < opts.chains) values.add(rng.digits(5));
  const chainValues = [...values];
  const chains = chainValues.map((_, c) => names.slice(c * (opts.hops + 1), (c + 1) * (opts.hops + 1)));
  const statements: Omit<Insert, 'depth'>[] = [];
  for (let hop = 0; hop <= opts.hops; hop++) {
    for (let c = 0; c < chains.length; c++) {
      const chain = chains[c] as string[];
      const name = chain[hop] as string;
      const rhs = hop === 0 ? (chainValues[c] as string) : `VAR ${chain[hop - 1]}`;
      statements.push({
        text: `VAR ${name} = ${rhs}.`,
        role: c === 0 ? 'answer' : 'distractor',
        key: name,
        value: rhs,
      });
    }
  }
  const inserts = statements.map((s, i) => ({
    ...s,
    depth: Math.round(((i + 0.5) / statements.length) * 1e4) / 1e4,
  }));
  const value = chainValues[0] as string;
  return {
    kind: 'variable-tracking',
    instruction: 'Memorize and track the chain(s) of variable assignment hidden in the following text.',
    question: `Question: Find all variables that are assigned the value ${value} in the text above.`,
    answerPrefix: `Answer: According to the chain(s) of variable assignment in the text above, ${opts.hops + 1} variables are assigned the value ${value}, they are:`,
    answers: chains[0] as string[],
    distractors: chains.slice(1).flat(),
    inserts,
    body: 'haystack',
  };
}
