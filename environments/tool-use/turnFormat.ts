/**
 * How the conversation continues after an assistant turn, as text the policy's tokenizer reads: the
 * tool results and the next generation prompt. Multi-turn rollouts build every later prompt from the
 * exact tokens the model sampled plus these inserted tokens (`/v1/tokenize`), so the token stream GRPO
 * trains on is exactly what the model saw; the inserted tokens get mask 0.
 *
 * `chatml` matches the worker's built-in template (`<|im_start|>{role}\n{content}<|im_end|>\n`, tool
 * results as `tool` messages). `qwen` matches Qwen2.5/Qwen3 templates, which send tool results as a
 * `user` turn of `<tool_response>` blocks. Both are split at special tokens, so tokenizing an insert
 * on its own gives the same ids as tokenizing the whole conversation.
 */
import type { ChatMessage } from '../../policy/protocol.js';

/** A chat-template family. */
export interface TurnFormat {
  name: string;
  /** Text that closes an assistant turn (when the sample did not end with an end-of-turn token). */
  endOfTurn: string;
  /** Text between the end-of-turn token and the next message. */
  afterEnd: string;
  /** The tool results of one assistant turn followed by the next assistant generation prompt. */
  toolTurns(results: { name: string; content: string }[]): string;
  /** A whole conversation with a generation prompt, without BOS (the worker's `prompt` adds it). */
  render(messages: ChatMessage[]): string;
}

const chatmlMessage = (role: string, content: string): string =>
  `<|im_start|>${role}\n${content}<|im_end|>\n`;

/** The worker's built-in ChatML template, tool results as `tool` messages. */
export const chatml: TurnFormat = {
  name: 'chatml',
  endOfTurn: '<|im_end|>',
  afterEnd: '\n',
  toolTurns: (results) =>
    `${results.map((r) => chatmlMessage('tool', r.content)).join('')}<|im_start|>assistant\n`,
  render: (messages) =>
    `${messages.map((m) => chatmlMessage(m.role, m.content)).join('')}<|im_start|>assistant\n`,
};

/** Qwen2.5 / Qwen3: consecutive tool results in one `user` turn of `<tool_response>` blocks. */
export const qwen: TurnFormat = {
  name: 'qwen',
  endOfTurn: '<|im_end|>',
  afterEnd: '\n',
  toolTurns: (results) =>
    `<|im_start|>user\n${results.map((r) => `<tool_response>\n${r.content}\n</tool_response>`).join('\n')}<|im_end|>\n<|im_start|>assistant\n`,
  render: (messages) => {
    let out = '';
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.role !== 'tool') {
        out += chatmlMessage(m.role, m.content);
        continue;
      }
      const block: string[] = [];
      while (i < messages.length && messages[i]!.role === 'tool') block.push(messages[i++]!.content);
      i--;
      out += chatmlMessage('user', block.map((c) => `<tool_response>\n${c}\n</tool_response>`).join('\n'));
    }
    return `${out}<|im_start|>assistant\n`;
  },
};

/** Turn formats by name (config field `turnFormat`). */
export const TURN_FORMATS = { chatml, qwen } as const;
export type TurnFormatName = keyof typeof TURN_FORMATS;
