/**
 * Writing calls out: the three call formats the parser reads (for demonstrations and tests), and the
 * reference calls of a BFCL-style ground truth (its first acceptable value per parameter).
 */
import type { FunctionSpec, GroundTruthCall, ParamSchema } from '../../rewards/builtin/tool-task.js';

/** A concrete call: function name and argument object. */
export interface Call {
  name: string;
  arguments: Record<string, unknown>;
}

/** How calls are written in a completion. */
export const CallStyle = { hermes: 'hermes', openai: 'openai', json: 'json', pythonic: 'pythonic' } as const;
export type CallStyle = (typeof CallStyle)[keyof typeof CallStyle];

/**
 * Writes calls in one format: Hermes `<tool_call>` blocks (one per call), an OpenAI `tool_calls`
 * object (arguments as a JSON string), bare JSON (an object for one call, an array for several), or a
 * pythonic list `[f(a="x", b=[1, 2]), g(c=True)]` (Llama 3.2, BFCL).
 */
export function formatCalls(calls: Call[], style: CallStyle = CallStyle.hermes): string {
  switch (style) {
    case CallStyle.hermes:
      return calls
        .map((c) => `<tool_call>\n${JSON.stringify({ name: c.name, arguments: c.arguments })}\n</tool_call>`)
        .join('\n');
    case CallStyle.openai:
      return JSON.stringify({
        tool_calls: calls.map((c, i) => ({
          id: `call_${i}`,
          type: 'function',
          function: { name: c.name, arguments: JSON.stringify(c.arguments) },
        })),
      });
    case CallStyle.json: {
      const objs = calls.map((c) => ({ name: c.name, arguments: c.arguments }));
      return JSON.stringify(objs.length === 1 ? objs[0] : objs);
    }
    case CallStyle.pythonic: {
      const call = (c: Call) =>
        `${c.name}(${Object.entries(c.arguments)
          .map(([k, v]) => `${k}=${pythonLiteral(v)}`)
          .join(', ')})`;
      return `[${calls.map(call).join(', ')}]`;
    }
  }
}

/** A JSON value as a Python literal (JSON string escapes are valid Python escapes). */
function pythonLiteral(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (Array.isArray(v)) return `[${v.map(pythonLiteral).join(', ')}]`;
  if (typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>);
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}: ${pythonLiteral(x)}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** First acceptable value of a list of alternatives (`""` = omit → undefined); nested dicts resolved too. */
function pickValue(alternatives: unknown[]): unknown {
  const first = alternatives.find((a) => a !== '');
  if (first === undefined) return undefined;
  return resolveNested(first);
}

/** A nested dict in BFCL answers maps keys to lists of alternatives; a list may hold such dicts. */
function resolveNested(value: unknown): unknown {
  if (isPlainObject(value) && Object.values(value).every(Array.isArray)) {
    const out: Record<string, unknown> = {};
    for (const [k, alts] of Object.entries(value)) {
      const v = pickValue(alts as unknown[]);
      if (v !== undefined) out[k] = v;
    }
    return out;
  }
  if (Array.isArray(value) && value.some((v) => isPlainObject(v) && Object.values(v).every(Array.isArray))) {
    return value.map(resolveNested);
  }
  return value;
}

/**
 * The reference calls of a ground truth: for each parameter its first acceptable value; optional ones
 * left out. With `functions`, an optional parameter that the function's schema does not declare is left
 * out too (a few BFCL answers list one under the wrong function).
 */
export function referenceCalls(groundTruth: GroundTruthCall[], functions?: FunctionSpec[]): Call[] {
  return groundTruth.map((gt) => {
    const [name, params] = Object.entries(gt)[0] ?? ['', {}];
    const fn = functions?.find((f) => f.name === name);
    const declared = (fn?.parameters as ParamSchema | undefined)?.properties;
    const args: Record<string, unknown> = {};
    for (const [param, alternatives] of Object.entries(params)) {
      if (declared && !(param in declared) && alternatives.includes('')) continue;
      const v = pickValue(alternatives);
      if (v !== undefined) args[param] = v;
    }
    return { name, arguments: args };
  });
}
