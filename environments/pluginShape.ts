/**
 * What a plugin's export must look like, checked before anything is registered so that the error
 * names the field (`.rollout: expected a function`) instead of failing later inside a run.
 */

/** The kind of a valid export, or the problem (starting with the field, e.g. `.rewards.0.weight: …`). */
export type ExportShape =
  | { kind: 'environment' | 'checker'; problem?: undefined }
  | { kind?: undefined; problem: string };

const isFn = (v: unknown) => typeof v === 'function';
const isSchema = (v: unknown) =>
  !!v && typeof v === 'object' && typeof (v as { safeParse?: unknown }).safeParse === 'function';

/**
 * Classifies one exported value: an environment has `rollout` and `tasks`, a checker has `score`.
 * Every required field is checked; the first problem is returned as `.field: what is wrong`.
 */
export function checkPluginExport(item: unknown): ExportShape {
  if (!item || typeof item !== 'object') {
    return {
      problem:
        ': expected defineEnvironment(...) or defineReward(...), got ' +
        (item === null ? 'null' : typeof item),
    };
  }
  const o = item as Record<string, unknown>;
  const isEnv = 'rollout' in o || 'tasks' in o;
  const isChecker = 'score' in o;
  if (!isEnv && !isChecker) {
    return {
      problem:
        ': expected defineEnvironment(...) (with tasks and rollout) or defineReward(...) (with score); ' +
        `found the keys ${Object.keys(o).join(', ') || '(none)'}`,
    };
  }
  const need: [string, (v: unknown) => boolean, string][] = [
    ['name', (v) => typeof v === 'string' && v.length > 0, 'a non-empty kebab-case string'],
    ['description', (v) => typeof v === 'string', 'a string'],
    ['configSchema', isSchema, 'a zod schema (e.g. z.object({}))'],
  ];
  if (isEnv) {
    need.push(
      ['tasks', isFn, 'a function (config, ctx) returning an AsyncIterable of tasks'],
      ['rollout', isFn, 'a function (task, policy, ctx, config) returning trajectories'],
      ['parseTask', isFn, 'a function (record, index) returning a task'],
      ['rewards', Array.isArray, 'an array of { checker, weight }'],
    );
  } else need.push(['score', isFn, 'a function (trajectory, task, config) returning { value }']);
  for (const [field, ok, what] of need) {
    if (!ok(o[field]))
      return { problem: `.${field}: expected ${what}, got ${JSON.stringify(o[field]) ?? 'undefined'}` };
  }
  if (isEnv) {
    const rewards = o.rewards as unknown[];
    for (const [i, r] of rewards.entries()) {
      const spec = r as { checker?: unknown; weight?: unknown } | null;
      if (!spec || typeof spec.checker !== 'string')
        return { problem: `.rewards.${i}.checker: expected a checker name` };
      if (typeof spec.weight !== 'number' || !Number.isFinite(spec.weight))
        return { problem: `.rewards.${i}.weight: expected a finite number` };
    }
    return { kind: 'environment' };
  }
  const range = o.range;
  if (
    range !== undefined &&
    !(Array.isArray(range) && range.length === 2 && range.every(Number.isFinite) && range[0] <= range[1])
  )
    return { problem: '.range: expected [min, max] with min ≤ max' };
  return { kind: 'checker' };
}
