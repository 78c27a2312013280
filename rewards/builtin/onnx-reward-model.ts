/**
 * `onnx-reward-model`: a learned reward model exported to ONNX, run in-process on the CPU through
 * onnxruntime-node. The answer text (`input: "answer"`, the default: reasoning is never scored, see
 * `rewards/answerText.ts`) or the whole completion is encoded, fed as `input_ids` and `attention_mask`
 * (int64, shape (1, T)), and the model's first output value (shape (1, 1) or (1,)) is the raw score,
 * then mapped by `transform`: identity, sigmoid (→ (0, 1)) or tanh (→ (−1, 1)).
 *
 * A completion with no answer (an unclosed `<think>`, a sample cut at the token limit) is not shown to
 * the model: it gets `missValue`, by default the bottom of the transform's range (0 for sigmoid, −1
 * for tanh). An identity transform has no bottom, so `missValue` must then be given (a config error
 * otherwise): a default above the model's usual scores would pay the policy for not answering.
 *
 * Config: `model` (path to the .onnx file, absolute or relative to the working directory),
 * `encoding` ("bytes": UTF-8 bytes as ids 0..255, the only one built in), `maxTokens` (default 512,
 * longer inputs keep their end: a verdict usually comes last), `inputIds` / `attentionMask` /
 * `output` (tensor names; defaults input_ids, attention_mask, the first output), `transform`
 * (default identity). Output range: that of the model after the transform. A model that cannot be
 * loaded or has no such output throws: a checker error, never a score.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { finalAnswerText } from '../answerText.js';
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
    input: z
      .enum(['answer', 'completion'])
      .default('answer')
      .describe(
        'What the model reads: answer = the text after the reasoning (default); completion = everything, reasoning included.',
      ),
    missValue: z
      .number()
      .optional()
      .describe(
        'Value when the completion has no answer (input answer). Default: 0 for sigmoid, -1 for tanh; required for identity.',
      ),
  })
  .superRefine((c, ctx) => {
    if (c.input === 'answer' && c.transform === 'identity' && c.missValue === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['missValue'],
        message:
          'required with transform "identity" and input "answer": the value of a completion without an answer (use the lowest score the model gives)',
      });
    }
  })
  .describe('onnx-reward-model checker config.');

const RANGE_BOTTOM = { sigmoid: 0, tanh: -1 } as const;

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
  // Inference runs on onnxruntime's native threads without blocking JavaScript; in the caller, one
  // session per model serves the process instead of one per pool thread (docs/BENCHMARKS.md).
  runsIn: 'caller',
  async score(trajectory, _task, cfg) {
    let text = trajectory.completion;
    if (cfg.input === 'answer') {
      const answer = finalAnswerText(trajectory);
      if (answer.text === null) {
        const value = cfg.missValue ?? RANGE_BOTTOM[cfg.transform as keyof typeof RANGE_BOTTOM];
        return { value, details: { missing: answer.missing } };
      }
      text = answer.text;
    }
    const o = await ort();
    const model = await session(resolve(cfg.model));
    const { ids, mask } = encodeBytes(text, cfg.maxTokens);
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
