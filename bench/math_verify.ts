/**
 * Benchmark: our `math-equivalence` checker against Hugging Face's Python `math-verify` (0.9) on the
 * same MATH-500 answer pairs, side by side in one run.
 *
 * Three sets of 500 pairs, each candidate written as a completion `The answer is $\boxed{…}$.`:
 * - `gold`      — the last `\boxed{}` of the reference solution vs the `answer` field (should match);
 * - `rewritten` — the answer rewritten without changing its value (`\dfrac`, decimals, `a/b`,
 *                 thousands separators, `\left( \right)`, `n^{1/2}`, dropped `\text{}`) (should match);
 * - `perturbed` — the last integer of the answer plus one, or `+1` appended (should not match);
 * - `table`     — the hard pairs of the unit test's equivalence table (test/rewards/equivalencePairs.ts).
 * Printed: pairs/s of each (after a warm-up; ours is the mean of a pass before and one after math-verify; Python start-up and imports excluded), the throughput
 * ratio, agreement between the two, accuracy of each against the set's label, and every
 * disagreement. Run: `npx tsx bench/math_verify.ts` (needs `.venv` with math-verify: scripts/setup.sh).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { lastBoxed } from '../rewards/builtin/math/extract.js';
import { mathEquivalence } from '../rewards/builtin/math-equivalence.js';
import { dataPath } from '../test/helpers/data.js';
import { venvPython } from '../test/helpers/paths.js';
import { EQUIVALENCE_PAIRS } from '../test/rewards/equivalencePairs.js';

interface Pair {
  set: 'gold' | 'rewritten' | 'perturbed' | 'table';
  candidate: string;
  reference: string;
  label: boolean;
}

/** A value-preserving rewrite of an answer (the first rule that applies), or null. */
function rewrite(answer: string): string | null {
  const a = answer.trim();
  if (/^\d{4,}$/.test(a)) return Number(a).toLocaleString('en-US').replace(/,/g, '{,}');
  if (/^-?\d+$/.test(a)) return `${a}.0`;
  const frac = /^(-?)\\frac\{(\d+)\}\{(\d+)\}$/.exec(a);
  if (frac) {
    const [, sign, p, q] = frac;
    let d = Number(q);
    while (d % 2 === 0) d /= 2;
    while (d % 5 === 0) d /= 5;
    return d === 1 ? `${sign}${Number(p) / Number(q)}` : `${sign}${p}/${q}`;
  }
  if (a.includes('\\frac')) return a.replace(/\\frac/g, '\\dfrac');
  if (/^\\sqrt\{\d+\}$/.test(a)) return a.replace(/^\\sqrt\{(\d+)\}$/, '$1^{1/2}');
  if (/^\(.*\)$/.test(a) && !a.includes('\\left')) return `\\left${a.slice(0, -1)}\\right)`;
  const text = /^\\text\{([^{}]*)\}$/.exec(a);
  if (text) return text[1]!;
  return null;
}

/** The answer with its last integer incremented, or `+1` appended. */
function perturb(answer: string): string {
  const m = /(\d+)(?!.*\d)/.exec(answer);
  if (!m) return `${answer}+1`;
  return answer.slice(0, m.index) + String(Number(m[1]) + 1) + answer.slice(m.index + m[1]!.length);
}

const asCompletion = (answer: string) => `The answer is $\\boxed{${answer}}$.`;

function buildPairs(): Pair[] {
  const records = readFileSync(dataPath('math500/test.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { answer: string; solution: string });
  const pairs: Pair[] = [];
  for (const r of records) {
    const boxed = lastBoxed(r.solution) ?? r.answer;
    pairs.push({ set: 'gold', candidate: asCompletion(boxed), reference: r.answer, label: true });
    const rewritten = rewrite(r.answer);
    if (rewritten !== null) {
      pairs.push({ set: 'rewritten', candidate: asCompletion(rewritten), reference: r.answer, label: true });
    }
    pairs.push({
      set: 'perturbed',
      candidate: asCompletion(perturb(r.answer)),
      reference: r.answer,
      label: false,
    });
  }
  for (const [candidate, reference, label] of EQUIVALENCE_PAIRS) {
    pairs.push({ set: 'table', candidate: asCompletion(candidate), reference, label });
  }
  return pairs;
}

async function runOurs(pairs: Pair[]): Promise<{ verdicts: boolean[]; seconds: number }> {
  const cfg = mathEquivalence.configSchema.parse({});
  const one = async (p: Pair) =>
    (
      await mathEquivalence.score(
        { completion: p.candidate, completionTokens: 0 },
        { id: 'b', data: { answer: p.reference } },
        cfg,
      )
    ).value === 1;
  for (const p of pairs.slice(0, 20)) await one(p);
  const start = performance.now();
  const verdicts: boolean[] = [];
  for (const p of pairs) verdicts.push(await one(p));
  return { verdicts, seconds: (performance.now() - start) / 1000 };
}

function runMathVerify(pairs: Pair[]): { verdicts: boolean[]; seconds: number; version: string } {
  const input = pairs
    .map((p) => JSON.stringify({ candidate: p.candidate, reference: `$${p.reference}$` }))
    .join('\n');
  const res = spawnSync(venvPython, [resolve(import.meta.dirname, 'math_verify_helper.py'), '20'], {
    input,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.status !== 0)
    throw new Error(`math-verify helper failed (is it installed in .venv?):\n${res.stderr}`);
  return JSON.parse(res.stdout) as { verdicts: boolean[]; seconds: number; version: string };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

async function main(): Promise<void> {
  const pairs = buildPairs();
  // Ours runs before and after math-verify and the two times are averaged, so a change of machine
  // load during the run (the CPU is shared) biases the ratio less.
  const before = await runOurs(pairs);
  const mv = runMathVerify(pairs);
  const after = await runOurs(pairs);
  const ours = { verdicts: after.verdicts, seconds: (before.seconds + after.seconds) / 2 };
  if (before.verdicts.some((v, i) => v !== after.verdicts[i]))
    throw new Error('our verdicts changed between runs');
  console.log(
    `math-equivalence (TS) vs math-verify ${mv.version} (Python) on ${pairs.length} MATH-500 pairs\n`,
  );
  console.log('set        pairs  ours acc  math-verify acc  agreement');
  for (const set of ['gold', 'rewritten', 'perturbed', 'table'] as const) {
    const idx = pairs.flatMap((p, i) => (p.set === set ? [i] : []));
    const acc = (v: boolean[]) => idx.filter((i) => v[i] === pairs[i]!.label).length / idx.length;
    const agree = idx.filter((i) => ours.verdicts[i] === mv.verdicts[i]).length / idx.length;
    console.log(
      `${set.padEnd(10)} ${String(idx.length).padStart(5)}  ${pct(acc(ours.verdicts)).padStart(8)}  ${pct(acc(mv.verdicts)).padStart(15)}  ${pct(agree).padStart(9)}`,
    );
  }
  const oursRate = pairs.length / ours.seconds;
  const mvRate = pairs.length / mv.seconds;
  const agreement = pairs.filter((_, i) => ours.verdicts[i] === mv.verdicts[i]).length / pairs.length;
  console.log(
    `\nthroughput: ours ${oursRate.toFixed(0)} pairs/s (${ours.seconds.toFixed(2)} s), math-verify ${mvRate.toFixed(0)} pairs/s (${mv.seconds.toFixed(2)} s)`,
  );
  console.log(`ratio ours/math-verify: ${(oursRate / mvRate).toFixed(1)}x   agreement: ${pct(agreement)}`);
  console.log(
    '\ndisagreements and errors of either (set | candidate | reference | ours | math-verify | label):',
  );
  pairs.forEach((p, i) => {
    if (ours.verdicts[i] !== mv.verdicts[i] || ours.verdicts[i] !== p.label) {
      const cand = /\\boxed\{(.*)\}\$\.$/.exec(p.candidate)?.[1] ?? p.candidate;
      console.log(
        `${p.set} | ${cand} | ${p.reference} | ${ours.verdicts[i]} | ${mv.verdicts[i]} | ${p.label}`,
      );
    }
  });
}

await main();
