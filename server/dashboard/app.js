// The multigym dashboard: the run list, and a run's page with reward, pass-rate, checker, length and
// KL curves, per-environment totals and a rollout browser. It reads only the JSON API of the server
// that serves it and polls while a run is going. No framework, no build step, no CDN.
import { chartSpecs } from './charts.js';
import { el, fmt, pct, renderCompletion } from './dom.js';

const POLL_MS = Number(new URLSearchParams(location.search).get('poll') ?? 2000);
const app = document.getElementById('app');

async function api(path, params = {}) {
  const q = new URLSearchParams(
    Object.entries(params).filter(([, v]) => v !== '' && v !== undefined && v !== null),
  );
  const res = await fetch(`/api${path}${q.size ? `?${q}` : ''}`);
  const body = await res.json();
  if (!res.ok) throw Object.assign(new Error(body.error ?? res.statusText), { field: body.field });
  return body;
}

// ── run list ────────────────────────────────────────────────────────────────────────────────────
async function showRuns() {
  document.title = 'multigym runs';
  const runs = await api('/runs');
  const rows = runs.map((r) =>
    el('tr', {}, [
      el('td', {}, [el('a', { href: `/runs/${encodeURIComponent(r.id)}` }, r.id)]),
      el('td', {}, r.name),
      el('td', {}, [el('span', { class: `status ${r.status}` }, r.status)]),
      el('td', {}, `${r.finishedSteps}${r.steps ? ` / ${r.steps}` : ''}`),
      el('td', {}, r.envs.map((e) => `${e} ${fmt(r.latest[e]?.meanReward)}`).join(' · ')),
      el('td', {}, new Date(r.createdAt).toLocaleString()),
    ]),
  );
  app.replaceChildren(
    el('h1', {}, 'runs'),
    runs.length === 0
      ? el('p', {}, 'No runs logged yet. Start one with `multigym run CONFIG.json`.')
      : el('table', { class: 'grid' }, [
          el('thead', {}, [
            el(
              'tr',
              {},
              ['run', 'name', 'status', 'steps', 'latest mean reward', 'created'].map((h) => el('th', {}, h)),
            ),
          ]),
          el('tbody', {}, rows),
        ]),
  );
}

// ── a run's page ────────────────────────────────────────────────────────────────────────────────
const CHARTS = ['reward', 'pass', 'checkers', 'length', 'kl', 'entropy', 'clip'];

async function showRun(runId) {
  document.title = `${runId} · multigym`;
  const [run, config] = await Promise.all([api(`/runs/${encodeURIComponent(runId)}`), api('/config')]);
  const header = el('div', { class: 'run-header' });
  const envTable = el('div', { id: 'env-table' });
  const charts = el(
    'section',
    { class: 'charts' },
    CHARTS.map((id) => el('div', { id: `chart-${id}`, class: 'chart', 'data-steps': '0' })),
  );
  const browser = rolloutBrowser(runId, run);
  app.replaceChildren(
    el('p', {}, [el('a', { href: '/' }, '← runs')]),
    header,
    charts,
    el('h2', {}, 'environments (all steps)'),
    envTable,
    browser.element,
  );
  let signature = '';
  const views = new Map();
  const refresh = async (detail) => {
    renderHeader(header, detail, config);
    const sig = `${detail.status}|${detail.finishedSteps}|${detail.rolloutEnvs.map((e) => `${e.env}:${e.rollouts}`).join(',')}`;
    if (sig === signature) return;
    signature = sig;
    const id = encodeURIComponent(runId);
    const [steps, checkers, train, envs] = await Promise.all([
      api(`/runs/${id}/steps`),
      api(`/runs/${id}/checkers`),
      api(`/runs/${id}/train`),
      api(`/runs/${id}/envs`),
    ]);
    const specs = chartSpecs(steps, checkers, train, detail.finishedSteps);
    const lastStep = steps.reduce((m, r) => Math.max(m, r.step), 0);
    for (const name of CHARTS) {
      const box = document.getElementById(`chart-${name}`);
      views.get(name)?.finalize();
      const result = await vegaEmbed(box, specs[name], {
        renderer: 'svg',
        actions: { export: true, source: false, compiled: false, editor: false },
      });
      views.set(name, result.view);
      box.dataset.steps = String(lastStep);
    }
    envTable.replaceChildren(renderEnvTable(envs));
    browser.updateFacets(detail);
  };
  await refresh(run);
  // Live: poll the run; curves and totals are re-read when its steps or rollouts change.
  const poll = async () => {
    if (!location.pathname.startsWith(`/runs/${encodeURIComponent(runId)}`)) return;
    try {
      await refresh(await api(`/runs/${encodeURIComponent(runId)}`));
      header.querySelector('.live')?.classList.remove('stale');
    } catch {
      header.querySelector('.live')?.classList.add('stale');
    }
    setTimeout(poll, POLL_MS);
  };
  setTimeout(poll, POLL_MS);
}

function renderHeader(header, run, config) {
  const ui = config.temporalUiUrl
    ? el(
        'a',
        {
          href: `${config.temporalUiUrl}/namespaces/default/workflows/${encodeURIComponent(run.id)}`,
          target: '_blank',
        },
        'Temporal UI ↗',
      )
    : null;
  const running = run.status === 'running';
  header.replaceChildren(
    el('h1', {}, [run.id, ' ', el('span', { class: `status ${run.status}` }, run.status)]),
    el('p', { class: 'facts' }, [
      el(
        'span',
        { id: 'finished-steps' },
        `step ${run.finishedSteps}${run.steps ? ` of ${run.steps}` : ''} trained`,
      ),
      ` · policy v${run.policyVersion ?? 0} · `,
      `${run.rolloutEnvs.reduce((a, e) => a + e.rollouts, 0)} training rollouts · `,
      run.envs.join(', '),
      ui ? ' · ' : '',
      ui ?? '',
      running ? el('span', { class: 'live', title: `refreshes every ${POLL_MS / 1000} s` }, ' ● live') : '',
    ]),
  );
}

function renderEnvTable(envs) {
  const head = [
    'env',
    'rollouts',
    'mean reward',
    'pass',
    'pass@group',
    'zero-var groups',
    'tokens',
    'truncated',
    'checker errors',
    'infra errors',
    'rejected',
  ];
  return el('table', { class: 'grid' }, [
    el('thead', {}, [
      el(
        'tr',
        {},
        head.map((h) => el('th', {}, h)),
      ),
    ]),
    el(
      'tbody',
      {},
      envs.map((e) =>
        el(
          'tr',
          {},
          [
            e.env,
            e.rollouts,
            fmt(e.meanReward),
            pct(e.passRate),
            pct(e.passAtK),
            `${e.zeroVarianceGroups} / ${e.groups}`,
            fmt(e.meanCompletionTokens, 1),
            pct(e.truncationRate),
            e.checkerErrors,
            e.infraErrors,
            e.rejected,
          ].map((v) => el('td', {}, String(v))),
        ),
      ),
    ),
  ]);
}

// ── rollout browser ─────────────────────────────────────────────────────────────────────────────
function rolloutBrowser(runId, run) {
  const field = (label, input) => {
    input.setAttribute('aria-label', label);
    return el('label', {}, [el('span', {}, label), input]);
  };
  const env = el('select', { name: 'env' });
  const checker = el('select', { name: 'checker' });
  const status = el(
    'select',
    { name: 'status' },
    ['', 'ok', 'checker_error', 'infra_error', 'rejected'].map((s) => el('option', { value: s }, s || 'any')),
  );
  const step = el('input', { name: 'step', placeholder: 'e.g. 3 or 2..5', size: 8 });
  const minReward = el('input', { name: 'min_reward', type: 'number', step: 'any', size: 6 });
  const maxReward = el('input', { name: 'max_reward', type: 'number', step: 'any', size: 6 });
  const grep = el('input', { name: 'grep', placeholder: 'text in completion', size: 16 });
  const order = el(
    'select',
    { name: 'order' },
    [
      ['-step', 'newest step'],
      ['step', 'oldest step'],
      ['reward', 'lowest reward'],
      ['-reward', 'highest reward'],
    ].map(([v, t]) => el('option', { value: v }, t)),
  );
  const message = el('p', { class: 'message', role: 'status' });
  const list = el('tbody');
  const detail = el(
    'div',
    { class: 'detail', id: 'rollout-detail' },
    'Pick a rollout to see its task, completion and checkers.',
  );
  const pager = el('p', { class: 'pager' });
  let offset = 0;
  const LIMIT = 25;
  const form = el('form', { class: 'filters', 'aria-label': 'rollout filters' }, [
    field('environment', env),
    field('step', step),
    field('checker', checker),
    field('min reward', minReward),
    field('max reward', maxReward),
    field('status', status),
    field('text', grep),
    field('order', order),
    el('button', { type: 'submit' }, 'Apply filters'),
  ]);
  const params = () => ({
    env: env.value,
    step: step.value.trim(),
    checker: checker.value,
    min_reward: minReward.value,
    max_reward: maxReward.value,
    status: status.value,
    grep: grep.value,
    order: order.value,
    limit: LIMIT,
    offset,
  });
  const load = async () => {
    message.textContent = 'loading…';
    try {
      const page = await api(`/runs/${encodeURIComponent(runId)}/rollouts`, params());
      list.replaceChildren(
        ...page.rows.map((r) => {
          const tr = el(
            'tr',
            { class: 'rollout', tabindex: '0', 'data-id': String(r.id) },
            [
              r.step,
              r.env,
              r.taskId,
              `#${r.sample}`,
              r.reward === null ? '-' : fmt(r.reward),
              r.status,
              r.rewards
                .map((c) => `${c.checker} ${c.value === null ? c.status : fmt(c.value, 2)}`)
                .join(', '),
            ].map((v) => el('td', {}, String(v))),
          );
          const open = () => {
            for (const row of list.querySelectorAll('tr.selected')) row.classList.remove('selected');
            tr.classList.add('selected');
            detail.replaceChildren(renderRollout(r));
          };
          tr.addEventListener('click', open);
          tr.addEventListener('keydown', (e) => e.key === 'Enter' && open());
          return tr;
        }),
      );
      message.textContent =
        page.total === 0 ? 'no rollouts match these filters' : `${page.total} rollouts match`;
      pager.replaceChildren(
        el(
          'button',
          {
            type: 'button',
            disabled: offset === 0 ? '' : undefined,
            onclick: () => turnPage(-LIMIT),
          },
          '← previous',
        ),
        ` ${page.total ? offset + 1 : 0}–${offset + page.rows.length} of ${page.total} `,
        el(
          'button',
          {
            type: 'button',
            disabled: offset + LIMIT >= page.total ? '' : undefined,
            onclick: () => turnPage(LIMIT),
          },
          'next →',
        ),
      );
    } catch (err) {
      message.textContent = err.message;
      message.classList.add('error');
      return;
    }
    message.classList.remove('error');
  };
  const turnPage = (by) => {
    offset = Math.max(0, offset + by);
    void load();
  };
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    offset = 0;
    void load();
  });
  const updateFacets = (d) => {
    const keep = (select, values, anyLabel) => {
      const current = select.value;
      select.replaceChildren(
        el('option', { value: '' }, anyLabel),
        ...values.map((v) => el('option', { value: v }, v)),
      );
      select.value = values.includes(current) ? current : '';
    };
    keep(env, [...new Set([...d.envs, ...d.rolloutEnvs.map((e) => e.env)])], 'any');
    keep(checker, [...new Set(d.checkers.map((c) => c.checker))], 'any');
  };
  updateFacets(run);
  void load();
  const element = el('section', { class: 'browser' }, [
    el('h2', {}, 'rollouts'),
    form,
    message,
    el('div', { class: 'split' }, [
      el('div', {}, [
        el('table', { class: 'grid rollouts' }, [
          el('thead', {}, [
            el(
              'tr',
              {},
              ['step', 'env', 'task', 'sample', 'reward', 'status', 'checkers'].map((h) => el('th', {}, h)),
            ),
          ]),
          list,
        ]),
        pager,
      ]),
      detail,
    ]),
  ]);
  return { element, updateFacets };
}

function renderRollout(r) {
  // Tool turns and multi-turn conversations are shown turn by turn; a single answer is the completion.
  const all = r.turns ?? [];
  const multiTurn =
    all.some((t) => t.role === 'tool') || all.filter((t) => t.role === 'assistant').length > 1;
  const turns = multiTurn ? all : [];
  return el('div', {}, [
    el('h3', {}, `${r.env} · ${r.taskId} · sample #${r.sample} · step ${r.step}`),
    el(
      'p',
      { class: 'facts' },
      `reward ${r.reward === null ? '-' : fmt(r.reward)} · advantage ${fmt(r.advantage)} · ${r.status}${r.error ? ` (${r.error})` : ''} · ${r.completionTokens} completion tokens, finish ${r.finishReason} · policy v${r.policyVersion}`,
    ),
    el('h4', {}, 'checkers'),
    el('table', { class: 'grid checkers' }, [
      el('thead', {}, [
        el(
          'tr',
          {},
          ['checker', 'weight', 'status', 'value', 'reason'].map((h) => el('th', {}, h)),
        ),
      ]),
      el(
        'tbody',
        {},
        r.rewards.map((c) =>
          el('tr', { 'data-checker': c.checker }, [
            el('td', {}, c.checker),
            el('td', {}, fmt(c.weight, 2)),
            el('td', {}, c.status),
            el('td', {}, c.value === null ? '-' : fmt(c.value)),
            el('td', { class: 'reason' }, [
              c.reason,
              el('details', {}, [
                el('summary', {}, 'details'),
                el('pre', {}, JSON.stringify(c.details, null, 2)),
              ]),
            ]),
          ]),
        ),
      ),
    ]),
    el('h4', {}, 'task'),
    el('pre', { class: 'task' }, JSON.stringify(r.task, null, 2)),
    el('h4', {}, 'completion'),
    renderCompletion(r.completion),
    turns.length > 0 ? el('h4', {}, 'turns') : '',
    ...turns.map((t) =>
      el('div', { class: `turn ${t.role}` }, [
        el('span', { class: 'role' }, t.role),
        t.role === 'assistant'
          ? renderCompletion(String(t.content ?? ''))
          : el('pre', {}, String(t.content ?? '')),
      ]),
    ),
  ]);
}

// ── routing ─────────────────────────────────────────────────────────────────────────────────────
const route = async () => {
  const m = /^\/runs\/([^/]+)/.exec(location.pathname);
  try {
    if (m) await showRun(decodeURIComponent(m[1]));
    else await showRuns();
  } catch (err) {
    app.replaceChildren(
      el('p', { class: 'message error' }, err.message),
      el('p', {}, [el('a', { href: '/' }, '← runs')]),
    );
  }
};
void route();
