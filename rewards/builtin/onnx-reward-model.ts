/**
 * `onnx-reward-model`: a learned reward model exported to ONNX, run in-process on the CPU through
 * onnxruntime-node. The completion is encoded, fed as `input_ids` and `attention_mask` (int64, shape
 * (1, T)), and the model's first output value (shape (1, 1) or (1,)) is the raw score, then mapped by
 * `transform`: identity, sigmoid (→ (0, 1)) or tanh (→ (−1, 1)).
 *
 * Config: `model` (path to the .onnx file, absolute or relative to the working directory),
 * `encoding` ("bytes": UTF-8 bytes as ids 0..255, the only one built in), `maxTokens` (default 512,
 * longer inputs keep their end: a verdict usually comes last), `inputIds` / `attentionMask` /
 * `output` (tensor names; defaults input_ids, attention_mask, the first output), `transform`
 * (default identity). Output range: that of the model after the transform.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { defineReward } from '../api.js';

const config = z
  .object({
    model: z
      .string()
      .min(1)
      .describe('Path to the .onnx reward model (absolute or relative to the working directory).'),
    encoding: z
      .enum(['bytes'])
      .default('bytes')
      .describe('How text becomes input ids: bytes = UTF-8 bytes (0..255).'),
    maxTokens: z
      .number()
      .int()
      .positive()
      .default(512)
      .describe('Longest input; longer inputs keep their end.'),
    inputIds: z.string().default('input_ids').describe('Name of the ids input tensor.'),
    attentionMask: z
      .string()
      .nullable()
      .default('attention_mask')
      .describe('Name of the mask input tensor; null when the model takes none.'),
    output: z.string().optional().describe("Name of the score output; default the model's first output."),
    transform: z.enum(['identity', 'sigmoid', 'tanh']).default('identity').describe('Map of the raw score.'),
  })
  .describe('onnx-reward-model checker config.');

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

let ortModule: Promise<Ort> | undefined;
const sessions = new Map<string, Promise<Session>>();

/** onnxruntime-node, imported on first use (its native library loads only when a checker needs it). */
function ort(): Promise<Ort> {
  ortModule ??= import('onnxruntime-node');
  return ortModule;
}

/** One inference session per model file, created on first use (loading a model takes milliseconds to seconds). */
function session(path: string): Promise<Session> {
  let s = sessions.get(path);
  if (!s) {
    s = ort().then((o) => o.InferenceSession.create(path, { intraOpNumThreads: 1 }));
    s.catch(() => sessions.delete(path));
    sessions.set(path, s);
  }
  return s;
}

/** UTF-8 bytes of `text`, the last `max` of them; an empty text gives one masked pad id. */
function encodeBytes(text: string, max: number): { ids: BigInt64Array; mask: BigInt64Array } {
  const bytes = Buffer.from(text, 'utf8');
  const kept = bytes.subarray(Math.max(0, bytes.length - max));
  if (kept.length === 0) return { ids: BigInt64Array.of(0n), mask: BigInt64Array.of(0n) };
  return { ids: BigInt64Array.from(kept, (b) => BigInt(b)), mask: new BigInt64Array(kept.length).fill(1n) };
}

const transforms = {
  identity: (x: number) => x,
  sigmoid: (x: number) => 1 / (1 + Math.exp(-x)),
  tanh: Math.tanh,
} as const;

/** The `onnx-reward-model` checker. */
export const onnxRewardModel = defineReward({
  name: 'onnx-reward-model',
  description:
    'Score of an ONNX reward model on the completion (onnxruntime-node, CPU); range set by the model.',
  configSchema: config,
  async score(trajectory, _task, cfg) {
    const o = await ort();
    const model = await session(resolve(cfg.model));
    const { ids, mask } = encodeBytes(trajectory.completion, cfg.maxTokens);
    const feeds: Record<string, InstanceType<Ort['Tensor']>> = {
      [cfg.inputIds]: new o.Tensor('int64', ids, [1, ids.length]),
    };
    if (cfg.attentionMask) feeds[cfg.attentionMask] = new o.Tensor('int64', mask, [1, mask.length]);
    const outputs = await model.run(feeds);
    const name = cfg.output ?? model.outputNames[0]!;
    const tensor = outputs[name];
    if (!tensor)
      throw new Error(`reward model has no output "${name}"; outputs: ${model.outputNames.join(', ')}`);
    const raw = Number((tensor.data as Float32Array)[0]);
    return {
      value: transforms[cfg.transform](raw),
      details: { raw, tokens: ids.length, transform: cfg.transform },
    };
  },
});

export default onnxRewardModel;
