/**
 * A generator of multi-turn tool-use tasks over the built-in tools, with ground-truth calls, their
 * results and the final answer: the CPU default and material for curricula. Every answer is computed
 * with the same functions the tools run, so a model that makes the reference calls and copies the last
 * result gets it exactly. A task depends only on (seed, split, index).
 *
 * | kind | calls | answer |
 * | --- | --- | --- |
 * | `calc` | calculator | number |
 * | `convert` | convert_units | number |
 * | `convert_then_calc` | convert_units → calculator | number |
 * | `date_add` | add_days | date |
 * | `days_between` | days_between | number |
 * | `weekday_after` | add_days → day_of_week | weekday |
 * | `kb_lookup` | search_kb | number or date |
 * | `kb_then_convert` | search_kb → convert_units | number |
 * | `python` | run_python | number |
 */

import type { GroundTruthCall, ToolTaskData } from '../../rewards/builtin/tool-task.js';
import { keyedRng, randInt } from '../random.js';
import { functionSpecOf } from './tools/api.js';
import { calculate } from './tools/builtin/calculator.js';
import { addDays, dayOfWeek, daysBetween, formatDate, parseDate } from './tools/builtin/dates.js';
import { BUILTIN_TOOL_SET, builtinToolSet } from './tools/builtin/index.js';
import { KnowledgeBase } from './tools/builtin/knowledgeBase.js';
import { convert } from './tools/builtin/units.js';

/** Task kinds of the generator. */
export const GENERATOR_KINDS = [
  'calc',
  'convert',
  'convert_then_calc',
  'date_add',
  'days_between',
  'weekday_after',
  'kb_lookup',
  'kb_then_convert',
  'python',
] as const;
export type GeneratorKind = (typeof GENERATOR_KINDS)[number];

/** One reference step: a call and the result the tool returns. */
export interface ReferenceStep {
  name: string;
  arguments: Record<string, unknown>;
  result: string;
}

type Rng = () => number;
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Units with the spellings accepted in ground truth (mathjs names first). */
const UNITS = {
  mi: ['mi', 'mile', 'miles'],
  km: ['km', 'kilometer', 'kilometers', 'kilometre', 'kilometres'],
  lb: ['lb', 'lbs', 'lbm', 'pound', 'pounds'],
  kg: ['kg', 'kilogram', 'kilograms'],
  ft: ['ft', 'foot', 'feet'],
  m: ['m', 'meter', 'meters', 'metre', 'metres'],
  inch: ['inch', 'inches', 'in'],
  cm: ['cm', 'centimeter', 'centimeters'],
  degF: ['degF', 'fahrenheit', 'F', '°F'],
  degC: ['degC', 'celsius', 'C', '°C'],
  gal: ['gal', 'gallon', 'gallons'],
  L: ['L', 'liter', 'liters', 'litre', 'litres'],
} as const;
type UnitKey = keyof typeof UNITS;
const WORDS: Record<UnitKey, string> = {
  mi: 'miles',
  km: 'kilometers',
  lb: 'pounds',
  kg: 'kilograms',
  ft: 'feet',
  m: 'meters',
  inch: 'inches',
  cm: 'centimeters',
  degF: 'degrees Fahrenheit',
  degC: 'degrees Celsius',
  gal: 'gallons',
  L: 'liters',
};
const PAIRS: [UnitKey, UnitKey][] = [
  ['mi', 'km'],
  ['km', 'mi'],
  ['lb', 'kg'],
  ['kg', 'lb'],
  ['ft', 'm'],
  ['inch', 'cm'],
  ['degF', 'degC'],
  ['gal', 'L'],
];

const kb = KnowledgeBase.load();
const FUNCTIONS = builtinToolSet.tools.map(functionSpecOf);

const call = (name: string, args: Record<string, unknown[]>): GroundTruthCall => ({ [name]: args });

function convertStep(
  value: number,
  from: UnitKey,
  to: UnitKey,
): { gt: GroundTruthCall; step: ReferenceStep } {
  return {
    gt: call('convert_units', { value: [value], from_unit: [...UNITS[from]], to_unit: [...UNITS[to]] }),
    step: {
      name: 'convert_units',
      arguments: { value, from_unit: from, to_unit: to },
      result: convert(value, from, to),
    },
  };
}

function calcStep(
  expression: string,
  alternatives: string[] = [expression],
): { gt: GroundTruthCall; step: ReferenceStep } {
  return {
    gt: call('calculator', { expression: alternatives }),
    step: { name: 'calculator', arguments: { expression }, result: calculate(expression) },
  };
}

function kbStep(title: string, fact: string): { gt: GroundTruthCall; step: ReferenceStep } {
  const hits = kb.search(title, 1).map((h) => ({ id: h.entry.id, title: h.entry.title, text: h.entry.text }));
  return {
    gt: call('search_kb', { query: [title, `${title} ${fact}`, `${fact} of ${title}`], limit: ['', 1] }),
    step: { name: 'search_kb', arguments: { query: title }, result: JSON.stringify(hits) },
  };
}

const randomDate = (r: Rng): string => formatDate(parseDate('2000-01-01') + randInt(r, 0, 12_000));

interface Generated {
  question: string;
  steps: { gt: GroundTruthCall; step: ReferenceStep }[];
  answer: string;
  answerKind: 'number' | 'text';
}

function generateKind(kind: GeneratorKind, r: Rng): Generated {
  switch (kind) {
    case 'calc': {
      const [a, b, c] = [randInt(r, 2, 99), randInt(r, 2, 99), randInt(r, 2, 20)];
      const expr = pick(r, [`${a} + ${b} * ${c}`, `(${a} + ${b}) * ${c}`, `${a} * ${b} - ${c}`]);
      const s = calcStep(expr);
      return {
        question: `Use the calculator to compute ${expr}.`,
        steps: [s],
        answer: s.step.result,
        answerKind: 'number',
      };
    }
    case 'convert': {
      const [from, to] = pick(r, PAIRS);
      const v = randInt(r, 1, 200);
      const s = convertStep(v, from, to);
      return {
        question: `Convert ${v} ${WORDS[from]} to ${WORDS[to]}.`,
        steps: [s],
        answer: s.step.result,
        answerKind: 'number',
      };
    }
    case 'convert_then_calc': {
      const [from, to] = pick(
        r,
        PAIRS.filter(([f]) => f !== 'degF'),
      );
      const v = randInt(r, 2, 60);
      const k = randInt(r, 2, 9);
      const s1 = convertStep(v, from, to);
      const x = s1.step.result;
      const s2 = calcStep(`${x} * ${k}`, [`${x} * ${k}`, `${k} * ${x}`]);
      return {
        question: `A rope is ${v} ${WORDS[from]} long. Convert its length to ${WORDS[to]}, then multiply that by ${k}.`,
        steps: [s1, s2],
        answer: s2.step.result,
        answerKind: 'number',
      };
    }
    case 'date_add': {
      const date = randomDate(r);
      const days = randInt(r, 1, 400);
      const result = addDays(date, days);
      return {
        question: `What date is ${days} days after ${date}? Give it as YYYY-MM-DD.`,
        steps: [
          {
            gt: call('add_days', { date: [date], days: [days] }),
            step: { name: 'add_days', arguments: { date, days }, result },
          },
        ],
        answer: result,
        answerKind: 'text',
      };
    }
    case 'days_between': {
      const start = randomDate(r);
      const end = addDays(start, randInt(r, 1, 1000));
      const result = String(daysBetween(start, end));
      return {
        question: `How many days are there from ${start} to ${end}?`,
        steps: [
          {
            gt: call('days_between', { start: [start], end: [end] }),
            step: { name: 'days_between', arguments: { start, end }, result },
          },
        ],
        answer: result,
        answerKind: 'number',
      };
    }
    case 'weekday_after': {
      const date = randomDate(r);
      const days = randInt(r, 1, 100);
      const later = addDays(date, days);
      const weekday = dayOfWeek(later);
      return {
        question: `What day of the week is ${days} days after ${date}?`,
        steps: [
          {
            gt: call('add_days', { date: [date], days: [days] }),
            step: { name: 'add_days', arguments: { date, days }, result: later },
          },
          {
            gt: call('day_of_week', { date: [later] }),
            step: { name: 'day_of_week', arguments: { date: later }, result: weekday },
          },
        ],
        answer: weekday,
        answerKind: 'text',
      };
    }
    case 'kb_lookup': {
      const entry = pick(r, kb.entries);
      const facts = Object.entries(entry.facts ?? {});
      const [fact, value] = pick(r, facts);
      return {
        question: `According to the knowledge base, what is the ${fact} of ${entry.title}?`,
        steps: [kbStep(entry.title, fact)],
        answer: String(value.value),
        answerKind: typeof value.value === 'number' ? 'number' : 'text',
      };
    }
    case 'kb_then_convert': {
      const entry = pick(
        r,
        kb.entries.filter((e) => e.facts?.weight || e.facts?.elevation),
      );
      const [fact, from, to] = entry.facts?.weight
        ? (['weight', 'lb', 'kg'] as const)
        : (['elevation', 'ft', 'm'] as const);
      const value = Number(entry.facts?.[fact]?.value);
      const s2 = convertStep(value, from, to);
      return {
        question: `Look up the ${fact} of ${entry.title} in the knowledge base and give it in ${WORDS[to]}.`,
        steps: [kbStep(entry.title, fact), s2],
        answer: s2.step.result,
        answerKind: 'number',
      };
    }
    case 'python': {
      const n = randInt(r, 5, 60);
      const task = pick(r, [
        {
          q: `the sum of the squares of the integers from 1 to ${n}`,
          code: `print(sum(i * i for i in range(1, ${n + 1})))`,
          v: (n * (n + 1) * (2 * n + 1)) / 6,
        },
        {
          q: `the sum of the even numbers from 1 to ${n}`,
          code: `print(sum(i for i in range(1, ${n + 1}) if i % 2 == 0))`,
          v: Math.floor(n / 2) * (Math.floor(n / 2) + 1),
        },
        {
          q: `how many multiples of 3 there are from 1 to ${n}`,
          code: `print(len([i for i in range(1, ${n + 1}) if i % 3 == 0]))`,
          v: Math.floor(n / 3),
        },
      ]);
      const result = String(task.v);
      return {
        question: `Use Python to compute ${task.q}.`,
        steps: [
          {
            gt: call('run_python', { code: [task.code] }),
            step: { name: 'run_python', arguments: { code: task.code }, result },
          },
        ],
        answer: result,
        answerKind: 'number',
      };
    }
  }
}

/** A generated task's data plus its reference steps (calls with results), for demonstrations. */
export interface GeneratedTask {
  kind: GeneratorKind;
  data: ToolTaskData & { reference: ReferenceStep[] };
}

/** The task at `index` of the stream for (seed, split), drawn from `kinds` (uniformly). */
export function generateToolTask(
  seed: number,
  split: string,
  index: number,
  kinds: readonly GeneratorKind[] = GENERATOR_KINDS,
): GeneratedTask {
  const r = keyedRng(`${seed}:${split}:tool-use:${index}`);
  const kind = pick(r, kinds);
  const g = generateKind(kind, r);
  return {
    kind,
    data: {
      category: `generated/${kind}`,
      messages: [{ role: 'user', content: g.question }],
      functions: FUNCTIONS,
      ground_truth: g.steps.map((s) => s.gt),
      answer: g.answer,
      answer_kind: g.answerKind,
      tool_set: BUILTIN_TOOL_SET,
      turn_budget: g.steps.length + 1,
      reference: g.steps.map((s) => s.step),
    },
  };
}
