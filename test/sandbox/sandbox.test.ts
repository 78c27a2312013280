/** The sandbox API: results, limits, the pool, unsafe mode and how failures are classified. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { bwrapArgv } from '../../sandbox/bwrap.js';
import { closeSandboxes, configureSandbox, runInSandbox } from '../../sandbox/index.js';
import { SandboxPool, UIDS_PER_PROCESS, uidBlockStart } from '../../sandbox/pool.js';
import { RUNTIMES } from '../../sandbox/runtimes.js';
import { classify } from '../../sandbox/sandbox.js';
import type { SpawnOutcome } from '../../sandbox/spawn.js';
import { startProcess } from '../../sandbox/spawn.js';
import { sandboxLimitsSchema } from '../../sandbox/types.js';
import { sandboxProcesses } from './leftovers.js';

afterEach(async () => {
  await closeSandboxes(); // idle pre-started sandboxes are not leftovers; kill them first
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

describe('pre-started (warm) sandboxes', () => {
  const req = {
    code: 'import os, sys\nfrom pkg.m import v\nprint(v, input(), sys.argv[1:], __name__, os.getcwd())\nos.write(3, b"ch")\n',
    files: { 'pkg/__init__.py': '', 'pkg/m.py': 'v = 41 + 1\n' },
    stdin: 'in\n',
    args: ['-x'],
    channel: true,
  };

  it('give the same result as a cold start, with the clock started when the program arrives', async () => {
    configureSandbox({ warm: true });
    const cold = await runInSandbox(req); // no warm sandbox yet: started cold, then the pool is filled
    await new Promise((r) => setTimeout(r, 1500)); // warm ones now idle longer than the limit below
    const warm = await runInSandbox({ ...req, timeoutMs: 1000 });
    for (const r of [cold, warm]) {
      expect(r).toMatchObject({
        status: 'ok',
        stdout: "42 in ['-x'] __main__ /tmp\n",
        stderr: '',
        channel: 'ch',
      });
    }
  });

  it('fall back to a cold start when the warm one died while waiting', async () => {
    configureSandbox({ warm: true });
    await runInSandbox({ code: 'pass' });
    // Kill the waiting programs (each its sandbox's init; bwrap, their parent, reaps them and exits).
    const waitingPrograms = () => {
      const all = sandboxProcesses();
      return all.filter((p) => all.some((q) => q.pid === p.ppid));
    };
    let programs = waitingPrograms();
    for (let i = 0; i < 50 && programs.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50)); // the refill has just been spawned
      programs = waitingPrograms();
    }
    expect(programs.length).toBeGreaterThan(0);
    for (const p of programs) process.kill(p.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    expect(await runInSandbox({ code: 'print("fine")' })).toMatchObject({ status: 'ok', stdout: 'fine\n' });
  });
});

describe('killing a sandbox that is still being set up', () => {
  it('leaves nothing behind, even when the kill comes before bwrap reported the program', async () => {
    const base = uidBlockStart(process.pid) + UIDS_PER_PROCESS - 8; // uids the pool hands out last
    const limits = sandboxLimitsSchema.parse({});
    const outcomes = await Promise.all(
      Array.from({ length: 4 }, (_, i) =>
        startProcess({
          argv: bwrapArgv({ limits, files: [], argv: ['/usr/bin/sleep', '100'] }),
          uid: base + i,
          env: { PATH: '/usr/bin' },
          fileFds: 0,
          channel: false,
          bwrapStatus: true,
          processGroup: false,
          maxOutputBytes: 1024,
        }).dispose(),
      ),
    );
    for (const o of outcomes) expect(o.exitCode).not.toBe(0);
    // afterEach: no process of this block is left (no bwrap child stuck waiting for its killed parent)
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
  it('holds at most `size` executions at once', async () => {
    const pool = new SandboxPool(2, 1000);
    await pool.acquire();
    await pool.acquire();
    let third = false;
    const waiting = pool.acquire().then(() => {
      third = true;
    });
    await Promise.resolve();
    expect(third).toBe(false);
    expect(pool.active).toBe(2);
    pool.release();
    await waiting;
    expect(third).toBe(true);
    pool.release();
    pool.release();
    expect(pool.active).toBe(0);
  });

  it('hands out distinct uids and reuses a returned one as late as possible', () => {
    const pool = new SandboxPool(2, 1000);
    const a = pool.takeUid();
    const b = pool.takeUid();
    expect(a).not.toBe(b);
    pool.returnUid(a);
    const taken = Array.from({ length: UIDS_PER_PROCESS - 1 }, () => pool.takeUid());
    expect(new Set([...taken, b]).size).toBe(UIDS_PER_PROCESS);
    expect(taken.at(-1)).toBe(a); // the returned uid came back last
    expect(() => pool.takeUid()).toThrow(RangeError);
  });

  it('refuses sizes it cannot give distinct uids to', () => {
    expect(() => new SandboxPool(0)).toThrow(RangeError);
    expect(() => new SandboxPool(UIDS_PER_PROCESS)).toThrow(RangeError);
  });
});
