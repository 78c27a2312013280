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

/** The Vega-Lite spec of mean reward (left) and pass rate (right) per step, one line per environment. */
export function rewardCurveSpec(points: CurvePoint[], title: string): TopLevelSpec {
  const panel = (field: 'meanReward' | 'passRate', label: string) => ({
    width: 360,
    height: 240,
    mark: { type: 'line' as const, point: true },
    encoding: {
      x: { field: 'step', type: 'quantitative' as const, title: 'step', axis: { tickMinStep: 1 } },
      y:
        field === 'passRate'
          ? {
              field,
              type: 'quantitative' as const,
              title: label,
              scale: { domain: [0, 1] },
              axis: { format: '.0%' },
            }
          : { field, type: 'quantitative' as const, title: label },
      color: { field: 'env', type: 'nominal' as const, title: 'environment' },
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: points as unknown as Record<string, unknown>[] },
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
