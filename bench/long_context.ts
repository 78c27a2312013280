/**
 * Long-context bench: time and peak memory (RSS) to build and store a 1M-token task, printed beside
 * the time to read the same bytes back from disk in the same run.
 *
 *   npx tsx bench/long_context.ts [--tokens 1000000] [--corpus DIR|builtin] [--worker URL]
 *
 * Without `--worker` the length is the planning estimate (4 characters per token, or `--cpt N`); with a
 * worker URL the characters per token are calibrated on the worker's tokenizer and the stored context
 * is counted exactly through `/v1/tokenize` (streamed in chunks; that count is timed on its own).
 * Each kind is built in its own child process (so its peak RSS, the process high-water mark
 * `process.resourceUsage().maxRSS`, is its own) and a fresh blob directory (no cache hit), removed
 * afterwards. The child reports the RSS after loading the corpus and the peak after building, then
 * reads the blob back (whole, then streamed) and, with a worker, counts it exactly.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { blobPath, streamBlob } from '../environments/long-context/blobs.js';
import { LongContextConfig } from '../environments/long-context/config.js';
import { makeTask } from '../environments/long-context/generate.js';
import { buildEnv } from '../environments/long-context/index.js';
import type { TaskKind } from '../environments/long-context/kinds/types.js';
import type { LongContextTaskData } from '../environments/long-context/taskData.js';
import { countFileTokens, WorkerTokenCounter } from '../environments/long-context/tokens.js';
import { PolicyClient } from '../policy/client.js';

const { values } = parseArgs({
  options: {
    tokens: { type: 'string', default: '1000000' },
    corpus: { type: 'string', default: resolve(import.meta.dirname, '../../shared/data/haystack_gutenberg') },
    worker: { type: 'string' },
    cpt: { type: 'string', default: '4' },
    kinds: { type: 'string', default: 'niah-multikey,variable-tracking,common-words' },
    child: { type: 'string' },
  },
});
const target = Number(values.tokens);
const kinds = values.kinds!.split(',') as TaskKind[];
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const peakMiB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

const config = LongContextConfig.parse({
  corpus: values.corpus,
  lengths: [target],
  tokenizer: {
    charsPerToken: Number(values.cpt),
    ...(values.worker ? { url: values.worker } : {}),
    exactUpTo: 0, // the bench times building; an exact count, when asked for, is timed apart
  },
});

if (values.child) {
  const kind = values.child as TaskKind;
  const t0 = performance.now();
  const probeDir = mkdtempSync(join(tmpdir(), 'multigym-lc-bench-'));
  const env = await buildEnv(config, probeDir);
  rmSync(probeDir, { recursive: true, force: true });
  console.error(
    `corpus ${env.corpus.id} (${env.corpus.units.length} sentences) loaded in ${(performance.now() - t0).toFixed(0)} ms; ` +
      `${env.charsPerToken.toFixed(3)} chars/token (${env.tokenizerId}); target ${target} tokens`,
  );
  console.error(`RSS after loading: ${rssMiB().toFixed(0)} MiB (peak so far ${peakMiB().toFixed(0)} MiB)\n`);

  const dir = mkdtempSync(join(tmpdir(), 'multigym-lc-bench-'));
  try {
    const rssBefore = rssMiB();
    const b0 = performance.now();
    const task = await makeTask(
      { seed: 0, split: 'bench', index: 0, kind, targetTokens: target, depth: 0.5 },
      config,
      {
        ...env,
        blobDir: dir,
      },
    );
    const buildMs = performance.now() - b0;
    const peakBuild = peakMiB();
    const d = task.data as unknown as LongContextTaskData;
    const path = blobPath(dir, d.blob!);
    const r0 = performance.now();
    const text = await readFile(path, 'utf8');
    const readMs = performance.now() - r0;
    const s0 = performance.now();
    let streamed = 0;
    for await (const piece of streamBlob(path)) streamed += piece.length;
    const streamMs = performance.now() - s0;
    if (streamed !== text.length) throw new Error('streamed length differs from the file');
    let exact = '-';
    if (values.worker) {
      const c0 = performance.now();
      const n = await countFileTokens(new WorkerTokenCounter(new PolicyClient({ url: values.worker })), path);
      exact = `${n} (${(performance.now() - c0).toFixed(0)} ms)`;
    }
    const row = [
      kind,
      String(d.tokens),
      exact,
      mib(d.bytes!),
      buildMs.toFixed(0),
      readMs.toFixed(0),
      streamMs.toFixed(0),
      (buildMs / readMs).toFixed(1),
      `${peakBuild.toFixed(0)} (+${(peakBuild - rssBefore).toFixed(0)})`,
      String(JSON.stringify(task.data).length),
    ];
    console.log(JSON.stringify(row));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  process.exit(0);
}

const rows: string[][] = [];
for (const kind of kinds) {
  const args = [
    ...process.argv.slice(1).filter((a, i, all) => a !== '--kinds' && all[i - 1] !== '--kinds'),
    '--child',
    kind,
  ];
  const out = execFileSync(process.execPath, [...process.execArgv, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  rows.push(JSON.parse(out.trim().split('\n').at(-1)!));
}
const head = [
  'kind',
  'tokens (est.)',
  'tokens (exact)',
  'blob MiB',
  'build+store ms',
  'readFile ms',
  'stream read ms',
  'build/read',
  'peak RSS MiB (+ over RSS after corpus load)',
  'Task.data bytes',
];
console.log(`| ${head.join(' | ')} |\n|${head.map(() => ' --- ').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
