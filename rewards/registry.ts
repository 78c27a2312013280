/**
 * The reward-checker registry: built-ins are registered by `rewards/builtin/index.ts`; plugins
 * (a module whose default export is a `defineReward` result) by `registerReward`.
 */
import { fileURLToPath } from 'node:url';
import type { RewardChecker } from './api.js';

const checkers = new Map<string, RewardChecker>();
/** Where each checker can be loaded again (a checker-pool thread imports it): `BUILTIN` or a module URL. */
const sources = new WeakMap<RewardChecker, string>();

/** Source of the built-in checkers: a pool thread registers them by importing `builtin/index.ts`. */
export const BUILTIN_SOURCE = 'builtin';

/** Thrown for unknown or duplicate checker names. */
export class RewardRegistryError extends Error {
  readonly type = 'RewardRegistryError';
}

/**
 * Adds a checker. `source` says where a checker-pool thread can load it: `BUILTIN_SOURCE`, or the URL
 * of the plugin module whose default export holds it. A checker without a source (defined in code)
 * runs in the calling thread, where a time-out cannot stop it. Throws `RewardRegistryError` if the
 * name is taken by a different checker.
 */
export function registerReward(checker: RewardChecker, source?: string): void {
  const existing = checkers.get(checker.name);
  if (existing && existing !== checker) {
    const first = sources.get(existing);
    const where = (src?: string) =>
      !src ? 'code' : src.startsWith('file:') ? fileURLToPath(src) : src === BUILTIN_SOURCE ? 'builtin' : src;
    throw new RewardRegistryError(
      `reward checker "${checker.name}" is already registered by ${where(first)}; rename the one in ${where(source)}`,
    );
  }
  checkers.set(checker.name, checker as RewardChecker);
  if (source) sources.set(checker, source);
}

/** Where a registered checker can be loaded again (see `registerReward`); undefined for one defined in code. */
export function rewardSource(checker: RewardChecker): string | undefined {
  return sources.get(checker);
}

/** Looks a checker up by name. Throws `RewardRegistryError` listing the known names. */
export function getReward(name: string): RewardChecker {
  const checker = checkers.get(name);
  if (!checker) {
    throw new RewardRegistryError(
      `unknown reward checker "${name}"; known: ${[...checkers.keys()].sort().join(', ') || '(none)'}`,
    );
  }
  return checker;
}

/** Names of every registered checker, sorted. */
export function rewardNames(): string[] {
  return [...checkers.keys()].sort();
}
