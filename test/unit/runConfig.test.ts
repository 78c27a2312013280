import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { ActivityDeps } from '../../activities/deps.js';
import { runActivities } from '../../activities/runs.js';
import { defineEnvironment } from '../../environments/api.js';
import { registerEnvironment } from '../../environments/registry.js';
import '../../rewards/builtin/index.js';
import { formatIssues, RunConfig } from '../../workflows/config.js';

const base = {
  steps: 2,
  policy: { url: 'http://127.0.0.1:8765' },
  environments: [{ name: 'math', prompts_per_step: 4, group_size: 4 }],
};

describe('RunConfig', () => {
  it('fills defaults', () => {
    const c = RunConfig.parse(base);
    expect(c.algorithm.clip_low).toBe(0.2);
    expect(c.environments[0]!.split).toBe('train');
    expect(c.environments[0]!.sampling.temperature).toBe(1);
  });

  it('checkpoints every 10 steps by default, under runs/ of the worker root', () => {
    const c = RunConfig.parse(base);
    expect(c.checkpoint_every).toBe(10);
    expect(c.checkpoint_dir).toBe('runs');
  });

  it('names every bad field', () => {
    const r = RunConfig.safeParse({
      ...base,
      steps: 0,
      environments: [{ name: 'Code Sandbox', prompts_per_step: 4, group_size: 1 }],
    });
    expect(r.success).toBe(false);
    const msg = formatIssues(r.error!);
    expect(msg).toMatch(/^steps: /);
    expect(msg).toMatch(/environments\.0\.name: must be kebab-case/);
    expect(msg).toMatch(/environments\.0\.group_size/);
  });

  it('rejects misspelt fields instead of dropping them', () => {
    const r = RunConfig.safeParse({
      ...base,
      environments: [{ name: 'math', prompts_per_step: 4, group_size: 4, group_sise: 8 }],
    });
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!)).toMatch(/environments\.0: Unrecognized key: "group_sise"/);
  });

  it('refuses two reward components with one name, and a user `budget` beside the reasoning budget', () => {
    const env = (rewards: unknown[], reasoning?: unknown) => ({
      ...base,
      environments: [
        { name: 'math', prompts_per_step: 4, group_size: 4, rewards, ...(reasoning ? { reasoning } : {}) },
      ],
    });
    const issues = (config: unknown) => {
      const r = RunConfig.safeParse(config);
      return r.success ? '' : formatIssues(r.error);
    };
    const regex = (pattern: string, name?: string) => ({
      checker: 'regex',
      weight: 1,
      config: { pattern },
      ...(name ? { name } : {}),
    });
    expect(issues(env([regex('a'), regex('b')]))).toBe(
      'environments.0.rewards.1.checker: component "regex" is listed twice (also at 0): give one a distinct "name"',
    );
    expect(issues(env([regex('a', 'x'), regex('b', 'x')]))).toMatch(
      /^environments\.0\.rewards\.1\.name: component "x"/,
    );
    // A distinct name per instance makes one checker twice legitimate.
    expect(issues(env([regex('a'), regex('b', 'has-b')]))).toBe('');
    expect(issues(env([regex('a', 'regex'), regex('b')]))).toMatch(
      /rewards\.1\.checker: component "regex" is listed twice/,
    );
    // `budget` is the automatic component of reasoning-budget control.
    const reasoning = { share: 0.5, budget_tokens: 16 };
    const budget = { checker: 'budget', weight: 0.1 };
    expect(issues(env([budget], reasoning))).toMatch(
      /^environments\.0\.rewards\.0\.checker: "budget" is added automatically for the reasoning budget/,
    );
    expect(issues(env([budget]))).toBe('');
    expect(issues(env([{ ...budget, name: 'thinking-cost' }], reasoning))).toBe('');
    expect(
      issues(env([{ checker: 'regex', weight: 1, name: 'budget', config: { pattern: 'a' } }], reasoning)),
    ).toMatch(/rewards\.0\.name: "budget" is added automatically/);
  });

  it('checks the default rewards of an environment the same way when the run starts', async () => {
    registerEnvironment(
      defineEnvironment({
        name: 'dup-defaults',
        description: 'lists regex twice by default',
        configSchema: z.object({}),
        async *tasks() {},
        rollout: async () => [],
        rewards: [
          { checker: 'regex', weight: 1, config: { pattern: 'a' } },
          { checker: 'regex', weight: 1, config: { pattern: 'b' } },
        ],
        parseTask: (_r, i) => ({ id: String(i), data: {} }),
      }),
    );
    const { validateRun } = runActivities({} as ActivityDeps);
    const config = RunConfig.parse({
      ...base,
      environments: [{ name: 'dup-defaults', prompts_per_step: 1, group_size: 2 }],
    });
    await expect(validateRun({ config })).rejects.toThrow(
      /environments\.0\.rewards: the defaults of "dup-defaults" \(component 1\): component "regex" is listed twice/,
    );
  });
});
