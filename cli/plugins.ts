/**
 * One way to name plugins on the command line: `--plugin PATH|PACKAGE` (repeatable) and
 * `MULTIGYM_PLUGINS` (colon- or comma-separated), for `dev`, `worker`, `env`, `score` and
 * `quickstart`. Paths resolve against the working directory here (a run config's `plugins` resolve
 * against the config file's directory: `readRunConfig`).
 */
import { existsSync, type FSWatcher, watch } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isPathSpecifier, loadPlugin, pluginEntry } from '../environments/registry.js';

/** Commander collector of a repeatable `--plugin`. */
export const collectPlugin = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Help text of `--plugin`. */
export const PLUGIN_FLAG_HELP =
  'load a plugin (a module path or an npm package) whose environments and checkers this command uses; repeatable; also MULTIGYM_PLUGINS=a:b';

/**
 * The plugins named by `MULTIGYM_PLUGINS` and then `flags`, paths (`./x`, `/x`, or any name that
 * exists under `cwd`) made absolute against `cwd`, duplicates dropped; anything else is a package name.
 */
export function pluginSpecifiers(
  flags: string[] = [],
  envValue = process.env.MULTIGYM_PLUGINS,
  cwd = process.cwd(),
): string[] {
  const fromEnv = (envValue ?? '')
    .split(/[:,]/)
    .map((s) => s.trim())
    .filter(Boolean);
  // `examples/countdown` is a path when it exists there, else a package name.
  const all = [...fromEnv, ...flags].map((s) =>
    isPathSpecifier(s) || existsSync(resolve(cwd, s)) ? resolve(cwd, s) : s,
  );
  return [...new Set(all)];
}

/** A loaded plugin: its specifier and the environment and checker names it registered. */
export interface LoadedPlugin {
  specifier: string;
  names: string[];
}

/**
 * Loads every plugin of `pluginSpecifiers(flags)`, in order. Throws the first plugin's error (it names
 * the file, the export and the field).
 */
export async function loadCliPlugins(flags?: string[]): Promise<LoadedPlugin[]> {
  const out: LoadedPlugin[] = [];
  for (const specifier of pluginSpecifiers(flags))
    out.push({ specifier, names: await loadPlugin(specifier) });
  return out;
}

/** One line per plugin for a command's start-up output: `plugin FILE: name, name`. */
export const pluginLines = (loaded: LoadedPlugin[]): string[] =>
  loaded.map((p) => `plugin ${p.specifier}: ${p.names.join(', ')}`);

/**
 * Warns once per plugin when a source file beside its entry module changes: running workers keep the
 * code they imported, so an edit takes effect only after a restart (never silently half-applied).
 * Watches the entry's folder (not its subfolders, not node_modules); returns a function that stops.
 */
export function warnOnPluginEdits(
  loaded: LoadedPlugin[],
  warn: (line: string) => void = (line) => console.warn(line),
): () => void {
  const watchers: FSWatcher[] = [];
  for (const { specifier } of loaded) {
    if (!isPathSpecifier(specifier)) continue;
    let warned = false;
    try {
      const dir = dirname(pluginEntry(specifier));
      const w = watch(dir, { persistent: false }, (_event, file) => {
        if (warned || !file || !/\.(m?[jt]s|json)$/.test(file)) return;
        warned = true;
        warn(
          `multigym: plugin ${specifier} changed on disk (${file}); running workers keep the code they loaded: ` +
            'restart this command to load it',
        );
      });
      w.on('error', () => undefined);
      watchers.push(w);
    } catch {
      // A folder that cannot be watched (permissions, a network file system): no warning, no failure.
    }
  }
  return () => {
    for (const w of watchers) w.close();
  };
}
