/**
 * `format`: the share of required format rules the completion follows, in [0, 1] (or 0/1 with
 * `mode: "all"`).
 *
 * Rules: `think` — a closed `<think>…</think>` block opens the completion; `boxed` — a non-empty
 * `\boxed{}` after any think block; `single-boxed` — exactly one `\boxed{}` in the completion;
 * `no-trailing-text` — nothing but punctuation, `$` or closing tags after the last `\boxed{}`.
 * Config: `require` (default ["boxed"]), `mode` ("fraction", default, or "all"). Details list each
 * rule's verdict.
 */
import { z } from 'zod';
import { defineReward } from '../api.js';
import { braceGroup, lastBoxed } from './math/extract.js';

/** Format rules the checker knows. */
export const FORMAT_RULES = ['think', 'boxed', 'single-boxed', 'no-trailing-text'] as const;
type FormatRule = (typeof FORMAT_RULES)[number];

const config = z
  .object({
    require: z
      .array(z.enum(FORMAT_RULES))
      .min(1)
      .default(['boxed'])
      .describe('Rules to check: think, boxed, single-boxed, no-trailing-text (default ["boxed"]).'),
    mode: z
      .enum(['fraction', 'all'])
      .default('fraction')
      .describe('fraction: share of rules followed (default); all: 1 only when every rule holds.'),
  })
  .describe('format checker config.');

const THINK = /^\s*<think>[\s\S]*?<\/think>/;

function afterThink(text: string): string {
  const m = THINK.exec(text);
  return m ? text.slice(m[0].length) : text;
}

const RULES: Record<FormatRule, (text: string) => boolean> = {
  think: (text) => THINK.test(text),
  boxed: (text) => (lastBoxed(afterThink(text)) ?? '').trim() !== '',
  'single-boxed': (text) => (text.match(/\\(?:boxed|fbox)\s*\{/g) ?? []).length === 1,
  'no-trailing-text': (text) => {
    const at = text.lastIndexOf('\\boxed');
    if (at < 0) return false;
    const open = text.indexOf('{', at);
    const group = open < 0 ? null : braceGroup(text, open);
    return group !== null && /^[\s.$)\]\\}]*(<\/\w+>\s*)*$/.test(text.slice(group.end));
  },
};

/** The `format` checker. */
export const format = defineReward({
  name: 'format',
  description: 'Share of format rules followed (<think> block, \\boxed{} answer, …): in [0, 1].',
  configSchema: config,
  score(trajectory, _task, cfg) {
    const verdicts = Object.fromEntries(
      cfg.require.map((rule) => [rule, RULES[rule](trajectory.completion)]),
    );
    const passed = Object.values(verdicts).filter(Boolean).length;
    const value = cfg.mode === 'all' ? (passed === cfg.require.length ? 1 : 0) : passed / cfg.require.length;
    return { value, details: { rules: verdicts } };
  },
});

export default format;
