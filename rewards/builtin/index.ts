/** Registers the built-in reward checkers. Each checker lives in its own file in this folder. */
import { registerReward } from '../registry.js';
import { mathEquivalence } from './math-equivalence.js';
import { needleRecall } from './needle-recall.js';

const builtins = [
  mathEquivalence,
  needleRecall,
  // one line per built-in checker: import it above and list it here
] as const;

for (const checker of builtins) registerReward(checker);
