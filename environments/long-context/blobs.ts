/**
 * The blob directory where long contexts live by reference. A context is written once, streaming, to
 * `<blobDir>/long-context/<key>.txt` (UTF-8) with a JSON sidecar `<key>.json` holding its task data;
 * only the key travels in `Task.data`. Keys are derived from the task's full specification (seed,
 * split, index, kind, lengths, corpus, tokenizer), so rebuilding a task after a restart finds the
 * blob already there. Writes go to a temporary file first and are renamed into place, so a reader
 * never sees a half-written context and two processes building the same task do not corrupt it.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { LongContextError } from './errors.js';

/** Sub-directory of the blob directory owned by this environment. */
export const BLOB_SUBDIR = 'long-context';

const KEY = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** Path of the context text of `key`. @throws LongContextError (`blob`) for a malformed key. */
export function blobPath(blobDir: string, key: string): string {
  if (!KEY.test(key)) throw new LongContextError('blob', `malformed blob key "${key}"`);
  return resolve(blobDir, BLOB_SUBDIR, `${key}.txt`);
}

/** Path of the JSON sidecar of `key`. */
export function sidecarPath(blobDir: string, key: string): string {
  return blobPath(blobDir, key).replace(/\.txt$/, '.json');
}

/** A blob key from any JSON-able specification: the first 32 hex digits of its SHA-256. */
export function specKey(prefix: string, spec: unknown): string {
  return `${prefix}-${createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 32)}`;
}

/** What a finished write reports. */
export interface BlobWritten {
  key: string;
  path: string;
  /** UTF-8 bytes written. */
  bytes: number;
  /** UTF-16 code units written (JavaScript string length). */
  chars: number;
  /** SHA-256 of the bytes, hex. */
  sha256: string;
}

/**
 * A streaming writer: text pieces are buffered up to `chunkChars` and written with back-pressure, so
 * memory stays at one chunk whatever the total size.
 */
export class BlobWriter {
  private readonly stream;
  private readonly hash = createHash('sha256');
  private parts: string[] = [];
  private partChars = 0;
  /** UTF-16 code units written so far (including the buffer). */
  chars = 0;
  /** UTF-8 bytes written so far (including the buffer). */
  bytes = 0;

  constructor(
    readonly tmpPath: string,
    /** Buffer size before a write, UTF-16 code units. Default 256 Ki. */
    private readonly chunkChars = 256 * 1024,
  ) {
    this.stream = createWriteStream(tmpPath, { encoding: 'utf8' });
  }

  /** Appends `text`; resolves once the stream can take more. */
  async write(text: string): Promise<void> {
    this.parts.push(text);
    this.partChars += text.length;
    this.chars += text.length;
    this.bytes += Buffer.byteLength(text, 'utf8');
    if (this.partChars >= this.chunkChars) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const chunk = this.parts.join('');
    this.parts = [];
    this.partChars = 0;
    this.hash.update(chunk, 'utf8');
    if (!this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  /** Flushes and closes; returns the SHA-256 of everything written. */
  async close(): Promise<string> {
    await this.flush();
    this.stream.end();
    await once(this.stream, 'finish');
    return this.hash.digest('hex');
  }

  /** Closes and removes the temporary file (after a failed build). */
  abort(): void {
    this.stream.destroy();
    rmSync(this.tmpPath, { force: true });
  }
}

/**
 * Writes the blob `key` by streaming whatever `produce` writes, then renames it into place.
 * @returns sizes and hash of the blob.
 * @throws whatever `produce` throws (the temporary file is removed).
 */
export async function writeBlob(
  blobDir: string,
  key: string,
  produce: (out: BlobWriter) => Promise<void>,
): Promise<BlobWritten> {
  const path = blobPath(blobDir, key);
  mkdirSync(join(blobDir, BLOB_SUBDIR), { recursive: true });
  const out = new BlobWriter(`${path}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await produce(out);
    const sha256 = await out.close();
    renameSync(out.tmpPath, path);
    return { key, path, bytes: out.bytes, chars: out.chars, sha256 };
  } catch (err) {
    out.abort();
    throw err;
  }
}

/** Reads a whole context as one string. @throws LongContextError (`blob`) when it is missing. */
export async function readBlob(blobDir: string, key: string): Promise<string> {
  const path = blobPath(blobDir, key);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new LongContextError('blob', `long-context blob ${path} cannot be read: ${(err as Error).message}`);
  }
}

/** Streams a context in UTF-8 pieces of about `chunkBytes` (default 1 MiB). */
export function streamBlob(path: string, chunkBytes = 1 << 20): AsyncIterable<string> {
  return createReadStream(path, { encoding: 'utf8', highWaterMark: chunkBytes });
}

/** Writes a sidecar (small JSON) atomically. */
export async function writeSidecar(blobDir: string, key: string, value: unknown): Promise<void> {
  const path = sidecarPath(blobDir, key);
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  await writeFile(tmp, JSON.stringify(value));
  renameSync(tmp, path);
}

/** The sidecar of `key` when both it and its blob exist, else undefined. */
export function readSidecar(blobDir: string, key: string): unknown {
  const side = sidecarPath(blobDir, key);
  if (!existsSync(side) || !existsSync(blobPath(blobDir, key))) return undefined;
  try {
    return JSON.parse(readFileSync(side, 'utf8'));
  } catch {
    return undefined;
  }
}
