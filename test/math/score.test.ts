import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runScore } from '../../cli/commands/score.js';
import { ESC, runCli } from '../helpers/cli.js';

describe('multigym score (math)', () => {
  it('scores each line, reports malformed lines by number and field, and keeps going', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-score-'));
    const input = join(dir, 'in.jsonl');
    const output = join(dir, 'out.jsonl');
    const lines = [
      { task: { question: 'Q', answer: 'work\n#### 1,200' }, completion: 'so \\boxed{1200}' },
      {
        task: { problem: 'P', answer: '\\frac{1}{2}', solution: '\\boxed{\\frac12}' },
        completion: 'The answer is 0.5',
      },
      { task: { question: 'Q', answer: '\\{1,2\\}' }, completion: '\\boxed{3}' },
      { task: { question: 'Q' }, completion: '\\boxed{3}' },
      { task: { question: 'Q', answer: '3' } },
    ].map((l) => JSON.stringify(l));
    writeFileSync(input, `${[...lines.slice(0, 3), '', '{not json', ...lines.slice(3)].join('\n')}\n`);
    const summary = await runScore({ env: 'math', input, output });
    expect(summary).toMatchObject({
      lines: 6,
      meanReward: 2 / 3,
      errors: 3,
      checkerErrors: 0,
      infraErrors: 0,
    });
    expect(summary.firstErrors.map((e) => e.slice(0, 7))).toEqual(['line 5:', 'line 6:', 'line 7:']);
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(out).toHaveLength(6);
    expect(out[0]).toMatchObject({ reward: 1, components: { 'math-equivalence': 1 } });
    expect(out[0].details['math-equivalence']).toMatchObject({ rule: 'boxed', extracted: '1200' });
    expect(out[1]).toMatchObject({ reward: 1, details: { 'math-equivalence': { rule: 'answer-is' } } });
    expect(out[2]).toMatchObject({ reward: 0, components: { 'math-equivalence': 0 } });
    expect(out[3]).toMatchObject({ reward: null, line: 5 });
    expect(out[3].error).toMatch(/^line 5: .*invalid JSON/);
    expect(out[4]).toMatchObject({ reward: null, line: 6 });
    expect(out[4].error).toMatch(/^line 6: task\.answer: /);
    expect(out[5].error).toMatch(/^line 7: completion: /);
  });

  it('rejects an unknown environment', async () => {
    await expect(runScore({ env: 'nope', input: '/dev/null' })).rejects.toThrow(/unknown environment "nope"/);
  });
});

describe('multigym score from the command line', () => {
  it('counts malformed lines, names them, and exits 1 unless --allow-errors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mg-score-cli-'));
    const input = join(dir, 'in.jsonl');
    const good = JSON.stringify({ task: { question: 'Q', answer: '#### 3' }, completion: '\\boxed{3}' });
    writeFileSync(input, `${good}\n${good}\n{"task": {"question": "Q", "answer": "#### 3"}}\n`);
    const strict = await runCli([
      'score',
      '--env',
      'math',
      '--input',
      input,
      '--output',
      join(dir, 'o.jsonl'),
    ]);
    expect(strict.code).toBe(1);
    expect(strict.output).toContain('scored 2 of 3 lines; mean reward 1.0000 over the 2 scored; 1 malformed');
    expect(strict.output).toContain('line 3: completion: expected a string');
    expect(strict.output).toContain('1 of 3 lines could not be scored; fix them, or pass --allow-errors');
    const lenient = await runCli(['score', '--env', 'math', '--input', input, '--allow-errors']);
    expect(lenient.code).toBe(0);
    expect(lenient.output).toContain('scored 2 of 3 lines');
    expect(lenient.output).not.toContain(ESC);
  }, 120_000);
});
