/**
 * The environment registry. Built-ins are registered by `environments/builtin.ts`; plugins (a local
 * path or an npm package whose default export is a `defineEnvironment` result) by `loadPlugin`.
 */

import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { registerReward } from '../rewards/registry.js';
import type { Environment } from './api.js';

const envs = new Map<string, Environment>();

/** Thrown for unknown, duplicate or malformed environments and plugins. */
export class EnvironmentRegistryError extends Error {
  readonly type = 'EnvironmentRegistryError';
}

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Adds an environment. Throws if the name is not kebab-case or is taken by another environment. */
export function registerEnvironment(env: Environment): void {
  if (!KEBAB.test(env.name)) {
    throw new EnvironmentRegistryError(
      `environment name "${env.name}" must be kebab-case (e.g. "code-sandbox")`,
    );
  }
  const existing = envs.get(env.name);
  if (existing && existing !== env) {
    throw new EnvironmentRegistryError(`environment "${env.name}" is already registered`);
  }
  envs.set(env.name, env);
}

/** Looks an environment up by name; the error lists the known names. */
export function getEnvironment(name: string): Environment {
  const env = envs.get(name);
  if (!env) {
    throw new EnvironmentRegistryError(
      `unknown environment "${name}"; known: ${[...envs.keys()].sort().join(', ') || '(none)'}`,
    );
  }
  return env;
}

/** Names of every registered environment, sorted. */
export function environmentNames(): string[] {
  return [...envs.keys()].sort();
}

/**
 * Loads a plugin module (a path relative to `cwd`, or a package name) and registers its default
 * export: an environment (has `rollout`) or a reward checker (has `score`), or an array of them.
 */
export async function loadPlugin(specifier: string, cwd = process.cwd()): Promise<string[]> {
  const isPath = specifier.startsWith('.') || specifier.startsWith('/');
  const url = isPath ? pathToFileURL(resolve(cwd, specifier)).href : specifier;
  const mod = (await import(url)) as { default?: unknown };
  const items = Array.isArray(mod.default) ? mod.default : [mod.default];
  const names: string[] = [];
  for (const item of items) {
    if (item && typeof item === 'object' && 'rollout' in item && 'tasks' in item) {
      registerEnvironment(item as Environment);
      names.push((item as Environment).name);
    } else if (item && typeof item === 'object' && 'score' in item && 'name' in item) {
      registerReward(item as Parameters<typeof registerReward>[0], url);
      names.push((item as { name: string }).name);
    } else {
      throw new EnvironmentRegistryError(
        `plugin "${specifier}" must default-export defineEnvironment(...) or defineReward(...) (or an array of them)`,
      );
    }
  }
  return names;
}
