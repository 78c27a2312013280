/**
 * `multigym data fetch SET…`: downloads public data sets (gsm8k, math500, humaneval, bfcl, haystack
 * or all) from their pinned sources, or from `--mirror` / `MULTIGYM_DATA_MIRROR`, into the data
 * directory, with SHA-256 checks and progress bars.
 */
import { resolve } from 'node:path';
import { homeDir } from '../context.js';
import { defaultDataDir } from '../data/catalog.js';
import { fetchDataSets } from '../data/fetch.js';

/** Options of `data fetch`. */
export interface DataFetchCommandOptions {
  /** Target directory; default `<MULTIGYM_HOME>/data`. */
  dir?: string;
  /** Mirror base URL; default `MULTIGYM_DATA_MIRROR`. */
  mirror?: string;
}

/** Runs `data fetch`; throws the fetch errors (the CLI prints them and exits 1). */
export async function runDataFetch(sets: string[], o: DataFetchCommandOptions): Promise<void> {
  const dir = resolve(o.dir ?? defaultDataDir(homeDir()));
  const mirror = o.mirror ?? process.env.MULTIGYM_DATA_MIRROR;
  if (mirror) console.log(`mirror: ${mirror}`);
  else if (sets.includes('all'))
    console.log(
      'haystack (long-context corpus): skipped, only a mirror serves it (--mirror URL); long-context uses built-in filler text',
    );
  const files = await fetchDataSets(sets, { dir, mirror, quiet: !process.stdout.isTTY });
  const got = files.filter((f) => f.status === 'downloaded').length;
  console.log(
    `${got} file(s) downloaded, ${files.length - got} already present, all checksums verified, in ${dir}`,
  );
  console.log(`use it with \`npx multigym quickstart --data ${dir}\` or MULTIGYM_DATA=${dir}`);
}
