/**
 * When bubblewrap cannot start at all (here: the kernel refuses unprivileged user namespaces, simulated
 * at the spawn), the sandbox throws `SandboxUnavailableError` saying why and how to fix it — before
 * running anything — and checks again on the next call once the host is fixed.
 */
import { describe, expect, it, vi } from 'vitest';

let refuseNamespaces = true;
vi.mock('../../sandbox/spawn.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../sandbox/spawn.js')>();
  return {
    ...real,
    spawnCapture: (spec: Parameters<typeof real.spawnCapture>[0]) =>
      refuseNamespaces && spec.argv.includes('/usr/bin/bwrap')
        ? Promise.resolve({
            exitCode: 1,
            stdout: '',
            stderr:
              'bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces.\n',
            channel: '',
            truncated: false,
            outputLimitHit: false,
            timedOut: false,
            durationMs: 2,
          })
        : real.spawnCapture(spec),
  };
});

const { runInSandbox, SandboxUnavailableError, closeSandboxes } = await import('../../sandbox/index.js');

describe('sandbox unavailable on this host', () => {
  it('throws SandboxUnavailableError with the cause and the fix, and recovers once fixed', async () => {
    const err = await runInSandbox({ code: 'print(1)' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxUnavailableError);
    expect(err).toMatchObject({ type: 'SandboxUnavailableError', retryable: false });
    const message = (err as Error).message;
    expect(message).toContain('No permissions to creating new namespace');
    expect(message).toContain('sysctl');
    expect(message).toContain('unsafe: true');
    refuseNamespaces = false;
    expect(await runInSandbox({ code: 'print(1)' })).toMatchObject({ status: 'ok', stdout: '1\n' });
    await closeSandboxes();
  });

  it('unsafe mode does not need bubblewrap', async () => {
    refuseNamespaces = true;
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    expect(await runInSandbox({ code: 'print(2)', unsafe: true })).toMatchObject({
      status: 'ok',
      stdout: '2\n',
      isolated: false,
    });
    warn.mockRestore();
  });
});
