/**
 * Per-stream set-up of task building: the corpus, the token counter (the policy worker's
 * `/v1/tokenize` when `tokenizer.url` is set) and the characters per token calibrated on the corpus.
 */
import { PolicyClient } from '../../policy/client.js';
import type { LongContextConfig } from './config.js';
import type { BuildEnv } from './generate.js';
import { type Corpus, haystackUnits, loadCorpus } from './haystack.js';
import { Rng } from './rng.js';
import { calibrate, type TokenCounter, WorkerTokenCounter } from './tokens.js';

/** Characters of haystack tokenized once to calibrate characters per token. */
const CALIBRATION_CHARS = 64 * 1024;

/** A calibration sample of `corpus`: its first `CALIBRATION_CHARS` characters of haystack. */
export function calibrationSample(corpus: Corpus): string {
  const parts: string[] = [];
  let n = 0;
  for (const u of haystackUnits(corpus, new Rng(0))) {
    parts.push(u);
    n += u.length;
    if (n >= CALIBRATION_CHARS) break;
  }
  return parts.join('');
}

/** Resolves corpus, counter and characters per token for a task stream. */
export async function buildEnv(
  config: LongContextConfig,
  blobDir: string,
  dataDir?: string,
  counter?: TokenCounter,
): Promise<BuildEnv> {
  const corpus = loadCorpus(config.corpus, dataDir);
  const tokens =
    counter ??
    (config.tokenizer.url
      ? new WorkerTokenCounter(new PolicyClient({ url: config.tokenizer.url }))
      : undefined);
  if (!tokens) {
    return { blobDir, corpus, charsPerToken: config.tokenizer.charsPerToken, tokenizerId: 'estimate' };
  }
  const tokenizerId = await tokens.id();
  const charsPerToken = await calibrate(
    tokens,
    calibrationSample(corpus),
    `${tokenizerId}\u0000${corpus.id}`,
  );
  return { blobDir, corpus, charsPerToken, tokenizerId, counter: tokens };
}
