/**
 * The command line of one isolated execution:
 *
 *   (Node spawns it as an unprivileged uid of its own: setgroups([]), setgid, setuid — no capabilities)
 *   prlimit (CPU, address space, processes, file size, open files, no core dumps)
 *     → bwrap (new user/PID/network/IPC/UTS/cgroup namespaces, only /usr read-only, tmpfs work dir,
 *              read-only /, clean environment, dies with its parent, new session, no nested user
 *              namespaces; the program is the PID namespace's init)
 *       → /usr/bin/python3 main.py
 *
 * Why each piece (measured on these machines, see ../shared/NOTES.md beside the checkout): started by
 * root, bwrap's user namespace still maps to root outside, so the program could read /etc/shadow and
 * ignore RLIMIT_NPROC — hence the uid drop first (Node's `spawn({ uid, gid })` does what
 * `setpriv --reuid --regid --clear-groups` does, without an extra exec: ~1.7 ms CPU a run). A
 * `setsid` grandchild escapes a process-group kill, so the sandbox is a PID namespace that dies with
 * its init. prlimit execs (it does not fork), so the pid Node spawns is bwrap itself.
 */
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import type { SandboxLimits } from './types.js';

/** Work directory inside the sandbox (a private tmpfs). */
export const WORKDIR = '/tmp';
/** Host files under /etc the runtimes read (dynamic-loader cache, local time zone); bound read-only when present. */
const ETC_FILES = ['/etc/ld.so.cache', '/etc/localtime'];
/** Top-level paths that merged-/usr systems make symlinks into /usr, and older ones directories. */
const USR_ALIASES = ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32'];

/** Absolute paths of the host tools; Debian packages `util-linux` (setpriv, prlimit) and `bubblewrap`. */
export const TOOLS = {
  setpriv: '/usr/bin/setpriv',
  prlimit: '/usr/bin/prlimit',
  bwrap: '/usr/bin/bwrap',
} as const;

/** fds of the spawned bwrap: 0-2 stdio, 3 the side channel, 4 bwrap's JSON status, 5… files to copy in. */
export const FD = { channel: 3, status: 4, firstFile: 5 } as const;

/** bind/symlink arguments that reproduce the host's /bin, /lib… aliases of /usr (computed once). */
let rootfsArgs: string[] | undefined;
function rootfs(): string[] {
  if (rootfsArgs) return rootfsArgs;
  const args = ['--ro-bind', '/usr', '/usr'];
  for (const path of USR_ALIASES) {
    if (!existsSync(path)) continue;
    const st = lstatSync(path);
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (st.isDirectory()) args.push('--ro-bind', path, path);
  }
  for (const file of ETC_FILES) if (existsSync(file)) args.push('--ro-bind', file, file);
  rootfsArgs = args;
  return args;
}

/** What to put in one execution's command line. */
export interface BwrapPlan {
  limits: SandboxLimits;
  /** Paths (relative to the work dir) of the files copied in, in fd order from `FD.firstFile`. */
  files: string[];
  /** argv of the program inside the sandbox. */
  argv: string[];
}

/** The full argv (prlimit … bwrap … program) of one execution; spawn it with the slot's uid (see `spawn.ts`). */
export function bwrapArgv(plan: BwrapPlan): string[] {
  const { limits } = plan;
  const cpuSeconds = Math.ceil(limits.timeoutMs / 1000);
  const rlimits = [
    TOOLS.prlimit,
    // soft:hard — SIGXCPU at the soft limit (reported as a timeout), SIGKILL one second later.
    `--cpu=${cpuSeconds}:${cpuSeconds + 1}`,
    `--as=${limits.memoryMb * 1024 * 1024}`,
    `--nproc=${limits.maxProcesses}`,
    `--fsize=${limits.maxFileBytes}`,
    `--nofile=${limits.maxOpenFiles}`,
    '--core=0',
    '--',
  ];
  const files = plan.files.flatMap((path, i) => ['--file', String(FD.firstFile + i), `${WORKDIR}/${path}`]);
  const parentDirs = [...new Set(plan.files.flatMap((p) => ancestors(p)))].flatMap((d) => [
    '--dir',
    `${WORKDIR}/${d}`,
  ]);
  const bwrap = [
    TOOLS.bwrap,
    '--unshare-all',
    '--unshare-user',
    '--disable-userns',
    '--die-with-parent',
    '--new-session',
    // The program is the namespace's pid 1, so the outer bwrap reaps it (with bwrap's own init as pid 1,
    // the outer exits on the init's report and the init becomes a zombie of the host's pid 1).
    '--as-pid-1',
    '--cap-drop',
    'ALL',
    '--hostname',
    'sandbox',
    ...rootfs(),
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // bwrap's /dev is an unbounded tmpfs: give /dev/shm its own bounded one.
    '--size',
    String(limits.workdirBytes),
    '--tmpfs',
    '/dev/shm',
    '--size',
    String(limits.workdirBytes),
    '--tmpfs',
    WORKDIR,
    ...parentDirs,
    ...files,
    // bwrap builds / and /dev on unbounded tmpfs owned by the sandbox uid: make both read-only, so the
    // only writable places are the size-limited work dir and /dev/shm (device nodes stay usable).
    '--remount-ro',
    '/dev',
    '--remount-ro',
    '/',
    '--chdir',
    WORKDIR,
    '--clearenv',
    '--setenv',
    'PATH',
    '/usr/bin:/bin',
    '--setenv',
    'HOME',
    WORKDIR,
    '--setenv',
    'LANG',
    'C.UTF-8',
    '--json-status-fd',
    String(FD.status),
    '--',
  ];
  return [...rlimits, ...bwrap, ...plan.argv];
}

/** Parent directories of a relative path, outermost first (`a/b/c.py` → `a`, `a/b`). */
function ancestors(path: string): string[] {
  const parts = path.split('/').slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/** Rejects file names that could escape the work directory. */
export function checkRelativePath(path: string): void {
  if (!path || path.startsWith('/') || path.split('/').some((p) => p === '..' || p === '' || p === '.')) {
    throw new RangeError(
      `sandbox file path must be relative, without "." or ".." parts: ${JSON.stringify(path)}`,
    );
  }
}
