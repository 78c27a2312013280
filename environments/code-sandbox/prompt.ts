/** Prompts and demonstrations of code tasks, in completion (raw text) or chat form. */
import type { Prompt } from '../singleTurn.js';
import type { CodeTaskData } from './task.js';

const FENCE = '```';

/** The problem as text: statement, the first tests (they fix the function name), I/O convention. */
function statement(task: CodeTaskData): string {
  const parts = [task.description.trim()];
  if (task.format === 'mbpp' && task.tests?.length) {
    parts.push(`Your code should pass these tests:\n${task.tests.join('\n')}`);
  }
  if (task.cases) parts.push('Read the input from standard input and write the answer to standard output.');
  return parts.filter(Boolean).join('\n\n');
}

/**
 * The completion-style text: the code prefix when there is one (the model writes the body), else the
 * statement in a docstring followed by nothing (the model writes the program).
 */
export function completionText(task: CodeTaskData): string {
  if (task.codePrefix !== undefined) return task.codePrefix;
  return `"""\n${statement(task)}\n"""\n`;
}

/** The prompt of a task in the configured style. */
export function renderPrompt(task: CodeTaskData, style: 'completion' | 'chat'): Prompt {
  if (style === 'completion') return { text: completionText(task) };
  const ask =
    task.codePrefix !== undefined
      ? `Complete this ${task.language} function:\n\n${FENCE}${task.language}\n${task.codePrefix}${FENCE}\n\n` +
        `Write the whole function in one ${FENCE}${task.language} code block.`
      : `${statement(task)}\n\nWrite the ${task.language} solution in one ${FENCE}${task.language} code block.`;
  return { messages: [{ role: 'user', content: ask }] };
}

/** The reference completion in the prompt's style, or undefined when the task has no solution. */
export function referenceCompletion(task: CodeTaskData, style: 'completion' | 'chat'): string | undefined {
  if (task.solution === undefined) return undefined;
  if (style === 'completion') return task.solution;
  const code = task.codePrefix !== undefined ? task.codePrefix + task.solution : task.solution;
  return `${FENCE}${task.language}\n${code.replace(/\n*$/, '\n')}${FENCE}`;
}

/** A prompt as plain text (chat prompts: the user messages joined), for demonstrations. */
export function promptText(prompt: Prompt): string {
  return 'text' in prompt ? prompt.text : prompt.messages.map((m) => m.content).join('\n\n');
}
