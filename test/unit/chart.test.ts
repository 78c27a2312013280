/** The report's reward chart: the pass-rate axis scales to the data, overlapping lines stay apart. */
import { describe, expect, it } from 'vitest';
import { type CurvePoint, passRateAxisMax, rewardCurveSpec, rewardCurveSvg } from '../../cli/report/chart.js';

const points = (passRates: Record<string, number[]>): CurvePoint[] =>
  Object.entries(passRates).flatMap(([env, rates]) =>
    rates.map((passRate, i) => ({ step: i + 1, env, meanReward: passRate, passRate })),
  );

describe('reward chart', () => {
  it('the pass-rate axis ends just above the largest rate, not at 100%', () => {
    expect(passRateAxisMax(points({ math: [0, 0] }))).toBe(0.05);
    expect(passRateAxisMax(points({ math: [0.03, 0.04] }))).toBe(0.05);
    expect(passRateAxisMax(points({ math: [0.03, 0.083] }))).toBe(0.1);
    expect(passRateAxisMax(points({ math: [0.2, 0.33] }))).toBeCloseTo(0.4);
    expect(passRateAxisMax(points({ math: [0.9, 1] }))).toBe(1);
  });

  it('environments differ by colour, dash and shape, earlier ones drawn wider; SVG names them all', async () => {
    const data = points({ 'code-sandbox': [0, 0, 0], 'long-context': [0, 0, 0], math: [0.03, 0.06, 0.08] });
    const spec = rewardCurveSpec(data, 't') as unknown as {
      hconcat: { encoding: Record<string, { field?: string; scale?: { domain?: number[] } }> }[];
      data: { values: { env: string; lineWidth: number }[] };
    };
    const pass = spec.hconcat[1]!.encoding;
    expect(pass.y!.scale!.domain).toEqual([0, 0.1]);
    for (const channel of ['color', 'strokeDash', 'shape']) expect(pass[channel]!.field).toBe('env');
    const width = (env: string) => spec.data.values.find((v) => v.env === env)!.lineWidth;
    expect(width('code-sandbox')).toBeGreaterThan(width('long-context'));
    expect(width('long-context')).toBeGreaterThan(width('math'));
    const svg = await rewardCurveSvg(data, 't');
    for (const env of ['code-sandbox', 'long-context', 'math']) expect(svg).toContain(env);
  });
});
