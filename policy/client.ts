/**
 * The TypeScript client of the policy worker: axios with timeouts, retries on connection errors only
 * (a 4xx is the caller's fault and is never retried; a 5xx is surfaced for Temporal to retry), and zod
 * validation of every response.
 */
import axios, { type AxiosInstance, isAxiosError } from 'axios';
import type { z } from 'zod';
import type { PolicySampler } from '../environments/api.js';
import {
  type CheckpointRequest,
  CheckpointResponse,
  ErrorResponse,
  type GenerateRequest,
  GenerateResponse,
  InfoResponse,
  type LoadRequest,
  type ResetRequest,
  ResetResponse,
  type SftStepRequest,
  SftStepResponse,
  type TokenizeRequest,
  TokenizeResponse,
  type TrainStepRequest,
  TrainStepResponse,
} from './protocol.js';

/** Thrown for every failed call. `retryable` is false for 4xx answers (bad input). */
export class PolicyWorkerError extends Error {
  readonly type = 'PolicyWorkerError';
  constructor(
    message: string,
    /** HTTP status, or undefined when no answer came (connection error, timeout). */
    readonly status: number | undefined,
    /** Stable error type from the worker's error body (`validation`, `context_too_long`, …). */
    readonly errorType: string,
    readonly retryable: boolean,
    readonly field?: string,
    /** `policy_mismatch` only: the run and policy version the worker holds. */
    readonly worker?: { run_id: string | null; policy_version: number },
    /** No answer at all (`connection`, `timeout`): the worker's base URL and the socket error code. */
    readonly unreachable?: { url: string; code: string },
  ) {
    super(message);
  }
}

export interface PolicyClientOptions {
  /** Base URL of the worker, e.g. `http://127.0.0.1:8765`. */
  url: string;
  /** Per-request timeout, ms. Default 600 000 (a train step on CPU can take minutes). */
  timeoutMs?: number;
  /** Attempts on connection errors (refused, reset, DNS) before giving up. Default 3. */
  connectRetries?: number;
  /** First back-off between connection retries, ms; doubles each time. Default 200. */
  backoffMs?: number;
}

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
]);

/** HTTP client of the policy worker protocol (`/v1`). Implements `PolicySampler`. */
export class PolicyClient implements PolicySampler {
  private readonly http: AxiosInstance;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(readonly options: PolicyClientOptions) {
    this.http = axios.create({ baseURL: options.url, timeout: options.timeoutMs ?? 600_000 });
    this.retries = options.connectRetries ?? 3;
    this.backoffMs = options.backoffMs ?? 200;
  }

  /** `GET /health`: true when the worker answers 200. Never throws. */
  async health(): Promise<boolean> {
    try {
      const res = await this.http.get('/health', { timeout: 2000 });
      return res.status === 200;
    } catch {
      return false;
    }
  }

  info(): Promise<z.infer<typeof InfoResponse>> {
    return this.call('get', '/v1/info', undefined, InfoResponse);
  }
  generate(req: GenerateRequest): Promise<GenerateResponse> {
    return this.call('post', '/v1/generate', req, GenerateResponse);
  }
  trainStep(req: TrainStepRequest): Promise<TrainStepResponse> {
    return this.call('post', '/v1/train_step', req, TrainStepResponse);
  }
  sftStep(req: SftStepRequest): Promise<SftStepResponse> {
    return this.call('post', '/v1/sft_step', req, SftStepResponse);
  }
  tokenize(req: TokenizeRequest): Promise<TokenizeResponse> {
    return this.call('post', '/v1/tokenize', req, TokenizeResponse);
  }
  checkpoint(req: CheckpointRequest): Promise<CheckpointResponse> {
    return this.call('post', '/v1/checkpoint', req, CheckpointResponse);
  }
  /** `POST /v1/load`: restores a checkpoint; `run_id` claims its weights for a run. */
  load(req: LoadRequest): Promise<CheckpointResponse> {
    return this.call('post', '/v1/load', req, CheckpointResponse);
  }
  /** `POST /v1/reset`: the worker's base model again, at policy version 0, claimed for `run_id`. */
  reset(req: ResetRequest): Promise<ResetResponse> {
    return this.call('post', '/v1/reset', req, ResetResponse);
  }

  private async call<S extends z.ZodType>(
    method: 'get' | 'post',
    path: string,
    body: unknown,
    schema: S,
  ): Promise<z.output<S>> {
    for (let attempt = 0; ; attempt++) {
      try {
        const res = await this.http.request({ method, url: path, data: body });
        const parsed = schema.safeParse(res.data);
        if (!parsed.success) {
          throw new PolicyWorkerError(
            `policy worker ${path} answered an unexpected shape: ${parsed.error.message}`,
            res.status,
            'protocol',
            false,
          );
        }
        return parsed.data;
      } catch (err) {
        if (err instanceof PolicyWorkerError) throw err;
        if (!isAxiosError(err)) throw err;
        if (err.response) {
          const status = err.response.status;
          const body = ErrorResponse.safeParse(err.response.data);
          const info = body.success ? body.data.error : { type: 'http', message: String(err.message) };
          throw new PolicyWorkerError(
            `policy worker ${path} answered ${status}: ${info.message}`,
            status,
            info.type,
            status >= 500,
            'field' in info ? info.field : undefined,
            'worker' in info ? info.worker : undefined,
          );
        }
        const connection = err.code !== undefined && CONNECTION_CODES.has(err.code);
        if (connection && attempt < this.retries) {
          await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** attempt));
          continue;
        }
        const code = err.code ?? err.message;
        throw new PolicyWorkerError(
          `policy worker ${this.options.url}${path} unreachable: ${code}`,
          undefined,
          connection ? 'connection' : 'timeout',
          true,
          undefined,
          undefined,
          { url: this.options.url, code },
        );
      }
    }
  }
}
