/**
 * The multi-turn tool-use loop. For a group of `n` samples of one task:
 *
 *   turn 1: one `/v1/generate` over the chat (system prompt with the tools + the task's messages);
 *   then, per sample: parse the calls → validate → execute (time limit) → append the results as
 *   `tool` turns → generate again from the exact token prefix, until a turn without calls (the final
 *   answer), `maxTurns` assistant turns, or the context limit.
 *
 * Tokens: the completion stream is C1 · I1 · C2 · I2 · … · Ck, where Ci are the tokens the model
 * sampled (mask 1, their log-probs) and Ii the inserted end-of-turn, tool results and next generation
 * prompt (mask 0, log-prob 0), tokenized by the worker (`/v1/tokenize`). Turn i+1 is sampled from
 * `prompt_token_ids = P0 · C1 · I1 · … · Ci · Ii`, so the stream is exactly what the model saw.
 *
 * Parse errors, unknown tools, bad arguments, tool exceptions and timeouts go back to the model as
 * tool errors. A call the sample was cut inside at the token limit is a parse error (never repaired
 * into a call and run). Infrastructure failures (the worker, a sandbox that cannot start) throw: the activity
 * retries the group. Tasks without a tool set (BFCL) end after one turn; their calls are validated,
 * not executed.
 */
import type { ChatMessage, Sample } from '../../policy/protocol.js';
import { parseToolCalls } from '../../rewards/builtin/tool-call-parse.js';
import { CallStatus, type RecordedCall } from '../../rewards/builtin/tool-calls-of.js';
import { type ToolTaskData, toJsonSchema } from '../../rewards/builtin/tool-task.js';
import type { PolicySampler, RolloutContext, Trajectory, Turn } from '../api.js';
import { rejectedTrajectory } from '../singleTurn.js';
import { type Callable, executeCall } from './execute.js';
import { type ToolListing, toolSystemPrompt } from './prompt.js';
import { getToolSet } from './tools/registry.js';
import type { TurnFormat } from './turnFormat.js';

/** Limits of the loop. */
export interface ToolLoopOptions {
  /** Most assistant turns per rollout. */
  maxTurns: number;
  /** Most calls executed per assistant turn; further calls get an error result. */
  maxCallsPerTurn: number;
  /** Time limit of one tool call, ms. */
  toolTimeoutMs: number;
  /** Longest tool result shown to the model, characters. */
  maxResultChars: number;
  turnFormat: TurnFormat;
  /** How the system prompt lists the functions. Default `json`. */
  toolListing?: ToolListing;
}

/** Why a rollout ended (`extra.stoppedBy`). */
export type StopReason = 'answer' | 'single_turn' | 'max_turns' | 'max_context' | 'rejected';

interface SampleState {
  completionIds: number[];
  logprobs: number[];
  mask: (0 | 1)[];
  turns: Turn[];
  texts: string[];
  calls: RecordedCall[];
  finishReason: string;
  thinkingTokens: number;
  policyVersion: number;
  stoppedBy?: StopReason;
}

/** The functions of a task with their implementations (from its tool set) when it has one. */
export function callablesOf(data: ToolTaskData): Callable[] {
  const set = data.tool_set ? getToolSet(data.tool_set) : undefined;
  return data.functions.map((fn) => {
    const tool = set?.tools.find((t) => t.name === fn.name);
    const parameters = toJsonSchema(fn.parameters);
    // BFCL counts any argument outside the schema as an error; so does validation here.
    if (parameters.type === 'object' && parameters.additionalProperties === undefined) {
      parameters.additionalProperties = false;
    }
    return { name: fn.name, parameters, ...(tool ? { run: tool.run } : {}) };
  });
}

/** The opening conversation of a task: the tool system prompt and the task's messages. */
export function openingMessages(data: ToolTaskData, listing: ToolListing = 'json'): ChatMessage[] {
  const system = toolSystemPrompt(data.functions, { multiTurn: data.tool_set !== undefined, listing });
  const own = data.messages.filter((m) => m.role === 'system').map((m) => m.content);
  return [
    { role: 'system', content: [system, ...own].join('\n\n') },
    ...data.messages.filter((m) => m.role !== 'system'),
  ];
}

/** Samples `ctx.n` multi-turn trajectories of one tool-use task. */
export async function toolUseRollout(
  data: ToolTaskData,
  policy: PolicySampler,
  ctx: RolloutContext,
  options: ToolLoopOptions,
): Promise<Trajectory[]> {
  const messages = openingMessages(data, options.toolListing);
  const callables = callablesOf(data);
  const executable = data.tool_set !== undefined;
  const { sampling } = ctx;
  let first: Awaited<ReturnType<PolicySampler['generate']>>;
  try {
    first = await policy.generate({ messages: [messages], n: ctx.n, ...sampling });
  } catch (err) {
    const e = err as { status?: number; errorType?: string; message?: string };
    if (e.status === 400 && e.errorType === 'context_too_long') {
      return Array.from({ length: ctx.n }, () =>
        rejectedTrajectory(
          messages.map((m) => ({ ...m })),
          e.message ?? 'context too long',
        ),
      );
    }
    throw err;
  }
  const result = first.results[0];
  if (!result) throw new Error('policy worker returned no result for the prompt');
  const promptIds = result.prompt_token_ids;
  const maxContext =
    executable && options.maxTurns > 1 ? (await policy.info()).max_context : Number.POSITIVE_INFINITY;
  const prefix = executable ? await specialPrefix(policy) : [];
  const states: SampleState[] = result.samples.map(() => ({
    completionIds: [],
    logprobs: [],
    mask: [],
    turns: messages.map((m) => ({ ...m })),
    texts: [],
    calls: [],
    finishReason: '',
    thinkingTokens: 0,
    policyVersion: first.policy_version,
  }));
  let pending = result.samples.map((sample, i) => ({ state: states[i]!, sample }));
  for (let turn = 0; pending.length > 0; turn++) {
    ctx.heartbeat?.({ turn, active: pending.length });
    // Samples advance concurrently (their tools may be slow, e.g. sandboxed Python); the calls of one
    // sample run in order.
    const goOn = await Promise.all(
      pending.map(({ state, sample }) =>
        advance(state, sample, turn, {
          policy,
          callables,
          executable,
          options,
          prefix,
          promptIds,
          maxContext,
          sampling,
        }),
      ),
    );
    const next = pending.filter((_, i) => goOn[i]).map((p) => p.state);
    if (next.length === 0) break;
    const res = await policy.generate({
      prompt_token_ids: next.map((s) => [...promptIds, ...s.completionIds]),
      n: 1,
      ...sampling,
      ...(sampling.seed !== undefined ? { seed: sampling.seed + 7919 * (turn + 1) } : {}),
    });
    pending = next.map((state, i) => {
      const sample = res.results[i]?.samples[0];
      if (!sample) throw new Error(`policy worker returned no sample for prompt ${i}`);
      state.policyVersion = res.policy_version;
      return { state, sample };
    });
  }
  return states.map((s) => toTrajectory(s, promptIds, executable, options.maxTurns));
}

/** What `advance` needs besides the sample. */
interface AdvanceContext {
  policy: PolicySampler;
  callables: Callable[];
  executable: boolean;
  options: ToolLoopOptions;
  prefix: number[];
  promptIds: number[];
  maxContext: number;
  sampling: RolloutContext['sampling'];
}

/**
 * Appends one sampled turn to a trajectory, runs its calls and appends their results (mask 0).
 * Resolves true when the sample should be asked for another turn.
 */
async function advance(
  state: SampleState,
  sample: Sample,
  turn: number,
  c: AdvanceContext,
): Promise<boolean> {
  state.completionIds.push(...sample.token_ids);
  state.logprobs.push(...sample.logprobs);
  state.mask.push(...sample.token_ids.map(() => 1 as const));
  state.texts.push(sample.text);
  state.finishReason = sample.finish_reason;
  state.thinkingTokens += sample.thinking_tokens;
  // A call the sample was cut inside (finish_reason "length") is a parse error, never repaired and run.
  const parsed = parseToolCalls(sample.text, { finishReason: sample.finish_reason });
  const callNames = parsed.calls.map((call) => call.name);
  state.turns.push({
    role: 'assistant',
    content: sample.text,
    tokens: sample.token_ids.length,
    finishReason: sample.finish_reason,
    ...(callNames.length > 0 ? { calls: callNames } : {}),
  });
  if (parsed.calls.length === 0 && parsed.errors.length === 0) {
    state.stoppedBy = c.executable ? 'answer' : 'single_turn';
    return false;
  }
  const results = await runCalls(parsed, turn, state, c.callables, c.options);
  if (!c.executable) {
    state.stoppedBy = 'single_turn';
    return false;
  }
  for (const r of results)
    state.turns.push({ role: 'tool', name: r.name, content: r.content, status: r.status });
  if (turn + 1 >= c.options.maxTurns) {
    state.stoppedBy = 'max_turns';
    return false;
  }
  const format = c.options.turnFormat;
  const endsTurn = sample.finish_reason === 'eos';
  const insertText = (endsTurn ? '' : format.endOfTurn) + format.afterEnd + format.toolTurns(results);
  const insert = await tokenizeInsert(c.policy, insertText, c.prefix);
  // The inserted tokens (end of turn, every result of this turn, next header) are counted once, on
  // the turn's last tool message.
  const lastTool = state.turns[state.turns.length - 1];
  if (lastTool?.role === 'tool') lastTool.tokens = insert.length;
  const length = c.promptIds.length + state.completionIds.length + insert.length;
  if (length + c.sampling.max_tokens > c.maxContext) {
    state.stoppedBy = 'max_context';
    return false;
  }
  state.completionIds.push(...insert);
  state.logprobs.push(...insert.map(() => 0));
  state.mask.push(...insert.map(() => 0 as const));
  return true;
}

/** Validates (and executes, when the task has a tool set) the calls of one turn; records them. */
async function runCalls(
  parsed: ReturnType<typeof parseToolCalls>,
  turn: number,
  state: SampleState,
  callables: Callable[],
  options: ToolLoopOptions,
): Promise<{ name: string; content: string; status: string }[]> {
  const results: { name: string; content: string; status: string }[] = [];
  for (const e of parsed.errors) {
    state.calls.push({ turn, status: CallStatus.parseError, error: e.message });
    results.push({ name: 'error', content: `Error: ${e.message}`, status: CallStatus.parseError });
  }
  for (const [i, call] of parsed.calls.entries()) {
    if (i >= options.maxCallsPerTurn) {
      const error = `more than ${options.maxCallsPerTurn} calls in one turn; this call was not run`;
      state.calls.push({
        turn,
        name: call.name,
        arguments: call.arguments,
        status: CallStatus.toolError,
        error,
      });
      results.push({ name: call.name, content: `Error: ${error}`, status: CallStatus.toolError });
      continue;
    }
    const outcome = await executeCall(call, callables, {
      timeoutMs: options.toolTimeoutMs,
      maxResultChars: options.maxResultChars,
    });
    state.calls.push({
      turn,
      name: outcome.name ?? call.name,
      arguments: outcome.arguments ?? call.arguments,
      ...(outcome.floatPaths ? { floatPaths: outcome.floatPaths } : {}),
      status: outcome.status,
      ...(outcome.error ? { error: outcome.error } : {}),
    });
    results.push({ name: outcome.name ?? call.name, content: outcome.content, status: outcome.status });
  }
  return results;
}

/** Ids the worker's `/v1/tokenize` adds around every text (e.g. BOS), found by tokenizing "". */
async function specialPrefix(policy: PolicySampler): Promise<number[]> {
  const res = await policy.tokenize({ texts: [''], return_ids: true });
  return res.token_ids?.[0] ?? [];
}

/** Token ids of an inserted text, without the special tokens `/v1/tokenize` adds to every prompt. */
async function tokenizeInsert(policy: PolicySampler, text: string, prefix: number[]): Promise<number[]> {
  const res = await policy.tokenize({ texts: [text], return_ids: true });
  const ids = res.token_ids?.[0];
  if (!ids) throw new Error('policy worker /v1/tokenize returned no token ids');
  const hasPrefix = prefix.length > 0 && prefix.every((id, i) => ids[i] === id);
  return hasPrefix ? ids.slice(prefix.length) : ids;
}

function toTrajectory(
  s: SampleState,
  promptIds: number[],
  executable: boolean,
  maxTurns: number,
): Trajectory {
  const answerText = s.stoppedBy === 'answer' ? (s.texts[s.texts.length - 1] ?? '') : '';
  return {
    status: 'ok',
    completion: s.texts.join('\n'),
    turns: s.turns,
    promptTokenIds: promptIds,
    completionTokenIds: s.completionIds,
    logprobs: s.logprobs,
    completionMask: s.mask,
    finishReason: s.finishReason,
    policyVersion: s.policyVersion,
    thinkingTokens: s.thinkingTokens,
    extra: {
      calls: s.calls as unknown as NonNullable<Trajectory['extra']>[string],
      executed: executable,
      assistantTurns: s.texts.length,
      maxTurns,
      stoppedBy: s.stoppedBy ?? 'max_turns',
      finalText: answerText,
    },
  };
}
