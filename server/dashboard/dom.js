// Small DOM helpers of the dashboard: element creation, number formats, and a completion with its
// reasoning folded away.

/** Creates an element; `attrs` values of undefined are skipped, functions become listeners. */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (typeof v === 'function') node.addEventListener(k.replace(/^on/, ''), v);
    else node.setAttribute(k, v);
  }
  for (const c of Array.isArray(children) ? children : [children]) {
    if (c === '' || c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const fmt = (x, d = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '-');
export const pct = (x) => (typeof x === 'number' && Number.isFinite(x) ? `${(x * 100).toFixed(0)}%` : '-');

/**
 * A completion with its reasoning folded: `<think>…</think>`, or everything before a lone `</think>`,
 * goes into a closed <details>; the answer stays visible (rewards/answerText.ts's rule).
 */
export function renderCompletion(text) {
  const end = text.lastIndexOf('</think>');
  if (end < 0) {
    const open = text.indexOf('<think>');
    if (open < 0) return el('pre', { class: 'completion' }, text);
    // An unclosed <think>: all of it is reasoning, there is no answer.
    return el('div', { class: 'completion' }, [
      el('pre', {}, text.slice(0, open)),
      el('details', { class: 'reasoning' }, [
        el('summary', {}, `reasoning, unclosed (${text.length - open} chars, no answer)`),
        el('pre', {}, text.slice(open)),
      ]),
    ]);
  }
  const start = text.indexOf('<think>');
  const before = start >= 0 && start < end ? text.slice(0, start) : '';
  const reasoning = text.slice(start >= 0 && start < end ? start : 0, end + '</think>'.length);
  return el('div', { class: 'completion' }, [
    before ? el('pre', {}, before) : '',
    el('details', { class: 'reasoning' }, [
      el('summary', {}, `reasoning (${reasoning.length} chars)`),
      el('pre', {}, reasoning),
    ]),
    el('pre', { class: 'answer' }, text.slice(end + '</think>'.length)),
  ]);
}
