/**
 * A multi-turn tool-use rollout through the real policy worker on CPU (tiny model), logged turn by
 * turn, with a tool error in the middle.
 *
 * The tiny model is first taught one transcript with supervised steps (`/v1/sft_step`): a call with a
 * string where a number belongs (→ the environment answers with a tool error), the corrected call, a
 * calculator call, then `Answer: …`. The tool messages in that transcript are the real outputs of the
 * tools. Greedy sampling then replays it through the real loop, so the test checks the loop and the
 * token stream, not the model's skill: the inserted tokens (mask 0) must be exactly what the worker's
 * own chat template produces for the same conversation, and the worker must accept the trajectory as
 * a GRPO sample.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../environments/builtin.js';
import type { Task, Trajectory } from '../../environments/api.js';
import { getEnvironment } from '../../environments/registry.js';
import { formatCalls } from '../../environments/tool-use/calls.js';
import { executeCall } from '../../environments/tool-use/execute.js';
import { callablesOf, openingMessages } from '../../environments/tool-use/rollout.js';
import { functionSpecOf } from '../../environments/tool-use/tools/api.js';
import { builtinToolSet } from '../../environments/tool-use/tools/builtin/index.js';
import { chatml } from '../../environments/tool-use/turnFormat.js';
import { PolicyClient } from '../../policy/client.js';
import type { ChatMessage } from '../../policy/protocol.js';
import { ToolTaskData } from '../../rewards/builtin/tool-task.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { type RunningPolicyWorker, startPolicyWorker } from '../helpers/policyWorker.js';

const env = getEnvironment('tool-use');
const config = env.configSchema.parse({ maxTurns: 6 });
const offered = builtinToolSet.tools.filter((t) => t.name === 'calculator' || t.name === 'convert_units');

const data = ToolTaskData.parse({
  category: 'test/error-in-the-middle',
  messages: [{ role: 'user', content: 'Convert 5 miles to kilometers, then multiply the result by 3.' }],
  functions: offered.map(functionSpecOf),
  ground_truth: [
    { convert_units: { value: [5], from_unit: ['mi', 'mile', 'miles'], to_unit: ['km', 'kilometers'] } },
    { calculator: { expression: ['8.04672 * 3', '3 * 8.04672'] } },
  ],
  answer: '24.14016',
  answer_kind: 'number',
  tool_set: 'builtin',
  turn_budget: 3,
});
const task: Task = { id: 'test/tool-use/error-in-the-middle', data: data as unknown as Task['data'] };

/** The scripted assistant turns; the first one passes "5" (a string) and gets a tool error. */
const scriptCalls = [
  { name: 'convert_units', arguments: { value: '5', from_unit: 'mi', to_unit: 'km' } },
  { name: 'convert_units', arguments: { value: 5, from_unit: 'mi', to_unit: 'km' } },
  { name: 'calculator', arguments: { expression: '8.04672 * 3' } },
];

let worker: RunningPolicyWorker;
let policy: PolicyClient;

beforeAll(async () => {
  worker = await startPolicyWorker({ model: 'tiny', seed: 1 });
  policy = new PolicyClient({ url: worker.url });
});

afterAll(async () => {
  await worker?.stop();
});

describe('multi-turn tool-use rollout through the real worker', () => {
  let trajectory: Trajectory;
  let results: string[];

  it('teaches the tiny model the transcript (SFT on the real tool outputs)', async () => {
    const callables = callablesOf(data);
    results = [];
    let completion = '';
    for (const call of scriptCalls) {
      const outcome = await executeCall({ ...call, format: 'hermes', raw: '' }, callables, {
        timeoutMs: 5000,
        maxResultChars: 2000,
      });
      results.push(outcome.content);
      completion += formatCalls([call], 'hermes') + chatml.endOfTurn + chatml.afterEnd;
      completion += chatml.toolTurns([{ name: call.name, content: outcome.content }]);
    }
    completion += 'Answer: 24.14016';
    expect(results[0]).toMatch(/^Error: invalid arguments/);
    expect(results.slice(1)).toEqual(['8.04672', '24.14016']);
    const prompt = chatml.render(openingMessages(data));
    let loss = Number.POSITIVE_INFINITY;
    for (let step = 0; step < 300 && loss > 0.01; step++) {
      const res = await policy.sftStep({ examples: [{ prompt, completion }], learning_rate: 3e-3 });
      loss = res.loss;
      if (step % 25 === 0) console.log(`sft step ${step}: loss ${loss.toFixed(4)} over ${res.tokens} tokens`);
    }
    console.log(`sft final loss ${loss.toFixed(4)}`);
    expect(loss).toBeLessThan(0.05);
  });

  it('runs the loop: error, correction, calculation, answer — logged turn by turn', async () => {
    [trajectory] = (await env.rollout(
      task,
      policy,
      { n: 1, sampling: { max_tokens: 96, temperature: 0, top_p: 1 }, blobDir: '/tmp' },
      config,
    )) as [Trajectory];
    expect(trajectory.status).toBe('ok');
    for (const [i, turn] of trajectory.turns.entries()) {
      const meta = [
        turn.tokens !== undefined ? `${turn.tokens} tokens` : '',
        turn.status ?? '',
        turn.finishReason ?? '',
      ]
        .filter(Boolean)
        .join(', ');
      console.log(
        `turn ${i} [${turn.role}${meta ? `; ${meta}` : ''}]\n${turn.role === 'system' ? `${turn.content.slice(0, 160)}…` : turn.content}\n`,
      );
    }
    const calls = trajectory.extra?.calls as { status: string; name: string }[];
    console.log('calls:', JSON.stringify(calls));
    expect(calls.map((c) => c.status)).toEqual(['invalid_arguments', 'ok', 'ok']);
    expect(trajectory.turns.filter((t) => t.role === 'tool').map((t) => t.content)).toEqual(results);
    expect(trajectory.extra?.stoppedBy).toBe('answer');
    expect(trajectory.extra?.assistantTurns).toBe(4);
    expect(trajectory.completion).toContain('Answer: 24.14016');
  });

  it('builds an exact token stream: samples with mask 1, template-identical inserts with mask 0', async () => {
    const { completionTokenIds: ids, logprobs, completionMask: mask, promptTokenIds } = trajectory;
    expect(logprobs.length).toBe(ids.length);
    expect(mask?.length).toBe(ids.length);
    const assistantTokens = trajectory.turns
      .filter((t) => t.role === 'assistant')
      .reduce((s, t) => s + (t.tokens ?? 0), 0);
    expect(mask!.filter((m) => m === 1).length).toBe(assistantTokens);
    expect(mask!.every((m, i) => m === 1 || logprobs[i] === 0)).toBe(true);
    // The worker's own template over the conversation up to the last tool result gives the same ids as
    // the prompt the last turn was sampled from (P0 · C1 · I1 · … · I3).
    const conversation: ChatMessage[] = trajectory.turns
      .slice(0, trajectory.turns.length - 1)
      .map((t) => ({ role: t.role, content: t.content }));
    const rendered = await policy.generate({ messages: [conversation], max_tokens: 1, temperature: 0 });
    const lastTurnStart = ids.length - (trajectory.turns[trajectory.turns.length - 1]!.tokens ?? 0);
    expect([...promptTokenIds, ...ids.slice(0, lastTurnStart)]).toEqual(
      rendered.results[0]!.prompt_token_ids,
    );
  });

  it('scores the rollout with the environment rewards, and the worker trains on it', async () => {
    const outcome = await scoreTrajectory(
      env.rewards,
      {
        completion: trajectory.completion,
        turns: trajectory.turns,
        completionTokens: 0,
        extra: trajectory.extra,
      },
      task,
    );
    console.log('rewards:', JSON.stringify(outcome.components));
    const byName = Object.fromEntries(outcome.components.map((c) => [c.checker, c.value]));
    expect(byName['tool-call-match']).toBe(1);
    expect(byName['final-answer']).toBe(1);
    expect(byName['invalid-call-penalty']).toBe(-0.5);
    expect(byName['turn-budget']).toBeCloseTo(-1 / 3);
    const step = await policy.trainStep({
      idempotency_key: 'tool-use-test:1',
      samples: [
        {
          prompt_token_ids: trajectory.promptTokenIds,
          completion_token_ids: trajectory.completionTokenIds,
          old_logprobs: trajectory.logprobs,
          completion_mask: trajectory.completionMask,
          advantage: 1,
        },
      ],
    });
    expect(step.metrics.tokens).toBe(trajectory.completionMask!.filter((m) => m === 1).length);
  });
});
