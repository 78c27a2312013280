/**
 * Turns a completion into the program to test. Three shapes of answer are recognised:
 * - a fenced block (```python … ```; an unclosed last fence, as when the model stopped without closing
 *   it, runs to the end of the text; a sample cut at the token limit has no answer at all). The LAST Python block that defines the entry point is the
 *   answer (a model that corrects itself writes the fix after the draft), else the last Python block.
 *   Blocks tagged for another language (```bash, ```text, ```console…) are not Python; untagged
 *   blocks count only when no block is tagged Python, and not when they hold shell commands
 *   (`pip install …`, `$ python main.py`);
 * - the whole text as code (no fence);
 * - a function-body completion (HumanEval style): the text continues the task's `codePrefix`.
 * When the task has a `codePrefix` and the extracted code defines the entry point itself, the program
 * is the prefix (its imports and helpers) followed by that code, whose definition replaces the stub.
 */
import { answerText, type NoAnswer } from '../../rewards/answerText.js';
import type { CodeTaskData } from './task.js';

/** How the code was found; `none` when the completion gives no answer (see `rewards/answerText.ts`). */
export type ExtractionMethod = 'fenced' | 'whole' | 'body' | 'full_function' | 'none';

/** Which shapes to accept: `auto` tries fenced, then full function, then body / whole text. */
export type ExtractionMode = 'auto' | 'fenced' | 'whole' | 'body';

/** The program to run and how it was found. */
export interface Extracted {
  program: string;
  method: ExtractionMethod;
  /** Characters of model-written code in the program. */
  codeChars: number;
  /** Why there is no program: an unclosed `<think>` or a sample cut at the token limit. */
  missing?: NoAnswer;
}

const FENCE = /```[ \t]*([\w+#.-]*)[^\n]*\n([\s\S]*?)(?:\n?```|$)/g;
const PYTHON_TAGS = new Set(['python', 'py', 'python3', 'py3']);
/** A line of a shell session, not Python: a prompt, or a command word followed by arguments. */
const SHELL_LINE =
  /^\s*(?:[$%>]\s|(?:sudo\s+)?(?:pip3?|conda|apt(?:-get)?|npm|npx|yarn|brew|git|cd|ls|mkdir|rm|cp|mv|curl|wget|export|source|chmod|uv|poetry)\s+(?=[\w\-./~'"])|python3?\s+(?:-m\s|-c\s|\S+\.py\b))/;
/**
 * Lines at column 0 that end a body completion: what a completion model writes after the function
 * (Chen et al. 2021 stop at "\nclass", "\ndef", "\n#", "\nif", "\nprint"; we keep later `def`s, which
 * may be helpers the body calls, and cut only at code that would run at import time or at a fence).
 */
const BODY_STOPS = [/\nif __name__/, /\nprint\(/, /\nassert /, /\n```/];

/** Code of the fenced blocks in a text, in order, with their language tags. */
export function fencedBlocks(text: string): { lang: string; code: string }[] {
  return [...text.matchAll(FENCE)].map((m) => ({ lang: (m[1] ?? '').toLowerCase(), code: m[2] ?? '' }));
}

/** Every non-blank, non-comment line is a shell command: an install or run instruction, not the answer. */
export function looksLikeShell(code: string): boolean {
  const lines = code.split('\n').filter((l) => l.trim() && !l.trim().startsWith('#'));
  return lines.length > 0 && lines.every((l) => SHELL_LINE.test(l));
}

/** The fenced blocks that may hold the Python answer (see the header). */
export function pythonBlocks(text: string): { lang: string; code: string }[] {
  const blocks = fencedBlocks(text);
  const tagged = blocks.filter((b) => PYTHON_TAGS.has(b.lang));
  return tagged.length > 0 ? tagged : blocks.filter((b) => b.lang === '' && !looksLikeShell(b.code));
}

const definesAtTop = (code: string, name: string): boolean =>
  new RegExp(`^(?:async\\s+)?def\\s+${name.replace(/[^\w]/g, '')}\\s*\\(`, 'm').test(code);

/** Cuts a body completion at the first line that ends the function. */
export function cutBody(text: string): string {
  let end = text.length;
  for (const re of BODY_STOPS) {
    const m = re.exec(text);
    if (m && m.index < end) end = m.index;
  }
  return text.slice(0, end);
}

/**
 * Extracts the program of a task from a completion. Only the answer text counts, by the rule every
 * checker shares (`rewards/answerText.ts`): what follows the last `</think>`; nothing when a `<think>`
 * is never closed or the sample stopped at the token limit (`finishReason` `length`), so reasoning is
 * never run as the solution and a cut program is not graded.
 *
 * @param finishReason the sample's finish reason, when known
 * @returns the program; `program` is '' (method `none`, `missing` set) when there is no answer
 */
export function extractProgram(
  completion: string,
  task: CodeTaskData,
  mode: ExtractionMode = 'auto',
  finishReason?: string,
): Extracted {
  const split = answerText(completion, { finishReason });
  if (split.text === null) return { program: '', method: 'none', codeChars: 0, missing: split.missing };
  const text = split.text;
  const prefix = task.codePrefix;
  const entry = task.entryPoint;
  const withPrefix = (code: string, method: ExtractionMethod): Extracted => {
    if (prefix !== undefined && (method === 'body' || (entry && definesAtTop(code, entry)))) {
      const joined = method === 'body' ? prefix + code : `${prefix}\n${code}`;
      return {
        program: joined,
        method: method === 'body' ? 'body' : 'full_function',
        codeChars: code.length,
      };
    }
    return { program: code, method, codeChars: code.length };
  };

  if (mode === 'body') return withPrefix(cutBody(text), 'body');
  if (mode === 'whole') return withPrefix(text, 'whole');

  const blocks = pythonBlocks(text);
  if (blocks.length > 0) {
    const chosen =
      (entry && [...blocks].reverse().find((b) => definesAtTop(b.code, entry))) || blocks.at(-1)!;
    const ex = withPrefix(chosen.code, 'fenced');
    // A fenced body (indented, no def): continue the prefix with it.
    if (prefix !== undefined && ex.method === 'fenced' && /^[ \t]+\S/.test(chosen.code))
      return withPrefix(chosen.code, 'body');
    return ex;
  }
  if (mode === 'fenced') return { program: '', method: 'fenced', codeChars: 0 };
  if (prefix !== undefined && !(entry && definesAtTop(text, entry))) return withPrefix(cutBody(text), 'body');
  return withPrefix(text, 'whole');
}
