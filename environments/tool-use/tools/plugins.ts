/**
 * Loading tool-set plugins named in a run config (`toolSetModules`): a local path or a package whose
 * default export is a `defineToolSet` result (or an array of them). Each module is imported once per
 * process; its sets are registered by name.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ToolSet } from './api.js';
import { registerToolSet, ToolSetRegistryError } from './registry.js';

const loaded = new Map<string, Promise<string[]>>();

const isToolSet = (v: unknown): v is ToolSet =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as ToolSet).name === 'string' &&
  Array.isArray((v as ToolSet).tools);

/**
 * Imports a tool-set module and registers its default export; resolves with the set names. Throws
 * `ToolSetRegistryError` when the default export is not a tool set (or the name is taken).
 */
export function loadToolSetModule(specifier: string, cwd = process.cwd()): Promise<string[]> {
  const isPath = specifier.startsWith('.') || specifier.startsWith('/');
  const url = isPath ? pathToFileURL(resolve(cwd, specifier)).href : specifier;
  let pending = loaded.get(url);
  if (!pending) {
    pending = import(url).then((mod: { default?: unknown }) => {
      const items = Array.isArray(mod.default) ? mod.default : [mod.default];
      if (items.length === 0 || !items.every(isToolSet)) {
        throw new ToolSetRegistryError(
          `tool-set module "${specifier}" must default-export defineToolSet(...) (or an array)`,
        );
      }
      for (const set of items) registerToolSet(set);
      return items.map((s) => s.name);
    });
    pending.catch(() => loaded.delete(url));
    loaded.set(url, pending);
  }
  return pending;
}

/** Loads every module of `specifiers` (see `loadToolSetModule`). */
export async function loadToolSetModules(
  specifiers: readonly string[],
  cwd = process.cwd(),
): Promise<string[]> {
  const names = await Promise.all(specifiers.map((s) => loadToolSetModule(s, cwd)));
  return names.flat();
}
