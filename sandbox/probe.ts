/**
 * Checks once per process that isolated executions can start here, and turns a failure into a
 * `SandboxUnavailableError` that says why and how to fix it.
 */
import { existsSync } from 'node:fs';
import { bwrapArgv, TOOLS } from './bwrap.js';
import { SandboxUnavailableError } from './errors.js';
import { tasksOfUid } from './ownTasks.js';
import { UID_BASE } from './pool.js';
import { RUNTIMES } from './runtimes.js';
import { spawnCapture } from './spawn.js';
import { type SandboxLanguage, sandboxLimitsSchema } from './types.js';

const FIX_USERNS =
  'bubblewrap needs unprivileged user namespaces: on the host run `sysctl -w kernel.unprivileged_userns_clone=1` ' +
  '(Debian/Ubuntu) and `sysctl -w user.max_user_namespaces=15000`; on Ubuntu 24.04+ also ' +
  '`sysctl -w kernel.apparmor_restrict_unprivileged_userns=0`; inside Docker start the container with ' +
  '`--security-opt seccomp=unconfined --security-opt apparmor=unconfined`. For trusted development only, ' +
  'set `unsafe: true` in the code-sandbox config to run without isolation.';

let verified: Promise<void> | undefined;

/**
 * Resolves when an isolated execution can start; the first successful check is cached.
 * @throws SandboxUnavailableError naming the missing piece and the fix.
 */
export function ensureSandbox(language: SandboxLanguage = 'python'): Promise<void> {
  verified ??= probe(language).catch((err) => {
    verified = undefined; // a failed check is retried on the next call
    throw err;
  });
  return verified;
}

async function probe(language: SandboxLanguage): Promise<void> {
  if (process.platform !== 'linux') {
    throw new SandboxUnavailableError(
      `the code sandbox needs Linux (bubblewrap); this is ${process.platform}`,
    );
  }
  if (!existsSync(TOOLS.bwrap)) {
    throw new SandboxUnavailableError(
      `${TOOLS.bwrap} not found: install bubblewrap (\`apt-get install -y bubblewrap\`; scripts/setup.sh does it)`,
    );
  }
  for (const tool of [TOOLS.prlimit]) {
    if (!existsSync(tool)) {
      throw new SandboxUnavailableError(
        `${tool} not found: install util-linux (\`apt-get install -y util-linux\`)`,
      );
    }
  }
  const runtime = RUNTIMES[language];
  if (!existsSync(runtime.binary)) {
    throw new SandboxUnavailableError(
      `${runtime.binary} not found: the sandbox only sees /usr, so ${language} must be installed there ` +
        '(`apt-get install -y python3`); a pyenv or virtualenv interpreter is not visible inside',
    );
  }
  // As root, probe with an unprivileged uid outside this process's pool blocks (see pool.ts).
  const uid = process.getuid?.() === 0 ? UID_BASE - 1 : undefined;
  const limits = sandboxLimitsSchema.parse({ timeoutMs: 10_000 });
  if (uid === undefined) limits.maxProcesses += tasksOfUid(process.getuid?.() ?? 0);
  const outcome = await spawnCapture({
    argv: bwrapArgv({ limits, files: [], argv: [runtime.binary, '-c', 'pass'] }),
    uid,
    env: { PATH: '/usr/bin:/bin' },
    stdin: '',
    fileContents: [],
    channel: false,
    bwrapStatus: true,
    processGroup: false,
    timeoutMs: limits.timeoutMs,
    maxOutputBytes: 1 << 16,
  });
  if (outcome.spawnError) {
    throw new SandboxUnavailableError(`cannot spawn the sandbox: ${outcome.spawnError.message}`);
  }
  if (outcome.sandboxPid === undefined || outcome.exitCode !== 0) {
    const said = outcome.stderr.trim();
    const userns = /namespace|uid map|Operation not permitted|Permission denied/i.test(said);
    throw new SandboxUnavailableError(
      `bubblewrap could not start a sandbox (exit ${outcome.exitCode}): ${said || '(no output)'}. ` +
        (userns ? FIX_USERNS : 'Run the command from bwrapArgv() by hand to see why.'),
      said,
    );
  }
}
