/**
 * The countdown plugin: the environment and its checker (multigym loads this default export).
 * Load it with `multigym dev --plugin examples/countdown` or a run config's `"plugins"`.
 */
import checker from './checker.js';
import environment from './environment.js';

export default [environment, checker];
