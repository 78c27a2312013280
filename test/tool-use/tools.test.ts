/**
 * The built-in tools on their own: the calculator's scalar-only guard (matrix, range and assignment
 * syntax refused before anything runs), unit aliases, calendar arithmetic, knowledge-base ranking and
 * sandboxed Python (output, exceptions, time limit).
 */
import { describe, expect, it } from 'vitest';
import { executeCall } from '../../environments/tool-use/execute.js';
import { functionSpecOf } from '../../environments/tool-use/tools/api.js';
import { calculate } from '../../environments/tool-use/tools/builtin/calculator.js';
import { addDays, dayOfWeek, daysBetween } from '../../environments/tool-use/tools/builtin/dates.js';
import { builtinToolSet } from '../../environments/tool-use/tools/builtin/index.js';
import { KnowledgeBase } from '../../environments/tool-use/tools/builtin/knowledgeBase.js';
import { convert } from '../../environments/tool-use/tools/builtin/units.js';

describe('calculator', () => {
  it.each([
    ['17 * 23 + 0.5', '391.5'],
    ['sqrt(2)^3', '2.82842712475'],
    ['max(3, 7) - min(1, 2)', '6'],
    ['(1 + 2) * 3 / 4', '2.25'],
    ['2^10', '1024'],
    ['5!', '120'],
    ['10 % 3', '1'],
    ['pi * 2', '6.28318530718'],
  ])('%s = %s', (expression, want) => {
    expect(calculate(expression)).toBe(want);
  });

  it.each([
    ['zeros(100000, 100000)', /function "zeros" is not available/],
    ['sum(1:1000000000)', /range syntax/],
    ['[1, 2, 3] * 2', /array syntax/],
    ['x = 5', /assignment syntax/],
    ['f(x) = x^2', /assignment syntax/],
    ['import({}, {})', /"import" is not available/],
    ['combinations(1e9, 5e8)', /"combinations" is not available/],
    ['5 mi to km', /unknown name "mi"/],
    ['"text"', /only numbers/],
    ['1 +', /cannot evaluate/],
  ])('refuses %s', (expression, why) => {
    expect(() => calculate(expression)).toThrow(why);
  });

  it('refuses expressions over 500 characters', () => {
    expect(() => calculate('1+'.repeat(300))).toThrow(/longer than 500/);
  });
});

describe('units and dates', () => {
  it('converts with mathjs units and common spellings', () => {
    expect(convert(5, 'miles', 'kilometers')).toBe('8.04672');
    expect(convert(3, 'pounds', 'kg')).toBe('1.36078');
    expect(convert(212, 'fahrenheit', 'celsius')).toBe('100');
    expect(convert(60, 'mph', 'kph')).toBe('96.5606');
    expect(() => convert(1, 'kg', 'm')).toThrow(/cannot convert/);
  });

  it('does calendar arithmetic across leap years and months', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2024-01-01', -1)).toBe('2023-12-31');
    expect(daysBetween('2024-01-01', '2025-01-01')).toBe(366);
    expect(daysBetween('2025-01-01', '2024-01-01')).toBe(-366);
    expect(dayOfWeek('2000-01-01')).toBe('Saturday');
    expect(() => addDays('2023-02-29', 1)).toThrow(/does not exist/);
    expect(() => addDays('01/02/2024', 1)).toThrow(/YYYY-MM-DD/);
  });
});

describe('knowledge base', () => {
  const kb = KnowledgeBase.load();
  it('ranks the entry named in the query first, by BM25', () => {
    for (const entry of kb.entries) {
      expect(kb.search(`${entry.title} facts`, 1)[0]?.entry.id).toBe(entry.id);
    }
    expect(kb.search('zzz qqq')).toEqual([]);
  });
});

describe('python in the sandbox', () => {
  const callables = builtinToolSet.tools.map((t) => ({ ...functionSpecOf(t), run: t.run }));
  const run = (code: string, timeoutMs = 10_000) =>
    executeCall({ name: 'run_python', arguments: { code }, format: 'hermes', raw: '' }, callables, {
      timeoutMs,
      maxResultChars: 2000,
    });

  it('returns what the program prints, and its traceback as a tool error', async () => {
    expect(await run('print(sum(range(10)))')).toMatchObject({ status: 'ok', content: '45' });
    const failed = await run('import sys\nprint(1/0)');
    expect(failed.status).toBe('tool_error');
    expect(failed.content).toContain('ZeroDivisionError');
  });

  it('stops a program that runs past the time limit', async () => {
    const slow = await run('while True: pass', 1500);
    expect(['tool_error', 'timeout']).toContain(slow.status);
    expect(slow.content).toMatch(/ran past|timed out/);
  });
});
