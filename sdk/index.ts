/**
 * multigym's public SDK: everything a plugin package imports (`import { ... } from 'multigym'`).
 *
 * A plugin default-exports `defineEnvironment(...)`, `defineReward(...)` or an array of them; tool-use
 * tool sets use `defineToolSet`. `keyedRng` gives the seeded stream a task generator needs (the same
 * one the built-in environments use). `singleTurnRollout` samples a group for one prompt, which is all a
 * single-turn environment needs. The contract test of `multigym plugin test`, for a plugin's own test
 * suite, is `multigym/testing`. See docs/plugins.md.
 */
export type {
  Environment,
  PolicySampler,
  RolloutContext,
  SamplingParams,
  Task,
  TaskContext,
  Trajectory,
  Turn,
} from '../environments/api.js';
export { defineEnvironment } from '../environments/api.js';
export { keyedRng, permutation, randInt } from '../environments/random.js';
export { type Prompt, rejectedTrajectory, singleTurnRollout } from '../environments/singleTurn.js';
export type { Tool, ToolContext, ToolSet } from '../environments/tool-use/tools/api.js';
export { defineTool, defineToolSet, ToolError, ToolInfraError } from '../environments/tool-use/tools/api.js';
export type { ChatMessage } from '../policy/protocol.js';
export type {
  CheckerPlacement,
  Json,
  JsonObject,
  RewardChecker,
  RewardResult,
  RewardSpec,
  ScoredTask,
  ScoredTrajectory,
} from '../rewards/api.js';
export { defineReward, RewardInfraError, RewardTimeoutError } from '../rewards/api.js';
