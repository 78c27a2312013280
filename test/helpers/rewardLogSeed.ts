/**
 * A small reward log with known answers, written straight to the tables: two environments, two
 * train steps, an evaluation, every rollout status and every reward-component status. The expected
 * aggregates are worked out by hand in test/logs/api.test.ts.
 *
 * math (checker math-equivalence, weight 1), 2 tasks × 4 samples per step:
 *   step 1: t1 [1, 0, 0, 0], t2 [1, 1, 1, 1]
 *   step 2: t1 [1, 1, 0, checker_error], t2 [0, 0, 0, 0]
 * tool-use (tool-call-match + invalid-call-penalty), step 1, task u1: totals [0.5, −0.25, 1] and one
 *   infra_error; the third sample's penalty is not applicable.
 * eval:2 on math: task t1, 2 samples [1, 0].
 */
import type { Database } from '../../db/client.js';
import { rewards, rollouts, runs, stepMetrics, tasks } from '../../db/schema.js';

export const SEED_RUN = 'seed-run';

type Component = {
  checker: string;
  value: number | null;
  status?: string;
  details?: Record<string, unknown>;
  error?: string;
};
type Sample = {
  status?: string;
  reward: number | null;
  finish?: string;
  tokens?: number;
  completion?: string;
  components: Component[];
};

const math = (v: number | 'error'): Sample =>
  v === 'error'
    ? {
        status: 'checker_error',
        reward: null,
        completion: 'the checker broke here',
        components: [
          {
            checker: 'math-equivalence',
            value: null,
            status: 'checker_error',
            error: 'boom: parser crashed',
            details: {},
          },
        ],
      }
    : {
        reward: v,
        finish: v === 1 ? 'stop' : 'length',
        tokens: v === 1 ? 10 : 30,
        completion: v === 1 ? '<think>2+2 is 4</think>The answer is 4' : 'The answer is 7 maybe',
        components: [
          {
            checker: 'math-equivalence',
            value: v,
            details:
              v === 1
                ? { extracted: '4', reference: '4' }
                : { extracted: '7', reference: '4', reason: 'wrong answer 7' },
          },
        ],
      };

/** Writes the seed run (id `runId`) to `db`. */
export async function seedRewardLog(db: Database, runId = SEED_RUN): Promise<void> {
  await db.insert(runs).values({
    id: runId,
    name: 'seed',
    status: 'running',
    config: { name: 'seed', steps: 4, environments: [{ name: 'math' }, { name: 'tool-use' }] },
  });
  await db.insert(tasks).values([
    { runId, env: 'math', taskId: 't1', data: { question: 'What is 2+2?', answer: '4' } },
    { runId, env: 'math', taskId: 't2', data: { question: 'What is 1+0?', answer: '1' } },
    { runId, env: 'tool-use', taskId: 'u1', data: { question: 'Convert 1 km to m', tools: ['convert'] } },
  ]);
  const groups: { step: number; env: string; taskId: string; phase?: string; samples: Sample[] }[] = [
    { step: 1, env: 'math', taskId: 't1', samples: [1, 0, 0, 0].map((v) => math(v)) },
    { step: 1, env: 'math', taskId: 't2', samples: [1, 1, 1, 1].map((v) => math(v)) },
    { step: 2, env: 'math', taskId: 't1', samples: [math(1), math(1), math(0), math('error')] },
    { step: 2, env: 'math', taskId: 't2', samples: [0, 0, 0, 0].map((v) => math(v)) },
    { step: 2, env: 'math', taskId: 't1', phase: 'eval:2', samples: [math(1), math(0)] },
    {
      step: 1,
      env: 'tool-use',
      taskId: 'u1',
      samples: [
        {
          reward: 0.5,
          completion: '<tool_call>{"name":"convert"}</tool_call>',
          components: [
            { checker: 'tool-call-match', value: 0.5, details: { reason: 'arguments half right' } },
            { checker: 'invalid-call-penalty', value: 0, details: {} },
          ],
        },
        {
          reward: -0.25,
          completion: '<tool_call>{bad json</tool_call>',
          components: [
            { checker: 'tool-call-match', value: 0, details: { reason: 'no valid call' } },
            { checker: 'invalid-call-penalty', value: -0.25, details: { reason: 'unparseable call' } },
          ],
        },
        {
          reward: 1,
          completion: '<tool_call>{"name":"convert","arguments":{"km":1}}</tool_call>',
          components: [
            { checker: 'tool-call-match', value: 1, details: {} },
            {
              checker: 'invalid-call-penalty',
              value: 0,
              status: 'not_applicable',
              details: { applicable: false },
            },
          ],
        },
        { status: 'infra_error', reward: null, completion: '', components: [] },
      ],
    },
  ];
  for (const g of groups) {
    const inserted = await db
      .insert(rollouts)
      .values(
        g.samples.map((s, sample) => ({
          runId,
          step: g.step,
          env: g.env,
          taskId: g.taskId,
          sample,
          phase: g.phase ?? 'train',
          status: s.status ?? 'ok',
          error:
            s.status === 'infra_error'
              ? 'policy worker unreachable'
              : s.status
                ? 'math-equivalence: boom'
                : null,
          policyVersion: g.step - 1,
          completion: s.completion ?? '',
          turns: [
            { role: 'user', content: 'q' },
            { role: 'assistant', content: s.completion ?? '' },
          ],
          promptTokenIds: [1, 2],
          completionTokenIds: [3],
          logprobs: [-0.5],
          promptTokens: 2,
          completionTokens: s.tokens ?? 20,
          finishReason: s.finish ?? 'stop',
          reward: s.reward,
        })),
      )
      .returning({ id: rollouts.id, sample: rollouts.sample });
    const rows = inserted.flatMap(({ id, sample }) =>
      g.samples[sample]!.components.map((c) => ({
        rolloutId: id,
        checker: c.checker,
        weight: 1,
        value: c.value,
        status: c.status ?? 'ok',
        error: c.error ?? null,
        details: c.details ?? {},
      })),
    );
    if (rows.length) await db.insert(rewards).values(rows);
  }
  const train = (step: number) => ({
    loss: 0.1 * step,
    kl: 0.01 * step,
    clip_frac_low: 0,
    clip_frac_high: 0.02,
    entropy: 1.5,
    grad_norm: 0.3,
    tokens: 100,
    seconds: 1,
    learning_rate: 1e-5,
  });
  await db.insert(stepMetrics).values([
    {
      runId,
      step: 1,
      policyVersion: 1,
      train: train(1),
      envs: {
        math: { meanReward: 0.625, passRate: 0.625, rollouts: 8 },
        'tool-use': { meanReward: 0.4167, passRate: 0.333, rollouts: 3, infraErrors: 1 },
      },
    },
    {
      runId,
      step: 2,
      policyVersion: 2,
      train: train(2),
      envs: { math: { meanReward: 2 / 7, passRate: 2 / 7, rollouts: 7, checkerErrors: 1 } },
    },
  ]);
}
