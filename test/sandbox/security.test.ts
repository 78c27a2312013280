/**
 * The security battery of the code sandbox: each hostile program is contained (its own status, the
 * limit it hit) and the host is unaffected (no process left behind, no file written, no secret read).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeSandboxes, runInSandbox } from '../../sandbox/index.js';
import { repoRoot } from '../helpers/paths.js';
import { processesWith, sandboxProcesses } from './leftovers.js';

const py = (lines: string[]): string => `${lines.join('\n')}\n`;

describe('code sandbox: hostile programs are contained', () => {
  let server: Server;
  let port = 0;
  let hostDir: string;
  const SECRET = `multigym-secret-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    // A listening host port the sandbox must not reach, and a host file it must not see.
    server = createServer((s) => s.end('HOST-SERVER'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    hostDir = mkdtempSync(join(tmpdir(), 'mg-sbx-host-'));
    writeFileSync(join(hostDir, 'secret.txt'), SECRET);
    process.env.MULTIGYM_TEST_SECRET = SECRET;
  });
  afterAll(async () => {
    delete process.env.MULTIGYM_TEST_SECRET;
    rmSync(hostDir, { recursive: true, force: true });
    await new Promise((r) => server.close(r));
  });
  afterEach(async () => {
    await closeSandboxes(); // idle pre-started sandboxes are not leftovers; kill them first
    // No process of any sandbox uid of this test process outlives its execution.
    expect(sandboxProcesses()).toEqual([]);
  });

  it('has no network: connecting to a host port and to the internet fails, DNS fails, only lo exists', async () => {
    const r = await runInSandbox({
      code: py([
        'import socket',
        'def attempt(f):',
        '    try:',
        '        return "OK " + repr(f())',
        '    except Exception as e:',
        '        return "FAIL " + type(e).__name__',
        `print("host", attempt(lambda: socket.create_connection(("127.0.0.1", ${port}), timeout=2).recv(20)))`,
        'print("inet", attempt(lambda: socket.create_connection(("1.1.1.1", 80), timeout=2)))',
        'print("dns", attempt(lambda: socket.getaddrinfo("example.com", 80)))',
        'print("ifaces", sorted(n for _, n in socket.if_nameindex()))',
      ]),
    });
    expect(r.status).toBe('ok');
    expect(r.stdout).toMatch(/^host FAIL/m);
    expect(r.stdout).toMatch(/^inet FAIL/m);
    expect(r.stdout).toMatch(/^dns FAIL/m);
    expect(r.stdout).toContain("ifaces ['lo']");
    expect(r.stdout).not.toContain('HOST-SERVER');
  });

  it('cannot read host files: /etc/shadow, the repository, a host temp file, /root and /home are not there', async () => {
    const paths = [
      '/etc/shadow',
      '/etc/passwd',
      join(repoRoot, 'package.json'),
      join(hostDir, 'secret.txt'),
      '/root',
      '/home',
      '/var',
    ];
    const r = await runInSandbox({
      code: py([
        'import os, json',
        `paths = ${JSON.stringify(paths)}`,
        'print(json.dumps({p: os.path.exists(p) for p in paths}))',
        'print(sorted(os.listdir("/")))',
      ]),
    });
    expect(r.status).toBe('ok');
    const seen = JSON.parse(r.stdout.split('\n')[0]!) as Record<string, boolean>;
    for (const p of paths) expect(seen[p], p).toBe(false);
    expect(r.stdout).not.toContain(SECRET);
  });

  it('cannot write outside its work directory (read-only /, /usr, /etc, /dev; no host /tmp); the work dir is size-capped', async () => {
    const marker = `mg-sbx-written-${process.pid}`;
    const targets = [`/usr/${marker}`, `/etc/${marker}`, `/${marker}`, `/proc/${marker}`, `/dev/${marker}`];
    const r = await runInSandbox({
      code: py([
        `targets = ${JSON.stringify(targets)}`,
        'for t in targets:',
        '    try:',
        '        open(t, "w").write("x")',
        '        print("WROTE", t)',
        '    except OSError as e:',
        '        print("denied", t, type(e).__name__)',
        `open("/tmp/${marker}", "w").write("inside the work dir is fine")`,
        'open("/dev/null", "w").write("devices still work")',
        'print("workdir ok")',
        'try:',
        '    for i in range(100):',
        '        open(f"/tmp/fill{i}", "wb").write(b"x" * (8 << 20))',
        '    print("FILLED 800 MB")',
        'except OSError as e:',
        '    print("full", e.errno)',
      ]),
      workdirBytes: 64 << 20,
    });
    expect(r.stdout).toContain('full 28'); // ENOSPC
    expect(r.status).toBe('ok');
    expect(r.stdout).not.toContain('WROTE');
    expect(r.stdout).toContain('workdir ok');
    for (const t of [...targets, `/tmp/${marker}`]) expect(existsSync(t), t).toBe(false);
  });

  it('survives a fork bomb: the process limit stops it, the timeout ends it, nothing is left', async () => {
    const r = await runInSandbox({
      code: py([
        'import os',
        'while True:',
        '    try:',
        '        os.fork()',
        '    except OSError:',
        '        pass',
      ]),
      timeoutMs: 3000,
      maxProcesses: 32,
    });
    expect(r.status).toBe('timeout');
    // The host can still start processes, and a fresh sandbox works.
    const after = await runInSandbox({ code: 'print("alive")' });
    expect(after.stdout).toBe('alive\n');
  });

  it('stops a memory bomb at the address-space limit', async () => {
    const r = await runInSandbox({
      code: py(['blocks = []', 'while True:', '    blocks.append(bytearray(50 * 1024 * 1024))']),
      memoryMb: 256,
    });
    expect(r.status).toBe('memory');
    expect(r.stderr).toContain('MemoryError');
  });

  it('kills an infinite loop at the wall-clock limit', async () => {
    const r = await runInSandbox({ code: 'while True: pass\n', timeoutMs: 1500 });
    expect(r.status).toBe('timeout');
    expect(r.durationMs).toBeGreaterThanOrEqual(1500);
  });

  it('cuts 1 GB written to stdout at the output cap and kills the writer', async () => {
    const cap = 1 << 20;
    const r = await runInSandbox({
      code: py([
        'import sys',
        'chunk = "x" * (1 << 20)',
        'for _ in range(1024):',
        '    sys.stdout.write(chunk)',
      ]),
      maxOutputBytes: cap,
    });
    expect(r.status).toBe('output_limit');
    expect(r.truncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBe(cap);
  });

  it('leaves no orphan: a child in its own session, still sleeping when the program exits, dies with the sandbox', async () => {
    const marker = `${Math.floor(Math.random() * 1e6) + 1000}.${process.pid % 1000}`;
    const r = await runInSandbox({
      code: py([
        'import os, subprocess, time',
        `subprocess.Popen(["/usr/bin/sleep", "${marker}"], start_new_session=True)`,
        'if os.fork() == 0:',
        '    os.setsid()',
        '    if os.fork() == 0:',
        `        os.execv("/usr/bin/sleep", ["sleep", "${marker}"])`,
        '    os._exit(0)',
        'time.sleep(0.3)',
        'print("parent exits")',
      ]),
    });
    expect(r.status).toBe('ok');
    expect(processesWith(`sleep ${marker}`)).toEqual([]);
  });

  it("cannot read the host's environment variables (its own, /proc/1/environ, any /proc/*/environ)", async () => {
    const r = await runInSandbox({
      code: py([
        'import os',
        'print(dict(os.environ))',
        'for pid in os.listdir("/proc"):',
        '    if pid.isdigit():',
        '        try:',
        '            print(pid, open(f"/proc/{pid}/environ", "rb").read())',
        '        except OSError as e:',
        '            print(pid, "denied")',
      ]),
    });
    expect(r.status).toBe('ok');
    expect(r.stdout).not.toContain(SECRET);
    expect(r.stdout).not.toContain('MULTIGYM_TEST_SECRET');
    expect(r.stdout).toContain("{'PATH': '/usr/bin:/bin', 'HOME': '/tmp', 'LANG': 'C.UTF-8', 'PWD': '/tmp'}");
  });

  it('cannot kill its parent or any host process: it sees only its own PID namespace', async () => {
    const r = await runInSandbox({
      code: py([
        'import os, signal',
        'def attempt(pid):',
        '    try:',
        '        os.kill(pid, signal.SIGKILL)',
        '        return "sent"',
        '    except OSError as e:',
        '        return type(e).__name__',
        'print("pids", sorted(int(p) for p in os.listdir("/proc") if p.isdigit()))',
        `print("host node", attempt(${process.pid}))`,
        'print("parent", os.getppid(), attempt(os.getppid()))',
        'print("init", attempt(1))',
        'print("everyone", attempt(-1))',
        'print("still here")',
      ]),
    });
    // SIGKILL to -1 reaches only the program itself (init ignores signals from inside its namespace).
    expect(r.stdout).toMatch(/^host node ProcessLookupError/m);
    expect(r.stdout).toMatch(/^pids \[1\]$/m); // the program is its namespace's init: no host pid is visible
    expect(['ok', 'error']).toContain(r.status);
    // The host process that ran it is alive and keeps sandboxing.
    expect((await runInSandbox({ code: 'print(6 * 7)' })).stdout).toBe('42\n');
  });

  it('runs as an unprivileged uid with no groups, capabilities or inherited host fds, and cannot create user namespaces', async () => {
    const r = await runInSandbox({
      code: py([
        'import os',
        'print("uid", os.getuid(), os.geteuid())',
        'print([l for l in open("/proc/self/status") if l.startswith(("CapEff", "CapPrm", "NoNewPrivs"))])',
        'print("groups", [l.split()[1:] for l in open("/proc/self/status") if l.startswith("Groups")][0])',
        'fds = {}',
        'for fd in os.listdir("/proc/self/fd"):',
        '    try:',
        '        fds[fd] = os.readlink(f"/proc/self/fd/{fd}")',
        '    except OSError:',
        '        pass  # the descriptor of the listing itself',
        'print("extra fds", sorted(t for fd, t in fds.items() if int(fd) > 2 and t != "/dev/null" and "/proc/" not in t))',
        'try:',
        '    os.unshare(os.CLONE_NEWUSER)',
        '    print("UNSHARED")',
        'except (OSError, AttributeError) as e:',
        '    print("unshare denied", type(e).__name__)',
      ]),
    });
    expect(r.status).toBe('ok');
    expect(r.stdout).not.toMatch(/^uid 0 /m);
    expect(r.stdout).toContain('CapEff:\\t0000000000000000');
    expect(r.stdout).not.toContain('UNSHARED');
    expect(r.stdout).toContain('groups []');
    // Nothing of the host is reachable through an inherited descriptor (leaked ones are /dev/null).
    expect(r.stdout).toContain('extra fds []');
  });
});
