/**
 * The code sandbox: run untrusted programs isolated (bubblewrap, see `bwrap.ts`). Import from here:
 * `runInSandbox`, `runInSandboxOrThrow`, `runInSandboxes` (programs that talk to each other, one pool
 * slot), `ensureSandbox`, `configureSandbox` (pool size, pre-started sandboxes), `closeSandboxes` (kill
 * idle pre-started ones: tests, shutdown), the request/result types, `sandboxLimitsSchema` and the
 * typed errors.
 */
export { SandboxInfraError, SandboxUnavailableError } from './errors.js';
export { ensureSandbox } from './probe.js';
export {
  closeSandboxes,
  configureSandbox,
  runInSandbox,
  runInSandboxes,
  runInSandboxOrThrow,
  sandboxPool,
} from './sandbox.js';
export {
  SANDBOX_LANGUAGES,
  type SandboxLanguage,
  type SandboxLimits,
  type SandboxRequest,
  type SandboxResult,
  type SandboxStatus,
  sandboxLimitsSchema,
} from './types.js';
