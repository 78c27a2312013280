/**
 * The tool-set registry, keyed by name. The built-in set registers itself from `builtin/index.ts`;
 * plugins call `registerToolSet` with a `defineToolSet` result.
 */
import type { ToolSet } from './api.js';

const sets = new Map<string, ToolSet>();

/** Thrown for unknown or duplicate tool sets; `type` is stable. */
export class ToolSetRegistryError extends Error {
  readonly type = 'ToolSetRegistryError';
  /** A configuration error: retrying cannot help. */
  readonly retryable = false;
}

/** Adds a tool set. Throws `ToolSetRegistryError` when the name is taken by another set or tools repeat. */
export function registerToolSet(set: ToolSet): void {
  const existing = sets.get(set.name);
  if (existing && existing !== set)
    throw new ToolSetRegistryError(`tool set "${set.name}" is already registered`);
  const names = set.tools.map((t) => t.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new ToolSetRegistryError(`tool set "${set.name}" has two tools named "${dup}"`);
  sets.set(set.name, set);
}

/** Looks a tool set up by name; the error lists the known names. */
export function getToolSet(name: string): ToolSet {
  const set = sets.get(name);
  if (!set) {
    throw new ToolSetRegistryError(
      `unknown tool set "${name}"; known: ${[...sets.keys()].sort().join(', ') || '(none)'}`,
    );
  }
  return set;
}

/** Names of every registered tool set, sorted. */
export function toolSetNames(): string[] {
  return [...sets.keys()].sort();
}
