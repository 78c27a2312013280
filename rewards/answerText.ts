/**
 * What the answer of a completion is: the one rule every built-in checker and the tool-call parser
 * share, so reasoning is never scored as the answer (DESIGN.md, "A reward is earned, never forged").
 *
 * - The answer is the text after the last `</think>`.
 * - A lone `</think>` (the chat template put `<think>` in the prompt) ends the reasoning: everything
 *   before it is reasoning.
 * - A `<think>` that is never closed (no `</think>` after it) means the model gave no answer: the
 *   text is all reasoning, cut by the token limit or a reasoning budget.
 * - A sample that stopped at the token limit (`finish_reason: "length"`) has no final answer: what it
 *   wrote last was cut, and completing it (a number missing its last digits, a `\boxed{` without its
 *   closing brace, a sentence that was about to revise it) would reward text the model never finished.
 *   Checkers give it the reward of a missing answer. (Tool calls in a cut turn are read by the
 *   tool-call parser, which refuses only the call that was cut: see `tool-call-parse.ts`.)
 *
 * Multi-turn trajectories apply the rule per assistant turn (`assistantTurns`).
 */
import type { ScoredTrajectory } from './api.js';

/** The tags around reasoning (DeepSeek-R1, Qwen3 and the policy worker's reasoning budget). */
export const THINK_OPEN = '<think>';
export const THINK_CLOSE = '</think>';

/** Why a completion has no answer text. */
export const NoAnswer = {
  /** A `<think>` block was opened and never closed. */
  unclosedThink: 'unclosed_think',
  /** The sample stopped at the token limit (`finish_reason: "length"`). */
  truncated: 'truncated',
} as const;
export type NoAnswer = (typeof NoAnswer)[keyof typeof NoAnswer];

/** A completion split into its reasoning and its answer. */
export interface AnswerSplit {
  /** The answer text (not trimmed), or null when the completion gives none (see `missing`). */
  text: string | null;
  /** Everything before the answer: the reasoning, with its tags; "" when there is none. */
  reasoning: string;
  /** Why `text` is null; absent when there is an answer. */
  missing?: NoAnswer;
}

/** Options of `answerText`. */
export interface AnswerTextOptions {
  /**
   * The sample's finish reason (`stop`, `eos`, `length`); `length` means no answer. Unknown
   * (undefined) is read as a sample that finished.
   */
  finishReason?: string;
}

/**
 * Splits one model message into reasoning and answer by the rules of the module comment. Never throws.
 *
 * @param message the text of one assistant turn (or a single-turn completion)
 * @returns `{ text, reasoning, missing? }`; `text` is null for an unclosed `<think>` or a cut sample
 */
export function answerText(message: string, options: AnswerTextOptions = {}): AnswerSplit {
  const close = message.lastIndexOf(THINK_CLOSE);
  const answerStart = close < 0 ? 0 : close + THINK_CLOSE.length;
  const reasoning = message.slice(0, answerStart);
  if (message.indexOf(THINK_OPEN, answerStart) >= 0) {
    return { text: null, reasoning: message, missing: NoAnswer.unclosedThink };
  }
  if (options.finishReason === 'length') return { text: null, reasoning, missing: NoAnswer.truncated };
  return { text: message.slice(answerStart), reasoning };
}

/** One assistant turn of a trajectory: its text and why its sampling stopped, when known. */
export interface AssistantTurn {
  content: string;
  finishReason?: string;
}

/**
 * The assistant turns of a trajectory, oldest first: `turns` with role `assistant`, or the whole
 * completion as one turn when the trajectory has none (raw text, `multigym score`). A turn's finish
 * reason is its own `finishReason` field, else the trajectory's for the last turn.
 */
export function assistantTurns(trajectory: ScoredTrajectory): AssistantTurn[] {
  const turns = trajectory.turns?.filter((t) => t.role === 'assistant') ?? [];
  if (turns.length === 0) {
    return [{ content: trajectory.completion, finishReason: trajectory.finishReason }];
  }
  return turns.map((t, i) => {
    const own = typeof t.finishReason === 'string' ? t.finishReason : undefined;
    const last = i === turns.length - 1;
    return { content: t.content, finishReason: own ?? (last ? trajectory.finishReason : undefined) };
  });
}

/**
 * The final answer of a trajectory: `answerText` of its last assistant turn, with that turn's finish
 * reason. This is what answer checkers (exact-match, numeric, math-equivalence, needle-recall…) score.
 */
export function finalAnswerText(trajectory: ScoredTrajectory): AnswerSplit {
  const turns = assistantTurns(trajectory);
  const last = turns[turns.length - 1]!;
  return answerText(last.content, { finishReason: last.finishReason });
}
