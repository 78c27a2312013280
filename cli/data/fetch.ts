/**
 * Downloads data sets into a data directory, checking every file's SHA-256. A file is written to a
 * temporary name beside its destination and renamed only once its hash matches, so a failed or
 * corrupted download leaves nothing behind. Files already present with the right hash are kept.
 */
import { createHash } from 'node:crypto';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { allSetNames, DATA_SETS, type DataFile, type DataSet } from './catalog.js';

/** Thrown when a set name is unknown, a server answers with an error, or a file has no source. */
export class DataFetchError extends Error {
  readonly type = 'DataFetchError';
}

/** Thrown when a downloaded file's SHA-256 differs from the pinned one; nothing is left on disk. */
export class ChecksumMismatchError extends Error {
  readonly type = 'ChecksumMismatchError';
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`checksum mismatch for ${file}: expected sha256 ${expected}, got ${actual}; the file was not kept`);
  }
}

/** Options of `fetchDataSets`. */
export interface FetchOptions {
  /** Data directory the sets land in. */
  dir: string;
  /** Base URL serving the same layout as the data directory; replaces the canonical sources. */
  mirror?: string;
  /** No progress bars. */
  quiet?: boolean;
  log?: (line: string) => void;
  /** The sets known by name; default `DATA_SETS` (tests pass their own files and hashes). */
  catalog?: Record<string, DataSet>;
}

/** What happened to one file. */
export interface FetchedFile {
  path: string;
  status: 'downloaded' | 'present';
  bytes: number;
}

const sha256File = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Expands `all` and checks the names; throws `DataFetchError` for an unknown one. */
export function resolveSetNames(
  names: string[],
  mirror: boolean,
  catalog: Record<string, DataSet> = DATA_SETS,
): DataSet[] {
  const out: string[] = [];
  for (const n of names) {
    if (n === 'all') out.push(...allSetNames(mirror, catalog));
    else if (catalog[n]) out.push(n);
    else throw new DataFetchError(`unknown data set "${n}"; known: ${Object.keys(catalog).join(', ')}, all`);
  }
  return [...new Set(out)].map((n) => catalog[n]!);
}

function sourceUrl(file: DataFile, mirror: string | undefined): string {
  if (mirror) return `${mirror.replace(/\/+$/, '')}/${file.path}`;
  if (!file.url) {
    throw new DataFetchError(
      `${file.path} has no public source with these exact bytes; pass --mirror URL to fetch it`,
    );
  }
  return file.url;
}

/** Streams one URL into `dest` through a temporary file; verifies the hash before the rename. */
async function download(
  url: string,
  file: DataFile,
  dest: string,
  bar: SingleBar | undefined,
): Promise<number> {
  const res = await fetch(url).catch((err: Error) => {
    throw new DataFetchError(
      `cannot download ${url}: ${(err.cause as Error | undefined)?.message ?? err.message}`,
    );
  });
  if (!res.ok || !res.body) throw new DataFetchError(`cannot download ${url}: HTTP ${res.status}`);
  const total = Number(res.headers.get('content-length')) || file.bytes;
  bar?.setTotal(total);
  mkdirSync(dirname(dest), { recursive: true });
  const tmp = `${dest}.partial-${process.pid}`;
  const hash = createHash('sha256');
  const out = createWriteStream(tmp);
  let received = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      received += chunk.length;
      bar?.update(received);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
    const actual = hash.digest('hex');
    if (actual !== file.sha256) throw new ChecksumMismatchError(file.path, file.sha256, actual);
    renameSync(tmp, dest);
    return received;
  } catch (err) {
    out.destroy();
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes the gunzipped content of `gz` to `dest` if its hash matches; throws `ChecksumMismatchError` otherwise. */
function gunzipChecked(gz: string, target: NonNullable<DataFile['gunzipTo']>, dest: string): void {
  const data = gunzipSync(readFileSync(gz));
  const actual = createHash('sha256').update(data).digest('hex');
  if (actual !== target.sha256) throw new ChecksumMismatchError(target.path, target.sha256, actual);
  const tmp = `${dest}.partial-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, dest);
}

/**
 * Downloads the named sets (`all` expands) into `opts.dir`, skipping files already there with the
 * right hash. Throws `DataFetchError` (unknown set, HTTP error, no source) or `ChecksumMismatchError`.
 */
export async function fetchDataSets(names: string[], opts: FetchOptions): Promise<FetchedFile[]> {
  const log = opts.log ?? console.log;
  const sets = resolveSetNames(names, Boolean(opts.mirror), opts.catalog);
  const bars = opts.quiet
    ? undefined
    : new MultiBar(
        {
          format: '{file} |{bar}| {percentage}% {value}/{total} bytes',
          hideCursor: true,
          clearOnComplete: false,
        },
        Presets.shades_classic,
      );
  const done: FetchedFile[] = [];
  try {
    for (const set of sets) {
      log(`${set.name}: ${set.source}; licence ${set.license}`);
      for (const file of set.files) {
        const dest = resolve(opts.dir, file.path);
        const gunzipDest = file.gunzipTo && resolve(opts.dir, file.gunzipTo.path);
        const present = existsSync(dest) && sha256File(dest) === file.sha256;
        if (present) {
          done.push({ path: file.path, status: 'present', bytes: file.bytes });
        } else {
          const bar = bars?.create(file.bytes, 0, { file: file.path.padEnd(48) });
          const bytes = await download(sourceUrl(file, opts.mirror), file, dest, bar);
          bar?.stop();
          done.push({ path: file.path, status: 'downloaded', bytes });
        }
        if (
          file.gunzipTo &&
          gunzipDest &&
          !(existsSync(gunzipDest) && sha256File(gunzipDest) === file.gunzipTo.sha256)
        ) {
          gunzipChecked(dest, file.gunzipTo, gunzipDest);
          done.push({ path: file.gunzipTo.path, status: 'downloaded', bytes: 0 });
        }
      }
    }
  } finally {
    bars?.stop();
  }
  return done;
}
