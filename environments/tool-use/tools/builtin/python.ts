/**
 * `run_python`: runs a Python 3 program in the code sandbox (bubblewrap, no network, rlimits; see
 * `sandbox/`) and returns what it printed. The program's own failures
 * (exceptions, timeouts, memory) are tool errors the model reads; a sandbox that fails to run is an
 * infrastructure error (`ToolInfraError`) and fails the rollout instead.
 */
import { z } from 'zod';
import { runInSandbox, type SandboxRequest } from '../../../../sandbox/index.js';
import { defineTool, ToolError, ToolInfraError } from '../api.js';

/** Characters of stdout / stderr shown to the model. */
const MAX_SHOWN = 2000;
const tail = (s: string): string => (s.length <= MAX_SHOWN ? s : `…${s.slice(-MAX_SHOWN)}`);

/** Options of the Python tool. */
export interface PythonToolOptions {
  /** Run without isolation (trusted development hosts only; see the sandbox's `unsafe`). Default false. */
  unsafe?: boolean;
  /** Address-space limit, MiB. Default 512. */
  memoryMb?: number;
}

/** The Python-execution tool. */
export function pythonTool(options: PythonToolOptions = {}) {
  return defineTool({
    name: 'run_python',
    description:
      'Run a Python 3 program (standard library only, no network, no files kept) and return what it prints. Use print() to show results.',
    schema: z.object({
      code: z.string().min(1).max(20_000).describe('The Python program; print the values you need.'),
    }),
    run: async ({ code }, ctx) => {
      const req: SandboxRequest = {
        code,
        timeoutMs: Math.max(500, ctx.timeoutMs - 250),
        memoryMb: options.memoryMb ?? 512,
        maxOutputBytes: 64 * 1024,
        unsafe: options.unsafe ?? false,
      };
      let result: Awaited<ReturnType<typeof runInSandbox>>;
      try {
        result = await runInSandbox(req);
      } catch (err) {
        // SandboxUnavailableError: this host cannot run sandboxes at all, retrying here is useless.
        const retryable = (err as { retryable?: unknown }).retryable !== false;
        throw new ToolInfraError(`python sandbox unavailable: ${(err as Error).message}`, retryable);
      }
      switch (result.status) {
        case 'ok':
          return tail(result.stdout.trimEnd()) || '(no output; use print() to show a result)';
        case 'infra_error':
          throw new ToolInfraError(`python sandbox failed: ${result.error ?? 'unknown'}`);
        case 'timeout':
          throw new ToolError(`the program ran past ${req.timeoutMs} ms and was stopped`);
        case 'memory':
          throw new ToolError(`the program ran out of memory (${req.memoryMb} MiB)`);
        case 'output_limit':
          throw new ToolError('the program printed too much output');
        default:
          throw new ToolError(
            `the program failed (exit ${result.exitCode}):\n${tail(result.stderr.trimEnd())}`,
          );
      }
    },
  });
}
