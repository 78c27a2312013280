/** Registers the built-in reward checkers. Each checker lives in its own file in this folder. */
import { BUILTIN_SOURCE, registerReward } from '../registry.js';
import { budget } from './budget.js';
import { exactMatch } from './exact-match.js';
import { finalAnswer } from './final-answer.js';
import { format } from './format.js';
import { invalidCallPenalty } from './invalid-call-penalty.js';
import { lengthPenalty } from './length-penalty.js';
import { mathEquivalence } from './math-equivalence.js';
import { needleRecall } from './needle-recall.js';
import { numeric } from './numeric.js';
import { onnxRewardModel } from './onnx-reward-model.js';
import { regex } from './regex.js';
import { toolCallMatch } from './tool-call-match.js';
import { turnBudget } from './turn-budget.js';
import { unitTests } from './unit-tests.js';
import { unitTestsFraction } from './unit-tests-fraction.js';

const builtins = [
  mathEquivalence,
  exactMatch,
  numeric,
  regex,
  format,
  lengthPenalty,
  budget,
  needleRecall,
  unitTests,
  unitTestsFraction,
  toolCallMatch,
  finalAnswer,
  invalidCallPenalty,
  turnBudget,
  onnxRewardModel,
  // one line per built-in checker: import it above and list it here
] as const;

for (const checker of builtins) registerReward(checker, BUILTIN_SOURCE);
