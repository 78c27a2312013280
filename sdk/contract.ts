/**
 * The plugin contract test (`multigym plugin test PATH`, or `checkEnvironmentContract` from a
 * plugin's own tests): what every environment must do for a run to work, checked against a real
 * policy worker.
 *
 * Per environment: its config (defaults, or the one given) parses; its config schema exports as JSON
 * Schema; tasks are deterministic for (seed, split), `start` skips ahead in the same order, ids are
 * unique and data is JSON only; its default checkers exist and accept their configs; a rollout of a
 * few tasks gives `n` well-formed trajectories; every reward component scores without error, finite
 * and within the checker's declared `range`. Per checker: config schema as JSON Schema, range valid.
 */
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { scoredTrajectory } from '../activities/scoring.js';
import type { Environment, PolicySampler, Task, Trajectory } from '../environments/api.js';
import { environmentSource, getEnvironment, loadPlugin } from '../environments/registry.js';
import type { RewardChecker } from '../rewards/api.js';
import { BUILTIN_SOURCE, getReward, rewardNames, rewardSource } from '../rewards/registry.js';
import { scoreTrajectory } from '../rewards/score.js';

/** One check's outcome. `subject` is `environment NAME` or `checker NAME`. */
export interface ContractCheck {
  subject: string;
  check: string;
  ok: boolean;
  /** What was found (on success a short summary, on failure what is wrong and where). */
  detail: string;
}

/** Options of the contract test. */
export interface ContractOptions {
  /** The policy the rollouts sample from (a `PolicyClient` of a running worker). */
  policy: PolicySampler;
  /** Directory for large payloads stored by reference. */
  blobDir: string;
  dataDir?: string;
  /** Config of each environment by name (default `{}`: the schema's defaults). */
  configs?: Record<string, unknown>;
  /** Tasks drawn for the determinism and data checks (default 6). */
  tasks?: number;
  /** Tasks rolled out (default 2), each with a group of `groupSize` (default 2) samples. */
  rollouts?: number;
  groupSize?: number;
  /** Tokens per sample (default 24). */
  maxTokens?: number;
  seed?: number;
  split?: string;
}

/** Path (`.a.b[2]`) of the first value in `v` that is not JSON, with what it is; undefined when all JSON. */
export function nonJsonPath(v: unknown, path = ''): string | undefined {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return undefined;
  if (typeof v === 'number') return Number.isFinite(v) ? undefined : `${path || '(root)'} is ${v}`;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const bad = nonJsonPath(x, `${path}[${i}]`);
      if (bad) return bad;
    }
    return undefined;
  }
  if (typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    if (proto !== Object.prototype && proto !== null)
      return `${path || '(root)'} is a ${proto?.constructor?.name ?? 'non-plain object'}, not a plain object`;
    for (const [k, x] of Object.entries(v)) {
      const bad = nonJsonPath(x, `${path}.${k}`);
      if (bad) return bad;
    }
    return undefined;
  }
  return `${path || '(root)'} is ${typeof v === 'undefined' ? 'undefined' : `a ${typeof v}`}`;
}

async function take<T>(it: AsyncIterable<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  if (n <= 0) return out;
  for await (const x of it) {
    out.push(x);
    if (out.length >= n) break;
  }
  return out;
}

/** Problems of one trajectory (empty when well-formed), each naming the field. */
export function trajectoryProblems(t: Trajectory): string[] {
  const p: string[] = [];
  if (!['ok', 'infra_error', 'rejected'].includes(t.status)) p.push(`status: ${JSON.stringify(t.status)}`);
  if (t.status !== 'ok') return t.error ? p : [...p, `error: a ${t.status} trajectory must say why`];
  if (typeof t.completion !== 'string') p.push('completion: expected a string');
  if (
    !Array.isArray(t.turns) ||
    t.turns.some((x) => typeof x?.role !== 'string' || typeof x.content !== 'string')
  )
    p.push('turns: expected [{ role, content }]');
  const ints = (a: unknown) => Array.isArray(a) && a.every((x) => Number.isInteger(x));
  if (!ints(t.promptTokenIds) || t.promptTokenIds.length === 0)
    p.push('promptTokenIds: expected non-empty token ids');
  if (!ints(t.completionTokenIds)) p.push('completionTokenIds: expected token ids');
  const T = t.completionTokenIds?.length ?? 0;
  if (!Array.isArray(t.logprobs) || t.logprobs.length !== T || !t.logprobs.every(Number.isFinite))
    p.push(`logprobs: expected ${T} finite numbers (one per completion token), got ${t.logprobs?.length}`);
  if (t.completionMask && (t.completionMask.length !== T || t.completionMask.some((m) => m !== 0 && m !== 1)))
    p.push(`completionMask: expected ${T} zeros and ones`);
  if (typeof t.finishReason !== 'string') p.push('finishReason: expected a string');
  if (!Number.isInteger(t.policyVersion)) p.push('policyVersion: expected an integer');
  if (!Number.isFinite(t.thinkingTokens)) p.push('thinkingTokens: expected a number');
  const extra = t.extra === undefined ? undefined : nonJsonPath(t.extra, 'extra');
  if (extra) p.push(extra);
  return p;
}

/** Checks a checker on its own: config schema as JSON Schema, declared range. */
export function checkCheckerContract(checker: RewardChecker): ContractCheck[] {
  const subject = `checker ${checker.name}`;
  const out: ContractCheck[] = [];
  out.push(jsonSchemaCheck(subject, checker.configSchema));
  const r = checker.range;
  out.push({
    subject,
    check: 'declared range',
    ok: r === undefined || (r.length === 2 && r.every(Number.isFinite) && r[0] <= r[1]),
    detail: r ? `[${r[0]}, ${r[1]}]` : 'none declared (values are only checked to be finite)',
  });
  return out;
}

function jsonSchemaCheck(subject: string, schema: z.ZodType): ContractCheck {
  try {
    const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
    JSON.stringify(json);
    return {
      subject,
      check: 'config schema as JSON Schema',
      ok: true,
      detail: `${Object.keys(json).length} keys`,
    };
  } catch (err) {
    return { subject, check: 'config schema as JSON Schema', ok: false, detail: (err as Error).message };
  }
}

/** Runs every contract check of one environment (see the module comment). Never throws for a failed check. */
export async function checkEnvironmentContract(
  env: Environment,
  opts: ContractOptions,
): Promise<ContractCheck[]> {
  const subject = `environment ${env.name}`;
  const out: ContractCheck[] = [];
  const add = (check: string, ok: boolean, detail: string) => out.push({ subject, check, ok, detail });
  const guard = async (check: string, f: () => Promise<string | undefined>): Promise<boolean> => {
    try {
      const problem = await f();
      if (problem === undefined) return true;
      add(check, false, problem);
    } catch (err) {
      add(check, false, `threw: ${(err as Error).message}`);
    }
    return false;
  };
  const parsed = env.configSchema.safeParse(opts.configs?.[env.name] ?? {});
  if (!parsed.success) {
    add(
      'config',
      false,
      `${parsed.error.issues.map((i) => `config${i.path.length ? `.${i.path.join('.')}` : ''}: ${i.message}`).join('; ')} (give one with --config '{"${env.name}": {...}}')`,
    );
    return out;
  }
  const config = parsed.data;
  add('config', true, 'parses');
  out.push(jsonSchemaCheck(subject, env.configSchema));

  const n = opts.tasks ?? 6;
  const ctx = {
    seed: opts.seed ?? 1,
    split: opts.split ?? 'train',
    start: 0,
    blobDir: opts.blobDir,
    dataDir: opts.dataDir,
  };
  let first: Task[] = [];
  const tasksOk = await guard('deterministic tasks', async () => {
    first = await take(env.tasks(config, ctx), n);
    if (first.length === 0) return `no tasks for seed ${ctx.seed}, split ${ctx.split}`;
    const again = await take(env.tasks(config, ctx), n);
    if (!isDeepStrictEqual(first, again)) return `two reads of seed ${ctx.seed}, split ${ctx.split} differ`;
    const skip = Math.min(2, first.length - 1);
    const later = await take(env.tasks(config, { ...ctx, start: skip }), first.length - skip);
    if (!isDeepStrictEqual(later, first.slice(skip)))
      return `tasks from start=${skip} are not tasks ${skip}.. of start=0 (ids ${later.map((t) => t.id).join(', ')} vs ${first
        .slice(skip)
        .map((t) => t.id)
        .join(', ')})`;
    return undefined;
  });
  if (tasksOk)
    add('deterministic tasks', true, `${first.length} tasks, same on a second read and from start=2`);
  if (!tasksOk) return out;
  const ids = first.map((t) => t.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i);
  add(
    'unique task ids',
    !dup && ids.every((id) => typeof id === 'string' && id.length > 0),
    dup ? `"${dup}" twice` : ids.slice(0, 3).join(', '),
  );
  const bad = first.map((t) => nonJsonPath(t.data, `${t.id}: data`)).find(Boolean);
  add('JSON-only task data', !bad, bad ?? 'strings, finite numbers, booleans, null, arrays, plain objects');

  const specsOk = await guard('default checkers', async () => {
    if (!env.rewards.length) return 'rewards: no checkers';
    for (const [i, spec] of env.rewards.entries()) {
      const checker = getReward(spec.checker);
      const c = checker.configSchema.safeParse(spec.config ?? {});
      if (!c.success) return `rewards.${i}.config: ${c.error.issues.map((x) => x.message).join('; ')}`;
    }
    return undefined;
  });
  if (specsOk) add('default checkers', true, env.rewards.map((r) => `${r.checker}×${r.weight}`).join(', '));

  const G = opts.groupSize ?? 2;
  const sampling = { max_tokens: opts.maxTokens ?? 24, temperature: 1, top_p: 1 };
  for (const [k, task] of first.slice(0, opts.rollouts ?? 2).entries()) {
    let trajectories: Trajectory[] = [];
    const rolled = await guard(`rollout of ${task.id}`, async () => {
      trajectories = await env.rollout(
        task,
        opts.policy,
        { n: G, sampling: { ...sampling, seed: 1000 + k }, blobDir: opts.blobDir },
        config,
      );
      if (!Array.isArray(trajectories) || trajectories.length !== G)
        return `expected ${G} trajectories (ctx.n), got ${Array.isArray(trajectories) ? trajectories.length : typeof trajectories}`;
      for (const [i, t] of trajectories.entries()) {
        const p = trajectoryProblems(t);
        if (p.length) return `trajectory ${i}: ${p.join('; ')}`;
      }
      return undefined;
    });
    if (!rolled) continue;
    const statuses = trajectories.map((t) => t.status).join(', ');
    add(`rollout of ${task.id}`, true, `${G} trajectories (${statuses})`);
    if (!specsOk) continue;
    const scored = await guard(`rewards of ${task.id}`, async () => {
      const totals: number[] = [];
      for (const [i, t] of trajectories.entries()) {
        if (t.status !== 'ok') continue;
        const outcome = await scoreTrajectory(
          env.rewards,
          scoredTrajectory(t),
          { id: task.id, data: task.data },
          env.checkerTimeoutMs,
        );
        if (outcome.status !== 'ok') return `trajectory ${i}: ${outcome.status}: ${outcome.error}`;
        for (const c of outcome.components) {
          const range = getReward(c.checker).range;
          if (c.value === null || !Number.isFinite(c.value))
            return `trajectory ${i}: ${c.name}: value ${c.value} is not finite`;
          if (range && (c.value < range[0] || c.value > range[1]))
            return `trajectory ${i}: ${c.name}: value ${c.value} outside the declared range [${range[0]}, ${range[1]}]`;
        }
        totals.push(outcome.total!);
      }
      if (totals.length)
        add(`rewards of ${task.id}`, true, `totals ${totals.map((x) => x.toFixed(3)).join(', ')}`);
      else add(`rewards of ${task.id}`, true, 'no ok trajectory to score');
      return undefined;
    });
    void scored;
  }

  if (env.demonstration && specsOk) {
    await guard('demonstration scores', async () => {
      const demo = await env.demonstration!(first[0]!, config);
      if (!demo) return undefined;
      const outcome = await scoreTrajectory(
        env.rewards,
        { completion: demo.completion, completionTokens: demo.completion.length, finishReason: 'stop' },
        { id: first[0]!.id, data: first[0]!.data },
        env.checkerTimeoutMs,
      );
      if (outcome.status !== 'ok') return `${outcome.status}: ${outcome.error}`;
      add(
        'demonstration scores',
        true,
        `reference completion of ${first[0]!.id} scores ${outcome.total!.toFixed(3)}`,
      );
      return undefined;
    });
  }
  return out;
}

/**
 * Loads a plugin (path or package) and runs the contract test of every environment and checker it
 * registers. A plugin that does not load gives one failed check naming the file, export and field.
 */
export async function checkPluginContract(
  specifier: string,
  opts: ContractOptions,
): Promise<ContractCheck[]> {
  let names: string[];
  try {
    names = await loadPlugin(specifier);
  } catch (err) {
    return [{ subject: `plugin ${specifier}`, check: 'loads', ok: false, detail: (err as Error).message }];
  }
  const out: ContractCheck[] = [
    { subject: `plugin ${specifier}`, check: 'loads', ok: true, detail: names.join(', ') },
  ];
  for (const name of new Set(names)) {
    const source = environmentSource(name);
    if (source && source !== 'builtin')
      out.push(...(await checkEnvironmentContract(getEnvironment(name), opts)));
    const checker = rewardNames().includes(name) ? getReward(name) : undefined;
    if (checker && rewardSource(checker) !== BUILTIN_SOURCE) out.push(...checkCheckerContract(checker));
  }
  return out;
}
