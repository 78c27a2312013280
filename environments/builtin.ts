/**
 * Registers the built-in environments and reward checkers. Import this module once at start-up
 * (workers, CLI, tests); plugins are added on top with `loadPlugin`.
 */
import '../rewards/builtin/index.js';
import { codeSandboxEnvironment } from './code-sandbox/index.js';
import { longContext } from './long-context/index.js';
import { mathEnvironment } from './math/index.js';
import { registerEnvironment } from './registry.js';
import { toolUseEnvironment } from './tool-use/index.js';

const builtins = [
  mathEnvironment,
  longContext,
  codeSandboxEnvironment,
  toolUseEnvironment,
  // one line per built-in environment: import it above and list it here
] as const;

for (const env of builtins) registerEnvironment(env);
