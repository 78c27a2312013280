/**
 * The browser builds of Vega, Vega-Lite and vega-embed, served from the installed packages (the
 * dashboard loads nothing from a CDN, so it works offline).
 */
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUILDS = {
  'vega.min.js': 'vega/build/vega.min.js',
  'vega-lite.min.js': 'vega-lite/build/vega-lite.min.js',
  'vega-embed.min.js': 'vega-embed/build/vega-embed.min.js',
} as const;

/**
 * Absolute path of a vendored build, found in the nearest `node_modules` above this file.
 * @throws Error naming the package when it is not installed (run `npm ci`).
 */
export function vendorFile(name: keyof typeof BUILDS): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = resolve(dir, 'node_modules', BUILDS[name]);
    if (existsSync(candidate)) return candidate;
    const up = dirname(dir);
    if (up === dir) throw new Error(`${BUILDS[name]} not found in any node_modules: run \`npm ci\``);
    dir = up;
  }
}
