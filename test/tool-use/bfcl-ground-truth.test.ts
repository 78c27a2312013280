/**
 * BFCL ground truth written out as completions, in every supported call format, must score 1 with
 * `tool-call-match` on at least 99% of each of the four categories (the whole set when found, else the
10 records per category of the committed excerpt). Misses are printed.
 */
import { describe, expect, it } from 'vitest';
import { BFCL_CATEGORIES, bfclTaskData, loadBfcl } from '../../environments/tool-use/bfcl.js';
import { CallStyle, formatCalls, referenceCalls } from '../../environments/tool-use/calls.js';
import { invalidCallPenalty } from '../../rewards/builtin/invalid-call-penalty.js';
import { toolCallMatch } from '../../rewards/builtin/tool-call-match.js';
import { runChecker } from '../../rewards/score.js';
import { dataDir, hasFullData } from '../helpers/data.js';

const styles = [
  { name: 'hermes', write: (c: Parameters<typeof formatCalls>[0]) => formatCalls(c, CallStyle.hermes) },
  { name: 'openai', write: (c: Parameters<typeof formatCalls>[0]) => formatCalls(c, CallStyle.openai) },
  { name: 'json', write: (c: Parameters<typeof formatCalls>[0]) => formatCalls(c, CallStyle.json) },
  {
    name: 'pythonic',
    write: (c: Parameters<typeof formatCalls>[0]) => formatCalls(c, CallStyle.pythonic),
  },
  {
    name: 'json-in-prose',
    write: (c: Parameters<typeof formatCalls>[0]) =>
      `Sure, I'll call the tools.\n\`\`\`json\n${formatCalls(c, CallStyle.json)}\n\`\`\`\nDone.`,
  },
];

const firstKey = (o: Record<string, unknown>): string => Object.keys(o)[0] ?? 'missing';

describe('BFCL ground truth as completions', () => {
  for (const category of BFCL_CATEGORIES) {
    it(`${category}: ≥ 99% score 1 in every format`, async () => {
      const records = await loadBfcl(dataDir('bfcl'), category);
      expect(records.length).toBeGreaterThanOrEqual(hasFullData('bfcl') ? 200 : 10);
      for (const style of styles) {
        const misses: string[] = [];
        const penalised: string[] = [];
        for (const [i, record] of records.entries()) {
          const data = bfclTaskData(record);
          const completion = style.write(referenceCalls(data.ground_truth, data.functions));
          const r = await runChecker(
            toolCallMatch,
            { completion, completionTokens: 0 },
            { id: record.id ?? String(i), data: data as unknown as Record<string, unknown> },
            {},
          );
          if (r.value !== 1)
            misses.push(`${record.id}: ${JSON.stringify(r.details)}\n    ${completion.slice(0, 300)}`);
          // The reference calls are also valid against the (converted) JSON Schema: no penalty.
          const p = await runChecker(
            invalidCallPenalty,
            { completion, completionTokens: 0 },
            { id: record.id ?? String(i), data: data as unknown as Record<string, unknown> },
            {},
          );
          if (p.value !== 0) penalised.push(`${record.id}: ${JSON.stringify(p.details)}`);
        }
        for (const m of penalised) console.log(`  penalised ${m}`);
        expect(penalised.length / records.length).toBeLessThanOrEqual(0.01);
        const rate = 1 - misses.length / records.length;
        console.log(
          `${category} / ${style.name}: ${records.length - misses.length}/${records.length} (${(rate * 100).toFixed(1)}%)`,
        );
        for (const m of misses) console.log(`  miss ${m}`);
        expect(rate).toBeGreaterThanOrEqual(0.99);
      }
      // The checker must not be lenient: reversed order still scores 1, a corrupted value scores 0.
      let reversedOk = 0;
      let corruptedOk = 0;
      for (const [i, record] of records.entries()) {
        const data = bfclTaskData(record);
        const task = { id: record.id ?? String(i), data: data as unknown as Record<string, unknown> };
        const calls = referenceCalls(data.ground_truth, data.functions);
        const reversed = formatCalls([...calls].reverse(), CallStyle.hermes);
        if (
          (await runChecker(toolCallMatch, { completion: reversed, completionTokens: 0 }, task, {})).value ===
          1
        ) {
          reversedOk++;
        }
        const corrupted = calls.map((c, j) =>
          j === calls.length - 1
            ? { ...c, arguments: { ...c.arguments, [firstKey(c.arguments)]: '__wrong__' } }
            : c,
        );
        const bad = formatCalls(corrupted, CallStyle.hermes);
        if (
          (await runChecker(toolCallMatch, { completion: bad, completionTokens: 0 }, task, {})).value === 1
        ) {
          corruptedOk++;
        }
      }
      console.log(
        `${category}: reversed order ${reversedOk}/${records.length} score 1; corrupted ${corruptedOk} score 1`,
      );
      expect(reversedOk / records.length).toBeGreaterThanOrEqual(0.99);
      expect(corruptedOk).toBe(0);
    });
  }
});
