/**
 * What a task kind contributes to a context: the instruction before the body, the question after it,
 * the texts hidden in the body at given depths (needles), and the answers the model must return.
 * The builder (`../build.ts`) turns a plan into a context of a target length.
 */

/** Every task kind, RULER's names in kebab-case. */
export const TASK_KINDS = [
  'niah-single',
  'niah-multikey',
  'niah-multivalue',
  'niah-multiquery',
  'variable-tracking',
  'common-words',
  'frequent-words',
  'qa',
] as const;
export type TaskKind = (typeof TASK_KINDS)[number];

/** A text hidden in the body. */
export interface Insert {
  /** The sentence inserted, e.g. `One of the special magic numbers for bokari-tesu is: 4821907.` */
  text: string;
  /** Requested depth: fraction of the haystack (0 = start, 1 = end) that precedes the text. */
  depth: number;
  /** `answer`: holds (part of) an answer; `distractor`: looks alike but is not asked for. */
  role: 'answer' | 'distractor';
  /** The key (NIAH), variable or entity the text is about. */
  key?: string;
  /** The value it states. */
  value?: string;
}

/**
 * A body that is not corpus prose (word lists, coded text): an endless or budgeted unit stream whose
 * answers are known only once it has been generated.
 */
export interface GeneratedBody {
  /** Units (each with its own leading separator) that together fill about `budgetChars`. */
  units(budgetChars: number): Iterable<string>;
  /**
   * Answers, distractors (the body's other words: listing them beside the answers costs precision in
   * needle-recall, so enumerating the body does not pay) and per-answer facts of the last `units` run;
   * call after the iterator is exhausted.
   */
  result(): { answers: string[]; distractors: string[]; facts: Record<string, number> };
}

/** One task kind's plan for one task. */
export interface KindPlan {
  kind: TaskKind;
  /** Text before the body. */
  instruction: string;
  /** Text after the body (the query). */
  question: string;
  /** Text after the question that starts the model's answer (RULER's answer prefix); may be ''. */
  answerPrefix: string;
  /** Strings the completion must contain (needle-recall); filled by `body.result()` for generated bodies. */
  answers: string[];
  /** Look-alike strings that are not answers (multi-key NIAH values, other chains' variables…). */
  distractors: string[];
  /** Texts hidden in a corpus haystack. Empty for generated bodies. */
  inserts: Insert[];
  /** Corpus haystack (`'haystack'`) or a generated body. */
  body: 'haystack' | GeneratedBody;
  /** When set, the haystack is cut into numbered documents of this many sentences (`Document 3:`). */
  documentSentences?: number;
}
