/**
 * `multigym data fetch` against a local mirror: a node:http server on 127.0.0.1 serving a data
 * directory (nothing here reaches the internet). Checks hashes, the layout, skipping present files,
 * and that a corrupted file fails naming both hashes and leaves no file behind. With the whole data
 * sets the mirror serves them against the pinned catalog; without them it serves the committed
 * excerpts against a catalog of their own hashes (same code path), and the pinned-hash tests skip.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_SETS, type DataSet } from '../../cli/data/catalog.js';
import {
  ChecksumMismatchError,
  DataFetchError,
  type FetchOptions,
  fetchDataSets,
} from '../../cli/data/fetch.js';
import { excerptDataDir, fullDataDir, fullDataOnly } from '../helpers/data.js';
import { repoRoot } from '../helpers/paths.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const FETCHED = ['gsm8k', 'math500', 'humaneval', 'bfcl', 'haystack_gutenberg'] as const;
const full = fullDataDir(...FETCHED);

/** Paths (relative to the data dir) the server corrupts: one byte flipped. */
const corrupt = new Set<string>();
const requests: string[] = [];
let server: Server;
let mirror: string;
const tmpDirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'multigym-fetch-'));
  tmpDirs.push(d);
  return d;
};

/**
 * The excerpts as a mirror (`HumanEval.jsonl.gz` gzipped here) and a catalog of their files: the
 * pinned catalog's sets and paths, restricted to the files the excerpts have, with their hashes.
 */
function excerptMirror(): { root: string; catalog: Record<string, DataSet> } {
  const root = tmp();
  const catalog: Record<string, DataSet> = {};
  const hashOf = (rel: string) => sha(readFileSync(join(root, rel)));
  for (const [name, set] of Object.entries(DATA_SETS)) {
    const files = set.files.flatMap((f) => {
      const source = join(excerptDataDir, f.gunzipTo?.path ?? f.path);
      if (!existsSync(source)) return [];
      mkdirSync(dirname(join(root, f.path)), { recursive: true });
      const bytes = readFileSync(source);
      writeFileSync(join(root, f.path), f.gunzipTo ? gzipSync(bytes) : bytes);
      // The gunzipped file beside it, as in a full data directory (compared with, never served).
      if (f.gunzipTo) writeFileSync(join(root, f.gunzipTo.path), bytes);
      const gunzipTo = f.gunzipTo && { path: f.gunzipTo.path, sha256: sha(bytes) };
      return [{ ...f, sha256: hashOf(f.path), bytes: bytes.length, gunzipTo }];
    });
    catalog[name] = { ...set, files };
  }
  return { root, catalog };
}

const served = full ? { root: full, catalog: DATA_SETS } : excerptMirror();
const root = served.root;
const opts = (o: Partial<FetchOptions> & { dir: string }): FetchOptions => ({
  quiet: true,
  log: () => {},
  catalog: served.catalog,
  ...o,
});

beforeAll(async () => {
  server = createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
    requests.push(rel);
    const file = resolve(root, rel);
    if (!file.startsWith(`${root}/`) || !existsSync(file)) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = Buffer.from(readFileSync(file));
    if (corrupt.has(rel)) body[body.length >> 1] = (body[body.length >> 1] ?? 0) ^ 0xff;
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  mirror = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('the pinned catalog', fullDataOnly(...FETCHED), () => {
  it('pins the hashes of the files in the full data directory', () => {
    for (const set of Object.values(DATA_SETS)) {
      for (const f of set.files) {
        expect(sha(readFileSync(resolve(root, f.path))), f.path).toBe(f.sha256);
        if (f.gunzipTo) expect(sha(readFileSync(resolve(root, f.gunzipTo.path)))).toBe(f.gunzipTo.sha256);
      }
    }
  });

  it('the CLI fetches through MULTIGYM_DATA_MIRROR into <MULTIGYM_HOME>/data', async () => {
    const home = tmp();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', resolve(repoRoot, 'cli/main.ts'), 'data', 'fetch', 'math500'],
      { cwd: repoRoot, env: { ...process.env, MULTIGYM_HOME: home, MULTIGYM_DATA_MIRROR: mirror } },
    );
    expect(stdout).toMatch(/1 file\(s\) downloaded/);
    expect(sha(readFileSync(join(home, 'data/math500/test.jsonl')))).toBe(
      DATA_SETS.math500!.files[0]!.sha256,
    );
  }, 60_000);
});

describe('data fetch from a local mirror', () => {
  it('downloads every set into the shared layout with verified hashes, then skips present files', async () => {
    const dir = tmp();
    const files = await fetchDataSets(['all'], opts({ dir, mirror }));
    expect(files.every((f) => f.status === 'downloaded')).toBe(true);
    for (const rel of [
      'gsm8k/test.jsonl',
      'gsm8k/train.jsonl',
      'math500/test.jsonl',
      'humaneval/HumanEval.jsonl',
      'humaneval/HumanEval.jsonl.gz',
      'bfcl/BFCL_v4_simple_python.json',
      'bfcl/possible_answer/BFCL_v4_parallel.json',
      'haystack_gutenberg/alice_in_wonderland.txt',
    ]) {
      expect(sha(readFileSync(join(dir, rel))), rel).toBe(sha(readFileSync(resolve(root, rel))));
    }
    // HumanEval.jsonl is gunzipped locally, never requested
    expect(requests).not.toContain('humaneval/HumanEval.jsonl');
    const before = requests.length;
    const again = await fetchDataSets(['gsm8k', 'humaneval'], opts({ dir, mirror }));
    expect(again.map((f) => f.status)).toEqual(['present', 'present', 'present']);
    expect(requests.length).toBe(before);
  });

  it('fails on a corrupted file naming it and both hashes, and leaves no file', async () => {
    const dir = tmp();
    corrupt.add('bfcl/BFCL_v4_parallel.json');
    try {
      const err = await fetchDataSets(['bfcl'], opts({ dir, mirror })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ChecksumMismatchError);
      const e = err as ChecksumMismatchError;
      expect(e.file).toBe('bfcl/BFCL_v4_parallel.json');
      expect(e.message).toContain(served.catalog.bfcl!.files.find((f) => f.path === e.file)!.sha256);
      expect(e.message).toContain(e.actual);
      expect(e.actual).not.toBe(e.expected);
      expect(existsSync(join(dir, 'bfcl/BFCL_v4_parallel.json'))).toBe(false);
      expect(readdirSync(join(dir, 'bfcl')).filter((f) => f.includes('partial'))).toEqual([]);
    } finally {
      corrupt.clear();
    }
  });

  it('names unknown sets, HTTP errors and mirror-only sets without a mirror', async () => {
    const dir = tmp();
    await expect(fetchDataSets(['mnist'], opts({ dir, mirror }))).rejects.toThrow(/unknown data set "mnist"/);
    await expect(fetchDataSets(['gsm8k'], opts({ dir, mirror: `${mirror}/nope` }))).rejects.toThrow(
      DataFetchError,
    );
    await expect(fetchDataSets(['haystack'], opts({ dir }))).rejects.toThrow(/--mirror/);
    expect(existsSync(join(dir, 'gsm8k/test.jsonl'))).toBe(false);
  });
});
