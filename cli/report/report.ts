/**
 * A run report: per-environment reward at the first and last step (a table), the reward curves (an
 * HTML page with the chart inlined as SVG, and the same chart as PNG), and how to query the logs.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RolloutStats } from '../../db/logs/aggregates.js';
import { type CurvePoint, rewardCurveSvg, svgToPng } from './chart.js';

/** One (step, environment) with a mean reward: steps where nothing was scored have no point. */
export interface StepEnvRow {
  step: number;
  env: string;
  rollouts: number;
  meanReward: number;
  passRate: number;
}

/** The per-step rows of the reward-log API that have a reward (a failure is never plotted as 0). */
export function scoredSteps(rows: RolloutStats[]): StepEnvRow[] {
  return rows.flatMap((r) =>
    r.step !== undefined && r.meanReward !== null && r.passRate !== null
      ? [{ step: r.step, env: r.env, rollouts: r.rollouts, meanReward: r.meanReward, passRate: r.passRate }]
      : [],
  );
}

/** First-vs-last row of one environment. */
export interface EnvSummary {
  env: string;
  firstStep: number;
  lastStep: number;
  firstReward: number;
  lastReward: number;
  firstPass: number;
  lastPass: number;
  rollouts: number;
}

/** Per environment: its first and last step's mean reward and pass rate (from `scoredSteps` rows). */
export function summarize(rows: StepEnvRow[]): EnvSummary[] {
  const byEnv = new Map<string, StepEnvRow[]>();
  for (const r of rows) byEnv.set(r.env, [...(byEnv.get(r.env) ?? []), r]);
  return [...byEnv.entries()].map(([env, rs]) => {
    const sorted = [...rs].sort((a, b) => a.step - b.step);
    const first = sorted[0]!;
    const last = sorted[sorted.length - 1]!;
    return {
      env,
      firstStep: first.step,
      lastStep: last.step,
      firstReward: first.meanReward,
      lastReward: last.meanReward,
      firstPass: first.passRate,
      lastPass: last.passRate,
      rollouts: rs.reduce((n, r) => n + r.rollouts, 0),
    };
  });
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Paths of a written report. */
export interface ReportFiles {
  html: string;
  png: string;
}

/**
 * Writes `<dir>/report.html` (table, inline SVG chart, notes) and `<dir>/reward-curves.png`.
 * `notes` are extra lines (data sources, timing, how to query the logs).
 */
export async function writeReport(opts: {
  dir: string;
  runId: string;
  rows: StepEnvRow[];
  notes: string[];
}): Promise<ReportFiles> {
  mkdirSync(opts.dir, { recursive: true });
  const points: CurvePoint[] = opts.rows.map((r) => ({
    step: r.step,
    env: r.env,
    meanReward: r.meanReward,
    passRate: r.passRate,
  }));
  const svg = await rewardCurveSvg(points, `multigym run ${opts.runId}: reward per step`);
  const png = resolve(opts.dir, 'reward-curves.png');
  writeFileSync(png, svgToPng(svg));
  const summary = summarize(opts.rows);
  const tableRows = summary
    .map(
      (s) =>
        `<tr><td>${esc(s.env)}</td><td>${s.firstReward.toFixed(3)}</td><td>${s.lastReward.toFixed(3)}</td>` +
        `<td>${(s.lastReward - s.firstReward >= 0 ? '+' : '') + (s.lastReward - s.firstReward).toFixed(3)}</td>` +
        `<td>${(s.firstPass * 100).toFixed(0)}%</td><td>${(s.lastPass * 100).toFixed(0)}%</td><td>${s.rollouts}</td></tr>`,
    )
    .join('\n');
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>multigym ${esc(opts.runId)}</title>
<style>body{font-family:'DejaVu Sans',sans-serif;margin:2em;max-width:960px}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:right}td:first-child,th:first-child{text-align:left}
code{background:#f4f4f4;padding:1px 4px}</style></head>
<body><h1>Run <code>${esc(opts.runId)}</code></h1>
<h2>Mean reward per environment, first vs last step</h2>
<table><tr><th>environment</th><th>first step</th><th>last step</th><th>change</th><th>pass first</th><th>pass last</th><th>rollouts</th></tr>
${tableRows}
</table>
<h2>Reward curves</h2>
${svg}
<p>Also as <a href="reward-curves.png">reward-curves.png</a>.</p>
<h2>Notes</h2>
<ul>${opts.notes.map((n) => `<li>${esc(n)}</li>`).join('\n')}</ul>
</body></html>
`;
  const htmlPath = resolve(opts.dir, 'report.html');
  writeFileSync(htmlPath, html);
  return { html: htmlPath, png };
}
