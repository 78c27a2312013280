import { describe, expect, it } from 'vitest';
import '../../rewards/builtin/index.js';
import type { ScoredTask, ScoredTrajectory } from '../../rewards/api.js';
import { getReward, rewardNames } from '../../rewards/registry.js';
import { runChecker, scoreTrajectory } from '../../rewards/score.js';

const traj = (completion: string, completionTokens = 10, thinkingTokens?: number): ScoredTrajectory => ({
  completion,
  completionTokens,
  thinkingTokens,
});
const task = (answer?: string): ScoredTask => ({ id: 't/0', data: answer === undefined ? {} : { answer } });
const score = (name: string, t: ScoredTrajectory, k: ScoredTask, config?: unknown) =>
  runChecker(getReward(name), t, k, config);

describe('built-in reward checkers', () => {
  it('are all registered', () => {
    for (const name of [
      'math-equivalence',
      'exact-match',
      'numeric',
      'regex',
      'format',
      'length-penalty',
      'budget',
    ]) {
      expect(rewardNames()).toContain(name);
    }
  });

  it('math-equivalence reports the extraction rule and method; no reference is not applicable', async () => {
    const r = await score('math-equivalence', traj('thus \\boxed{\\dfrac{1}{2}}'), task('0.5'));
    expect(r.value).toBe(1);
    expect(r.details).toMatchObject({ rule: 'boxed', extracted: '\\dfrac{1}{2}', method: 'numeric' });
    expect((await score('math-equivalence', traj('\\boxed{3}'), task('4'))).value).toBe(0);
    expect((await score('math-equivalence', traj('nothing'), task('4'))).details).toMatchObject({
      rule: 'none',
    });
    expect(await score('math-equivalence', traj('\\boxed{3}'), task())).toMatchObject({
      value: 0,
      applicable: false,
    });
    const thinking = traj('<think>maybe \\boxed{3}</think> It is \\boxed{4}.');
    expect((await score('math-equivalence', thinking, task('4'))).value).toBe(1);
    expect(
      (await score('math-equivalence', traj('<think>\\boxed{4}</think> no idea'), task('4'))).value,
    ).toBe(0);
    const lone = await score('math-equivalence', traj('\\boxed{4}</think> no idea'), task('4'));
    expect(lone.value).toBe(0);
    const onlyBoxed = await score('math-equivalence', traj('The answer is 4'), task('4'), {
      rules: ['boxed'],
    });
    expect(onlyBoxed.value).toBe(0);
  });

  it('math-equivalence past its time budget is a checker timeout, not a score of 0', async () => {
    const r = await score('math-equivalence', traj('\\boxed{x^2+2x+1}'), task('(x+1)^2'), { budgetMs: 0 });
    expect(r).toMatchObject({ status: 'checker_error', kind: 'timeout', errorType: 'RewardTimeoutError' });
    expect(r.value).toBeUndefined();
    expect((r as { message: string }).message).toBe(
      'comparing "x^2+2x+1" with the reference exceeded the 0 ms budget (budgetMs)',
    );
  });

  it('exact-match compares normalised strings, optionally the whole completion', async () => {
    expect((await score('exact-match', traj('\\boxed{\\text{Monday}}'), task('monday'))).value).toBe(1);
    expect((await score('exact-match', traj('\\boxed{0.5}'), task('\\frac{1}{2}'))).value).toBe(0);
    expect((await score('exact-match', traj(' Paris '), task('paris'), { extract: false })).value).toBe(1);
    expect(
      (await score('exact-match', traj('Paris'), task('paris'), { extract: false, caseSensitive: true }))
        .value,
    ).toBe(0);
  });

  it('numeric: a decimal within relTol of an integer reference but wrong in a digit scores 0 (issue 13)', async () => {
    expect((await score('numeric', traj('\\boxed{1000000.5}'), task('1000000'))).value).toBe(0);
    expect((await score('numeric', traj('The answer is 2.9999999'), task('3'))).value).toBe(0);
    expect((await score('numeric', traj('\\boxed{0.333333}'), task('1/3'))).value).toBe(1);
    expect((await score('numeric', traj('\\boxed{1000000.0}'), task('1000000'))).value).toBe(1);
  });

  it('numeric uses the tolerance and is not applicable to symbolic references', async () => {
    expect((await score('numeric', traj('about 3.1416'), task('3.14159'), { relTol: 1e-4 })).value).toBe(1);
    expect((await score('numeric', traj('about 3.1416'), task('3.14159'))).value).toBe(0);
    expect((await score('numeric', traj('\\boxed{1,000}'), task('1000'))).value).toBe(1);
    expect(await score('numeric', traj('\\boxed{2}'), task('\\sqrt{2}'))).toMatchObject({
      value: 0,
      applicable: false,
    });
  });

  it('regex matches the completion or the answer; a bad pattern is a config error', async () => {
    expect(
      (await score('regex', traj('<answer>5</answer>'), task(), { pattern: '<answer>\\d+</answer>' })).value,
    ).toBe(1);
    expect(
      (
        await score('regex', traj('\\boxed{12}'), task(), {
          pattern: '\\d',
          target: 'answer',
          fullMatch: true,
        })
      ).value,
    ).toBe(0);
    expect((await score('regex', traj('x'), task(), { pattern: 'y', missValue: -1 })).value).toBe(-1);
    const bad = await score('regex', traj('x'), task(), { pattern: '(' });
    expect(bad).toMatchObject({ status: 'checker_error', kind: 'invalid_config' });
    expect(bad.value).toBeUndefined();
    expect(String((bad as { message?: string }).message)).toMatch(
      /^pattern: not a valid RE2 regular expression/,
    );
  });

  it('format checks think blocks and boxed answers', async () => {
    const good = '<think>add them</think> The sum is \\boxed{7}.';
    const all = { require: ['think', 'boxed', 'single-boxed', 'no-trailing-text'] };
    expect((await score('format', traj(good), task(), all)).value).toBe(1);
    expect((await score('format', traj('\\boxed{7} and \\boxed{8} more'), task(), all)).value).toBe(0.25);
    expect((await score('format', traj('\\boxed{7}'), task(), { ...all, mode: 'all' })).value).toBe(0);
    expect(
      (await score('format', traj('<think>unclosed \\boxed{7}'), task(), { require: ['think'] })).value,
    ).toBe(0);
  });

  it('format: empty tags earn nothing — an empty think block, an empty or blank box (issue 13)', async () => {
    const rule = async (completion: string, r: string) =>
      (await score('format', traj(completion), task(), { require: [r] })).value;
    for (const empty of [
      '<think></think>',
      '<think> </think>',
      '<think>\n\n</think>\n',
      '</think>',
      ' </think>',
    ])
      expect(await rule(`${empty}\\boxed{3}`, 'think')).toBe(0);
    expect(await rule('<think>3 + 4</think>\\boxed{7}', 'think')).toBe(1);
    expect(await rule('7</think>\\boxed{7}', 'think')).toBe(1);
    for (const blank of ['\\text{}', '{}', '{ }', '\\,', '\\quad', '.', '\\mathrm{ }', '~', '\\text{\\,}'])
      expect(await rule(`\\boxed{${blank}}`, 'boxed')).toBe(0);
    for (const stated of ['7', '\\pi', '\\emptyset', '\\{\\}', '\\text{yes}', 'x', '-\\infty'])
      expect(await rule(`\\boxed{${stated}}`, 'boxed')).toBe(1);
  });

  it('length-penalty follows DAPO soft overlong punishment', async () => {
    const cfg = { maxTokens: 100, cacheTokens: 20 };
    expect((await score('length-penalty', traj('', 80), task(), cfg)).value).toBe(0);
    expect((await score('length-penalty', traj('', 90), task(), cfg)).value).toBeCloseTo(-0.5);
    expect((await score('length-penalty', traj('', 101), task(), cfg)).value).toBe(-1);
    expect(await score('length-penalty', traj('', 101), task(), { ...cfg, cacheTokens: 100 })).toMatchObject({
      status: 'checker_error',
      kind: 'invalid_config',
    });
  });

  it('budget charges tokens over the budget, capped; thinking count required', async () => {
    const cfg = { budgetTokens: 100, costPerToken: 0.01, maxCost: 0.5 };
    expect((await score('budget', traj('', 500, 90), task(), cfg)).value).toBe(0);
    expect((await score('budget', traj('', 500, 120), task(), cfg)).value).toBeCloseTo(-0.2);
    expect((await score('budget', traj('', 500, 1000), task(), cfg)).value).toBe(-0.5);
    expect((await score('budget', traj('', 130), task(), { ...cfg, count: 'completion' })).value).toBeCloseTo(
      -0.3,
    );
    expect(await score('budget', traj('', 500), task(), cfg)).toMatchObject({ value: 0, applicable: false });
  });

  it('scoreTrajectory weights the components', async () => {
    const out = await scoreTrajectory(
      [
        { checker: 'math-equivalence', weight: 1 },
        { checker: 'format', weight: 0.5, config: { require: ['think'] } },
      ],
      traj('\\boxed{7}'),
      task('7'),
    );
    expect(out.total).toBe(1);
    expect(out.components.map((c) => c.value)).toEqual([1, 0]);
  });
});
