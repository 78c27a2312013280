// Vega-Lite specs of the dashboard's curves: steps on the x axis, one line per environment (or per
// checker, or per metric), a legend, and tooltips with the values under the pointer. Rendered by
// vega-embed as SVG (each point carries an aria-label with its values).

const STEP = { field: 'step', type: 'quantitative', title: 'step', axis: { tickMinStep: 1, format: 'd' } };

/** A line chart of `field` over steps, coloured by `series`. */
function lines({
  title,
  values,
  field,
  label,
  series = 'env',
  seriesTitle = 'environment',
  format = '.3f',
  percent = false,
  tooltip = [],
}) {
  const y = { field, type: 'quantitative', title: label, axis: { format: '~g' } };
  if (percent) Object.assign(y, { axis: { format: '.0%' }, scale: { domain: [0, 1] } });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 'container',
    height: 220,
    data: { values },
    mark: { type: 'line', point: { size: 40 }, tooltip: true },
    encoding: {
      x: STEP,
      y,
      color: {
        field: series,
        type: 'nominal',
        title: seriesTitle,
        legend: { orient: 'bottom', columns: 2, labelLimit: 320 },
      },
      tooltip: [
        { field: 'step', type: 'quantitative', title: 'step' },
        { field: series, type: 'nominal', title: seriesTitle },
        { field, type: 'quantitative', title: label, format: percent ? '.1%' : format },
        ...tooltip,
        { field: 'state', type: 'nominal', title: 'status' },
      ],
    },
    config: { font: 'system-ui, sans-serif', view: { stroke: null } },
  };
}

/**
 * Chart specs keyed by container name, from the API's steps, checkers and train rows. Steps after
 * `finishedSteps` are still sampling: their points say so in the tooltip (partial).
 */
export function chartSpecs(stepRows, checkerRowsIn, train, finishedSteps) {
  const state = (r) => ({ ...r, state: r.step > finishedSteps ? 'sampling (partial)' : 'trained' });
  const steps = stepRows.map(state);
  const checkers = checkerRowsIn.map(state);
  const scored = steps.filter((r) => r.meanReward !== null);
  const errors = [
    { field: 'checkerErrors', type: 'quantitative', title: 'checker errors' },
    { field: 'infraErrors', type: 'quantitative', title: 'infra errors' },
    { field: 'scored', type: 'quantitative', title: 'scored rollouts' },
  ];
  const checkerRows = checkers
    .filter((r) => r.mean !== null)
    .map((r) => ({ ...r, series: `${r.env} · ${r.checker}` }));
  const trainRows = train.flatMap((t) =>
    ['kl', 'entropy', 'clip_frac_low', 'clip_frac_high']
      .filter((m) => typeof t.train[m] === 'number')
      .map((metric) => ({ step: t.step, metric, value: t.train[metric], state: 'trained' })),
  );
  const pick = (names) => trainRows.filter((r) => names.includes(r.metric));
  const metric = { series: 'metric', seriesTitle: 'metric', field: 'value' };
  return {
    reward: lines({
      title: 'mean reward',
      values: scored,
      field: 'meanReward',
      label: 'mean reward',
      tooltip: errors,
    }),
    pass: lines({
      title: 'pass rate (reward ≥ 1)',
      values: scored,
      field: 'passRate',
      label: 'pass rate',
      percent: true,
      tooltip: [{ field: 'passAtK', type: 'quantitative', title: 'pass@group', format: '.1%' }],
    }),
    checkers: lines({
      title: 'reward checkers (mean value)',
      values: checkerRows,
      field: 'mean',
      label: 'mean value',
      series: 'series',
      seriesTitle: 'env · checker',
      tooltip: [
        { field: 'n', type: 'quantitative', title: 'scored' },
        { field: 'checkerErrors', type: 'quantitative', title: 'checker errors' },
      ],
    }),
    length: lines({
      title: 'completion length',
      values: steps,
      field: 'meanCompletionTokens',
      label: 'mean tokens',
      format: '.1f',
      tooltip: [
        { field: 'maxCompletionTokens', type: 'quantitative', title: 'max tokens' },
        { field: 'truncationRate', type: 'quantitative', title: 'truncated', format: '.1%' },
      ],
    }),
    kl: lines({
      ...metric,
      title: 'KL to the reference policy',
      values: pick(['kl']),
      label: 'KL',
      format: '.5f',
    }),
    entropy: lines({
      ...metric,
      title: 'policy entropy (nats per token)',
      values: pick(['entropy']),
      label: 'entropy',
      format: '.4f',
    }),
    clip: lines({
      ...metric,
      title: 'clip fractions',
      values: pick(['clip_frac_low', 'clip_frac_high']),
      label: 'share of tokens',
      format: '.4f',
    }),
  };
}
