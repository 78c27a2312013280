/**
 * `multigym score --env tool-use`: BFCL records (`question`, `function`, possible answer as
 * `ground_truth`) with raw model text in any supported call format, scored through `runScore` and
 * once through the real command line.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { runScore } from '../../cli/commands/score.js';
import { BFCL_CATEGORIES, loadBfcl } from '../../environments/tool-use/bfcl.js';
import { type CallStyle, formatCalls, referenceCalls } from '../../environments/tool-use/calls.js';
import { dataDir } from '../helpers/data.js';
import { repoRoot } from '../helpers/paths.js';

const styles: CallStyle[] = ['hermes', 'openai', 'json', 'pythonic'];

describe('multigym score --env tool-use', () => {
  it('scores BFCL records with raw completions in every format; wrong and malformed ones lose', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tool-use-score-'));
    const lines: { line: string; expect: number }[] = [];
    for (const category of BFCL_CATEGORIES) {
      const records = (await loadBfcl(dataDir('bfcl'), category)).slice(0, 15);
      for (const [i, record] of records.entries()) {
        const calls = referenceCalls(record.ground_truth, record.function);
        const style = styles[i % styles.length]!;
        const { category: _c, ...task } = record;
        lines.push({
          line: JSON.stringify({ task, completion: `Calling now.\n${formatCalls(calls, style)}` }),
          expect: 1,
        });
        const wrongName = calls.map((c) => ({ ...c, name: `${c.name}_v2` }));
        lines.push({
          line: JSON.stringify({ task, completion: formatCalls(wrongName, style) }),
          expect: -0.5 * Math.min(1, 0.5 * wrongName.length),
        });
      }
    }
    const some = (await loadBfcl(dataDir('bfcl'), 'simple_python'))[0]!;
    lines.push({
      line: JSON.stringify({ task: some, completion: '<tool_call>{"name": oops</tool_call>' }),
      expect: -0.25,
    });
    lines.push({ line: JSON.stringify({ task: some, completion: 'I cannot help with that.' }), expect: 0 });
    // A call left open: read when the sample stopped by itself, an invalid call when cut at the limit.
    const open = formatCalls(referenceCalls(some.ground_truth, some.function), 'hermes').replace(
      /<\/tool_call>$/,
      '',
    );
    lines.push({ line: JSON.stringify({ task: some, completion: open, finish_reason: 'stop' }), expect: 1 });
    lines.push({
      line: JSON.stringify({ task: some, completion: open, finish_reason: 'length' }),
      expect: -0.25,
    });
    lines.push({
      line: JSON.stringify({ task: some, completion: open, finish_reason: 'cut' }),
      expect: Number.NaN,
    });
    lines.push({
      line: JSON.stringify({ task: { question: 'no functions' }, completion: 'x' }),
      expect: Number.NaN,
    });
    const input = join(dir, 'in.jsonl');
    const output = join(dir, 'out.jsonl');
    writeFileSync(input, `${lines.map((l) => l.line).join('\n')}\n`);

    const summary = await runScore({ env: 'tool-use', input, output });
    expect(summary.lines).toBe(lines.length);
    expect(summary.errors).toBe(2);
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    for (const [i, row] of out.entries()) {
      const want = lines[i]!.expect;
      if (Number.isNaN(want)) {
        expect(row.reward).toBeNull();
        expect(row.error).toMatch(/^line \d+: (task|finish_reason: expected one of stop, length, eos)/);
        continue;
      }
      // A wrong name is an unknown tool: penalty 0.5 per call, capped at 1, times the weight 0.5.
      expect(row.reward, JSON.stringify(row.details)).toBeCloseTo(want);
    }
    const correct = out.filter((_, i) => lines[i]!.expect === 1);
    console.log(
      `scored ${summary.lines} lines: ${correct.filter((r) => r.reward === 1).length}/${correct.length} reference completions at reward 1`,
    );
  });

  it('works from the command line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tool-use-cli-'));
    const record = (await loadBfcl(dataDir('bfcl'), 'parallel'))[0]!;
    const completion = formatCalls(referenceCalls(record.ground_truth, record.function).reverse(), 'openai');
    const input = join(dir, 'in.jsonl');
    writeFileSync(input, `${JSON.stringify({ task: record, completion })}\n`);
    const { stdout } = await promisify(execFile)(
      join(repoRoot, 'node_modules/.bin/tsx'),
      ['cli/main.ts', 'score', '--env', 'tool-use', '--input', input],
      { cwd: repoRoot, timeout: 120_000 },
    );
    const row = JSON.parse(stdout.trim().split('\n').pop()!);
    console.log(`cli: reward ${row.reward}, components ${JSON.stringify(row.components)}`);
    expect(row.components['tool-call-match']).toBe(1);
    expect(row.reward).toBe(1);
  });
});
