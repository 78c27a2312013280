/**
 * The run config's `algorithm` block: the recipes of `examples/configs/` parse, inconsistent
 * combinations are refused with the field named, and the worker receives the loss options it needs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hyperOf as trainHyper } from '../../activities/batch.js';
import { TrainHyper } from '../../policy/protocol.js';
import { recipeAlgorithm } from '../../workflows/algorithm.js';
import { formatIssues, RunConfig } from '../../workflows/config.js';
import { repoRoot } from '../helpers/paths.js';

const base = {
  steps: 2,
  policy: { url: 'http://127.0.0.1:8765' },
  environments: [
    { name: 'math', prompts_per_step: 4, group_size: 4, sampling: { max_tokens: 64 } },
    { name: 'tool-use', prompts_per_step: 2, group_size: 4, sampling: { max_tokens: 256 } },
  ],
};
const issues = (algorithm: Record<string, unknown>) => {
  const r = RunConfig.safeParse({ ...base, algorithm });
  return r.success ? '' : formatIssues(r.error);
};

describe('algorithm config', () => {
  it('fills the defaults verl and TRL use', () => {
    const a = RunConfig.parse(base).algorithm;
    expect(a).toMatchObject({
      adv_estimator: 'grpo',
      std_estimator: 'unbiased',
      loss_agg_mode: 'token-mean',
      kl_estimator: 'k3',
      kl_clamp: 10,
      use_kl_in_reward: false,
      sync_ref_model: false,
      mask_truncated_completions: false,
    });
    expect(a.scale_rewards).toBeUndefined();
  });

  it.each([
    [
      { loss_agg_norm: 512 },
      /^algorithm\.loss_agg_norm: is used by seq-mean-token-sum-norm only, not token-mean/,
    ],
    [
      { adv_estimator: 'reinforce_plus_plus', scale_rewards: 'group' },
      /^algorithm\.scale_rewards: reinforce_plus_plus already whitens/,
    ],
    [
      { adv_estimator: 'reinforce_plus_plus_baseline', scale_rewards: 'batch' },
      /^algorithm\.scale_rewards: /,
    ],
    [
      { use_kl_in_reward: true },
      /^algorithm\.kl_coef: use_kl_in_reward subtracts kl_coef · KL from the reward: give kl_coef > 0/,
    ],
    [{ sync_ref_model: true }, /^algorithm\.sync_ref_model: the reference policy is unused with kl_coef 0/],
    [
      { rollout_is: 'token', clip_ratio_c: 3 },
      /^algorithm\.clip_ratio_c: with rollout_is .* dual-clip never binds/,
    ],
    [{ clip_ratio_c: 1 }, /^algorithm\.clip_ratio_c: /],
    [{ ref_model_mixup_alpha: 0 }, /^algorithm\.ref_model_mixup_alpha: /],
    [{ kl_estimator: 'k4' }, /^algorithm\.kl_estimator: /],
    [
      { loss_aggregation: 'token-mean' },
      /^algorithm: Unrecognized key: "loss_aggregation" \(renamed: loss_aggregation: use loss_agg_mode/,
    ],
    [
      { advantage: 'dr-grpo' },
      /^algorithm: Unrecognized key: "advantage" \(renamed: advantage: use adv_estimator and scale_rewards \("dr-grpo" is scale_rewards "none"\); see docs\/algorithms\.md\)/,
    ],
    [
      { overlong_buffer: { len: 64 } },
      /^algorithm\.overlong_buffer\.len: 64 leaves no room before environment "math"'s sampling\.max_tokens \(64\)/,
    ],
  ])('refuses %j naming the field', (algorithm, message) => {
    expect(issues(algorithm)).toMatch(message);
  });

  it('accepts consistent combinations', () => {
    for (const a of [
      { adv_estimator: 'reinforce_plus_plus' },
      { adv_estimator: 'rloo', scale_rewards: 'group' },
      { loss_agg_mode: 'seq-mean-token-sum-norm', loss_agg_norm: 1024 },
      { use_kl_in_reward: true, kl_coef: 0.001, kl_estimator: 'k1' },
      { overlong_buffer: { len: 32, penalty_factor: 1 }, mask_truncated_completions: true },
      { rollout_is: 'sequence', rollout_is_threshold: 3 },
      { sync_ref_model: true, kl_coef: 0.04, ref_model_sync_steps: 64, ref_model_mixup_alpha: 0.9 },
    ])
      expect(issues(a)).toBe('');
  });

  it('sends the worker what it needs: Dr. GRPO’s budget, no KL term when the KL is in the reward', () => {
    const max = { math: 64, 'tool-use': 256 };
    const dr = trainHyper(
      RunConfig.parse({ ...base, algorithm: { loss_agg_mode: 'seq-mean-token-sum-norm' } }).algorithm,
      max,
    );
    expect(dr.loss_agg_norm).toBe(256);
    const own = trainHyper(
      RunConfig.parse({
        ...base,
        algorithm: { loss_agg_mode: 'seq-mean-token-sum-norm', loss_agg_norm: 1000 },
      }).algorithm,
      max,
    );
    expect(own.loss_agg_norm).toBe(1000);
    const inReward = trainHyper(
      RunConfig.parse({ ...base, algorithm: { use_kl_in_reward: true, kl_coef: 0.1 } }).algorithm,
      max,
    );
    expect(inReward.kl_coef).toBe(0);
    const token = trainHyper(RunConfig.parse(base).algorithm, max);
    expect(token.loss_agg_norm).toBeUndefined();
    for (const h of [dr, own, inReward, token]) expect(TrainHyper.safeParse(h).success).toBe(true);
  });

  it('reads a step recipe stored before the rename with the arithmetic it was trained with', () => {
    const old = {
      advantage: 'grpo',
      loss_aggregation: 'seq-mean-token-mean',
      clip_low: 0.2,
      clip_high: 0.28,
    };
    expect(recipeAlgorithm(old)).toMatchObject({
      adv_estimator: 'grpo',
      scale_rewards: 'group',
      std_estimator: 'population', // what groupAdvantages used then
      loss_agg_mode: 'seq-mean-token-mean',
    });
    expect(recipeAlgorithm({ advantage: 'dr-grpo' }).scale_rewards).toBe('none');
    expect(() => recipeAlgorithm({ loss_aggregation: 'dr-grpo' })).toThrow(/cannot be rebuilt exactly/);
    const now = RunConfig.parse({ ...base, algorithm: { adv_estimator: 'rloo' } }).algorithm;
    expect(recipeAlgorithm(now)).toEqual(now);
  });

  it('parses every example config', () => {
    const dir = join(repoRoot, 'examples/configs');
    const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(files).toEqual(expect.arrayContaining(['dapo.json', 'dr-grpo.json']));
    for (const f of files) {
      const r = RunConfig.safeParse(JSON.parse(readFileSync(join(dir, f), 'utf8')));
      expect(r.success ? '' : `${f}: ${formatIssues(r.error)}`).toBe('');
    }
  });
});
