/** Workflow entry point for the worker bundle: every exported function is a workflow type. */
export { evalRun } from './evalRun.js';
export { rlRun } from './rlRun.js';
