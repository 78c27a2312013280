/**
 * An infrastructure failure is never a reward: when bwrap cannot start a program (simulated by making
 * the spawn report that bwrap never got to start it), the sandbox says `infra_error`, the rollout keeps
 * the sample with the failed report, and the checkers throw a retryable error — `infra_error` through
 * the scorer, left out of the batch and retried — instead of scoring 0.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';

let failSpawns = false;
const bwrapFailed = {
  exitCode: 1,
  stdout: '',
  stderr: "bwrap: Can't fork for pid 1: Resource temporarily unavailable\n",
  channel: '',
  truncated: false,
  outputLimitHit: false,
  timedOut: false,
  durationMs: 3,
};
vi.mock('../../sandbox/spawn.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../sandbox/spawn.js')>();
  return {
    ...real,
    // One-shot (cold) executions: bwrap exits before it reports the program's pid.
    spawnCapture: (spec: Parameters<typeof real.spawnCapture>[0]) =>
      failSpawns ? Promise.resolve(bwrapFailed) : real.spawnCapture(spec),
    // Pre-started sandboxes: bwrap dies during set-up, before any program is handed over.
    startProcess: (spec: Parameters<typeof real.startProcess>[0]) => {
      if (!failSpawns) return real.startProcess(spec);
      const dead = Promise.resolve({ ...bwrapFailed, exitedBeforeBegin: true });
      return { alive: false, sandboxPid: undefined, begin: () => dead, dispose: () => dead };
    },
  };
});

const {
  closeSandboxes,
  configureSandbox,
  runInSandbox,
  runInSandboxOrThrow,
  ensureSandbox,
  SandboxInfraError,
} = await import('../../sandbox/index.js');
await import('../../environments/builtin.js');
const { getEnvironment } = await import('../../environments/registry.js');
const { getReward } = await import('../../rewards/registry.js');
const { scoreTrajectory } = await import('../../rewards/score.js');
const { allEasyTasks } = await import('../../environments/code-sandbox/easy.js');

afterEach(async () => {
  failSpawns = false;
  await closeSandboxes();
});

describe('sandbox infrastructure failures', () => {
  it('come back as infra_error, and as a retryable SandboxInfraError from runInSandboxOrThrow', async () => {
    await ensureSandbox(); // the real check passes first
    configureSandbox({ warm: true });
    await runInSandbox({ code: 'pass' }); // leaves pre-started sandboxes behind, started while healthy
    await closeSandboxes(); // … which a failure kills
    failSpawns = true;
    const r = await runInSandbox({ code: 'print(1)' });
    expect(r.status).toBe('infra_error');
    expect(r.error).toContain("Can't fork");
    await expect(runInSandboxOrThrow({ code: 'print(1)' })).rejects.toMatchObject({
      type: 'SandboxInfraError',
      retryable: true,
    });
  });

  it('keep the sample, make the checker fail with infra_error, and score the same sample once the host recovers', async () => {
    const env = getEnvironment('code-sandbox');
    const data = allEasyTasks()[0]!;
    const task = { id: 'easy/t/0', data: data as never };
    const policy = {
      generate: async () => ({
        results: [
          {
            prompt_token_ids: [1],
            samples: [
              {
                text: data.solution!,
                token_ids: [2],
                logprobs: [-0.1],
                finish_reason: 'stop',
                thinking_tokens: 0,
              },
            ],
          },
        ],
        policy_version: 3,
      }),
      tokenize: async () => ({ counts: [] }),
      info: async () => ({}),
    };
    const config = env.configSchema.parse({});
    failSpawns = true;
    const [t] = await env.rollout(
      task,
      policy as never,
      { n: 1, sampling: { max_tokens: 16, temperature: 1, top_p: 1 }, blobDir: '/tmp' },
      config,
    );
    // The sample is kept with its failed report: scoring decides, and can be retried without sampling.
    expect(t!.status).toBe('ok');
    expect((t!.extra!.tests as { infraError?: string }).infraError).toContain("Can't fork");
    const checker = getReward('unit-tests');
    await expect(
      checker.score(
        { completion: data.solution!, completionTokens: 1 },
        task,
        checker.configSchema.parse({ rerun: true }),
      ),
    ).rejects.toBeInstanceOf(SandboxInfraError);
    // Through the scorer it is a status, never a value: infra_error, no total (issue 13 §5).
    const scored = { completion: t!.completion, completionTokens: 1, extra: t!.extra };
    const outcome = await scoreTrajectory([{ checker: 'unit-tests', weight: 1 }], scored, task, 30_000);
    expect(outcome).toMatchObject({ status: 'infra_error', total: null });
    expect(outcome.components[0]).toMatchObject({
      status: 'infra_error',
      value: null,
      details: { kind: 'infra', errorType: 'SandboxInfraError' },
    });
    expect(outcome.error).toMatch(/^unit-tests: SandboxInfraError: .*Can't fork/);
    // Once the host recovers, the same sample is scored (its tests run again): what a retry does.
    failSpawns = false;
    expect(await scoreTrajectory([{ checker: 'unit-tests', weight: 1 }], scored, task, 30_000)).toMatchObject(
      {
        status: 'ok',
        total: 1,
      },
    );
    // And a fresh rollout is scored normally (nothing was memoised).
    const [ok] = await env.rollout(
      task,
      policy as never,
      { n: 1, sampling: { max_tokens: 16, temperature: 1, top_p: 1 }, blobDir: '/tmp' },
      config,
    );
    expect(ok!.status).toBe('ok');
    expect((ok!.extra!.tests as { passed: number }).passed).toBe(data.tests!.length);
  });
});
