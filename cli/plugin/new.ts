/**
 * `multigym plugin new NAME`: writes a plugin package (cli/plugin/template.ts) into `./NAME` (or
 * `--dir`), and links its dependencies (`node_modules/multigym`, `zod`, `tsx`) to this multigym's,
 * so it loads and passes `multigym plugin test` at once, offline; `npm install` replaces the links.
 */
import { existsSync, mkdirSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pluginTemplate } from './template.js';

/** The multigym package root (where its package.json is). */
export const multigymRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** Root directory of an installed package, as resolved from multigym. */
function packageRoot(name: string): string {
  const require = createRequire(join(multigymRoot, 'package.json'));
  let dir = dirname(require.resolve(name));
  while (basename(dir) !== name && dirname(dir) !== dir) dir = dirname(dir);
  return realpathSync(dir);
}

/**
 * Writes the package; returns its directory and the files written.
 * @throws Error when the name is not kebab-case or the directory exists and is not empty.
 */
export function runPluginNew(
  name: string,
  o: { dir?: string; link?: boolean } = {},
): { dir: string; files: string[] } {
  if (!KEBAB.test(name)) throw new Error(`plugin name "${name}" must be kebab-case, e.g. "countdown"`);
  const dir = resolve(o.dir ?? name);
  if (existsSync(dir) && readdirSync(dir).length)
    throw new Error(`${dir} exists and is not empty; choose another --dir`);
  const dependency = `file:${relative(dir, multigymRoot) || '.'}`;
  const files = pluginTemplate(name, dependency);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  if (o.link !== false) {
    mkdirSync(join(dir, 'node_modules'), { recursive: true });
    symlinkSync(multigymRoot, join(dir, 'node_modules', 'multigym'), 'dir');
    for (const dep of ['zod', 'tsx']) symlinkSync(packageRoot(dep), join(dir, 'node_modules', dep), 'dir');
  }
  return { dir, files: Object.keys(files) };
}
