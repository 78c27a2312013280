/**
 * The environment plugin API.
 *
 * An environment turns data (or a generator) into tasks, runs a group of rollouts of the policy on a
 * task (single- or multi-turn), and names the reward checkers that score them. Workflows only ever see
 * environment names; activities call these functions. Each environment gets its own Temporal task
 * queue, `multigym-env-<name>`.
 */
import type { z } from 'zod';
import type {
  GenerateRequest,
  GenerateResponse,
  InfoResponse,
  TokenizeRequest,
  TokenizeResponse,
} from '../policy/protocol.js';
import type { JsonObject, RewardSpec } from '../rewards/api.js';

/**
 * One task. `data` is the environment's own JSON (question and reference answer, unit tests, tool
 * schemas and ground-truth calls…). Large payloads (long contexts) are stored by reference: `data`
 * holds the blob key, never the text.
 */
export interface Task<D extends object = JsonObject> {
  /** Stable id, unique within (environment, split); e.g. `gsm8k/test/17`. */
  id: string;
  /**
   * JSON only (it is stored and sent between processes): strings, finite numbers, booleans, null,
   * arrays and plain objects. `D` may be an `interface`; `multigym plugin test` checks the values.
   */
  data: D;
}

/** What the environment may call on the policy: the worker protocol, nothing more. */
export interface PolicySampler {
  generate(req: GenerateRequest): Promise<GenerateResponse>;
  tokenize(req: TokenizeRequest): Promise<TokenizeResponse>;
  info(): Promise<InfoResponse>;
}

/** Where and which tasks to produce. */
export interface TaskContext {
  /** Run seed: the same (seed, split, start) gives the same tasks. */
  seed: number;
  /** Data split, e.g. `train` or `test`. */
  split: string;
  /** Index of the first task wanted in the seeded order (so a step can skip ahead cheaply). */
  start: number;
  /** Directory of real data sets (`--data`, `MULTIGYM_DATA`), if any. */
  dataDir?: string;
  /** Directory where large payloads (long contexts) are stored by reference. */
  blobDir: string;
}

/** Sampling parameters of a rollout; defaults come from the environment and the run config. */
export interface SamplingParams {
  max_tokens: number;
  temperature: number;
  top_p: number;
  top_k?: number;
  stop?: string[];
  seed?: number;
  reasoning?: { budget_tokens: number };
}

/** Context of one group of rollouts. */
export interface RolloutContext {
  /** Group size G: samples of the same task. */
  n: number;
  sampling: SamplingParams;
  /** Same as in `TaskContext`, for environments that read blobs. */
  blobDir: string;
  /** Called between turns of long rollouts so the activity can heartbeat. */
  heartbeat?: (details?: unknown) => void;
}

/** One turn of a trajectory, as logged in the rollout row. */
export interface Turn {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Tokens of this turn the model wrote (assistant turns). */
  tokens?: number;
  [key: string]: unknown;
}

/**
 * One rollout: what the model saw and wrote, with the token-level data GRPO trains on.
 * Shapes: `completionTokenIds`, `logprobs` and `completionMask` all have length T (completion tokens).
 */
export interface Trajectory {
  /** `ok`, or why it is left out of the batch (never scored as a model failure). */
  status: 'ok' | 'infra_error' | 'rejected';
  /** Reason for a non-ok status (e.g. the worker's 400 for a too-long context). */
  error?: string;
  /** Everything the model wrote, assistant turns joined; what checkers score. */
  completion: string;
  turns: Turn[];
  promptTokenIds: number[];
  completionTokenIds: number[];
  /** Sampling-policy log-prob per completion token; 0 where the mask is 0. */
  logprobs: number[];
  /** 1 for tokens the model wrote, 0 for inserted ones (tool results); omitted means all 1. */
  completionMask?: (0 | 1)[];
  finishReason: string;
  policyVersion: number;
  /** Tokens inside `<think>` blocks. */
  thinkingTokens: number;
  /** Environment-specific facts for checkers and logs (parsed calls, extracted answer…). */
  extra?: JsonObject;
}

/**
 * An environment plugin. `C` is the schema of its own config block in a run config.
 * A plugin module's default export is a `defineEnvironment` result.
 */
export interface Environment<C extends z.ZodType = z.ZodType, D extends object = JsonObject> {
  /** kebab-case, unique; also the task-queue suffix (`multigym-env-<name>`). */
  name: string;
  description: string;
  /** Validated when a run starts; errors name the field. */
  configSchema: C;
  /** Tasks in a deterministic order for (seed, split), starting at `ctx.start`; may be infinite. */
  tasks(config: z.output<C>, ctx: TaskContext): AsyncIterable<Task<D>>;
  /** Samples a group of `ctx.n` trajectories of one task. Infrastructure errors throw (and are retried). */
  rollout(
    task: Task<D>,
    policy: PolicySampler,
    ctx: RolloutContext,
    config: z.output<C>,
  ): Promise<Trajectory[]>;
  /** Default checkers and weights; a run may override them. */
  rewards: RewardSpec[];
  /**
   * Time budget of one checker call, ms (default 1000). Raise it for checkers that run programs when
   * scoring text without a rollout (`multigym score`).
   */
  checkerTimeoutMs?: number;
  /** Turns a record in the environment's own task format (one JSONL line) into a task: `multigym score`. */
  parseTask(record: unknown, index: number): Task<D>;
  /**
   * A reference completion for a task (reference answer, canonical solution, ground-truth call…),
   * used to warm-start a fresh policy with supervised steps; undefined when there is none.
   */
  demonstration?(
    task: Task<D>,
    config: z.output<C>,
  ): Promise<{ prompt: string; completion: string } | undefined>;
}

/**
 * Identity helper that types an environment plugin. `D`, the task data's type, may be an interface;
 * it is inferred from `tasks` (or give it: `defineEnvironment<typeof Config, MyTask>({...})`).
 */
export const defineEnvironment = <C extends z.ZodType, D extends object = JsonObject>(
  env: Environment<C, D>,
): Environment<C, D> => env;
