/**
 * Supervised warm start of a fresh policy: `sft_step`s on demonstrations (reference answers,
 * canonical solutions, ground-truth calls, needles) from every environment of the run, so that a
 * randomly initialised model has the output formats before GRPO starts.
 */
import { SingleBar } from 'cli-progress';
import { getEnvironment } from '../../environments/registry.js';
import { PolicyClient } from '../../policy/client.js';
import { takeTasks } from './data.js';

/** One supervised example. */
export interface Demonstration {
  env: string;
  prompt: string;
  completion: string;
}

/** Collects up to `perEnv` demonstrations from each environment's `train` tasks. */
export async function collectDemonstrations(opts: {
  envConfigs: Record<string, Record<string, unknown>>;
  perEnv: number;
  seed: number;
  dataDir?: string;
  blobDir: string;
}): Promise<Demonstration[][]> {
  const out: Demonstration[][] = [];
  for (const [name, raw] of Object.entries(opts.envConfigs)) {
    const env = getEnvironment(name);
    if (!env.demonstration) continue;
    const config = env.configSchema.parse(raw);
    const tasks = await takeTasks(
      name,
      raw,
      { seed: opts.seed + 1, split: 'train', dataDir: opts.dataDir, blobDir: opts.blobDir },
      opts.perEnv,
    );
    const demos: Demonstration[] = [];
    for (const t of tasks) {
      const d = await env.demonstration(t, config);
      if (d) demos.push({ env: name, ...d });
    }
    if (demos.length) out.push(demos);
  }
  return out;
}

/** Result of the warm start. */
export interface WarmStartResult {
  steps: number;
  firstLoss: number;
  lastLoss: number;
  policyVersion: number;
  seconds: number;
}

/**
 * Runs `steps` supervised steps of `batch` examples, each batch drawn round-robin (weighted by
 * `weights`) from the environments' demonstrations. Shows a progress bar on a terminal (`tty`), else
 * a plain line through `log` at every tenth of the steps.
 */
export async function warmStart(opts: {
  policyUrl: string;
  demonstrations: Demonstration[][];
  steps: number;
  batch: number;
  learningRate: number;
  /** Relative share of each environment in a batch (default 1 each). */
  weights?: Record<string, number>;
  /** Progress bar (default: whether stdout is a TTY); otherwise plain lines through `log`. */
  tty?: boolean;
  log?: (line: string) => void;
  signal?: AbortSignal;
}): Promise<WarmStartResult> {
  const policy = new PolicyClient({ url: opts.policyUrl });
  const pools = opts.demonstrations.filter((d) => d.length > 0);
  const t0 = Date.now();
  const tty = opts.tty ?? Boolean(process.stdout.isTTY);
  const log = opts.log ?? console.log;
  const every = Math.max(1, Math.ceil(opts.steps / 10));
  const bar = !tty
    ? undefined
    : new SingleBar({
        format: 'warm start |{bar}| {value}/{total} sft steps · loss {loss} nats/token',
        hideCursor: true,
      });
  bar?.start(opts.steps, 0, { loss: '—' });
  let firstLoss = Number.NaN;
  let lastLoss = Number.NaN;
  let version = 0;
  const cursor = pools.map(() => 0);
  // weighted round robin: pool i appears `weight` times per cycle
  const slots = pools.flatMap((pool, i) =>
    Array.from({ length: Math.max(1, opts.weights?.[pool[0]!.env] ?? 1) }, () => i),
  );
  try {
    for (let s = 0; s < opts.steps && pools.length; s++) {
      if (opts.signal?.aborted) break;
      const examples = [];
      for (let k = 0; k < opts.batch; k++) {
        const p = slots[(s * opts.batch + k) % slots.length]!;
        const pool = pools[p]!;
        const d = pool[cursor[p]! % pool.length]!;
        cursor[p]! += 1;
        examples.push({ prompt: d.prompt, completion: d.completion });
      }
      const res = await policy.sftStep({
        idempotency_key: `quickstart-sft:${s}`,
        examples,
        learning_rate: opts.learningRate,
        micro_batch_size: opts.batch,
      });
      if (s === 0) firstLoss = res.loss;
      lastLoss = res.loss;
      version = res.policy_version;
      bar?.update(s + 1, { loss: res.loss.toFixed(3) });
      if (!tty && ((s + 1) % every === 0 || s + 1 === opts.steps)) {
        const elapsed = ((Date.now() - t0) / 1000).toFixed(0);
        log(
          `warm start ${s + 1}/${opts.steps} sft steps · loss ${res.loss.toFixed(3)} nats/token · ${elapsed} s`,
        );
      }
    }
  } finally {
    bar?.stop();
  }
  return {
    steps: opts.steps,
    firstLoss,
    lastLoss,
    policyVersion: version,
    seconds: (Date.now() - t0) / 1000,
  };
}
