import { describe, expect, it } from 'vitest';
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
});
