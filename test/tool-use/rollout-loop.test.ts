/**
 * The multi-turn loop's edge cases against a scripted policy (a character-level "tokenizer" and
 * canned replies chosen by what the prompt holds): several calls in one turn, the turn limit, the
 * context limit, malformed and unknown calls, single-turn BFCL tasks, tool timeouts, infrastructure
 * errors, and samples cut by `max_tokens`. The real-worker test covers the same loop end to end.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { PolicySampler, RolloutContext } from '../../environments/api.js';
import { toolUseRollout } from '../../environments/tool-use/rollout.js';
import {
  defineTool,
  defineToolSet,
  functionSpecOf,
  ToolInfraError,
} from '../../environments/tool-use/tools/api.js';
import { builtinToolSet } from '../../environments/tool-use/tools/builtin/index.js';
import { registerToolSet } from '../../environments/tool-use/tools/registry.js';
import { chatml, qwen } from '../../environments/tool-use/turnFormat.js';
import type { GenerateRequest, GenerateResponse } from '../../policy/protocol.js';
import { ToolTaskData } from '../../rewards/builtin/tool-task.js';

const BOS = 1;
const EOS = 2;
const encode = (s: string): number[] => [...s].map((c) => c.codePointAt(0)! + 10);
const decode = (ids: number[]): string =>
  ids.map((i) => (i === BOS ? '' : i === EOS ? '<eos>' : String.fromCodePoint(i - 10))).join('');

/**
 * A policy that answers from a script: `reply(prompt, sample)` gets the decoded prompt and the sample's
 * index in the first request (later requests are matched to samples by their first reply).
 */
function scriptedPolicy(
  reply: (prompt: string, sample: number) => { text: string; finish?: 'eos' | 'length' },
  maxContext = 100_000,
): PolicySampler & { requests: GenerateRequest[] } {
  const requests: GenerateRequest[] = [];
  return {
    requests,
    async info() {
      return {
        model: 'script',
        tokenizer: 'chars',
        device: 'cpu',
        dtype: 'fp32',
        policy_version: 3,
        run_id: null,
        max_context: maxContext,
        vocab_size: 1 << 20,
        parameters: 0,
        base_model: 'script',
        last_idempotency_key: null,
        checkpoint_dir: '/nonexistent',
        loaded_from: null,
        rollout_modes: ['sync'],
      };
    },
    async tokenize(req) {
      const ids = req.texts.map((t) => [BOS, ...encode(t)]);
      return { counts: ids.map((x) => x.length), token_ids: req.return_ids ? ids : undefined };
    },
    async generate(req): Promise<GenerateResponse> {
      requests.push(req);
      const prompts = req.messages
        ? req.messages.map((m) => [BOS, ...encode(chatml.render(m))])
        : (req.prompt_token_ids ?? []);
      const n = req.n ?? 1;
      return {
        policy_version: 3,
        results: prompts.map((p) => ({
          prompt_token_ids: p,
          samples: Array.from({ length: n }, (_, j) => {
            const text = decode(p);
            const sample = n > 1 ? j : Number(/#sample(\d)/.exec(text)?.[1] ?? 0);
            const { text: out, finish = 'eos' } = reply(text, sample);
            const ids = [...encode(out), ...(finish === 'eos' ? [EOS] : [])];
            return {
              text: out,
              token_ids: ids,
              logprobs: ids.map(() => -0.5),
              finish_reason: finish,
              thinking_tokens: 0,
              answer_tokens: ids.length,
            };
          }),
        })),
      };
    },
  };
}

const call = (name: string, args: Record<string, unknown>) =>
  `<tool_call>${JSON.stringify({ name, arguments: args })}</tool_call>`;
const countTools = (prompt: string) => (prompt.match(/<\|im_start\|>tool/g) ?? []).length;
const ctx = (n = 1, maxTokens = 64): RolloutContext => ({
  n,
  sampling: { max_tokens: maxTokens, temperature: 1, top_p: 1 },
  blobDir: '/tmp',
});
const options = {
  maxTurns: 4,
  maxCallsPerTurn: 4,
  toolTimeoutMs: 2000,
  maxResultChars: 500,
  turnFormat: chatml,
};

const builtinTask = ToolTaskData.parse({
  category: 'test',
  messages: [{ role: 'user', content: 'Convert 2 miles to km and compute 6 * 7.' }],
  functions: builtinToolSet.tools.map(functionSpecOf),
  ground_truth: [],
  answer: '42',
  tool_set: 'builtin',
});

describe('turn formats', () => {
  it('an opening, an assistant turn and its inserted tool turns render like the whole conversation', () => {
    const opening = [
      { role: 'system' as const, content: 'S' },
      { role: 'user' as const, content: 'U' },
    ];
    const results = [
      { name: 'a', content: '1' },
      { name: 'b', content: 'two' },
    ];
    for (const format of [chatml, qwen]) {
      const pieces = `${format.render(opening)}CALLS${format.endOfTurn}${format.afterEnd}${format.toolTurns(results)}`;
      const whole = format.render([
        ...opening,
        { role: 'assistant', content: 'CALLS' },
        ...results.map((r) => ({ role: 'tool' as const, content: r.content, name: r.name })),
      ]);
      expect(pieces, format.name).toBe(whole);
    }
  });
});

describe('tool-use loop', () => {
  it('runs several calls of one turn and returns their results in order, with an exact token stream', async () => {
    const policy = scriptedPolicy((prompt) =>
      countTools(prompt) === 0
        ? {
            text: `${call('convert_units', { value: 2, from_unit: 'mi', to_unit: 'km' })}\n${call('calculator', { expression: '6 * 7' })}`,
          }
        : { text: 'Answer: 42' },
    );
    const [t] = await toolUseRollout(builtinTask, policy, ctx(), options);
    expect(t!.turns.filter((x) => x.role === 'tool').map((x) => x.content)).toEqual(['3.21869', '42']);
    expect(t!.extra?.stoppedBy).toBe('answer');
    // The second prompt is exactly the first prompt, the first sample, and the inserted tokens.
    const second = policy.requests[1]!.prompt_token_ids![0]!;
    const inserted = encode(
      `\n${chatml.toolTurns([
        { name: '', content: '3.21869' },
        { name: '', content: '42' },
      ])}`,
    );
    const firstSample = t!.completionTokenIds.slice(0, t!.turns[2]!.tokens as number);
    expect(second).toEqual([...t!.promptTokenIds, ...firstSample, ...inserted]);
    expect(t!.completionTokenIds).toEqual([...firstSample, ...inserted, ...encode('Answer: 42'), EOS]);
    expect(t!.completionMask).toEqual([
      ...firstSample.map(() => 1),
      ...inserted.map(() => 0),
      ...Array(11).fill(1),
    ]);
    expect(t!.logprobs.filter((_, i) => t!.completionMask![i] === 0).every((x) => x === 0)).toBe(true);
    expect(t!.policyVersion).toBe(3);
  });

  it('stops at the turn limit; the last results are logged but not in the token stream', async () => {
    const policy = scriptedPolicy(() => ({ text: call('calculator', { expression: '1 + 1' }) }));
    const [t] = await toolUseRollout(builtinTask, policy, ctx(), { ...options, maxTurns: 3 });
    expect(t!.extra?.stoppedBy).toBe('max_turns');
    expect(t!.extra?.assistantTurns).toBe(3);
    expect(t!.turns.filter((x) => x.role === 'tool')).toHaveLength(3);
    expect(t!.completionMask![t!.completionMask!.length - 1]).toBe(1);
    expect(t!.extra?.finalText).toBe('');
  });

  it('stops before a prompt would outgrow the context', async () => {
    const policy = scriptedPolicy(() => ({ text: call('calculator', { expression: '2 ^ 10' }) }), 6000);
    const [t] = await toolUseRollout(builtinTask, policy, ctx(1, 400), { ...options, maxTurns: 60 });
    expect(t!.extra?.stoppedBy).toBe('max_context');
    // Every prompt sent leaves room for max_tokens; the next one would not have.
    const sent = policy.requests.slice(1).map((r) => r.prompt_token_ids![0]!.length);
    expect(sent.length).toBeGreaterThan(3);
    expect(Math.max(...sent) + 400).toBeLessThanOrEqual(6000);
    expect(t!.promptTokenIds.length + t!.completionTokenIds.length + 400).toBeGreaterThan(6000 - 200);
  });

  it('answers parse errors, unknown tools, bad arguments and tool failures with tool errors', async () => {
    const replies = [
      '<tool_call>please compute six times seven</tool_call>',
      call('no_such_tool', {}),
      call('calculator', { expr: '1' }),
      call('add_days', { date: '2023-02-30', days: 1 }),
      'Answer: 42',
    ];
    const policy = scriptedPolicy((prompt) => ({ text: replies[countTools(prompt)]! }));
    const [t] = await toolUseRollout(builtinTask, policy, ctx(), { ...options, maxTurns: 6 });
    const calls = t!.extra?.calls as { status: string }[];
    expect(calls.map((c) => c.status)).toEqual([
      'parse_error',
      'unknown_tool',
      'invalid_arguments',
      'tool_error',
    ]);
    const tools = t!.turns.filter((x) => x.role === 'tool').map((x) => x.content);
    expect(tools.every((c) => c.startsWith('Error: '))).toBe(true);
    expect(tools[2]).toContain('unexpected argument "expr"');
    expect(t!.extra?.stoppedBy).toBe('answer');
  });

  it('samples of a group diverge and are continued in one batched request per turn', async () => {
    const policy = scriptedPolicy((prompt, sample) => {
      if (countTools(prompt) === 0)
        return { text: `#sample${sample} ${call('calculator', { expression: `${sample} + 1` })}` };
      return { text: sample === 0 ? 'Answer: 1' : call('calculator', { expression: '2 * 2' }) };
    });
    const ts = await toolUseRollout(builtinTask, policy, ctx(2), options);
    expect(ts.map((t) => t.extra?.assistantTurns)).toEqual([2, 4]);
    expect(policy.requests.map((r) => r.prompt_token_ids?.length ?? `messages×${r.n}`)).toEqual([
      'messages×2',
      2,
      1,
      1,
    ]);
  });

  it('closes a turn cut by max_tokens with the end-of-turn text (mask 0)', async () => {
    const policy = scriptedPolicy((prompt) =>
      countTools(prompt) === 0
        ? { text: call('calculator', { expression: '3 * 3' }), finish: 'length' }
        : { text: 'Answer: 9' },
    );
    const [t] = await toolUseRollout(builtinTask, policy, ctx(), options);
    const second = decode(policy.requests[1]!.prompt_token_ids![0]!);
    expect(second).toContain(
      '</tool_call><|im_end|>\n<|im_start|>tool\n9<|im_end|>\n<|im_start|>assistant\n',
    );
    expect(t!.finishReason).toBe('eos');
  });

  it('never runs a call the sample was cut inside at the token limit: an invalid call, reason logged', async () => {
    const policy = scriptedPolicy((prompt) =>
      countTools(prompt) === 0
        ? { text: '<tool_call>{"name": "calculator", "arguments": {"expression": "12 * 7', finish: 'length' }
        : { text: 'Answer: 84' },
    );
    const [t] = await toolUseRollout(builtinTask, policy, ctx(), options);
    const calls = t!.extra!.calls as { status: string; error?: string; name?: string }[];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ status: 'parse_error' });
    expect(calls[0]!.name).toBeUndefined();
    expect(calls[0]!.error).toMatch(/cut at the token limit/);
    const second = decode(policy.requests[1]!.prompt_token_ids![0]!);
    expect(second).toContain('<|im_start|>tool\nError: the sample was cut at the token limit');
    expect(second).not.toContain('tool\n84');
    // The same text from a sample that stopped by itself (a `</tool_call>` stop string) is read and run.
    const stopped = scriptedPolicy((prompt) =>
      countTools(prompt) === 0
        ? { text: '<tool_call>{"name": "calculator", "arguments": {"expression": "12 * 7"}}' }
        : { text: 'Answer: 84' },
    );
    const [u] = await toolUseRollout(builtinTask, stopped, ctx(), options);
    expect((u!.extra!.calls as { status: string }[])[0]!.status).toBe('ok');
  });

  it('single-turn tasks (BFCL) validate the calls without running them', async () => {
    const task = ToolTaskData.parse({
      category: 'simple_python',
      messages: [{ role: 'user', content: 'Factorial of 5?' }],
      functions: [
        {
          name: 'math.factorial',
          description: '',
          parameters: { type: 'dict', properties: { number: { type: 'integer' } }, required: ['number'] },
        },
      ],
      ground_truth: [{ 'math.factorial': { number: [5] } }],
    });
    const policy = scriptedPolicy(() => ({
      text: `${call('math.factorial', { number: 5 })}${call('math.factorial', { number: 'x' })}`,
    }));
    const [t] = await toolUseRollout(task, policy, ctx(), options);
    expect((t!.extra!.calls as { status: string }[]).map((c) => c.status)).toEqual([
      'not_executed',
      'invalid_arguments',
    ]);
    expect(t!.extra?.stoppedBy).toBe('single_turn');
    expect(t!.completionMask!.every((m) => m === 1)).toBe(true);
    expect(policy.requests).toHaveLength(1);
  });

  it('reports a slow tool as a timeout and lets infrastructure errors fail the rollout', async () => {
    registerToolSet(
      defineToolSet({
        name: 'test-slow-and-broken',
        description: 'tools that hang or whose infrastructure fails',
        tools: [
          defineTool({
            name: 'slow',
            description: 'never answers before it is aborted',
            schema: z.object({}),
            run: (_args, toolCtx) =>
              new Promise((resolve) => toolCtx.signal.addEventListener('abort', () => resolve('late'))),
          }),
          defineTool({
            name: 'broken',
            description: 'its backend is down',
            schema: z.object({}),
            run: () => {
              throw new ToolInfraError('backend down');
            },
          }),
        ],
      }),
    );
    const task = (name: string) =>
      ToolTaskData.parse({
        category: 'test',
        messages: [{ role: 'user', content: 'go' }],
        functions: [{ name, description: '', parameters: { type: 'object', properties: {} } }],
        ground_truth: [],
        tool_set: 'test-slow-and-broken',
      });
    const slow = scriptedPolicy((prompt) => ({
      text: countTools(prompt) === 0 ? call('slow', {}) : 'Answer: done',
    }));
    const [t] = await toolUseRollout(task('slow'), slow, ctx(), { ...options, toolTimeoutMs: 200 });
    expect((t!.extra!.calls as { status: string }[])[0]!.status).toBe('timeout');
    const broken = scriptedPolicy(() => ({ text: call('broken', {}) }));
    await expect(toolUseRollout(task('broken'), broken, ctx(), options)).rejects.toThrow(ToolInfraError);
  });
});
