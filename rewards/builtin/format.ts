/**
 * `format`: the share of required format rules the completion follows, in [0, 1] (or 0/1 with
 * `mode: "all"`).
 *
 * Rules, on the final assistant turn: `think` — the completion opens with closed reasoning (a
 * `<think>…</think>` block, or reasoning ended by a lone `</think>` when the chat template opened the
 * block) that holds a letter or digit (an empty `<think></think>` is no reasoning); the other rules
 * read the answer text after the reasoning (`rewards/answerText.ts`), which an unclosed `<think>` or
 * a sample cut at the token limit does not have: `boxed` — a `\boxed{}` that states something
 * (`boxStatesSomething`: not `\boxed{\text{}}`, `\boxed{\,}`, `\boxed{.}`); `single-boxed` — exactly
 * one `\boxed{}` (drafts inside the reasoning do not count);
 * `no-trailing-text` — nothing but punctuation, `$` or closing tags after the last `\boxed{}`.
 * Config: `require` (default ["boxed"]), `mode` ("fraction", default, or "all"). Details list each
 * rule's verdict.
 */
import { z } from 'zod';
import { type AnswerSplit, answerText, assistantTurns } from '../answerText.js';
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

/** What the rules read of the final turn: its reasoning split with and without its finish reason. */
interface Parts {
  /** Split ignoring the finish reason: the think rule is about form, not about the cut. */
  form: AnswerSplit;
  /** The answer text, null when there is none (unclosed `<think>`, cut at the token limit). */
  answer: string | null;
}

/** Reasoning with its tags removed holds a letter or digit (`<think></think>`, `<think>\n</think>` do not). */
const hasThought = (reasoning: string) => /[\p{L}\p{N}]/u.test(reasoning.replace(/<\/?think>/g, ''));

/**
 * A box content that states something: a letter, digit or command (`\pi`, `\emptyset`) once spacing
 * (`\,`, `\quad`, `~`), empty groups (`{}`, `\text{}`, `\text{ }`), braces and spaces are removed.
 * `\boxed{\text{}}`, `\boxed{{}}`, `\boxed{\,}`, `\boxed{.}` are empty boxes.
 */
export function boxStatesSomething(content: string): boolean {
  let c = content.replace(/\\(?:[,;:! ]|q?quad\b)|~/g, ' ');
  for (let prev = ''; prev !== c; ) {
    prev = c;
    c = c.replace(/(?:\\[a-zA-Z]+\s*)?\{\s*\}/g, '');
  }
  return /[\p{L}\p{N}\\]/u.test(c);
}

const RULES: Record<FormatRule, (p: Parts) => boolean> = {
  think: ({ form }) => {
    const reasoning = form.reasoning.trim();
    if (form.text === null || !hasThought(reasoning)) return false;
    return reasoning.startsWith('<think>') || !reasoning.includes('<think>');
  },
  boxed: ({ answer }) => answer !== null && boxStatesSomething(lastBoxed(answer) ?? ''),
  'single-boxed': ({ answer }) =>
    answer !== null && (answer.match(/\\(?:boxed|fbox)\s*\{/g) ?? []).length === 1,
  'no-trailing-text': ({ answer }) => {
    const at = answer === null ? -1 : answer.lastIndexOf('\\boxed');
    if (answer === null || at < 0) return false;
    const open = answer.indexOf('{', at);
    const group = open < 0 ? null : braceGroup(answer, open);
    return group !== null && /^[\s.$)\]\\}]*(<\/\w+>\s*)*$/.test(answer.slice(group.end));
  },
};

/** The `format` checker. */
export const format = defineReward({
  name: 'format',
  description: 'Share of format rules followed (<think> block, \\boxed{} answer, …): in [0, 1].',
  configSchema: config,
  range: [0, 1],
  score(trajectory, _task, cfg) {
    const turns = assistantTurns(trajectory);
    const last = turns[turns.length - 1]!;
    const parts: Parts = {
      form: answerText(last.content),
      answer: answerText(last.content, { finishReason: last.finishReason }).text,
    };
    const verdicts = Object.fromEntries(cfg.require.map((rule) => [rule, RULES[rule](parts)]));
    const passed = Object.values(verdicts).filter(Boolean).length;
    const value = cfg.mode === 'all' ? (passed === cfg.require.length ? 1 : 0) : passed / cfg.require.length;
    return { value, details: { rules: verdicts } };
  },
});

export default format;
