/** The sandbox API: results, limits, the pool, unsafe mode and how failures are classified. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runInSandbox } from '../../environments/code-sandbox/sandbox/index.js';
import { SandboxPool, UIDS_PER_PROCESS } from '../../environments/code-sandbox/sandbox/pool.js';
import { RUNTIMES } from '../../environments/code-sandbox/sandbox/runtimes.js';
import { classify } from '../../environments/code-sandbox/sandbox/sandbox.js';
import type { SpawnOutcome } from '../../environments/code-sandbox/sandbox/spawn.js';
import { sandboxProcesses } from './leftovers.js';

afterEach(() => {
  expect(sandboxProcesses()).toEqual([]);
});

describe('runInSandbox', () => {
  it('runs a program with stdin, arguments, extra files and a side channel', async () => {
    const r = await runInSandbox({
      code: [
        'import os, sys',
        'from pkg.helper import twice',
        'print(twice(input()), sys.argv[1:])',
        'os.write(3, b"on the channel")',
        'print("to stderr", file=sys.stderr)',
      ].join('\n'),
      files: { 'pkg/__init__.py': '', 'pkg/helper.py': 'def twice(s):\n    return s * 2\n' },
      stdin: 'ab\n',
      args: ['x', 'y'],
      channel: true,
    });
    expect(r).toMatchObject({
      status: 'ok',
      exitCode: 0,
      stdout: "abab ['x', 'y']\n",
      stderr: 'to stderr\n',
      channel: 'on the channel',
      truncated: false,
      isolated: true,
    });
    expect(r.durationMs).toBeGreaterThan(0);
  });

  it("reports the program's own failure as error with its exit status", async () => {
    const r = await runInSandbox({ code: 'import sys\nprint("partial")\nsys.exit(3)\n' });
    expect(r).toMatchObject({ status: 'error', exitCode: 3, stdout: 'partial\n' });
    const raised = await runInSandbox({ code: 'raise ValueError("boom")\n' });
    expect(raised.status).toBe('error');
    expect(raised.stderr).toContain('ValueError: boom');
  });

  it('reports the CPU-time limit as a timeout', async () => {
    // Wall clock is the binding limit here; a CPU-bound program ends by SIGXCPU or the kill, both timeouts.
    const r = await runInSandbox({ code: 'while True: pass\n', timeoutMs: 1000 });
    expect(r.status).toBe('timeout');
  });

  it('rejects file paths that would leave the work directory', async () => {
    await expect(runInSandbox({ code: '', files: { '../escape.py': '' } })).rejects.toThrow(RangeError);
    await expect(runInSandbox({ code: '', files: { '/abs.py': '' } })).rejects.toThrow(RangeError);
  });

  it('keeps process limits apart: a fork bomb in one sandbox does not starve a concurrent one', async () => {
    const bomb = runInSandbox({
      code: 'import os, time\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        time.sleep(0.05)\n',
      maxProcesses: 16,
      timeoutMs: 4000,
    });
    await new Promise((r) => setTimeout(r, 500));
    const neighbour = await runInSandbox({
      code: 'import subprocess\nps = [subprocess.Popen(["/usr/bin/true"]) for _ in range(10)]\nprint(sum(p.wait() == 0 for p in ps))\n',
      maxProcesses: 16,
    });
    expect(neighbour).toMatchObject({ status: 'ok', stdout: '10\n' });
    expect((await bomb).status).toBe('timeout');
  });

  it('runs in unsafe mode only when asked, without isolation, warning on every run', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const r = await runInSandbox({
        code: 'import os\nprint(os.path.exists("/work") or os.path.exists("/etc/passwd"))\n',
        unsafe: true,
      });
      await runInSandbox({ code: 'pass\n', unsafe: true });
      expect(r).toMatchObject({ status: 'ok', stdout: 'True\n', isolated: false });
      expect(warn).toHaveBeenCalledTimes(2);
      expect(String(warn.mock.calls[0]![0])).toContain('WITHOUT isolation');
    } finally {
      warn.mockRestore();
    }
  });
});

describe('classify: infrastructure failures are not program failures', () => {
  const outcome = (o: Partial<SpawnOutcome>): SpawnOutcome => ({
    exitCode: 0,
    stdout: '',
    stderr: '',
    channel: '',
    truncated: false,
    outputLimitHit: false,
    timedOut: false,
    durationMs: 5,
    sandboxPid: 1234,
    ...o,
  });
  const py = RUNTIMES.python;

  it('bwrap failing before it started the program is infra_error, with its message', () => {
    const r = classify(
      outcome({
        sandboxPid: undefined,
        exitCode: 1,
        stderr: "bwrap: Can't fork for pid 1: Resource temporarily unavailable\n",
      }),
      py,
      true,
    );
    expect(r.status).toBe('infra_error');
    expect(r.error).toContain("Can't fork");
    expect(r.exitCode).toBeNull();
  });

  it('a failed spawn is infra_error', () => {
    const err = Object.assign(new Error('spawn EAGAIN'), { code: 'EAGAIN' });
    expect(classify(outcome({ spawnError: err }), py, true).status).toBe('infra_error');
  });

  it('the same stderr from a started program is the program failing', () => {
    const r = classify(outcome({ exitCode: 1, stderr: "bwrap: Can't fork for pid 1\n" }), py, true);
    expect(r.status).toBe('error');
  });

  it('maps timeouts, SIGXCPU, output limits and MemoryError', () => {
    expect(classify(outcome({ timedOut: true, exitCode: 137 }), py, true).status).toBe('timeout');
    expect(classify(outcome({ exitCode: 152 }), py, true).status).toBe('timeout');
    expect(classify(outcome({ outputLimitHit: true, exitCode: 137 }), py, true).status).toBe('output_limit');
    expect(classify(outcome({ exitCode: 1, stderr: 'MemoryError\n' }), py, true).status).toBe('memory');
  });
});

describe('SandboxPool', () => {
  it('holds at most `size` executions and gives each a distinct uid, reused as late as possible', async () => {
    const pool = new SandboxPool(2, 1000);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(a.uid).not.toBe(b.uid);
    let third: number | undefined;
    const waiting = pool.acquire().then((l) => {
      third = l.uid;
      return l;
    });
    await Promise.resolve();
    expect(third).toBeUndefined();
    expect(pool.active).toBe(2);
    pool.release(a);
    const c = await waiting;
    expect(c.uid).not.toBe(a.uid); // the freed uid went to the back of the queue
    expect(c.uid).not.toBe(b.uid);
    pool.release(b);
    pool.release(c);
    expect(pool.active).toBe(0);
  });

  it('refuses sizes it cannot give distinct uids to', () => {
    expect(() => new SandboxPool(0)).toThrow(RangeError);
    expect(() => new SandboxPool(UIDS_PER_PROCESS)).toThrow(RangeError);
  });
});
