/**
 * The ONNX reward-model checker against PyTorch: the fixture model (test/fixtures/make_reward_model.py)
 * run through onnxruntime-node gives the scores PyTorch recorded for the same texts.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import '../../rewards/builtin/index.js';
import { getReward } from '../../rewards/registry.js';
import { runChecker } from '../../rewards/score.js';
import { repoRoot } from '../helpers/paths.js';

const model = resolve(repoRoot, 'test/fixtures/reward-model.onnx');
const expected: Record<string, number> = JSON.parse(
  readFileSync(resolve(repoRoot, 'test/fixtures/reward-model.expected.json'), 'utf8'),
);
const task = { id: 't', data: {} };
const traj = (completion: string) => ({ completion, completionTokens: 0 });

describe('onnx-reward-model', () => {
  const checker = getReward('onnx-reward-model');

  it('matches the PyTorch scores of the same model', async () => {
    for (const [text, score] of Object.entries(expected)) {
      const r = await checker.score(traj(text), task, checker.configSchema.parse({ model, missValue: -10 }));
      expect(r.value).toBeCloseTo(score, 5);
    }
  });

  it('maps the raw score with a transform and keeps the end of long inputs', async () => {
    const text = 'The answer is 42.';
    const r = await checker.score(
      traj(text),
      task,
      checker.configSchema.parse({ model, transform: 'sigmoid' }),
    );
    expect(r.value).toBeCloseTo(1 / (1 + Math.exp(-expected[text]!)), 5);
    const long = await checker.score(
      traj(`${'y'.repeat(50)}${'x'.repeat(300)}`),
      task,
      checker.configSchema.parse({ model, maxTokens: 256, missValue: -10 }),
    );
    expect(long.value).toBeCloseTo(expected['x'.repeat(300)]!, 5);
  });

  it('reads the answer, not the reasoning; no answer gets missValue (required for identity)', async () => {
    const text = 'The answer is 42.';
    const parse = (c: object) => checker.configSchema.parse({ model, ...c });
    const withThink = await checker.score(
      traj(`<think>long musing about 41</think>${text}`),
      task,
      parse({ missValue: -10 }),
    );
    expect(withThink.value).toBeCloseTo(expected[text]!, 5);
    const cut = { completion: `<think>${text}`, completionTokens: 0 };
    expect((await checker.score(cut, task, parse({ missValue: -10 }))).value).toBe(-10);
    expect((await checker.score(cut, task, parse({ transform: 'sigmoid' }))).value).toBe(0);
    expect((await checker.score(cut, task, parse({ transform: 'tanh' }))).value).toBe(-1);
    const truncated = { completion: text, completionTokens: 0, finishReason: 'length' };
    expect((await checker.score(truncated, task, parse({ transform: 'tanh' }))).details).toMatchObject({
      missing: 'truncated',
    });
    expect(() => parse({})).toThrow(/missValue/);
    const whole = await checker.score(traj(text), task, parse({ input: 'completion' }));
    expect(whole.value).toBeCloseTo(expected[text]!, 5);
  });

  it('is a checker error with the reason, never a score, when the model file is missing', async () => {
    const r = await runChecker(
      checker,
      traj('hi'),
      task,
      { model: '/nonexistent/model.onnx', missValue: 0 },
      5000,
    );
    expect(r).toMatchObject({ status: 'checker_error', kind: 'exception' });
    expect(r.value).toBeUndefined();
    expect(String((r as { message?: string }).message)).toMatch(/nonexistent|load|file/i);
  });
});
