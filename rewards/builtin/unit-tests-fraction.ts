/**
 * `unit-tests-fraction`: the fraction of a code task's unit tests (or stdin/stdout cases) the program
 * passes in the sandbox, in [0, 1]. A denser signal than `unit-tests` for MBPP-style assert lists and
 * multi-case problems (HumanEval has one `check` per task, so both agree there). Same config, details
 * and infrastructure-error behaviour as `unit-tests` (see `unit-tests.ts`).
 */
import { defineReward } from '../api.js';
import { scoreWith, unitTestsConfig } from './unit-tests.js';

/** The `unit-tests-fraction` checker: passed / total. */
export const unitTestsFraction = defineReward({
  name: 'unit-tests-fraction',
  description: 'Fraction of unit tests / stdin-stdout cases the program passes in the sandbox. Range [0, 1].',
  configSchema: unitTestsConfig,
  range: [0, 1],
  runsIn: 'caller',
  score: (t, task, config) => scoreWith(t, task, config, (r) => r.passed / r.total),
});
