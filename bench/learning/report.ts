/**
 * Turns the learning proof's results (proof.ts's results.json files) into the PNG reward curves of
 * docs/ and the Markdown tables of docs/BENCHMARKS.md, printed to stdout.
 *
 *   npx tsx bench/learning/report.ts bench/learning/results/joint-staged.json bench/learning/results/peer.json \
 *     [--peer-title=TITLE]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { type CurvePoint, rewardCurveSvg, svgToPng } from '../../cli/report/chart.js';
import type { EnvScore, PhaseResult, ProofSpec } from './spec.js';

type Results = { spec: ProofSpec; phases: Record<string, PhaseResult> };
const argv = process.argv.slice(2);
const peerTitle =
  argv.find((a) => a.startsWith('--peer-title='))?.slice('--peer-title='.length) ??
  'Seeded arithmetic (the TRL comparison): SmolLM2-135M-Instruct on one H200';
const files = argv
  .filter((a) => !a.startsWith('--'))
  .map((f) => JSON.parse(readFileSync(f, 'utf8')) as Results);
const phases: Record<string, PhaseResult> = Object.assign({}, ...files.map((r) => r.phases));
const pct = (s: EnvScore) =>
  `${s.passed}/${s.tasks} = ${(100 * s.passRate).toFixed(1)}% ± ${(100 * s.se).toFixed(1)}`;
/** Difference of two independent pass rates in units of its standard error. */
const z = (a: EnvScore, b: EnvScore) => {
  const se = Math.sqrt(a.se ** 2 + b.se ** 2);
  return se > 0 ? (b.passRate - a.passRate) / se : 0;
};

const { base, joint, staged, peer } = phases;
if (base && joint && staged) {
  console.log('| environment | before | after joint | Δ/SE | after staged | Δ/SE |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const env of Object.keys(base.eval)) {
    const [b, j, s] = [base.eval[env]!, joint.eval[env]!, staged.eval[env]!];
    console.log(
      `| ${env} | ${pct(b)} | ${pct(j)} | ${z(b, j).toFixed(1)} | ${pct(s)} | ${z(b, s).toFixed(1)} |`,
    );
  }
  console.log(
    `\njoint: ${joint.steps!.length} steps, ${joint.trainSeconds!.toFixed(0)} s of training; staged: ${staged.steps!.length} steps, ${staged.trainSeconds!.toFixed(0)} s; evaluations ${base.evalSeconds.toFixed(0)}/${joint.evalSeconds.toFixed(0)}/${staged.evalSeconds.toFixed(0)} s`,
  );
  const points: CurvePoint[] = [];
  for (const [name, ph] of [
    ['joint', joint],
    ['staged', staged],
  ] as const)
    for (const st of ph.steps ?? [])
      for (const [env, v] of Object.entries(st.envs))
        points.push({
          step: st.step,
          env: `${name}: ${env}`,
          meanReward: v.meanReward,
          passRate: v.passRate,
        });
  const svg = await rewardCurveSvg(
    points,
    'SmolLM2-135M-Instruct GRPO on one H200: joint vs staged (training rollouts)',
  );
  writeFileSync('docs/img/learning-proof-rewards.png', svgToPng(svg));
}
if (peer?.curve) {
  console.log('\n| policy steps | training s | held-out accuracy | of them with "Answer:" | eval s |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const c of peer.curve)
    console.log(
      `| ${c.step} | ${c.trainSeconds.toFixed(0)} | ${pct(c.score)} | ${c.score.strictPassed ?? '—'} | ${c.evalSeconds?.toFixed(1) ?? '—'} |`,
    );
  const reached = peer.curve.find((c) => c.score.passRate >= 0.22);
  console.log(`\nfirst evaluation at ≥ 22%: ${reached ? `${reached.trainSeconds.toFixed(0)} s` : 'none'}`);
  const points: CurvePoint[] = peer.curve.map((c) => ({
    step: c.step,
    env: 'held-out (greedy, 200)',
    meanReward: c.score.meanReward,
    passRate: c.score.passRate,
  }));
  for (const st of peer.steps ?? [])
    for (const v of Object.values(st.envs))
      points.push({
        step: st.step,
        env: 'training rollouts',
        meanReward: v.meanReward,
        passRate: v.passRate,
      });
  const svg = await rewardCurveSvg(points, peerTitle);
  writeFileSync('docs/img/learning-proof-arithmetic.png', svgToPng(svg));
}
process.exit(0);
