/**
 * The reward-checker registry: built-ins are registered by `rewards/builtin/index.ts`; plugins
 * (a module whose default export is a `defineReward` result) by `registerReward`.
 */
import type { RewardChecker } from './api.js';

const checkers = new Map<string, RewardChecker>();

/** Thrown for unknown or duplicate checker names. */
export class RewardRegistryError extends Error {
  readonly type = 'RewardRegistryError';
}

/** Adds a checker. Throws `RewardRegistryError` if the name is taken by a different checker. */
export function registerReward(checker: RewardChecker): void {
  const existing = checkers.get(checker.name);
  if (existing && existing !== checker) {
    throw new RewardRegistryError(`reward checker "${checker.name}" is already registered`);
  }
  checkers.set(checker.name, checker as RewardChecker);
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
