/**
 * The environment registry. Built-ins are registered by `environments/builtin.ts`; plugins (a local
 * path or an npm package whose default export is a `defineEnvironment` result) by `loadPlugin`.
 */

import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerReward } from '../rewards/registry.js';
import type { Environment } from './api.js';
import { checkPluginExport } from './pluginShape.js';

// biome-ignore lint/suspicious/noExplicitAny: environments of any config and task-data type
type AnyEnvironment = Environment<any, any>;

const envs = new Map<string, AnyEnvironment>();
/** Where each environment came from: `builtin` or the plugin file (or package) that registered it. */
const envSources = new Map<string, string>();

/** Thrown for unknown, duplicate or malformed environments and plugins. */
export class EnvironmentRegistryError extends Error {
  readonly type = 'EnvironmentRegistryError';
  readonly retryable = false;
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/**
 * Adds an environment. `source` names where it came from (a plugin's file), so a clash can say which
 * file registered the name first. Throws if the name is not kebab-case or is taken by another one.
 */
export function registerEnvironment(env: AnyEnvironment, source = 'builtin'): void {
  if (!KEBAB.test(env.name)) {
    throw new EnvironmentRegistryError(
      `environment name "${env.name}" must be kebab-case (e.g. "code-sandbox")`,
    );
  }
  const existing = envs.get(env.name);
  if (existing && existing !== env) {
    throw new EnvironmentRegistryError(
      `environment "${env.name}" is already registered by ${envSources.get(env.name) ?? 'builtin'}; rename the one in ${source}`,
    );
  }
  envs.set(env.name, env);
  if (!existing) envSources.set(env.name, source);
}

/** Looks an environment up by name; the error lists the known names. */
export function getEnvironment(name: string): Environment {
  const env = envs.get(name);
  if (!env) {
    throw new EnvironmentRegistryError(
      `unknown environment "${name}"; known: ${[...envs.keys()].sort().join(', ') || '(none)'}` +
        ' (an environment of a plugin needs --plugin PATH, MULTIGYM_PLUGINS or the run config\'s "plugins")',
    );
  }
  return env as Environment;
}

/** Where an environment was registered from: `builtin`, or a plugin's file or package. */
export function environmentSource(name: string): string | undefined {
  return envSources.get(name);
}

/** Names of every registered environment, sorted. */
export function environmentNames(): string[] {
  return [...envs.keys()].sort();
}

/** True for a specifier that names a file (relative or absolute path) rather than a package. */
export const isPathSpecifier = (specifier: string): boolean =>
  specifier.startsWith('.') || isAbsolute(specifier);

/**
 * The module file of a plugin path: the file itself, or for a package directory its package.json's
 * `exports["."]` (a string, or its `import`/`default` condition), else `main`, else `index.ts`/`index.js`.
 * @throws EnvironmentRegistryError when a directory names no entry that exists.
 */
export function pluginEntry(path: string): string {
  if (!existsSync(path) || !statSync(path).isDirectory()) return path;
  const pkgFile = join(path, 'package.json');
  const candidates: string[] = [];
  if (existsSync(pkgFile)) {
    const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as { exports?: unknown; main?: unknown };
    const dot =
      typeof pkg.exports === 'string'
        ? pkg.exports
        : (pkg.exports as Record<string, unknown> | undefined)?.['.'];
    const entry =
      typeof dot === 'string'
        ? dot
        : ((dot as Record<string, unknown> | undefined)?.import ??
          (dot as Record<string, unknown> | undefined)?.default);
    if (typeof entry === 'string') candidates.push(entry);
    if (typeof pkg.main === 'string') candidates.push(pkg.main);
  }
  candidates.push('index.ts', 'index.js', 'index.mjs');
  for (const c of candidates) if (existsSync(join(path, c))) return join(path, c);
  throw new EnvironmentRegistryError(
    `plugin ${path}: a directory without an entry module (package.json "exports" or "main", or index.ts/index.js)`,
  );
}

/**
 * Loads a plugin module (a path relative to `cwd`, an absolute path, a package directory, or a package
 * name) and registers
 * its default export: an environment (`defineEnvironment`), a reward checker (`defineReward`), or an
 * array of them. Returns the registered names. Errors (`EnvironmentRegistryError`) name the file, the
 * export (`default` or `default[i]`) and the field.
 */
export async function loadPlugin(specifier: string, cwd = process.cwd()): Promise<string[]> {
  const file = isPathSpecifier(specifier) ? pluginEntry(resolve(cwd, specifier)) : specifier;
  const url = isPathSpecifier(specifier) ? pathToFileURL(file).href : specifier;
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new EnvironmentRegistryError(`plugin ${file}: cannot load: ${(err as Error).message}`);
  }
  if (mod.default === undefined) {
    throw new EnvironmentRegistryError(
      `plugin ${file}: no default export; export default defineEnvironment(...), defineReward(...) or an array of them`,
    );
  }
  const many = Array.isArray(mod.default);
  const items: unknown[] = many ? (mod.default as unknown[]) : [mod.default];
  // Checkers first: an environment's default rewards may name a checker of the same plugin.
  const checked = items.map((item, i) => {
    const where = many ? `default[${i}]` : 'default';
    const shape = checkPluginExport(item);
    if (shape.problem) throw new EnvironmentRegistryError(`plugin ${file}: export ${where}${shape.problem}`);
    return { item, where, kind: shape.kind };
  });
  for (const { item, where, kind } of checked) {
    if (kind !== 'checker') continue;
    try {
      registerReward(item as Parameters<typeof registerReward>[0], url);
    } catch (err) {
      throw new EnvironmentRegistryError(`plugin ${file}: export ${where}.name: ${(err as Error).message}`);
    }
  }
  for (const { item, where, kind } of checked) {
    if (kind !== 'environment') continue;
    try {
      registerEnvironment(item as AnyEnvironment, file);
    } catch (err) {
      throw new EnvironmentRegistryError(`plugin ${file}: export ${where}.name: ${(err as Error).message}`);
    }
  }
  return checked.map(({ item }) => (item as { name: string }).name);
}
