/** needle-recall on hand-made completions, and `multigym score --env long-context` end to end. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runScore } from '../../cli/commands/score.js';
import { longContext } from '../../environments/long-context/index.js';
import type { ScoredTask } from '../../rewards/api.js';
import { needleRecall } from '../../rewards/builtin/needle-recall.js';
import { scoreTrajectory } from '../../rewards/score.js';
import { config, tempBlobDir } from './helpers.js';

const cfg = needleRecall.configSchema.parse({});
const score = (completion: string, data: Record<string, unknown>, over: Record<string, unknown> = {}) =>
  needleRecall.score(
    { completion, completionTokens: 0 },
    { id: 't', data } as ScoredTask,
    needleRecall.configSchema.parse({ ...cfg, ...over }),
  );

describe('needle-recall', () => {
  const task = { answers: ['4821907', '1930482', '7730215', '5512096'], distractors: ['9981234', '3345671'] };

  it('scores the fraction of needles returned', async () => {
    expect((await score('4821907, 1930482, 7730215 and 5512096.', task)).value).toBe(1);
    expect((await score('The numbers are 4821907 and 7730215.', task)).value).toBe(0.5);
    const one = await score('Only 5512096 here', task);
    expect(one.value).toBe(0.25);
    expect(one.details).toMatchObject({ found: ['5512096'], missing: ['4821907', '1930482', '7730215'] });
    expect((await score('I do not know.', task)).value).toBe(0);
  });

  it('matches whole words only, ignoring case and spacing', async () => {
    expect((await score('48219070 14821907 1930482x', task)).value).toBe(0);
    const words = { answers: ['ZESHO', 'bokari tesu'] };
    expect((await score('zesho, BOKARI   TESU', words)).value).toBe(1);
    expect((await score('zeshora bokari-tesuma', words)).value).toBe(0);
    expect((await score('zesho', words, { caseSensitive: true })).value).toBe(0);
    expect((await score('48219070', task, { wholeWord: false })).value).toBe(0.25);
  });

  it('by default, returned distractors cost precision: value = recall × precision', async () => {
    const all = '4821907 1930482 7730215 5512096 9981234 3345671';
    const r = await score(all, task);
    expect(r.value).toBeCloseTo(4 / 6, 10);
    expect(r.details).toMatchObject({ recall: 1, distractors_returned: ['9981234', '3345671'] });
    expect((await score(all, task, { distractorPenalty: 0 })).value).toBe(1);
    expect((await score(all, task, { distractorPenalty: 0.5 })).value).toBeCloseTo(1 - 0.5 * (2 / 6), 10);
    expect((await score('9981234 3345671', task)).value).toBe(0);
    expect((await score('4821907 1930482 7730215 5512096 9981234', task)).value).toBeCloseTo(0.8, 10);
  });

  it("enumerating every key's value scores 1/k, never more than answering", async () => {
    // Multi-key NIAH: one key asked, three look-alike keys in the context.
    const multikey = { answers: ['4821907'], distractors: ['9981234', '3345671', '7730215'] };
    const enumerate = await score('apple: 4821907, pear: 9981234, plum: 3345671, fig: 7730215', multikey);
    expect(enumerate.value).toBe(0.25);
    expect((await score('4821907 or 9981234', multikey)).value).toBe(0.5);
    expect((await score('4821907', multikey)).value).toBe(1);
    // QA hard negatives: the asked person's colour plus the other people's colours.
    const qa = { answers: ['teal'], distractors: ['crimson', 'amber', 'violet', 'weaver'] };
    expect((await score('teal, crimson, amber, violet', qa)).value).toBe(0.25);
    expect((await score('Teal.', qa)).value).toBe(1);
  });
  it('an answer may list acceptable forms; any one counts, a distractor inside the answer does not', async () => {
    const denver = { answers: [['Denver', 'Denver, Colorado']], distractors: ['Boulder', 'Colorado'] };
    expect((await score('Denver', denver)).value).toBe(1);
    expect((await score('Denver, Colorado.', denver)).value).toBe(1);
    expect((await score('It is denver,   colorado', denver)).details).toMatchObject({
      found: ['Denver'],
      distractors_returned: [],
    });
    expect((await score('Boulder', denver)).value).toBe(0);
    expect((await score('Denver or Boulder', denver)).value).toBe(0.5);
    const reverse = { answers: [['Denver, Colorado', 'Denver']] };
    expect((await score('Denver', reverse)).details).toMatchObject({ found: ['Denver'], missing: [] });
    const two = { answers: [['NYC', 'New York City'], '1858'] };
    expect((await score('New York City, in 1858', two)).value).toBe(1);
    expect((await score('NYC', two)).value).toBe(0.5);
    expect((await score('1858', two)).details).toMatchObject({ missing: ['NYC'] });
  });

  it('exact-match accepts any form of a listed reference', async () => {
    const data = { answers: [['Denver', 'Denver, Colorado']], answer: ['Denver', 'Denver, Colorado'] };
    const exact = (completion: string) =>
      scoreTrajectory(longContext.rewards, { completion, completionTokens: 3 }, { id: 't', data });
    const value = async (c: string) =>
      (await exact(c)).components.find((x) => x.checker === 'exact-match')!.value;
    expect(await value(' Denver, Colorado')).toBe(1);
    expect(await value('denver')).toBe(1);
    expect(await value('Boulder')).toBe(0);
    expect(await value('Denver, CO')).toBe(0);
  });

  it('is not applicable to a task without answers', async () => {
    const r = await score('anything', { answers: [] });
    expect(r).toMatchObject({ value: 0, applicable: false });
  });

  it("is the environment's default reward, beside an overlong penalty and a logged exact match", async () => {
    const data = { ...task, answer: task.answers.join(', ') };
    const short = await scoreTrajectory(
      longContext.rewards,
      { completion: ' 4821907, 1930482', completionTokens: 6 },
      { id: 't', data },
    );
    expect(short.total).toBe(0.5);
    const exact = await scoreTrajectory(
      longContext.rewards,
      { completion: ' 4821907, 1930482, 7730215, 5512096.', completionTokens: 20 },
      { id: 't', data },
    );
    expect(exact.components.map((c) => [c.checker, c.value])).toEqual([
      ['needle-recall', 1],
      ['length-penalty', 0],
      ['exact-match', 1],
    ]);
    const rambling = await scoreTrajectory(
      longContext.rewards,
      { completion: ' 4821907 …', completionTokens: 224 },
      { id: 't', data },
    );
    expect(rambling.total).toBeCloseTo(0.25 - 0.5, 10);
  });
});

describe('multigym score --env long-context', () => {
  const tmp = tempBlobDir();
  afterAll(() => tmp.remove());

  it('scores flat records, needle records and dumped tasks', async () => {
    const contextFile = join(tmp.dir, 'context.txt');
    writeFileSync(contextFile, 'filler One of the special magic numbers for ab-cd is: 1234567. filler');
    const lines = [
      { task: { answers: ['1234567'], contextPath: contextFile }, completion: ' 1234567.' },
      { task: { answer: 'teal', context: 'Ana Bo likes teal.' }, completion: 'Answer: Teal' },
      {
        task: { needles: [{ value: 111 }, { value: 222 }, { value: 333, role: 'distractor' }] },
        completion: '111 and 333',
      },
      {
        task: { id: 'lc/x', data: { kind: 'niah-single', blob: 'lc-0', answers: ['42'] } },
        completion: '41',
      },
      { task: { kind: 'qa' }, completion: 'no answers in this record' },
      { task: { answer: ['Denver', 'Denver, Colorado'] }, completion: 'Denver, Colorado' },
    ];
    const input = join(tmp.dir, 'in.jsonl');
    const output = join(tmp.dir, 'out.jsonl');
    writeFileSync(input, `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const summary = await runScore({ env: 'long-context', input, output });
    const out = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(summary).toMatchObject({ lines: 6, errors: 1 });
    // "111 and 333": one of two answers and the distractor: recall 1/2 × precision 1/2.
    expect(out.map((o) => o.components?.['needle-recall'] ?? null)).toEqual([1, 1, 0.25, 0, null, 1]);
    expect(out.map((o) => o.components?.['exact-match'] ?? null)).toEqual([1, 0, 0, 0, null, 1]);
    expect(out.map((o) => o.reward)).toEqual([1, 1, 0.25, 0, null, 1]);
    expect(out[4].error).toMatch(/answers/);
  });

  it('parseTask keeps a context path by reference and drops inline text', () => {
    const t = longContext.parseTask({ answers: ['x'], context: 'a'.repeat(5000) }, 3);
    expect(t.id).toBe('long-context/record/3');
    expect(JSON.stringify(t.data)).not.toContain('aaaa');
    expect(t.data.chars).toBe(5000);
    expect(() => longContext.parseTask({ data: { kind: 'qa', answers: [] } }, 0)).toThrow(/answers/);
  });

  it('validates its config with named errors', () => {
    expect(() => config({ lengths: [10] })).toThrow(/lengths/);
    expect(() => config({ mixture: { 'niah-single': 0 } })).toThrow(/positive weight/);
    expect(() => config({ mixture: { nope: 1 } })).toThrow();
  });
});
