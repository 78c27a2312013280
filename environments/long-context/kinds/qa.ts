/**
 * Question answering over documents with distractors (after RULER §3.1 "Question answering").
 * RULER draws its questions from SQuAD and HotpotQA; no permissively licensed QA set is among our
 * data, so the facts are synthetic: the corpus is cut into numbered documents, one of them holds the
 * golden fact `Bokari Tesuma's favourite colour is teal.` at the requested depth, and others hold
 * hard negatives — the same person with other attributes, and other people with the same attribute.
 */
import type { Rng } from '../rng.js';
import { distinctWords } from '../rng.js';
import { round4 } from './niah.js';
import type { Insert, KindPlan } from './types.js';

/** QA parameters. */
export interface QaOptions {
  /** Distractor facts. */
  distractors: number;
  /** Corpus sentences per document. */
  documentSentences: number;
}

const COLOURS = [
  'teal',
  'crimson',
  'amber',
  'violet',
  'indigo',
  'ochre',
  'scarlet',
  'olive',
  'maroon',
  'cyan',
];
const PROFESSIONS = [
  'cartographer',
  'glassblower',
  'astronomer',
  'beekeeper',
  'locksmith',
  'botanist',
  'weaver',
];

type Attribute = { name: string; value: (rng: Rng) => string };
const ATTRIBUTES: Attribute[] = [
  { name: 'favourite colour', value: (r) => r.pick(COLOURS) },
  { name: 'profession', value: (r) => r.pick(PROFESSIONS) },
  { name: 'lucky number', value: (r) => r.digits(4) },
  { name: 'home town', value: (r) => capital(r.word(3)) },
];

const capital = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

/** Plans a QA task with its golden fact at `depth`. */
export function planQa(depth: number, opts: QaOptions, rng: Rng): KindPlan {
  const words = distinctWords(rng, 2 * (opts.distractors + 1), 3).map(capital);
  const people = Array.from(
    { length: opts.distractors + 1 },
    (_, i) => `${words[2 * i]} ${words[2 * i + 1]}`,
  );
  const attribute = rng.pick(ATTRIBUTES);
  const answer = attribute.value(rng);
  const used = new Set([answer]);
  const fresh = (a: Attribute) => {
    for (let i = 0; i < 100; i++) {
      const v = a.value(rng);
      if (!used.has(v)) {
        used.add(v);
        return v;
      }
    }
    return a.value(rng);
  };
  const person = people[0] as string;
  const fact = (who: string, a: Attribute, value: string) => `${who}'s ${a.name} is ${value}.`;
  const inserts: Insert[] = [
    { text: fact(person, attribute, answer), depth, role: 'answer', key: person, value: answer },
  ];
  for (let i = 1; i <= opts.distractors; i++) {
    // Alternate the two kinds of hard negative: same attribute of someone else, other attribute of the same person.
    const samePerson = i % 2 === 0;
    const a = samePerson ? rng.pick(ATTRIBUTES.filter((x) => x !== attribute)) : attribute;
    const who = samePerson ? person : (people[i] as string);
    const value = fresh(a);
    inserts.push({
      text: fact(who, a, value),
      depth: round4(rng.next()),
      role: 'distractor',
      key: who,
      value,
    });
  }
  const question = `What is ${person}'s ${attribute.name}?`;
  return {
    kind: 'qa',
    instruction:
      'Answer the question based on the given documents. Only give me the answer and do not output any other words.\n\nThe following are given documents.',
    question: `Answer the question based on the given documents. Only give me the answer and do not output any other words.\n\nQuestion: ${question}`,
    answerPrefix: 'Answer:',
    answers: [answer],
    distractors: inserts.slice(1).map((n) => n.value as string),
    inserts,
    body: 'haystack',
    documentSentences: opts.documentSentences,
  };
}
