/**
 * `multigym plugin test PATH|PACKAGE`: the contract test (sdk/contract.ts) of every environment and
 * checker a plugin registers, with rollouts against a real policy worker: the one at `--policy-url`,
 * or a tiny CPU worker started for the test (a few seconds) and stopped after it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyClient } from '../../policy/client.js';
import { type ContractCheck, checkPluginContract } from '../../sdk/contract.js';
import { startPolicyWorkerProcess } from '../services.js';

/** Options of `multigym plugin test`. */
export interface PluginTestOptions {
  /** A running policy worker; default: start a tiny CPU one. */
  policyUrl?: string;
  /** JSON object: config of each environment by name. */
  config?: string;
  /** Tasks drawn (default 6) and rolled out (default 2). */
  tasks?: number;
  rollouts?: number;
  seed?: number;
  split?: string;
  dataDir?: string;
}

/** Runs the contract test of `specifier`, printing one line per check; returns the checks. */
export async function runPluginTest(
  specifier: string,
  o: PluginTestOptions,
  log: (line: string) => void = console.log,
): Promise<ContractCheck[]> {
  let configs: Record<string, unknown> | undefined;
  if (o.config) {
    try {
      configs = JSON.parse(o.config) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`--config: not JSON (${(err as Error).message}); e.g. '{"countdown": {"numbers": 4}}'`);
    }
  }
  const blobDir = mkdtempSync(join(tmpdir(), 'multigym-plugin-test-'));
  let stopWorker: (() => Promise<void>) | undefined;
  try {
    let policy: PolicyClient;
    if (o.policyUrl) policy = new PolicyClient({ url: o.policyUrl });
    else {
      const token = randomBytes(24).toString('base64url');
      const worker = await startPolicyWorkerProcess({ model: 'tiny', port: 0, token, timeoutMs: 120_000 });
      stopWorker = () => worker.stop();
      log(`policy worker (tiny, cpu) on ${worker.url}`);
      policy = new PolicyClient({ url: worker.url, token });
    }
    const checks = await checkPluginContract(specifier, {
      policy,
      blobDir,
      dataDir: o.dataDir ?? process.env.MULTIGYM_DATA,
      configs,
      tasks: o.tasks,
      rollouts: o.rollouts,
      seed: o.seed,
      split: o.split,
    });
    for (const c of checks) log(`${c.ok ? 'ok  ' : 'FAIL'} ${c.subject}: ${c.check}: ${c.detail}`);
    const failed = checks.filter((c) => !c.ok).length;
    log(failed ? `${failed} of ${checks.length} checks failed` : `all ${checks.length} checks passed`);
    return checks;
  } finally {
    await stopWorker?.();
    rmSync(blobDir, { recursive: true, force: true });
  }
}
