/** Prompt templates of the math environment: plain text or chat, with the `\boxed{}` instruction. */
import type { Prompt } from '../singleTurn.js';
import type { MathConfig } from './config.js';

/** The plain-text prompt: `Question: …\n<instruction>\nAnswer:`. */
export function plainPrompt(question: string, prompt: MathConfig['prompt']): string {
  return `Question: ${question}\n${prompt.instruction}\nAnswer:`;
}

/** The prompt of a question under the configured template. */
export function renderPrompt(question: string, prompt: MathConfig['prompt']): Prompt {
  if (prompt.template === 'plain') return { text: plainPrompt(question, prompt) };
  const user = { role: 'user' as const, content: `${question}\n\n${prompt.instruction}` };
  return { messages: prompt.system ? [{ role: 'system', content: prompt.system }, user] : [user] };
}
