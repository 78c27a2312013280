/**
 * `multigym score --env NAME --input FILE.jsonl [--output FILE.jsonl]`: scores completions with an
 * environment's default reward checkers, without a policy. Generic over the environment registry.
 *
 * Input, one JSON object a line: `{ "task": {...}, "completion": "...", "completion_tokens"?: n,
 * "thinking_tokens"?: n, "finish_reason"?: "stop" | "eos" | "length" }`; the task is in the
 * environment's own record format (`env.parseTask`). Token counts default to 0 when absent (only
 * length checkers read them); a `finish_reason` of `length` (cut at the token limit) scores as a
 * missing answer, and an absent one as a finished sample.
 * Output, one line per non-empty input line, in order: the input object plus
 * `{ "reward": total, "status": "ok", "components": {name: value}, "details": {name: details} }`; when
 * a checker failed, `"reward": null`, `"status": "checker_error"` or `"infra_error"`, the failed
 * component's value null and `"error": "<name>: <what failed>"` (a failure is never a reward); for a
 * malformed line, `{ "reward": null, "error": "line N: <field>: <why>" }`. One bad line never stops
 * the others.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import '../../environments/builtin.js';
import type { Environment, Task } from '../../environments/api.js';
import { getEnvironment } from '../../environments/registry.js';
import { FinishReason } from '../../policy/protocol.js';
import { scoreTrajectory } from '../../rewards/score.js';

/** Options of `runScore`. */
export interface ScoreOptions {
  /** Environment name in the registry. */
  env: string;
  /** Input JSONL path. */
  input: string;
  /** Output JSONL path; stdout when absent. */
  output?: string;
}

/** Summary of a scoring pass. `meanReward` averages the lines that scored (0 when none did). */
export interface ScoreSummary {
  /** Non-empty input lines read. */
  lines: number;
  meanReward: number;
  /** Malformed lines (each has an `error` in its output line). */
  errors: number;
  /** The first few of their errors (`line N: field: why`), for the summary. */
  firstErrors: string[];
  /** Lines whose checkers failed: no reward (status `checker_error` / `infra_error` in the output line). */
  checkerErrors: number;
  infraErrors: number;
}

/** How many first errors a summary keeps. */
const FIRST_ERRORS = 5;

/**
 * The summary printed on stderr: lines scored of lines read, the mean reward over the scored ones,
 * and the malformed lines (the first few with their reasons).
 */
export function scoreSummaryText(s: ScoreSummary): string {
  const scored = s.lines - s.errors - s.checkerErrors - s.infraErrors;
  let text = `scored ${scored} of ${s.lines} lines; mean reward ${s.meanReward.toFixed(4)} over the ${scored} scored`;
  if (s.checkerErrors + s.infraErrors > 0) {
    // Never silent: a failed checker gives no reward, and the output lines say why.
    text += `; ${s.checkerErrors} line(s) with checker errors and ${s.infraErrors} with infrastructure errors have no reward ("status" and "error" in the output)`;
  }
  if (s.errors === 0) return text;
  const more = s.errors > s.firstErrors.length ? `\n  … and ${s.errors - s.firstErrors.length} more` : '';
  return `${text}; ${s.errors} malformed line(s) not scored (reward null, "error" in the output):\n  ${s.firstErrors.join('\n  ')}${more}`;
}

/** A malformed input line; the message names the line number and the field. */
export class ScoreInputError extends Error {
  readonly type = 'ScoreInputError';
  override readonly name = 'ScoreInputError';
}

/** Finish reasons a line may give (the policy protocol's). */
const FINISH_REASONS: readonly string[] = FinishReason.options;

const tokenCount = (obj: Record<string, unknown>, key: string, line: number): number | undefined => {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) {
    throw new ScoreInputError(`line ${line}: ${key}: expected a non-negative integer`);
  }
  return v;
};

/** Scores one parsed input line; throws `ScoreInputError` for malformed input. */
async function scoreLine(env: Environment, text: string, line: number): Promise<Record<string, unknown>> {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new ScoreInputError(`line ${line}: (line): invalid JSON: ${(err as Error).message}`);
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new ScoreInputError(`line ${line}: (line): expected a JSON object with "task" and "completion"`);
  }
  const rec = obj as Record<string, unknown>;
  if (!rec.task || typeof rec.task !== 'object' || Array.isArray(rec.task)) {
    throw new ScoreInputError(`line ${line}: task: expected an object in the ${env.name} task format`);
  }
  if (typeof rec.completion !== 'string') {
    throw new ScoreInputError(`line ${line}: completion: expected a string`);
  }
  let task: Task;
  try {
    task = env.parseTask(rec.task, line - 1);
  } catch (err) {
    const field = (err as { field?: unknown }).field;
    const where = typeof field === 'string' ? `task.${field}` : 'task';
    throw new ScoreInputError(`line ${line}: ${where}: ${(err as Error).message}`);
  }
  const completionTokens = tokenCount(rec, 'completion_tokens', line) ?? 0;
  const thinkingTokens = tokenCount(rec, 'thinking_tokens', line);
  const finishReason = rec.finish_reason;
  if (finishReason !== undefined && !FINISH_REASONS.includes(finishReason as string)) {
    throw new ScoreInputError(`line ${line}: finish_reason: expected one of ${FINISH_REASONS.join(', ')}`);
  }
  const outcome = await scoreTrajectory(
    env.rewards,
    {
      completion: rec.completion,
      completionTokens,
      thinkingTokens,
      ...(finishReason !== undefined ? { finishReason: finishReason as string } : {}),
    },
    task,
    env.checkerTimeoutMs,
  );
  return {
    ...rec,
    reward: outcome.total,
    status: outcome.status,
    ...(outcome.error ? { error: outcome.error } : {}),
    components: Object.fromEntries(outcome.components.map((c) => [c.name, c.value])),
    details: Object.fromEntries(outcome.components.map((c) => [c.name, c.details])),
  };
}

/**
 * Scores every line of `opts.input` with the environment's default rewards and writes the output
 * lines to `opts.output` (or stdout). Throws `EnvironmentRegistryError` for an unknown environment
 * and a file-system error when the input cannot be read; malformed lines do not throw.
 */
export async function runScore(opts: ScoreOptions): Promise<ScoreSummary> {
  const env = getEnvironment(opts.env);
  const input = createInterface({
    input: createReadStream(opts.input, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const out = opts.output ? createWriteStream(opts.output, 'utf8') : process.stdout;
  const write = (s: string) =>
    new Promise<void>((resolve, reject) => out.write(s, (err) => (err ? reject(err) : resolve())));
  let lines = 0;
  let errors = 0;
  const firstErrors: string[] = [];
  let sum = 0;
  let scored = 0;
  const failed = { checker_error: 0, infra_error: 0 };
  let lineNo = 0;
  try {
    for await (const text of input) {
      lineNo++;
      if (text.trim() === '') continue;
      lines++;
      let result: Record<string, unknown>;
      try {
        result = await scoreLine(env, text, lineNo);
        if (result.status === 'ok') {
          sum += result.reward as number;
          scored++;
        } else failed[result.status as keyof typeof failed]++;
      } catch (err) {
        if (!(err instanceof ScoreInputError)) throw err;
        errors++;
        if (firstErrors.length < FIRST_ERRORS) firstErrors.push(err.message);
        let original: unknown;
        try {
          original = JSON.parse(text);
        } catch {
          original = undefined;
        }
        const base = original && typeof original === 'object' && !Array.isArray(original) ? original : {};
        result = { ...base, line: lineNo, reward: null, error: err.message };
      }
      await write(`${JSON.stringify(result)}\n`);
    }
  } finally {
    if (opts.output) await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
  }
  return {
    lines,
    meanReward: scored > 0 ? sum / scored : 0,
    errors,
    firstErrors,
    checkerErrors: failed.checker_error,
    infraErrors: failed.infra_error,
  };
}
