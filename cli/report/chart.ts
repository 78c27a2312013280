/**
 * Reward curves as a chart: a Vega-Lite spec rendered to SVG by `vega` in Node (no browser) and
 * rasterised to PNG by `@resvg/resvg-js` with the system fonts.
 */
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One point of a curve: mean reward of an environment at a step. */
export interface CurvePoint {
  step: number;
  env: string;
  meanReward: number;
  passRate: number;
}

/**
 * Upper end of the pass-rate axis: the largest pass rate rounded up to a tenth (a twentieth below
 * 10%), so that rates of a few percent are not drawn flat against a 0–100% axis; at least 5%.
 */
export function passRateAxisMax(points: CurvePoint[]): number {
  const max = Math.max(0, ...points.map((p) => p.passRate));
  const step = max < 0.1 ? 0.05 : 0.1;
  return Math.min(1, Math.max(0.05, Math.ceil(max / step - 1e-9) * step));
}

/**
 * The Vega-Lite spec of mean reward (left) and pass rate (right) per step, one line per environment.
 * Environments also differ by dash pattern and point shape, and lines are drawn slightly transparent
 * and wider for earlier environments, so lines that lie on top of each other (several environments
 * at 0, say) all stay visible.
 */
export function rewardCurveSpec(points: CurvePoint[], title: string): TopLevelSpec {
  const envs = [...new Set(points.map((p) => p.env))].sort();
  const width = Object.fromEntries(envs.map((e, i) => [e, 1.5 + 1.5 * (envs.length - 1 - i)]));
  const values = points.map((p) => ({ ...p, lineWidth: width[p.env] ?? 1.5 }));
  const env = { field: 'env', type: 'nominal' as const, title: 'environment', scale: { domain: envs } };
  const panel = (field: 'meanReward' | 'passRate', label: string) => ({
    width: 360,
    height: 240,
    mark: { type: 'line' as const, point: { filled: true, size: 50 }, opacity: 0.75 },
    encoding: {
      x: { field: 'step', type: 'quantitative' as const, title: 'step', axis: { tickMinStep: 1 } },
      y:
        field === 'passRate'
          ? {
              field,
              type: 'quantitative' as const,
              title: label,
              // padding: a line at 0% is drawn above the axis line, not on it
              scale: { domain: [0, passRateAxisMax(points)], padding: 8 },
              axis: { format: '.0%' },
            }
          : { field, type: 'quantitative' as const, title: label, scale: { padding: 8 } },
      color: env,
      strokeDash: env,
      shape: env,
      strokeWidth: { field: 'lineWidth', type: 'quantitative' as const, scale: null, legend: null },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: values as unknown as Record<string, unknown>[] },
    hconcat: [panel('meanReward', 'mean reward'), panel('passRate', 'pass rate (reward ≥ 1)')],
    config: { font: 'DejaVu Sans' },
  };
}

/** Renders the reward curves to an SVG string. */
export async function rewardCurveSvg(points: CurvePoint[], title: string): Promise<string> {
  const view = new vega.View(vega.parse(compile(rewardCurveSpec(points, title)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterises an SVG to PNG bytes at `scale`× on a white background. */
export function svgToPng(svg: string, scale = 2): Buffer {
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    background: 'white',
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
  });
  return resvg.render().asPng();
}
